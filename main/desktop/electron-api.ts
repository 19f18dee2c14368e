// The part of Electron's main-process API the desktop shell uses, typed here rather than taken from the
// `electron` package: that package is not installed on machines that cannot download its binary (it
// fetches one from GitHub at install time), and main/desktop must still typecheck and be tested there.
// Only ./main.ts gets the real module, at run time (`import('electron')`); everything else takes an
// `ElectronMain` as a parameter, so the tests pass a test double (test/desktop/support/fake-electron.ts).
//
// Each member is the subset of Electron's own signature that Kura calls (Electron 28 or later: the main
// process is an ES module). Adding a call to Electron means adding its shape here first, which keeps the
// shell's reach into Electron small and visible in one file.

/** Electron's event object for cancellable events (will-navigate, will-redirect, before-quit, …). */
export interface ElectronEvent {
  preventDefault(): void;
}

/** A frame of a page (WebFrameMain): the IPC handler checks which frame sent a message. */
export interface WebFrame {
  readonly url: string;
  /** Null for the top frame. */
  readonly parent: WebFrame | null;
}

/** The headers of a response, as webRequest gives and takes them (one array of values per name). */
export type ResponseHeaders = Record<string, string[]>;

export interface HeadersReceivedDetails {
  readonly url: string;
  readonly resourceType?: string;
  readonly responseHeaders?: ResponseHeaders;
}

export interface PermissionDetails {
  /** The URL of the frame that asks (for a check: the last URL it loaded). */
  readonly requestingUrl?: string;
  readonly isMainFrame?: boolean;
}

export interface BeforeRequestDetails {
  readonly url: string;
  readonly method?: string;
  readonly resourceType?: string;
}

/** A download a page started, as the session's will-download gives it. */
export interface DownloadItem {
  getURL(): string;
  /** The options of the save dialog Electron shows for it (no save path is set, so it asks). */
  setSaveDialogOptions(options: Pick<SaveDialogOptions, 'properties'>): void;
}

export interface Session {
  readonly webRequest: {
    /** Every request the session makes, before it is sent: the callback may cancel it. */
    onBeforeRequest(listener: (details: BeforeRequestDetails, callback: (response: { cancel?: boolean }) => void) => void): void;
    onHeadersReceived(listener: (details: HeadersReceivedDetails, callback: (response: { responseHeaders?: ResponseHeaders; cancel?: boolean }) => void) => void): void;
  };
  setPermissionRequestHandler(handler: (contents: WebContents, permission: string, callback: (granted: boolean) => void, details: PermissionDetails) => void): void;
  setPermissionCheckHandler(handler: (contents: WebContents | null, permission: string, requestingOrigin: string, details: PermissionDetails) => boolean): void;
  /** WebHID, WebUSB and Web Serial device grants. */
  setDevicePermissionHandler(handler: (details: { deviceType: string; origin: string }) => boolean): void;
  /** The device choosers of navigator.hid/usb.requestDevice: the callback's empty ID cancels the request. */
  on(event: 'select-hid-device' | 'select-usb-device', listener: (event: ElectronEvent, details: unknown, callback: (deviceId?: string | null) => void) => void): unknown;
  /** A download starts; preventing the event cancels it. */
  on(event: 'will-download', listener: (event: ElectronEvent, item: DownloadItem, contents: WebContents) => void): unknown;
  /** navigator.serial.requestPort's chooser: an empty port ID cancels the request. */
  on(event: 'select-serial-port', listener: (event: ElectronEvent, portList: readonly unknown[], contents: WebContents, callback: (portId: string) => void) => void): unknown;
  /** The session's own protocol handlers (Electron 25 or later: handlers answer with a fetch Response). */
  readonly protocol: SessionProtocol;
}

export interface SessionProtocol {
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  isProtocolHandled(scheme: string): boolean;
}

/** A scheme and its privileges, as protocol.registerSchemesAsPrivileged takes them. */
export interface CustomScheme {
  scheme: string;
  privileges: { standard?: boolean; secure?: boolean; supportFetchAPI?: boolean; corsEnabled?: boolean; bypassCSP?: boolean };
}

/** The app-wide protocol module: only what must happen before the app is ready. */
export interface Protocol {
  /** Once, before ready: later calls replace the earlier ones' list. */
  registerSchemesAsPrivileged(schemes: CustomScheme[]): void;
}

/** webContents.printToPDF's options (Electron 21 or later: lengths in inches, the page's print media styles apply). */
export interface PrintToPdfOptions {
  printBackground: boolean;
  pageSize: 'A4' | 'A3' | 'A5' | 'Legal' | 'Letter' | 'Tabloid';
  margins: { top: number; bottom: number; left: number; right: number };
}

export interface WebContents {
  readonly id: number;
  readonly session: Session;
  readonly mainFrame: WebFrame;
  on(event: 'will-navigate' | 'will-redirect', listener: (event: ElectronEvent, url: string) => void): unknown;
  /** Any frame's navigation, the page's own frames included (Electron 25 or later): the event carries its details. */
  on(event: 'will-frame-navigate', listener: (event: ElectronEvent & { readonly url: string; readonly isMainFrame: boolean }) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: ElectronEvent) => void): unknown;
  /** navigator.bluetooth.requestDevice's chooser: unless prevented, Electron picks the first device; an empty ID cancels. */
  on(event: 'select-bluetooth-device', listener: (event: ElectronEvent, devices: readonly unknown[], callback: (deviceId: string) => void) => void): unknown;
  on(event: 'did-finish-load', listener: () => void): unknown;
  on(event: 'render-process-gone', listener: (event: ElectronEvent, details: { reason: string }) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  /** Which network interfaces and routes WebRTC may use (Chromium's WebRTC IP handling policy). */
  setWebRTCIPHandlingPolicy(policy: 'default' | 'default_public_interface_only' | 'default_public_and_private_interfaces' | 'disable_non_proxied_udp'): void;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
  /** The page as it shows now, printed with its print styles; the PDF's bytes. */
  printToPDF(options: PrintToPdfOptions): Promise<Buffer>;
}

/** The webPreferences Kura sets (Electron's names; every security-relevant one explicitly). */
export interface WebPreferences {
  preload: string;
  contextIsolation: boolean;
  sandbox: boolean;
  nodeIntegration: boolean;
  nodeIntegrationInWorker: boolean;
  nodeIntegrationInSubFrames: boolean;
  webSecurity: boolean;
  allowRunningInsecureContent: boolean;
  experimentalFeatures: boolean;
  webviewTag: boolean;
  navigateOnDragDrop: boolean;
  spellcheck: boolean;
  devTools: boolean;
  safeDialogs: boolean;
  enableWebSQL: boolean;
  partition: string;
}

export interface BrowserWindowOptions {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  title: string;
  show: boolean;
  icon?: string;
  webPreferences: WebPreferences;
}

export interface BrowserWindow {
  readonly webContents: WebContents;
  loadURL(url: string): Promise<void>;
  show(): void;
  focus(): void;
  restore(): void;
  isMinimized(): boolean;
  isDestroyed(): boolean;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
}

/** What ipcMain.handle's listener receives about the sender. */
export interface IpcInvokeEvent {
  readonly sender: WebContents;
  /** Null when the frame has navigated away or been destroyed since it sent. */
  readonly senderFrame: WebFrame | null;
}

export interface IpcMain {
  handle(channel: string, listener: (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Chromium's command line of the app: switches are added to it before ready. */
export interface CommandLine {
  appendSwitch(name: string, value?: string): void;
}

export interface App {
  readonly isPackaged: boolean;
  readonly commandLine: CommandLine;
  /** A well-known directory of the user's; throws when the platform has none to give. */
  getPath(name: 'documents' | 'home'): string;
  setName(name: string): void;
  enableSandbox(): void;
  requestSingleInstanceLock(): boolean;
  whenReady(): Promise<void>;
  quit(): void;
  exit(code: number): void;
  on(event: 'before-quit', listener: (event: ElectronEvent) => void): unknown;
  on(event: 'window-all-closed' | 'second-instance', listener: () => void): unknown;
  on(event: 'web-contents-created', listener: (event: ElectronEvent, contents: WebContents) => void): unknown;
  /** A server asks for a client certificate: unless prevented, Electron answers with the first one the store has. */
  on(event: 'select-client-certificate', listener: (event: ElectronEvent, contents: WebContents, url: string, certificates: readonly unknown[], callback: (certificate?: unknown) => void) => void): unknown;
}

export interface SaveDialogOptions {
  title?: string;
  /** A directory, a file name, or both: where the dialog starts and the name it suggests. */
  defaultPath: string;
  filters: { name: string; extensions: string[] }[];
  /**
   * `showOverwriteConfirmation`: Linux only, and off unless given — the GTK dialog then asks before
   * it returns an existing file (Windows and macOS always ask). `createDirectory`: macOS.
   */
  properties?: ('showOverwriteConfirmation' | 'createDirectory' | 'showHiddenFiles' | 'dontAddToRecent')[];
}

/** What the save dialog answers: no path (or an empty one) when the user cancelled. */
export interface SaveDialogReturnValue {
  canceled: boolean;
  filePath?: string;
}

export interface Dialog {
  /** A modal error box; safe before the app is ready (Kura's start-up failures use it). */
  showErrorBox(title: string, content: string): void;
  /** The platform's save dialog, modal to `window`. */
  showSaveDialog(window: BrowserWindow, options: SaveDialogOptions): Promise<SaveDialogReturnValue>;
}

/** The electron module as the main process sees it. */
/** A child process that runs Node.js code (Electron 22 or later): what the packaged binary, which does not run as plain Node.js, starts instead of child_process.fork. */
export interface UtilityProcess {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
}

export interface UtilityProcessModule {
  fork(modulePath: string, args: string[], options: { serviceName: string; stdio: ['ignore', 'ignore', 'inherit']; env: NodeJS.ProcessEnv }): UtilityProcess;
}

/** A menu item of a template: Kura's menus are made of Electron's roles only. */
export interface MenuItemTemplate {
  role: 'appMenu' | 'editMenu' | 'windowMenu';
}

/** The Menu class's static side: the application menu (a window's menu bar on Linux and Windows). */
export interface MenuModule {
  /** null: no application menu (and no menu bar), nor Electron's default one. */
  setApplicationMenu(menu: unknown): void;
  buildFromTemplate(template: MenuItemTemplate[]): unknown;
}

export interface ElectronMain {
  readonly app: App;
  readonly Menu: MenuModule;
  readonly BrowserWindow: new (options: BrowserWindowOptions) => BrowserWindow;
  readonly ipcMain: IpcMain;
  readonly dialog: Dialog;
  readonly utilityProcess: UtilityProcessModule;
  readonly protocol: Protocol;
}
