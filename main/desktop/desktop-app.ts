// The desktop app's life: one process holds the appliance and its one console window (DESIGN.md,
// "Processes and entry points"). In order: the app's own Chromium switches and its application menu
// (./chromium-policy.ts), the Chromium sandbox for every renderer, the privileges of
// the console's kura:// scheme, the single-instance
// lock (a second launch shows the first one's window), the web-contents rules for anything Electron
// makes, then — once Electron is ready — the appliance (as `kura serve` runs it, in this process), the
// window, its IPC handlers and the network watch. Quitting signs the window's operator out, stops the
// appliance gracefully (calls in progress finish, the database closes) and only then lets Electron quit.
//
// Electron and the appliance come in as parameters (./main.ts passes the real ones), so that the tests
// drive this whole sequence with a test double of Electron and a fake appliance.
import { KURA_VERSION, startFailureOf, type Appliance, type ApplianceConfig } from '../app.js';
import { applicationMenuTemplate, applySwitches } from './chromium-policy.js';
import { coalescedLines, errorFields, type Logger } from '../common/log.js';
import { NETWORK_CHANNEL } from './channels.js';
import { registerCommandIpc, type CommandIpc } from './command-ipc.js';
import { desktopApplianceConfig, type DesktopSettings } from './config.js';
import { CONSOLE_PAGE, CONSOLE_SCHEME_PRIVILEGES } from './console-scheme.js';
import { hardenWebContents, openConsoleWindow, type ConsoleWindowPaths } from './console-window.js';
import type { BrowserWindow, ElectronMain } from './electron-api.js';
import { watchNetwork, type InterfaceTable, type NetworkWatch } from './network-watch.js';
import { registerPrintIpc } from './print-ipc.js';

/** The part of a running appliance the desktop uses. */
export type DesktopAppliance = Pick<Appliance, 'console' | 'stop'> & { server: { url: string } };

export interface DesktopDeps {
  electron: ElectronMain;
  settings: DesktopSettings;
  paths: ConsoleWindowPaths;
  log: Logger;
  startAppliance(config: ApplianceConfig, deps: { log: Logger; onStopRequested: () => void }): Promise<DesktopAppliance>;
  /** os.networkInterfaces */
  readInterfaces(): InterfaceTable;
  fileExists(file: string): boolean;
  /** How often the network is read (default 3 s). */
  networkIntervalMs?: number;
  /** How long a graceful stop may take before the app exits anyway (default 15 s, as `kura serve`). */
  stopTimeoutMs?: number;
  /** The platform whose application menu the app gets (default process.platform). */
  platform?: NodeJS.Platform;
}

/** What an operator reads when the appliance cannot start: the usual causes in words (as `kura serve` says them), else the error's message. */
function startFailure(e: unknown, settings: DesktopSettings): string {
  const failure = startFailureOf(e, settings);
  if (!failure) return e instanceof Error ? e.message : String(e);
  const sentence = `${failure.message.charAt(0).toUpperCase()}${failure.message.slice(1)}.`;
  return failure.code === 'PortInUse' ? `${sentence} Stop the other appliance, or start the desktop with --port 0 for any free port.` : sentence;
}

export async function runDesktop(deps: DesktopDeps): Promise<void> {
  const { electron, settings, paths, log } = deps;
  const { app } = electron;
  applySwitches(app.commandLine);
  const menu = applicationMenuTemplate(deps.platform ?? process.platform);
  electron.Menu.setApplicationMenu(menu === null ? null : electron.Menu.buildFromTemplate(menu));
  // Before ready (Electron refuses these after): the app's name (its Chromium profile directory), and
  // the sandbox for every renderer, whatever a window's own options say.
  app.setName('Kura');
  app.enableSandbox();
  // The console's own origin (./console-scheme.ts): privileges can be given only before ready.
  electron.protocol.registerSchemesAsPrivileged([CONSOLE_SCHEME_PRIVILEGES]);
  if (!app.requestSingleInstanceLock()) {
    log.info('desktop: Kura is already running; its window is shown');
    app.quit();
    return;
  }

  // What runs, once it does; the app's event handlers read it.
  const live: { appliance?: DesktopAppliance; win?: BrowserWindow; ipc?: CommandIpc; network?: NetworkWatch; signingOut: Promise<void>; stopping: boolean; stopped: boolean } = {
    signingOut: Promise.resolve(),
    stopping: false,
    stopped: false,
  };

  /** Ends the window's session; a failure is logged and never keeps the appliance from stopping. */
  const signOut = (ipc: CommandIpc | undefined) => {
    live.signingOut = live.signingOut
      .then(() => ipc?.signOut())
      .catch((e: unknown) => log.warn('desktop: signing the operator out failed', { error: e instanceof Error ? e.name : typeof e }));
    return live.signingOut;
  };

  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  // Electron's default answers a server's request for a client certificate with the first one in the
  // user's store: an identity of the operator's, shown to whoever asked. No page of the app has a
  // server to prove itself to.
  app.on('select-client-certificate', (event, _contents, _url, _certificates, callback) => {
    event.preventDefault();
    callback();
  });
  app.on('second-instance', () => {
    const { win } = live;
    if (!win || win.isDestroyed()) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  // The window is the appliance's only face here: closing it quits, on every platform.
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', (event) => {
    const running = live.appliance;
    if (!running || live.stopped) return;
    event.preventDefault();
    if (live.stopping) return;
    live.stopping = true;
    const force = setTimeout(() => {
      log.error('desktop: graceful stop timed out; exiting');
      app.exit(1);
    }, deps.stopTimeoutMs ?? 15_000);
    force.unref?.();
    log.info('desktop: stopping');
    let clean = true;
    void (async () => {
      live.network?.stop();
      await signOut(live.ipc);
      await running.stop();
    })()
      .catch((e: unknown) => {
        // Every step of the stop was still tried (app.ts); a supervisor must see that it was not clean.
        clean = false;
        log.error('kura stopped, but not cleanly', errorFields(e));
      })
      .finally(() => {
        clearTimeout(force);
        live.stopped = true;
        // The counts of refused calls whose lines were coalesced (main/common/log.ts), as kura serve writes them.
        coalescedLines(log).flush();
        if (clean) {
          log.info('kura stopped');
          app.quit();
        } else app.exit(1);
      });
  });

  const fail = (title: string, message: string) => {
    log.error(`desktop: ${title}`, { message });
    electron.dialog.showErrorBox(title, message);
    app.exit(1);
  };

  await app.whenReady();
  const missing = [paths.preload, paths.indexHtml].filter((f) => !deps.fileExists(f));
  if (missing.length > 0) {
    fail('Kura console is not built', `Missing: ${missing.join(', ')}.\nRun \`npm run build\`: it builds the console (dist/renderer) and the desktop's preload.`);
    return;
  }
  let appliance: DesktopAppliance;
  try {
    appliance = await deps.startAppliance(desktopApplianceConfig(settings), { log, onStopRequested: () => app.quit() });
  } catch (e) {
    fail('Kura could not start', startFailure(e, settings));
    return;
  }
  live.appliance = appliance;
  log.info('kura desktop started', { version: KURA_VERSION, pid: process.pid, endpoint: appliance.server.url, dataDir: settings.dataDir, dev: settings.dev });

  const win = openConsoleWindow(electron, paths, settings.devTools);
  // The handlers are in before the page loads: the console's first call finds them.
  const ipc = registerCommandIpc({ ipcMain: electron.ipcMain, contents: win.webContents, console: appliance.console, log });
  const print = registerPrintIpc({ ipcMain: electron.ipcMain, win, dialog: electron.dialog, app, log });
  const push = (status: unknown) => {
    if (!win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(NETWORK_CHANNEL, status);
  };
  const network = watchNetwork({ read: deps.readInterfaces, intervalMs: deps.networkIntervalMs ?? 3_000, onChange: push });
  Object.assign(live, { win, ipc, network });
  win.webContents.on('did-finish-load', () => push(network.current()));
  win.webContents.on('render-process-gone', (_event, details) => log.error('desktop: the console page stopped', { reason: details.reason }));
  win.on('closed', () => {
    network.stop();
    ipc.dispose();
    print.dispose();
    void signOut(ipc);
    live.win = undefined;
  });
  // Chromium's navigation error (ERR_… and the URL, which is the console's own): no request's data.
  win.loadURL(CONSOLE_PAGE).catch((e: unknown) => log.error('desktop: the console page did not load', { error: e instanceof Error ? e.message : typeof e }));
}
