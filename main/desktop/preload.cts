// The console window's preload: gives the page one object, `window.kura` (main/console/bridge.ts has its type),
// through contextBridge — named calls over the three channels of ./channels.ts, never ipcRenderer itself
// nor any Node API (Bitwarden's desktop does the same; STYLE.md).
//
// Why CommonJS (.cts → preload.cjs) and a single file: the window is sandboxed, and Electron runs a
// sandboxed preload as a plain script — no ES module syntax, and a `require` that knows only `electron`
// and a few built-ins, never another file of Kura. So the channel names are repeated here as literals;
// test/desktop/preload.test.ts runs this file as Electron does (a function of require, process, exports
// and module) and checks that it exposes exactly `run`, `onNetwork`, `printToPdf` and `platform` on those
// channels.
import type { KuraAnswer, KuraBridge, PrintToPdfAnswer } from '../console/bridge.js';
import type { CommandInput, CommandName, NetworkStatusView } from '../console/index.js';

type IpcListener = (event: unknown, ...args: unknown[]) => void;

/** The part of the renderer-side electron module this preload uses. */
interface PreloadElectron {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: IpcListener): unknown;
    removeListener(channel: string, listener: IpcListener): unknown;
  };
}

// A sandboxed preload has require, not import (see above); the electron package's types are not installed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { contextBridge, ipcRenderer } = require('electron') as PreloadElectron;

const kura: KuraBridge = {
  run<C extends CommandName>(command: C, input: CommandInput<C>) {
    return ipcRenderer.invoke('kura:command', command, input) as Promise<KuraAnswer<C>>;
  },
  onNetwork(listener: (status: NetworkStatusView) => void) {
    // Only the payload reaches the page: the IPC event's `sender` is ipcRenderer itself.
    const forward: IpcListener = (_event, status) => listener(status as NetworkStatusView);
    ipcRenderer.on('kura:network', forward);
    return () => {
      ipcRenderer.removeListener('kura:network', forward);
    };
  },
  printToPdf(fileName: string) {
    // The name alone: what is printed is the page as it shows, and where it is saved the operator picks.
    return ipcRenderer.invoke('kura:print-pdf', fileName) as Promise<PrintToPdfAnswer>;
  },
  platform: 'desktop',
};

contextBridge.exposeInMainWorld('kura', kura);
