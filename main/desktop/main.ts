// The desktop app's entry: what Electron runs (`npm run desktop` → scripts/desktop.mjs → `electron
// dist/desktop/main.js`; a packaged app's package.json names it as "main", see electron-builder.yml).
// It loads Electron — the one place in Kura that does — reads the settings (./config.ts), and hands
// everything to ./desktop-app.ts, which runs the appliance and its window.
//
// Electron 28 or later runs this ES module. Electron makes the app ready only once this module has
// finished evaluating, so the top-level await of the electron module comes first and runDesktop's
// before-ready calls (the sandbox, the single-instance lock) happen in time; runDesktop itself is not
// awaited at the top level, since it waits for ready and would then wait forever.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setHostLauncher, startAppliance } from '../app.js';
import { disableCoreDumps } from '../common/core-dumps.js';
import { createLogger, errorTrace } from '../common/log.js';
import { keepOutputFailuresFromStopping } from '../common/output-streams.js';
import { DesktopConfigError, desktopSettings } from './config.js';
import { runDesktop } from './desktop-app.js';
import type { ElectronMain } from './electron-api.js';
import { utilityProcessHosts } from './module-hosts.js';

if (process.versions.electron === undefined) {
  console.error('dist/desktop/main.js is the desktop app: it runs in Electron. Start it with `npm run desktop`.');
  process.exit(1);
}

// The module's name in a variable: the `electron` package is not installed where its binary cannot be
// downloaded, and this file must typecheck there. Inside Electron the module is built in.
const ELECTRON_MODULE = 'electron';
const loaded = (await import(ELECTRON_MODULE)) as Partial<ElectronMain> & { default?: ElectronMain };
const electron: ElectronMain = loaded.default ?? (loaded as ElectronMain);

// dist/desktop (tsconfig.build.json: main/ → dist/) → the project's (or the packaged app.asar's) root.
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const icon = path.join(root, 'assets', 'icon-512.png');
// The console as Vite builds it (renderer/vite.config.ts, outDir).
const consoleIndex = path.join(root, 'dist', 'renderer', 'index.html');

// Everything the appliance writes (database, WAL, tokens, the dev root key) is for its owner only.
process.umask(0o077);
// A terminal closed under `npm run desktop`, or a full disk under its log, costs the log, not the appliance.
const output = keepOutputFailuresFromStopping();

let parsed: ReturnType<typeof desktopSettings>;
try {
  // A packaged app's arguments follow its executable; an unpackaged one's follow the entry script too.
  parsed = desktopSettings(process.argv.slice(electron.app.isPackaged ? 1 : 2), process.env, { isPackaged: electron.app.isPackaged, cwd: process.cwd() });
} catch (e) {
  if (!(e instanceof DesktopConfigError)) throw e;
  electron.dialog.showErrorBox('Kura: a setting is wrong', e.message);
  process.exit(2);
}
const { settings, ignored, weakening } = parsed;
const log = createLogger(settings.logLevel, undefined, process.stderr.isTTY ? 'text' : 'json');
output.logTo(log);
// As `kura serve` does: a crash of the main process must not copy the unsealed keys to disk. Chromium's
// processes, started after this, inherit the limit.
disableCoreDumps(log);
if (ignored.length > 0) log.debug('desktop: arguments left to Electron', { arguments: ignored.join(' ') });
// Only an unpackaged app gets this far with one (config.ts): a developer's, who is told what it costs.
for (const arg of weakening) {
  log.warn("desktop: a switch turns off a protection of the console's window; a packaged Kura refuses it", { switch: arg.split('=')[0] });
}
// A stray rejection is a bug to fix, not a reason to drop the operator's session: log it and go on.
process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: errorTrace(e) }));
// A device's PKCS#11 module runs in a host process of its own: here a utility process (./module-hosts.ts).
setHostLauncher(utilityProcessHosts(electron.utilityProcess));
process.on('SIGINT', () => electron.app.quit());
process.on('SIGTERM', () => electron.app.quit());
// Node opens its inspector on 127.0.0.1:9229 on SIGUSR1 unless a listener handles the signal, and any
// local user could then attach and run code inside the appliance.
process.on('SIGUSR1', () => log.warn('SIGUSR1 ignored: Kura does not open a debugger'));

void runDesktop({
  electron,
  settings,
  paths: { preload: path.join(here, 'preload.cjs'), indexHtml: consoleIndex, ...(fs.existsSync(icon) ? { icon } : {}) },
  log,
  startAppliance,
  readInterfaces: () => os.networkInterfaces(),
  fileExists: (file) => fs.existsSync(file),
}).catch((e: unknown) => {
  log.error('desktop: start failed', { error: errorTrace(e) });
  electron.app.exit(1);
});
