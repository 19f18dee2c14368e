// A test double of the part of Electron's main-process API that main/desktop uses (its shape is
// main/desktop/electron-api.ts): windows, web contents, their session, ipcMain, app and dialog, recording
// what the shell sets and letting a test fire the events Electron would (navigation, a permission
// request, an IPC invoke from some frame, quit) and answer what the user would (the save dialog), and
// choose what printing to PDF gives; its utilityProcess starts real Node.js processes
// (./fake-utility-process.ts). Electron itself is not installed on these machines.
import type {
  App,
  BrowserWindow,
  BrowserWindowOptions,
  CommandLine,
  CustomScheme,
  Dialog,
  ElectronEvent,
  ElectronMain,
  HeadersReceivedDetails,
  IpcInvokeEvent,
  IpcMain,
  MenuItemTemplate,
  PermissionDetails,
  PrintToPdfOptions,
  ResponseHeaders,
  SaveDialogOptions,
  SaveDialogReturnValue,
  Session,
  SessionProtocol,
  WebContents,
  WebFrame,
} from '../../../main/desktop/electron-api.js';
import { fakeUtilityProcess } from './fake-utility-process.js';

type Listener = (...args: never[]) => unknown;

/** Listeners by event name, and a way to fire them. */
class Emitter {
  readonly listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  once(event: string, listener: Listener): this {
    return this.on(event, listener);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (...a: unknown[]) => unknown)(...args);
  }
  count(event: string): number {
    return this.listeners.get(event)?.length ?? 0;
  }
}

/** An event whose preventDefault is recorded. */
export function fakeEvent(): ElectronEvent & { prevented: boolean } {
  const e = { prevented: false, preventDefault: () => void (e.prevented = true) };
  return e;
}

type HeadersListener = Parameters<Session['webRequest']['onHeadersReceived']>[0];
type BeforeRequestListener = Parameters<Session['webRequest']['onBeforeRequest']>[0];
type RequestHandler = Parameters<Session['setPermissionRequestHandler']>[0];
type CheckHandler = Parameters<Session['setPermissionCheckHandler']>[0];
type DeviceHandler = Parameters<Session['setDevicePermissionHandler']>[0];

/** A session's protocol handlers, by scheme; handling a scheme twice throws, as Electron's does. */
export class FakeSessionProtocol implements SessionProtocol {
  readonly handlers = new Map<string, (request: Request) => Response | Promise<Response>>();
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void {
    if (this.handlers.has(scheme)) throw new Error(`Failed to register protocol: ${scheme}`);
    this.handlers.set(scheme, handler);
  }
  isProtocolHandled(scheme: string): boolean {
    return this.handlers.has(scheme);
  }
  /** A request the page makes: the handler's answer, or what Electron gives a scheme nobody handles. */
  async fetch(url: string, method = 'GET'): Promise<Response> {
    const handler = this.handlers.get(new URL(url).protocol.slice(0, -1));
    if (!handler) throw new Error(`net::ERR_UNKNOWN_URL_SCHEME ${url}`);
    return handler(new Request(url, { method }));
  }
}

export class FakeSession extends Emitter implements Session {
  readonly protocol = new FakeSessionProtocol();
  headersListener?: HeadersListener;
  beforeRequestListener?: BeforeRequestListener;
  requestHandler?: RequestHandler;
  checkHandler?: CheckHandler;
  deviceHandler?: DeviceHandler;
  readonly webRequest = {
    onBeforeRequest: (l: BeforeRequestListener) => void (this.beforeRequestListener = l),
    onHeadersReceived: (l: HeadersListener) => void (this.headersListener = l),
  };

  /** A request a page makes, through the before-request listener: whether it was cancelled (sent when no listener is set, as Electron does). */
  cancels(url: string): boolean {
    if (!this.beforeRequestListener) return false;
    let answer: { cancel?: boolean } | undefined;
    this.beforeRequestListener({ url, method: 'GET' }, (r) => void (answer = r));
    if (answer === undefined) throw new Error('the before-request listener did not answer');
    return answer.cancel === true;
  }
  setPermissionRequestHandler(h: RequestHandler): void {
    this.requestHandler = h;
  }
  setPermissionCheckHandler(h: CheckHandler): void {
    this.checkHandler = h;
  }
  setDevicePermissionHandler(h: DeviceHandler): void {
    this.deviceHandler = h;
  }

  /** A response through the headers listener: the headers it goes on with. */
  respond(details: HeadersReceivedDetails): ResponseHeaders | undefined {
    let out: ResponseHeaders | undefined;
    this.headersListener!(details, (r) => void (out = r.responseHeaders));
    return out;
  }

  /**
   * A page asks for a device (navigator.hid/usb.requestDevice, navigator.serial.requestPort) and the
   * chooser offers `devices`: whether a listener prevented Electron's own choice, and what it chose.
   */
  choose(event: 'select-hid-device' | 'select-usb-device' | 'select-serial-port', devices: { deviceId: string }[], contents: WebContents): { prevented: boolean; chosen: (string | null | undefined)[] } {
    const e = fakeEvent();
    const chosen: (string | null | undefined)[] = [];
    if (event === 'select-serial-port') this.emit(event, e, devices.map((d) => ({ portId: d.deviceId })), contents, (id: string) => chosen.push(id));
    else this.emit(event, e, { deviceList: devices, frame: contents.mainFrame }, (id?: string | null) => chosen.push(id));
    return { prevented: e.prevented, chosen };
  }

  /** A page starts a download of `url`: whether the shell cancelled it, and the save dialog options it set. */
  download(url: string, contents: WebContents): { cancelled: boolean; dialog: unknown[] } {
    const e = fakeEvent();
    const dialog: unknown[] = [];
    this.emit('will-download', e, { getURL: () => url, setSaveDialogOptions: (o: unknown) => void dialog.push(o) }, contents);
    return { cancelled: e.prevented, dialog };
  }

  /** A permission request through the request handler: whether it was granted. */
  request(contents: WebContents, permission: string, details: PermissionDetails): boolean {
    let granted: boolean | undefined;
    this.requestHandler!(contents, permission, (g) => void (granted = g), details);
    if (granted === undefined) throw new Error('the permission request handler did not answer');
    return granted;
  }
}

let nextId = 1;

export class FakeWebContents extends Emitter implements WebContents {
  readonly id = nextId++;
  readonly session = new FakeSession();
  readonly mainFrame: WebFrame;
  windowOpenHandler?: (details: { url: string }) => { action: 'deny' };
  readonly sent: { channel: string; args: unknown[] }[] = [];
  /** Every printToPDF call's options, in order. */
  readonly printed: PrintToPdfOptions[] = [];
  /** What printToPDF gives: these bytes, or this error thrown. */
  pdf: Buffer | Error = Buffer.from('%PDF-1.7\n% a fake transcript\n%%EOF\n');
  destroyed = false;
  constructor(url = 'about:blank') {
    super();
    this.mainFrame = { url, parent: null };
  }
  setWindowOpenHandler(h: (details: { url: string }) => { action: 'deny' }): void {
    this.windowOpenHandler = h;
  }
  /** The WebRTC IP handling policy set last (Electron's default: 'default'). */
  webRtcPolicy = 'default';
  setWebRTCIPHandlingPolicy(policy: 'default' | 'default_public_interface_only' | 'default_public_and_private_interfaces' | 'disable_non_proxied_udp'): void {
    this.webRtcPolicy = policy;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  async printToPDF(options: PrintToPdfOptions): Promise<Buffer> {
    this.printed.push(options);
    if (this.pdf instanceof Error) throw this.pdf;
    return this.pdf;
  }
  /** A page asks for a Bluetooth device and the chooser offers `devices`: whether a listener prevented Electron's pick of the first one, and what it chose. */
  chooseBluetooth(devices: { deviceId: string; deviceName: string }[]): { prevented: boolean; chosen: string[] } {
    const e = fakeEvent();
    const chosen: string[] = [];
    this.emit('select-bluetooth-device', e, devices, (id: string) => chosen.push(id));
    return { prevented: e.prevented, chosen };
  }
  /** Fires a cancellable navigation event: whether the shell prevented it. */
  navigate(event: 'will-navigate' | 'will-redirect', url: string): boolean {
    const e = fakeEvent();
    this.emit(event, e, url);
    return e.prevented;
  }
  /** A frame's navigation as 'will-frame-navigate' announces it (the top frame's too): whether the shell prevented it. */
  navigateFrame(url: string, isMainFrame: boolean): boolean {
    const e = Object.assign(fakeEvent(), { url, isMainFrame });
    this.emit('will-frame-navigate', e);
    return e.prevented;
  }
}

export class FakeIpcMain implements IpcMain {
  readonly handlers = new Map<string, (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>>();
  handle(channel: string, listener: (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What a renderer's ipcRenderer.invoke would get, sent by `sender` from the frame showing `frameUrl`. */
  invoke(channel: string, from: { sender: WebContents; frame: WebFrame | null }, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) return Promise.reject(new Error(`No handler registered for '${channel}'`));
    return h({ sender: from.sender, senderFrame: from.frame }, ...args);
  }
}

/** Chromium's command line: the switches the app appends (recorded in app.calls as 'switch:NAME' too). */
export class FakeCommandLine implements CommandLine {
  readonly appended: string[] = [];
  constructor(private readonly calls: string[]) {}
  appendSwitch(name: string): void {
    this.calls.push(`switch:${name}`);
    this.appended.push(name);
  }
}

export class FakeApp extends Emitter implements App {
  isPackaged = false;
  name = 'Electron';
  sandboxEnabled = false;
  /** Whether requestSingleInstanceLock gets the lock. */
  lockAvailable = true;
  /** What happened, in order: 'switch:NAME', 'menu', 'setName', 'enableSandbox', 'privileged', 'lock', 'ready', 'quit', 'exit:N'. */
  readonly calls: string[] = [];
  readonly commandLine = new FakeCommandLine(this.calls);
  quitted = false;
  exitCode?: number;
  /** What getPath answers, by name; a name missing here throws, as Electron does for a path it cannot get. */
  readonly paths: Partial<Record<'documents' | 'home', string>> = { documents: '/home/operator/Documents', home: '/home/operator' };
  private readyResolve!: () => void;
  private readonly ready = new Promise<void>((r) => (this.readyResolve = r));
  setName(name: string): void {
    this.calls.push('setName');
    this.name = name;
  }
  enableSandbox(): void {
    this.calls.push('enableSandbox');
    this.sandboxEnabled = true;
  }
  requestSingleInstanceLock(): boolean {
    this.calls.push('lock');
    return this.lockAvailable;
  }
  whenReady(): Promise<void> {
    return this.ready;
  }
  getPath(name: 'documents' | 'home'): string {
    const found = this.paths[name];
    if (found === undefined) throw new Error(`Failed to get '${name}' path`);
    return found;
  }
  /** Electron's 'ready'. */
  makeReady(): void {
    this.calls.push('ready');
    this.readyResolve();
  }
  /** As Electron: 'before-quit' first; the app quits only if no listener prevented it. */
  quit(): void {
    this.calls.push('quit');
    const e = fakeEvent();
    this.emit('before-quit', e);
    if (!e.prevented) this.quitted = true;
  }
  exit(code: number): void {
    this.calls.push(`exit:${code}`);
    this.exitCode = code;
  }
}

/** The dialog double: error boxes and save dialogs are recorded; the user's answer to a save dialog is `answerSave`'s. */
export interface FakeDialog extends Dialog {
  readonly errors: { title: string; content: string }[];
  readonly saves: { window: BrowserWindow; options: SaveDialogOptions }[];
  /** The user at the save dialog (default: cancels). */
  answerSave: (options: SaveDialogOptions) => SaveDialogReturnValue | Promise<SaveDialogReturnValue>;
}

export function fakeDialog(): FakeDialog {
  const dialog: FakeDialog = {
    errors: [],
    saves: [],
    answerSave: () => ({ canceled: true, filePath: '' }),
    showErrorBox: (title, content) => void dialog.errors.push({ title, content }),
    showSaveDialog: async (window, options) => {
      dialog.saves.push({ window, options });
      return dialog.answerSave(options);
    },
  };
  return dialog;
}

export interface FakeElectron extends ElectronMain {
  readonly app: FakeApp;
  /** The application menu set last: undefined until set, null for none, else the template it was built from. */
  readonly menu: { current: MenuItemTemplate[] | null | undefined };
  readonly ipcMain: FakeIpcMain;
  readonly dialog: FakeDialog;
  /** Every protocol.registerSchemesAsPrivileged call's list, in order (app.calls says when: 'privileged'). */
  readonly privileged: CustomScheme[][];
  /** Every window made, in order. */
  readonly windows: FakeWindow[];
}

export interface FakeWindow extends BrowserWindow {
  readonly options: BrowserWindowOptions;
  readonly webContents: FakeWebContents;
  readonly loaded: string[];
  shown: boolean;
  focused: number;
  minimized: boolean;
  /** The user closes the window. */
  close(): void;
  emit(event: string, ...args: unknown[]): void;
}

/** A fresh double of the electron module. As Electron does, a new window's contents are announced on app's 'web-contents-created'. */
export function fakeElectron(): FakeElectron {
  const app = new FakeApp();
  const windows: FakeWindow[] = [];
  const privileged: CustomScheme[][] = [];
  class Window extends Emitter implements FakeWindow {
    readonly webContents = new FakeWebContents();
    readonly loaded: string[] = [];
    shown = false;
    focused = 0;
    minimized = false;
    destroyed = false;
    constructor(readonly options: BrowserWindowOptions) {
      super();
      windows.push(this);
      app.emit('web-contents-created', fakeEvent(), this.webContents);
    }
    async loadURL(url: string): Promise<void> {
      this.loaded.push(url);
      (this.webContents.mainFrame as { url: string }).url = url;
    }
    show(): void {
      this.shown = true;
    }
    focus(): void {
      this.focused += 1;
    }
    restore(): void {
      this.minimized = false;
    }
    isMinimized(): boolean {
      return this.minimized;
    }
    isDestroyed(): boolean {
      return this.destroyed;
    }
    close(): void {
      this.destroyed = true;
      this.webContents.destroyed = true;
      this.emit('closed');
      if (windows.every((w) => w.isDestroyed())) app.emit('window-all-closed');
    }
  }
  const menu: { current: MenuItemTemplate[] | null | undefined } = { current: undefined };
  return {
    app,
    menu,
    Menu: {
      // A "menu" here is its template; setting one records it.
      buildFromTemplate: (template) => template,
      setApplicationMenu: (m) => {
        app.calls.push('menu');
        menu.current = m as MenuItemTemplate[] | null;
      },
    },
    BrowserWindow: Window,
    ipcMain: new FakeIpcMain(),
    dialog: fakeDialog(),
    utilityProcess: fakeUtilityProcess(),
    protocol: {
      registerSchemesAsPrivileged: (schemes) => {
        app.calls.push('privileged');
        privileged.push(schemes);
      },
    },
    privileged,
    windows,
  };
}
