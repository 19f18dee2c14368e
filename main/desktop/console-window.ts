// The console's one window and everything that keeps its page a page: Electron's security checklist
// applied to a renderer that loads only Kura's own built files (dist/renderer, served on its own origin
// kura://console by ./console-scheme.ts) and talks to the appliance only through the preload's
// `window.kura`.
//
// - webPreferences: context isolation, the Chromium sandbox, no Node in the page, its workers or
//   frames, web security on, no <webview>, no spellchecker (it would send words to a service), an
//   in-memory session (nothing of the page is kept on disk), devtools only where allowed (./config.ts).
// - The page comes from kura://console/index.html, never from a file:// URL (./console-scheme.ts says
//   why); the scheme's handler is installed on this window's session only.
// - The console's Content-Security-Policy (main/console/csp.ts, the text the headless /console/ route
//   sends too) on every answer of the scheme, as a header on every other response of the session, and
//   as the renderer's meta tag.
// - Requests, in every session of the app: none but to the console's own origin (and blob:, data:,
//   devtools'), whatever a page's CSP says; the console talks to the appliance over IPC.
// - Navigation: the page may reload itself and nothing else, and a frame inside it may go nowhere; no
//   new windows; no <webview> attaches.
// - WebRTC: no UDP, and no local address told to a page (TCP to a TURN server is still possible).
// - Permissions, in every session of the app (not only the window's): every request and check is
//   denied (camera, notifications, HID, USB, serial, …), except that the console's own page may write
//   text to the clipboard — the BYOK wizard's "copy" buttons for the OpenSSL commands and fingerprints
//   need it; Chromium lets a page do so only on a user gesture.
import path from 'node:path';
import { CONSOLE_CSP } from '../console/index.js';
import { CONSOLE_HOST, CONSOLE_SCHEME, consoleSchemeHandler } from './console-scheme.js';
import type { BrowserWindow, BrowserWindowOptions, ElectronMain, PermissionDetails, ResponseHeaders, Session, WebContents } from './electron-api.js';

/** The session partition of the window: no `persist:` prefix, so it lives in memory only. */
export const CONSOLE_PARTITION = 'kura-console';

/** Permissions the console's own top-level page is granted; everything else is denied to everyone. */
export const CONSOLE_PERMISSIONS: readonly string[] = ['clipboard-sanitized-write'];

export interface ConsoleWindowPaths {
  /** The built preload script (absolute: Electron requires it for a sandboxed window). */
  preload: string;
  /** The built console's index.html (dist/renderer/index.html). */
  indexHtml: string;
  /** The window icon (assets/icon-512.png), where there is one. */
  icon?: string;
}

/** The window's options: every security setting explicitly, whatever Electron's defaults are. */
export function consoleWindowOptions(paths: ConsoleWindowPaths, devTools: boolean): BrowserWindowOptions {
  return {
    width: 1280,
    height: 860,
    minWidth: 960,
    minHeight: 640,
    title: 'Kura',
    // Shown when its first paint is ready, so that no blank window flashes.
    show: false,
    ...(paths.icon ? { icon: paths.icon } : {}),
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools,
      safeDialogs: true,
      enableWebSQL: false,
      partition: CONSOLE_PARTITION,
    },
  };
}

/**
 * Whether `url` is the console's own page, kura://console/index.html. Its query and fragment may differ
 * (the console routes by fragment), nothing else: no file: URL is the console any more.
 */
export function isConsolePage(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === `${CONSOLE_SCHEME}:` && u.host === CONSOLE_HOST && u.pathname === '/index.html' && u.username === '' && u.password === '';
}

/** The response's headers with the console's policy added (a policy already there stays: policies only narrow). */
export function withConsoleCsp(headers: ResponseHeaders | undefined): ResponseHeaders {
  const out: ResponseHeaders = { ...headers };
  out['Content-Security-Policy'] = [...(out['Content-Security-Policy'] ?? []), CONSOLE_CSP];
  return out;
}

const guarded = new WeakSet<Session>();

/**
 * Whether a page of the app may request `url`: the console's own files (kura://console/…), and URLs that
 * never leave the process (devtools' own pages, blob: and data:). Nothing else — no http(s) or ws(s), the
 * appliance's loopback listener included (the console talks to it over IPC), no file: URL.
 */
export function isInAppRequest(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === `${CONSOLE_SCHEME}:`) return u.host === CONSOLE_HOST && u.username === '' && u.password === '';
  return u.protocol === 'devtools:' || u.protocol === 'blob:' || u.protocol === 'data:';
}

/** The URLs of the console's own downloads: blob: URLs of its origin, which only its page can make (renderer/lib/files.ts). */
const CONSOLE_DOWNLOAD = `blob:${CONSOLE_SCHEME}://${CONSOLE_HOST}/`;

/**
 * The rules of any session: every request to the network cancelled (isInAppRequest); every download but
 * the console's own (statements, public keys, import tokens, audit and transcript exports) cancelled;
 * every permission request and check denied, and every HID, USB or serial device grant, but the console
 * page's clipboard write (CONSOLE_PERMISSIONS). The CSP keeps the console's page to its own origin; this
 * holds in the main process whatever a page's policy says. Electron's sessions allow what they are not
 * told to deny, and the console's is not the only one: the default session holds whatever web contents
 * is made without a partition (devtools among them). Once per session.
 */
export function guardSession(session: Session): void {
  if (guarded.has(session)) return;
  guarded.add(session);
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isInAppRequest(details.url) }));
  // A download is saved where the operator says in Electron's save dialog, which on Linux replaces an
  // existing file without asking unless told to ask (as ./print-ipc.ts tells its own dialog).
  session.on('will-download', (event, item) => {
    if (!item.getURL().startsWith(CONSOLE_DOWNLOAD)) {
      event.preventDefault();
      return;
    }
    item.setSaveDialogOptions({ properties: ['showOverwriteConfirmation', 'createDirectory'] });
  });
  const allowed = (permission: string, details: PermissionDetails) =>
    CONSOLE_PERMISSIONS.includes(permission) && details.isMainFrame === true && details.requestingUrl !== undefined && isConsolePage(details.requestingUrl);
  session.setPermissionRequestHandler((_contents, permission, callback, details) => callback(allowed(permission, details)));
  session.setPermissionCheckHandler((_contents, permission, _origin, details) => allowed(permission, details));
  session.setDevicePermissionHandler(() => false);
  // The device choosers are cancelled as well, whatever the permission handlers said: no page of the app
  // picks a HID, USB or serial device (the appliance reaches its tokens itself, main/devices).
  for (const chooser of ['select-hid-device', 'select-usb-device'] as const) {
    session.on(chooser, (event, _details, callback) => {
      event.preventDefault();
      callback('');
    });
  }
  session.on('select-serial-port', (event, _ports, _contents, callback) => {
    event.preventDefault();
    callback('');
  });
}

/**
 * The console session's rules: the console's scheme served from `rendererDir`, the CSP header on every
 * response, and the rules of every session above.
 */
export function hardenSession(session: Session, rendererDir: string): void {
  if (!session.protocol.isProtocolHandled(CONSOLE_SCHEME)) session.protocol.handle(CONSOLE_SCHEME, consoleSchemeHandler(rendererDir));
  session.webRequest.onHeadersReceived((details, callback) => callback({ responseHeaders: withConsoleCsp(details.responseHeaders) }));
  guardSession(session);
}

const hardened = new WeakSet<WebContents>();

/**
 * The rules for any web contents of the app (the console's, and any other Electron makes): it may not
 * navigate anywhere but the console's page, open windows, or attach a <webview>, and its session, whichever
 * it is, denies permissions and devices (guardSession). Once per contents.
 */
export function hardenWebContents(contents: WebContents): void {
  if (hardened.has(contents)) return;
  hardened.add(contents);
  guardSession(contents.session);
  const keepOnConsole = (event: { preventDefault(): void }, url: string) => {
    if (!isConsolePage(url)) event.preventDefault();
  };
  contents.on('will-navigate', keepOnConsole);
  contents.on('will-redirect', keepOnConsole);
  // will-navigate is the top frame's alone. A frame inside the page (the console has none) navigates
  // nowhere: the CSP's default-src 'none' keeps frames empty, and this holds whatever a policy says.
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame || !isConsolePage(event.url)) event.preventDefault();
  });
  // No link, window.open or form target opens anything: the console has no external pages to show, and
  // an offline ceremony must not start a browser.
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
  // WebRTC's traffic (STUN, TURN, peer connections) goes past the session's request filter and the
  // CSP. This policy turns off its UDP and keeps the machine's addresses from a page; it does not stop
  // TCP to a TURN server, which goes direct when there is no proxy (Electron: "should only use TCP to
  // contact peers or servers unless the proxy server supports UDP"). The console's own code opens no
  // RTCPeerConnection; the CSP, which lets no other script run, is what keeps one from being opened.
  contents.setWebRTCIPHandlingPolicy('disable_non_proxied_udp');
  // Web Bluetooth's chooser is the web contents', and no permission handler is asked first: unless the
  // event is prevented, Electron connects the page to the first device it finds.
  contents.on('select-bluetooth-device', (event, _devices, callback) => {
    event.preventDefault();
    callback('');
  });
}

/** Makes the console's window with its rules in place; the caller loads the page once its IPC handler is in. */
export function openConsoleWindow(electron: ElectronMain, paths: ConsoleWindowPaths, devTools: boolean): BrowserWindow {
  const win = new electron.BrowserWindow(consoleWindowOptions(paths, devTools));
  // Before the page loads: its first request must find the scheme, its first response the header.
  hardenSession(win.webContents.session, path.dirname(paths.indexHtml));
  hardenWebContents(win.webContents);
  win.once('ready-to-show', () => win.show());
  return win;
}
