#!/usr/bin/env node
// `npm run dist [-- --linux AppImage deb | --win nsis | --mac dmg]`: packages the desktop app with
// electron-builder (electron-builder.yml), for this platform when no target is given.
//
// Neither electron nor electron-builder is installed by `npm install`: both download from GitHub (the
// Electron binary; electron-builder also fetches Electron's distribution for the target and its AppImage
// and NSIS tools), which machines without that network cannot do. So this checks for them and, when one
// is missing, says how to get it (exit 1). The Electron version to package is the installed electron's.
// The app must be built first (`npm run build`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = ['dist/desktop/main.js', 'dist/desktop/preload.cjs', 'dist/renderer/index.html', 'native/aes-gcm/build/aes_gcm.wasm'];

function fail(lines) {
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}

/** A package's package.json in this checkout, or undefined. */
function manifest(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

const builder = manifest('electron-builder');
const electron = manifest('electron');
const absent = [!electron && 'electron', !builder && 'electron-builder'].filter(Boolean);
if (absent.length > 0) {
  fail([
    `kura dist: ${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed in this checkout.`,
    '',
    'Packaging needs both, and both download from GitHub (Electron itself, and the tools electron-builder uses),',
    'so Kura does not install them. On a machine that can reach GitHub:',
    '  npm install --no-save electron electron-builder',
    '  npm run build && npm run dist                      # this platform',
    '  npm run dist -- --linux AppImage deb                # or name the targets',
  ]);
}

const missing = BUILT.filter((f) => !fs.existsSync(path.join(ROOT, f)));
if (missing.length > 0) fail([`kura dist: the app is not built (missing ${missing.join(', ')}).`, 'Run `npm run build` first.']);

const bin = typeof builder.bin === 'string' ? builder.bin : builder.bin?.['electron-builder'];
const cli = path.join(ROOT, 'node_modules', 'electron-builder', bin ?? 'cli.js');
const args = [cli, '--config', 'electron-builder.yml', `-c.electronVersion=${electron.version}`, ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
child.on('error', (e) => fail([`kura dist: could not run electron-builder: ${e.message}`]));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
