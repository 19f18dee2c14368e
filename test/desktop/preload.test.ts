// The preload (main/desktop/preload.cts) run as Electron runs a sandboxed preload: compiled to
// CommonJS, its source wrapped in a function of (require, process, exports, module) whose require knows
// only `electron`. It must load so, expose exactly `window.kura` = { run, onNetwork, printToPdf, platform }
// through contextBridge on the channels of main/desktop/channels.ts (its literals and those constants
// agree), and never hand the page ipcRenderer or the IPC event.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';
import * as channels from '../../main/desktop/channels.js';
import { COMMAND_CHANNEL, NETWORK_CHANNEL, PRINT_CHANNEL } from '../../main/desktop/channels.js';
import { ROOT } from '../support/kura-process.js';

const SOURCE = path.join(ROOT, 'main', 'desktop', 'preload.cts');

type IpcListener = (event: unknown, ...args: unknown[]) => void;

/** Runs the preload against fake contextBridge and ipcRenderer; what it exposed and required. */
function runPreload() {
  const { outputText } = ts.transpileModule(fs.readFileSync(SOURCE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: 'preload.cts',
  });
  const exposed: { key: string; api: Record<string, unknown> }[] = [];
  const listeners = new Map<string, IpcListener[]>();
  const ipcRenderer = {
    invoke: vi.fn(async (channel: string, ...args: unknown[]) => ({ ok: true, status: 200, value: { channel, args } })),
    on: vi.fn((channel: string, l: IpcListener) => listeners.set(channel, [...(listeners.get(channel) ?? []), l])),
    removeListener: vi.fn((channel: string, l: IpcListener) => listeners.set(channel, (listeners.get(channel) ?? []).filter((x) => x !== l))),
    send: vi.fn(),
    sendSync: vi.fn(),
  };
  const contextBridge = { exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.push({ key, api }) };
  const required: string[] = [];
  const sandboxRequire = (id: string) => {
    required.push(id);
    if (id === 'electron') return { contextBridge, ipcRenderer, ipcMain: undefined };
    throw new Error(`module not found: ${id}`);
  };
  const exportsObject = {};
  const wrapped = vm.runInNewContext(`(function(require, process, exports, module) {\n${outputText}\n})`, {}) as (...a: unknown[]) => void;
  wrapped(sandboxRequire, { type: 'renderer' }, exportsObject, { exports: exportsObject });
  const emit = (channel: string, ...args: unknown[]) => {
    for (const l of listeners.get(channel) ?? []) l({ sender: ipcRenderer, ports: [] }, ...args);
  };
  return { exposed, required, ipcRenderer, listeners, emit };
}

describe('the preload', () => {
  it('loads as a sandboxed preload: a plain script that requires electron and nothing else', () => {
    const { required } = runPreload();
    expect(required).toEqual(['electron']);
  });

  it('exposes exactly window.kura = { run, onNetwork, printToPdf, platform: "desktop" }, once', () => {
    const { exposed } = runPreload();
    expect(exposed.map((e) => e.key)).toEqual(['kura']);
    const api = exposed[0]!.api;
    expect(Object.keys(api).sort()).toEqual(['onNetwork', 'platform', 'printToPdf', 'run']);
    expect(typeof api.run).toBe('function');
    expect(typeof api.onNetwork).toBe('function');
    expect(typeof api.printToPdf).toBe('function');
    expect(api.platform).toBe('desktop');
  });

  it('never exposes ipcRenderer or any of its methods', () => {
    const { exposed, ipcRenderer } = runPreload();
    const values = Object.values(exposed[0]!.api);
    for (const v of Object.values(ipcRenderer)) expect(values).not.toContain(v);
    expect(values).not.toContain(ipcRenderer);
  });

  it('run(command, input) invokes the command channel with exactly those two, and answers what main answers', async () => {
    const { exposed, ipcRenderer } = runPreload();
    const run = exposed[0]!.api.run as (c: string, i: unknown) => Promise<unknown>;
    const answer = await run('keys.list', { limit: 5 });
    expect(ipcRenderer.invoke).toHaveBeenCalledExactlyOnceWith(COMMAND_CHANNEL, 'keys.list', { limit: 5 });
    expect(answer).toEqual({ ok: true, status: 200, value: { channel: COMMAND_CHANNEL, args: ['keys.list', { limit: 5 }] } });
  });

  it('printToPdf(fileName) invokes the print channel with exactly the name, and answers what main answers', async () => {
    const { exposed, ipcRenderer } = runPreload();
    const printToPdf = exposed[0]!.api.printToPdf as (name: string, ...extra: unknown[]) => Promise<unknown>;
    const answer = await printToPdf('ceremony-2030-01-01', { path: '/etc/passwd' });
    expect(ipcRenderer.invoke).toHaveBeenCalledExactlyOnceWith(PRINT_CHANNEL, 'ceremony-2030-01-01');
    expect(answer).toEqual({ ok: true, status: 200, value: { channel: PRINT_CHANNEL, args: ['ceremony-2030-01-01'] } });
  });

  it("names exactly the channels of channels.ts, as literals (a sandboxed preload cannot import them)", () => {
    const literals = new Set(fs.readFileSync(SOURCE, 'utf8').match(/'kura:[^']*'/g)?.map((l) => l.slice(1, -1)));
    const declared = Object.entries(channels).filter(([name]) => name.endsWith('_CHANNEL')).map(([, value]) => value);
    expect([...literals].sort()).toEqual([...declared].sort());
    expect(declared.sort()).toEqual([COMMAND_CHANNEL, NETWORK_CHANNEL, PRINT_CHANNEL].sort());
  });

  it('onNetwork gives the listener the status alone (never the IPC event), until unsubscribed', () => {
    const { exposed, emit, ipcRenderer, listeners } = runPreload();
    const onNetwork = exposed[0]!.api.onNetwork as (l: (...a: unknown[]) => void) => () => void;
    const listener = vi.fn();
    const other = vi.fn();
    const unsubscribe = onNetwork(listener);
    onNetwork(other);
    expect(ipcRenderer.on).toHaveBeenCalledWith(NETWORK_CHANNEL, expect.any(Function));
    const status = { offline: false, interfaces: [{ name: 'eth0', address: '10.0.0.2', family: 'IPv4' }] };
    emit(NETWORK_CHANNEL, status);
    expect(listener.mock.calls).toEqual([[status]]);
    unsubscribe();
    emit(NETWORK_CHANNEL, { offline: true, interfaces: [] });
    expect(listener).toHaveBeenCalledTimes(1);
    expect(other).toHaveBeenCalledTimes(2);
    expect(listeners.get(NETWORK_CHANNEL)).toHaveLength(1);
  });

  it('is compiled by `npm run build` (tsconfig.build.json), which the window cannot do without', () => {
    // The include globs must name .cts files too: a build without dist/desktop/preload.cjs gives a window with no window.kura.
    const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    expect(parsed?.fileNames.map((f) => path.resolve(f))).toContain(SOURCE);
  });

  it('listens on no other channel', () => {
    const { exposed, ipcRenderer } = runPreload();
    (exposed[0]!.api.onNetwork as (l: () => void) => void)(() => undefined);
    expect(ipcRenderer.on.mock.calls.map((c) => c[0])).toEqual([NETWORK_CHANNEL]);
    expect(ipcRenderer.send).not.toHaveBeenCalled();
    expect(ipcRenderer.sendSync).not.toHaveBeenCalled();
  });
});
