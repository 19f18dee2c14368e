// The console window's security settings (main/desktop/console-window.ts) on a test double of Electron:
// the exact webPreferences, the CSP header on every response of its session, navigation kept on the
// console's own file, no new windows or <webview>, every permission denied but the console page's
// clipboard write, and every device chooser cancelled.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../main/console/index.js';
import {
  consoleWindowOptions,
  hardenWebContents,
  isConsolePage,
  openConsoleWindow,
  withConsoleCsp,
} from '../../main/desktop/console-window.js';
import { fakeElectron, fakeEvent, FakeWebContents } from './support/fake-electron.js';
import { CONSOLE_PAGE } from '../../main/desktop/console-scheme.js';

const INDEX = path.resolve('/opt/kura/dist/renderer/index.html');
const PRELOAD = path.resolve('/opt/kura/dist/desktop/preload.cjs');
const PAGE = CONSOLE_PAGE;
const paths = { preload: PRELOAD, indexHtml: INDEX };

function openWindow(devTools = false) {
  const electron = fakeElectron();
  const win = openConsoleWindow(electron, paths, devTools);
  return { electron, win: electron.windows[0]!, returned: win };
}

describe('the console window', () => {
  it('is made with every security setting explicit: isolated, sandboxed, no Node, the built preload', () => {
    const { win, returned } = openWindow();
    expect(returned).toBe(win);
    expect(win.options.webPreferences).toEqual({
      preload: PRELOAD,
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
      devTools: false,
      safeDialogs: true,
      enableWebSQL: false,
      partition: 'kura-console',
    });
    // No `persist:` partition: nothing of the page is written to disk.
    expect(win.options.webPreferences.partition.startsWith('persist:')).toBe(false);
    expect(Object.keys(win.options.webPreferences)).not.toContain('enableRemoteModule');
    expect(path.isAbsolute(win.options.webPreferences.preload)).toBe(true);
  });

  it('has devtools only when told, and is shown once its first paint is ready', () => {
    expect(consoleWindowOptions(paths, true).webPreferences.devTools).toBe(true);
    const { win } = openWindow();
    expect(win.options.show).toBe(false);
    expect(win.shown).toBe(false);
    win.emit('ready-to-show');
    expect(win.shown).toBe(true);
  });

  it('does not load the page itself: the caller loads it once its IPC handler is in', () => {
    const { win } = openWindow();
    expect(win.loaded).toEqual([]);
  });
});

describe('the Content-Security-Policy header', () => {
  it('allows scripts, styles and fonts of the page only, no frames, no forms, no base', () => {
    const directives = new Map(CONSOLE_CSP.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1).join(' ')]));
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('style-src')).toBe("'self'");
    expect(directives.get('font-src')).toBe("'self'");
    expect(directives.get('connect-src')).toBe("'self'");
    expect(directives.get('base-uri')).toBe("'none'");
    expect(directives.get('form-action')).toBe("'none'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
  });

  it("is set on every response of the window's session, keeping the response's other headers", () => {
    const { win } = openWindow();
    const session = win.webContents.session;
    expect(session.respond({ url: PAGE, responseHeaders: { 'Content-Type': ['text/html'] } })).toEqual({
      'Content-Type': ['text/html'],
      'Content-Security-Policy': [CONSOLE_CSP],
    });
    expect(session.respond({ url: 'http://127.0.0.1:7420/x' })).toEqual({ 'Content-Security-Policy': [CONSOLE_CSP] });
  });

  it('keeps a policy the response already has (policies only narrow)', () => {
    expect(withConsoleCsp({ 'Content-Security-Policy': ["default-src 'none'"] })).toEqual({ 'Content-Security-Policy': ["default-src 'none'", CONSOLE_CSP] });
  });
});

describe('navigation and new windows', () => {
  it("keeps the page on the console's own page: a reload or a route change passes, anything else is prevented", () => {
    const { win } = openWindow();
    const c = win.webContents;
    expect(c.navigate('will-navigate', PAGE)).toBe(false);
    expect(c.navigate('will-navigate', `${PAGE}#/byok`)).toBe(false);
    for (const url of [
      'https://example.com/',
      'http://127.0.0.1:7420/console/',
      pathToFileURL(path.resolve('/etc/passwd')).href,
      // The console's own file, as a file: URL: the console is kura://console now, never a file page.
      pathToFileURL(INDEX).href,
      pathToFileURL(path.resolve('/opt/kura/dist/renderer/other.html')).href,
      'kura://console/assets/index.js',
      'kura://other/index.html',
      'kura://console:8080/index.html',
      'kura://user@console/index.html',
      'kura-console://console/index.html',
      pathToFileURL(path.resolve('/tmp/dist/renderer/index.html')).href,
      'file://evil-host/opt/kura/dist/renderer/index.html',
      'javascript:alert(1)',
      'data:text/html,hi',
      'not a url',
    ]) {
      expect(c.navigate('will-navigate', url), url).toBe(true);
      expect(c.navigate('will-redirect', url), url).toBe(true);
    }
  });

  it('lets no frame inside the page navigate, not even to the console; the top frame only to the console', () => {
    const { win } = openWindow();
    const c = win.webContents;
    for (const url of ['https://example.com/', 'kura://console/assets/index.js', 'data:text/html,hi', 'about:blank', PAGE, `${PAGE}#/byok`]) {
      expect(c.navigateFrame(url, false), url).toBe(true);
    }
    expect(c.navigateFrame(PAGE, true)).toBe(false);
    expect(c.navigateFrame(`${PAGE}#/keys`, true)).toBe(false);
    expect(c.navigateFrame('https://example.com/', true)).toBe(true);
    expect(c.navigateFrame(pathToFileURL(INDEX).href, true)).toBe(true);
  });

  it('opens no window and attaches no <webview>', () => {
    const { win } = openWindow();
    expect(win.webContents.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(win.webContents.windowOpenHandler!({ url: PAGE })).toEqual({ action: 'deny' });
    const e = fakeEvent();
    win.webContents.emit('will-attach-webview', e);
    expect(e.prevented).toBe(true);
  });

  it("turns off WebRTC's UDP and hides local addresses in the console's web contents and any other", () => {
    const { win } = openWindow();
    expect(win.webContents.webRtcPolicy).toBe('disable_non_proxied_udp');
    const other = new FakeWebContents('https://example.com/');
    hardenWebContents(other);
    expect(other.webRtcPolicy).toBe('disable_non_proxied_udp');
  });

  it('hardens any web contents once, however often asked', () => {
    const c = new FakeWebContents();
    hardenWebContents(c);
    hardenWebContents(c);
    expect(c.count('will-navigate')).toBe(1);
    expect(c.count('will-redirect')).toBe(1);
    expect(c.count('will-frame-navigate')).toBe(1);
    expect(c.count('will-attach-webview')).toBe(1);
    expect(c.windowOpenHandler).toBeDefined();
  });

  it("recognises the console's page by its URL, whatever its fragment or query", () => {
    expect(PAGE).toBe('kura://console/index.html');
    expect(isConsolePage(`${PAGE}?x=1#/keys`)).toBe(true);
    expect(isConsolePage(PAGE.replace('index.html', 'index.htm'))).toBe(false);
    expect(isConsolePage(PAGE.replace('kura:', 'https:'))).toBe(false);
    expect(isConsolePage(pathToFileURL(INDEX).href)).toBe(false);
  });
});

describe('requests', () => {
  const cancelled = [
    'http://127.0.0.1:7420/admin/v1/commands/status',
    'http://localhost:7420/',
    'https://example.com/exfiltrate?passphrase=x',
    'ws://127.0.0.1:7420/',
    'wss://example.com/',
    'ftp://example.com/',
    'file:///etc/passwd',
    'kura://other/index.html',
    'kura://user@console/index.html',
    'not a url',
  ];
  const sent = [PAGE, 'kura://console/assets/index-1a2b.js', 'blob:kura://console/0f1e2d3c', 'data:image/png;base64,AAAA', 'devtools://devtools/bundled/devtools_app.html'];

  it("in the console's session, go to the console's own origin only (and blob:, data:, devtools')", () => {
    const s = openWindow().win.webContents.session;
    for (const url of cancelled) expect(s.cancels(url), url).toBe(true);
    for (const url of sent) expect(s.cancels(url), url).toBe(false);
  });

  it('in the session of any other web contents, the same', () => {
    const other = new FakeWebContents('https://example.com/');
    hardenWebContents(other);
    for (const url of cancelled) expect(other.session.cancels(url), url).toBe(true);
    for (const url of sent) expect(other.session.cancels(url), url).toBe(false);
  });
});

describe('downloads', () => {
  it("are the console page's own blobs only, saved where the operator says, asking before a file is replaced", () => {
    const { win } = openWindow();
    const other = new FakeWebContents('https://example.com/');
    hardenWebContents(other);
    for (const c of [win.webContents, other]) {
      expect(c.session.download('blob:kura://console/6f1c2a7e-0d4b-4e7a-9c1b-2d3e4f5a6b7c', c)).toEqual({
        cancelled: false,
        dialog: [{ properties: ['showOverwriteConfirmation', 'createDirectory'] }],
      });
      for (const url of ['https://example.com/payload.sh', 'blob:https://example.com/1234', 'data:text/plain,x', 'kura://console/assets/index.js', 'file:///etc/passwd', 'blob:kura://other/1']) {
        expect(c.session.download(url, c), url).toEqual({ cancelled: true, dialog: [] });
      }
    }
  });
});

describe('permissions', () => {
  const PERMISSIONS = [
    'media', 'geolocation', 'notifications', 'midi', 'midiSysex', 'pointerLock', 'fullscreen',
    'openExternal', 'clipboard-read', 'hid', 'usb', 'serial', 'display-capture', 'unknown',
  ];

  it('denies every permission request and check, from the console page too', () => {
    const { win } = openWindow();
    const s = win.webContents.session;
    const details = { requestingUrl: PAGE, isMainFrame: true };
    for (const p of PERMISSIONS) {
      expect(s.request(win.webContents, p, details), p).toBe(false);
      expect(s.checkHandler!(win.webContents, p, 'file:///', details), p).toBe(false);
      expect(s.checkHandler!(null, p, 'file:///', details), p).toBe(false);
    }
    expect(s.deviceHandler!({ deviceType: 'hid', origin: 'file:///' })).toBe(false);
    expect(s.deviceHandler!({ deviceType: 'usb', origin: 'file:///' })).toBe(false);
  });

  it('denies them in the session of any other web contents too (the default session, devtools), once per session', () => {
    // A web contents on a session of its own, as Electron announces on 'web-contents-created'.
    const other = new FakeWebContents('https://example.com/');
    hardenWebContents(other);
    const s = other.session;
    for (const p of [...PERMISSIONS, 'clipboard-sanitized-write']) {
      expect(s.request(other, p, { requestingUrl: 'https://example.com/', isMainFrame: true }), p).toBe(false);
      expect(s.checkHandler!(other, p, 'https://example.com', { requestingUrl: 'https://example.com/', isMainFrame: true }), p).toBe(false);
    }
    expect(s.deviceHandler!({ deviceType: 'hid', origin: 'https://example.com' })).toBe(false);
    expect(s.deviceHandler!({ deviceType: 'serial', origin: 'https://example.com' })).toBe(false);
    // A second web contents on the same session leaves its handlers as they are.
    const first = s.requestHandler;
    hardenWebContents(Object.assign(new FakeWebContents(), { session: s }));
    expect(s.requestHandler).toBe(first);
  });

  it('cancels every device chooser: HID, USB and serial in any session, Bluetooth in any web contents', () => {
    const devices = [{ deviceId: 'dev-1' }, { deviceId: 'dev-2' }];
    const { win } = openWindow();
    const other = new FakeWebContents('https://example.com/');
    hardenWebContents(other);
    for (const c of [win.webContents, other]) {
      for (const event of ['select-hid-device', 'select-usb-device', 'select-serial-port'] as const) {
        expect(c.session.choose(event, devices, c), event).toEqual({ prevented: true, chosen: [''] });
      }
      // Unprevented, Electron would connect the page to dev-1 itself.
      expect(c.chooseBluetooth([{ deviceId: 'dev-1', deviceName: 'a token' }])).toEqual({ prevented: true, chosen: [''] });
    }
  });

  it("grants the clipboard write to the console's top-level page only (its copy buttons)", () => {
    const { win } = openWindow();
    const s = win.webContents.session;
    const p = 'clipboard-sanitized-write';
    expect(s.request(win.webContents, p, { requestingUrl: `${PAGE}#/byok`, isMainFrame: true })).toBe(true);
    expect(s.checkHandler!(win.webContents, p, 'file:///', { requestingUrl: PAGE, isMainFrame: true })).toBe(true);
    expect(s.request(win.webContents, p, { requestingUrl: PAGE, isMainFrame: false })).toBe(false);
    expect(s.request(win.webContents, p, { requestingUrl: 'https://example.com/', isMainFrame: true })).toBe(false);
    expect(s.request(win.webContents, p, { isMainFrame: true })).toBe(false);
    expect(s.checkHandler!(win.webContents, p, 'file:///', { requestingUrl: 'https://example.com/', isMainFrame: true })).toBe(false);
  });
});
