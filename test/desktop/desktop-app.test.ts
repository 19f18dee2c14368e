// The desktop main process (main/desktop/desktop-app.ts) with Electron replaced by a test double and a
// fake appliance: what happens before Electron is ready, the start order (appliance, window, IPC, then
// the page), the network pushes, quitting with a graceful stop, and the start-up failures an operator
// must be told about.
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KURA_VERSION, type ApplianceConfig } from '../../main/app.js';
import { coalescedLines, createLogger } from '../../main/common/log.js';
import { COMMAND_CHANNEL, NETWORK_CHANNEL, PRINT_CHANNEL } from '../../main/desktop/channels.js';
import type { ConsoleAnswer } from '../../main/desktop/command-ipc.js';
import { CONSOLE_PAGE } from '../../main/desktop/console-scheme.js';
import { runDesktop, type DesktopAppliance, type DesktopDeps } from '../../main/desktop/desktop-app.js';
import type { InterfaceTable } from '../../main/desktop/network-watch.js';
import { fakeElectron, fakeEvent, FakeWebContents } from './support/fake-electron.js';

const INDEX = path.resolve('/opt/kura/dist/renderer/index.html');
const PRELOAD = path.resolve('/opt/kura/dist/desktop/preload.cjs');
const LO: InterfaceTable = { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }] };
const ETH: InterfaceTable = { ...LO, eth0: [{ address: '10.1.2.3', family: 'IPv4', internal: false }] };

const flush = () => new Promise((r) => setTimeout(r, 0));

function fakeAppliance() {
  const calls: string[] = [];
  let finishStop: () => void = () => undefined;
  const appliance: DesktopAppliance & { calls: string[] } = {
    calls,
    server: { url: 'http://127.0.0.1:7420' },
    console: {
      run: async (token, command): Promise<ConsoleAnswer> => {
        calls.push(`${command}:${token ?? '-'}`);
        return command === 'session.login' ? { ok: true, status: 200, value: { token: 'tok-1', operator: 'alice', expiresAt: 'x' } } : { ok: true, status: 200, value: {} };
      },
    },
    // Stops when the test says (finishStop), as a real stop waits for calls in progress.
    stop: () => {
      calls.push('stop');
      return new Promise<void>((r) => (finishStop = r)).then(() => void calls.push('stopped'));
    },
  };
  return { appliance, finishStop: () => finishStop() };
}

/** Starts the shell on doubles; Electron becomes ready when the test says. */
function start(over: Partial<DesktopDeps> = {}) {
  const electron = fakeElectron();
  const { appliance, finishStop } = fakeAppliance();
  let table = LO;
  const logLines: string[] = [];
  const configs: ApplianceConfig[] = [];
  const deps: DesktopDeps = {
    electron,
    settings: { dev: true, dataDir: '/tmp/kura-desk', port: 7420, logLevel: 'debug', devTools: false },
    paths: { preload: PRELOAD, indexHtml: INDEX },
    log: createLogger('debug', (l) => logLines.push(l)),
    startAppliance: async (config) => {
      configs.push(config);
      electron.app.calls.push('appliance');
      return appliance;
    },
    readInterfaces: () => table,
    fileExists: () => true,
    networkIntervalMs: 1000,
    stopTimeoutMs: 5000,
    platform: 'linux',
    ...over,
  };
  const running = runDesktop(deps);
  return { electron, appliance, finishStop, running, configs, logLines, log: deps.log, setTable: (t: InterfaceTable) => (table = t) };
}

/** Started and ready, with its window. */
async function started(over: Partial<DesktopDeps> = {}) {
  const s = start(over);
  s.electron.app.makeReady();
  await s.running;
  return { ...s, win: s.electron.windows[0]! };
}

afterEach(() => vi.useRealTimers());

describe('the desktop main process', () => {
  it("names the app, turns on the sandbox for every renderer, privileges the console's scheme and takes the single-instance lock, all before ready", async () => {
    const { electron, running } = start();
    expect(electron.app.calls).toEqual(['switch:no-proxy-server', 'menu', 'setName', 'enableSandbox', 'privileged', 'lock']);
    // Standard (an origin, relative URLs), secure (a secure context) and fetch-capable (module scripts);
    // not corsEnabled, which would let other origins read it, and no CSP bypass.
    expect(electron.privileged).toEqual([[{ scheme: 'kura', privileges: { standard: true, secure: true, supportFetchAPI: true } }]]);
    expect(electron.app.name).toBe('Kura');
    expect(electron.app.sandboxEnabled).toBe(true);
    expect(electron.windows).toEqual([]);
    electron.app.makeReady();
    await running;
    expect(electron.app.calls).toEqual(['switch:no-proxy-server', 'menu', 'setName', 'enableSandbox', 'privileged', 'lock', 'ready', 'appliance']);
  });

  it("gives Linux and Windows no application menu, and macOS only its application, edit and window menus (not Electron's default, with its devtools and links out)", async () => {
    for (const platform of ['linux', 'win32'] as const) {
      const { electron } = start({ platform });
      expect(electron.menu.current, platform).toBeNull();
    }
    const { electron } = start({ platform: 'darwin' });
    expect(electron.menu.current).toEqual([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }]);
  });

  it('goes through no proxy, so that it fetches no proxy script at start', () => {
    const { electron } = start();
    expect(electron.app.commandLine.appended).toEqual(['no-proxy-server']);
  });

  it('starts the appliance on loopback, then the window, its IPC handlers, and only then loads the page', async () => {
    const { configs, win, electron } = await started();
    expect(configs).toEqual([expect.objectContaining({ host: '127.0.0.1', port: 7420, dataDir: '/tmp/kura-desk', dev: true })]);
    expect(electron.windows).toHaveLength(1);
    expect(win.options.webPreferences).toMatchObject({ preload: PRELOAD, sandbox: true, contextIsolation: true, nodeIntegration: false, devTools: false });
    expect([...electron.ipcMain.handlers.keys()].sort()).toEqual([COMMAND_CHANNEL, PRINT_CHANNEL].sort());
    expect(win.loaded).toEqual([CONSOLE_PAGE]);
    // The page's scheme is served on the window's own session.
    expect(win.webContents.session.protocol.isProtocolHandled('kura')).toBe(true);
  });

  it("runs the page's commands on the appliance's console", async () => {
    const { electron, win, appliance } = await started();
    const answer = await electron.ipcMain.invoke(COMMAND_CHANNEL, { sender: win.webContents, frame: win.webContents.mainFrame }, 'status', {});
    expect(answer).toEqual({ ok: true, status: 200, value: {} });
    expect(appliance.calls).toEqual(['status:-']);
  });

  it("prints the console window's page and saves it where the operator says", async () => {
    const { electron, win } = await started();
    electron.dialog.answerSave = () => ({ canceled: true, filePath: '' });
    const answer = await electron.ipcMain.invoke(PRINT_CHANNEL, { sender: win.webContents, frame: win.webContents.mainFrame }, 'transcript');
    expect(answer).toEqual({ saved: null });
    expect(win.webContents.printed).toHaveLength(1);
    expect(electron.dialog.saves.map((s) => ({ window: s.window, defaultPath: s.options.defaultPath }))).toEqual([
      { window: win, defaultPath: path.join(electron.app.getPath('documents'), 'transcript.pdf') },
    ]);
  });

  it('hardens every web contents Electron makes, not only the console window', async () => {
    const { electron } = await started();
    const other = new FakeWebContents();
    electron.app.emit('web-contents-created', {}, other);
    expect(other.navigate('will-navigate', 'https://example.com/')).toBe(true);
    expect(other.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
  });

  it("sends no client certificate when a server asks for one (Electron's default sends the store's first)", async () => {
    const { electron, win } = await started();
    const event = fakeEvent();
    const answers: unknown[][] = [];
    electron.app.emit('select-client-certificate', event, win.webContents, 'https://example.com/', [{ subjectName: 'operator' }], (...a: unknown[]) => answers.push(a));
    expect(event.prevented).toBe(true);
    expect(answers).toEqual([[]]);
  });

  it('pushes the network status when the page loads and whenever it changes', async () => {
    vi.useFakeTimers();
    const { win, setTable } = await started();
    win.webContents.emit('did-finish-load');
    expect(win.webContents.sent).toEqual([{ channel: NETWORK_CHANNEL, args: [{ interfaces: [], offline: true }] }]);
    vi.advanceTimersByTime(3000);
    expect(win.webContents.sent).toHaveLength(1);
    setTable(ETH);
    vi.advanceTimersByTime(1000);
    expect(win.webContents.sent.at(-1)).toEqual({ channel: NETWORK_CHANNEL, args: [{ offline: false, interfaces: [{ name: 'eth0', address: '10.1.2.3', family: 'IPv4' }] }] });
  });

  it('a second launch shows the first window', async () => {
    const { electron, win } = await started();
    win.minimized = true;
    electron.app.emit('second-instance');
    expect(win.minimized).toBe(false);
    expect(win.focused).toBe(1);
  });

  it('quits only after signing the operator out and stopping the appliance gracefully', async () => {
    const { electron, win, appliance, finishStop } = await started();
    await electron.ipcMain.invoke(COMMAND_CHANNEL, { sender: win.webContents, frame: win.webContents.mainFrame }, 'session.login', { operator: 'alice', passphrase: 'p'.repeat(12) });
    electron.app.quit();
    expect(electron.app.quitted).toBe(false);
    electron.app.quit();
    await flush();
    expect(appliance.calls).toEqual(['session.login:-', 'session.logout:tok-1', 'stop']);
    expect(electron.app.quitted).toBe(false);
    finishStop();
    await flush();
    expect(appliance.calls.at(-1)).toBe('stopped');
    expect(electron.app.quitted).toBe(true);
    expect(electron.app.exitCode).toBeUndefined();
  });

  it('logs its start with the version and pid, and at its stop the counts of coalesced refusals', async () => {
    const { electron, finishStop, logLines, log } = await started();
    const start = JSON.parse(logLines.find((l) => l.includes('kura desktop started'))!) as Record<string, unknown>;
    expect(start).toMatchObject({ version: KURA_VERSION, pid: process.pid, dataDir: '/tmp/kura-desk' });
    for (let i = 0; i < 5; i++) coalescedLines(log).info({ error: 'InvalidSignature' }, 'kms call', {});
    electron.app.quit();
    await flush();
    finishStop();
    await flush();
    expect(logLines.join('')).toContain('"notLogged":4');
  });

  it('stops the appliance even when signing the operator out fails', async () => {
    const { electron, win, appliance, finishStop, logLines } = await started();
    await electron.ipcMain.invoke(COMMAND_CHANNEL, { sender: win.webContents, frame: win.webContents.mainFrame }, 'session.login', { operator: 'alice', passphrase: 'p'.repeat(12) });
    appliance.console.run = () => Promise.reject(new Error('store closed'));
    electron.app.quit();
    await flush();
    expect(appliance.calls.at(-1)).toBe('stop');
    finishStop();
    await flush();
    expect(electron.app.quitted).toBe(true);
    expect(logLines.join('')).toContain('signing the operator out failed');
  });

  it('exits 1 when a step of the stop failed, after the stop ran, and says so', async () => {
    const { electron, appliance, logLines } = await started();
    appliance.stop = () => Promise.reject(new Error('stopping Kura failed at: removing kura.runtime.json'));
    electron.app.quit();
    await flush();
    expect(electron.app.exitCode).toBe(1);
    expect(logLines.join('')).toContain('kura stopped, but not cleanly');
    expect(logLines.join('')).not.toContain('"msg":"kura stopped"');
  });

  it('closing the window quits the same way', async () => {
    const { electron, win, appliance, finishStop } = await started();
    win.close();
    await flush();
    expect(appliance.calls).toEqual(['stop']);
    expect(electron.ipcMain.handlers.size).toBe(0);
    finishStop();
    await flush();
    expect(electron.app.quitted).toBe(true);
  });

  it('exits 1 when the graceful stop does not end in time', async () => {
    vi.useFakeTimers();
    const { electron } = await started();
    electron.app.quit();
    await vi.advanceTimersByTimeAsync(4999);
    expect(electron.app.exitCode).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(electron.app.exitCode).toBe(1);
  });
});

describe('start-up failures', () => {
  it('a second instance hands over to the first and starts nothing', async () => {
    const electron = fakeElectron();
    electron.app.lockAvailable = false;
    const startAppliance = vi.fn();
    const s = start({ electron, startAppliance });
    await s.running;
    expect(electron.app.quitted).toBe(true);
    expect(startAppliance).not.toHaveBeenCalled();
    expect(electron.windows).toEqual([]);
  });

  it('a busy port is explained in a dialog, and the app exits 1 without a window', async () => {
    const busy = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' });
    const { electron } = await started({ startAppliance: () => Promise.reject(busy) });
    expect(electron.dialog.errors).toEqual([{ title: 'Kura could not start', content: expect.stringContaining('Port 7420 is in use') }]);
    expect(electron.dialog.errors[0]!.content).toContain('--port 0');
    expect(electron.app.exitCode).toBe(1);
    expect(electron.windows).toEqual([]);
  });

  it('a data directory this user may not write is named as such, not as a port', async () => {
    const denied = Object.assign(new Error("EACCES: permission denied, mkdir '/tmp/kura-desk'"), { code: 'EACCES', syscall: 'mkdir' });
    const { electron } = await started({ startAppliance: () => Promise.reject(denied) });
    expect(electron.dialog.errors).toEqual([{ title: 'Kura could not start', content: 'Cannot use the data directory /tmp/kura-desk: not allowed (EACCES); it must be writable by this user.' }]);
  });

  it('a data directory path through a file is named as such, in the words `kura serve` uses', async () => {
    const file = Object.assign(new Error("ENOTDIR: not a directory, mkdir '/tmp/kura-desk'"), { code: 'ENOTDIR', syscall: 'mkdir' });
    const { electron } = await started({ startAppliance: () => Promise.reject(file) });
    expect(electron.dialog.errors).toEqual([{ title: 'Kura could not start', content: 'Cannot use the data directory /tmp/kura-desk: it, or a directory above it, is a file.' }]);
  });

  it("another appliance's lock on the data directory is reported as its message says", async () => {
    const { electron } = await started({ startAppliance: () => Promise.reject(new Error('Another Kura (pid 42) is running on /tmp/kura-desk.')) });
    expect(electron.dialog.errors[0]).toEqual({ title: 'Kura could not start', content: 'Another Kura (pid 42) is running on /tmp/kura-desk.' });
  });

  it('an unbuilt console or preload is named, and the appliance is not started', async () => {
    const startAppliance = vi.fn();
    const { electron } = await started({ startAppliance, fileExists: (f) => f !== PRELOAD });
    expect(startAppliance).not.toHaveBeenCalled();
    expect(electron.dialog.errors).toHaveLength(1);
    expect(electron.dialog.errors[0]!.content).toContain(PRELOAD);
    expect(electron.dialog.errors[0]!.content).not.toContain(INDEX);
    expect(electron.dialog.errors[0]!.content).toContain('npm run build');
    expect(electron.app.exitCode).toBe(1);
  });

  it("a quit before the appliance runs is Electron's own", async () => {
    const { electron } = start();
    electron.app.quit();
    expect(electron.app.quitted).toBe(true);
  });
});

describe('the console page URL the window trusts', () => {
  it('is the page it loaded, on its own scheme: never a file: URL', async () => {
    const { win } = await started();
    expect(win.webContents.mainFrame.url).toBe('kura://console/index.html');
  });
});
