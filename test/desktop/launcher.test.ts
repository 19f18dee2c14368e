// `npm run desktop` (scripts/desktop.mjs) and `npm run dist` (scripts/dist.mjs) as child processes.
// Copies of the scripts run from a scratch checkout (a package.json, no node_modules), so that what they
// find does not depend on whether this machine has electron: with no binary `desktop` says how to get one
// and exits 1; with a binary (a stand-in script recording its arguments) it checks the build and runs the
// app's entry. `dist` likewise with electron and electron-builder.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/kura-process.js';

let dir: string;
let script: string;

/** Runs a copied script (the launcher by default) with `env` added to a clean environment. */
function launch(args: string[], env: Record<string, string> = {}, file = script) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'ELECTRON_PATH' && k !== 'ELECTRON_RUN_AS_NODE'));
  const r = spawnSync(process.execPath, [file, ...args], { cwd: dir, env: { ...clean, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes files of the scratch checkout (relative path → content). */
function write(files: Record<string, string>) {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
}

/** A stand-in for the Electron binary: records its arguments and ELECTRON_RUN_AS_NODE, exits 3. */
function fakeElectron(): { binary: string; record: string } {
  const record = path.join(dir, 'electron-args.json');
  const binary = path.join(dir, 'fake-electron.cjs');
  fs.writeFileSync(
    binary,
    [
      `#!${process.execPath}`,
      `const seen = { args: process.argv.slice(2), runAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null };`,
      `require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(seen));`,
      'process.exit(3);',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { binary, record };
}

const BUILT = ['dist/desktop/main.js', 'dist/desktop/preload.cjs', 'dist/renderer/index.html'];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-desktop-launcher-'));
  fs.mkdirSync(path.join(dir, 'scripts'));
  script = path.join(dir, 'scripts', 'desktop.mjs');
  fs.copyFileSync(path.join(ROOT, 'scripts', 'desktop.mjs'), script);
  fs.copyFileSync(path.join(ROOT, 'scripts', 'dist.mjs'), path.join(dir, 'scripts', 'dist.mjs'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'kura', type: 'module', private: true }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('npm run desktop', () => {
  it('without an Electron binary: says why, how to get one, and exits 1', () => {
    const r = launch(['--dev']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('kura desktop: no Electron binary here. The electron package is not installed in this checkout.');
    expect(r.stderr).toContain('npm install --no-save electron');
    expect(r.stderr).toContain('ELECTRON_PATH=');
    expect(r.stderr).toContain('GitHub');
    expect(r.stderr).toContain('npm start');
  });

  it('with ELECTRON_PATH naming no file: says so and exits 1', () => {
    const missing = path.join(dir, 'no-such-electron');
    const r = launch([], { ELECTRON_PATH: missing });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ELECTRON_PATH is set to ${missing}, which does not exist.`);
  });

  it('with an electron package whose binary never downloaded: says so and exits 1', () => {
    const pkg = path.join(dir, 'node_modules', 'electron');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'electron', main: 'index.js' }));
    // What electron's index.js does when its postinstall download did not happen.
    fs.writeFileSync(path.join(pkg, 'index.js'), "throw new Error('Electron failed to install correctly, please delete node_modules/electron and try installing again');\n");
    try {
      const r = launch([]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('The electron package is installed, but its binary is not: Electron failed to install correctly');
      expect(r.stderr).toContain('npm install --no-save electron');
    } finally {
      fs.rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });
    }
  });

  it('with a binary but no build: names what is missing and asks for npm run build', () => {
    const { binary, record } = fakeElectron();
    const r = launch([], { ELECTRON_PATH: binary });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the app is not built (missing dist/desktop/main.js, dist/desktop/preload.cjs, dist/renderer/index.html)');
    expect(r.stderr).toContain('npm run build');
    expect(fs.existsSync(record)).toBe(false);
  });

  it('with a binary and a build: runs the entry with the arguments given, never as plain Node, and exits with its code', () => {
    const { binary, record } = fakeElectron();
    write(Object.fromEntries(BUILT.map((f) => [f, ''])));
    const r = launch(['--dev', '--port', '0'], { ELECTRON_PATH: binary, ELECTRON_RUN_AS_NODE: '1' });
    expect(r.code).toBe(3);
    expect(JSON.parse(fs.readFileSync(record, 'utf8'))).toEqual({ args: [path.join(dir, 'dist', 'desktop', 'main.js'), '--dev', '--port', '0'], runAsNode: null });
  });
});

describe('npm run dist', () => {
  const dist = () => path.join(dir, 'scripts', 'dist.mjs');

  it('without electron and electron-builder: says why and how to get them, and exits 1', () => {
    const r = launch(['--linux', 'AppImage'], {}, dist());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kura dist: electron and electron-builder are not installed in this checkout.');
    expect(r.stderr).toContain('npm install --no-save electron electron-builder');
  });

  it('with both: runs electron-builder on electron-builder.yml for the installed Electron and the targets given', () => {
    const record = path.join(dir, 'builder-args.json');
    write({
      'node_modules/electron/package.json': JSON.stringify({ name: 'electron', version: '33.2.1' }),
      // A stand-in CLI recording its arguments (CommonJS: the scratch checkout is "type": "module").
      'node_modules/electron-builder/package.json': JSON.stringify({ name: 'electron-builder', type: 'commonjs', bin: { 'electron-builder': 'cli.js' } }),
      'node_modules/electron-builder/cli.js': `require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.argv.slice(2)));\n`,
    });
    try {
      fs.rmSync(path.join(dir, 'native'), { recursive: true, force: true });
      const unbuilt = launch([], {}, dist());
      expect(unbuilt.code).toBe(1);
      expect(unbuilt.stderr).toContain('native/aes-gcm/build/aes_gcm.wasm');
      write(Object.fromEntries([...BUILT, 'native/aes-gcm/build/aes_gcm.wasm'].map((f) => [f, ''])));
      const r = launch(['--linux', 'AppImage', 'deb'], {}, dist());
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(fs.readFileSync(record, 'utf8'))).toEqual(['--config', 'electron-builder.yml', '-c.electronVersion=33.2.1', '--linux', 'AppImage', 'deb']);
    } finally {
      fs.rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });
    }
  });
});
