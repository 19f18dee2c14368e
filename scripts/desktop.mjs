#!/usr/bin/env node
// `npm run desktop [-- --dev --data-dir DIR --port P --log-level L]`: starts the desktop app — the
// appliance and its console window in one Electron process (main/desktop) — where an Electron binary
// can be had, and otherwise says how to get one (exit 1).
//
// Why Electron may be missing: Kura does not install it. The electron npm package downloads a binary of
// about 100 MB from GitHub when it is installed, which machines without that network cannot do. The
// binary comes from ELECTRON_PATH (any Electron 28 or later), else from the electron package installed
// in this checkout (`npm install --no-save electron` on a machine that can reach GitHub).
//
// The app runs from the build (`npm run build`: dist/desktop/main.js, its preload, and the console in
// dist/renderer); missing files are named. Arguments after `--` go to the app; its exit code is ours.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'dist', 'desktop', 'main.js');
const BUILT = [ENTRY, path.join(ROOT, 'dist', 'desktop', 'preload.cjs'), path.join(ROOT, 'dist', 'renderer', 'index.html')];

/** The Electron binary to run: { binary }, or { reason } why there is none. */
function findElectron() {
  const given = process.env.ELECTRON_PATH;
  if (given) {
    return fs.existsSync(given) ? { binary: given } : { reason: `ELECTRON_PATH is set to ${given}, which does not exist.` };
  }
  let binary;
  try {
    // The electron package's main module is the path of its downloaded binary; it throws when the
    // download never happened.
    binary = createRequire(path.join(ROOT, 'package.json'))('electron');
  } catch (e) {
    return e?.code === 'MODULE_NOT_FOUND'
      ? { reason: 'The electron package is not installed in this checkout.' }
      : { reason: `The electron package is installed, but its binary is not: ${String(e?.message ?? e).split('\n')[0]}` };
  }
  if (typeof binary !== 'string' || !fs.existsSync(binary)) return { reason: 'The electron package is installed, but its binary is not.' };
  return { binary };
}

function fail(lines) {
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}

const found = findElectron();
if (!found.binary) {
  fail([
    `kura desktop: no Electron binary here. ${found.reason}`,
    '',
    'The desktop app runs in Electron, which Kura does not install: the electron npm package downloads its',
    'binary (about 100 MB) from GitHub when it is installed, and a machine that cannot reach GitHub cannot',
    'get it. To run the desktop app, either',
    '  - on a machine that can download from GitHub:   npm install --no-save electron   then   npm run desktop',
    '  - or point ELECTRON_PATH at an Electron binary (28 or later):   ELECTRON_PATH=/path/to/electron npm run desktop',
    '',
    'The headless appliance needs no Electron: npm start.',
  ]);
}

const missing = BUILT.filter((f) => !fs.existsSync(f));
if (missing.length > 0) {
  fail([`kura desktop: the app is not built (missing ${missing.map((f) => path.relative(ROOT, f)).join(', ')}).`, 'Run `npm run build` first.']);
}

// ELECTRON_RUN_AS_NODE would make the binary a plain Node.js, without windows or its sandbox.
const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(found.binary, [ENTRY, ...process.argv.slice(2)], { cwd: process.cwd(), env, stdio: 'inherit' });
// Ctrl-C and a supervisor's SIGTERM reach the app, which stops its appliance gracefully.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (e) => fail([`kura desktop: could not start ${found.binary}: ${e.message}`]));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
