// The desktop console's own origin, kura://console (main/desktop/console-scheme.ts): the window's
// session answers the scheme from dist/renderer with the console's headers, and nothing else can be
// named through it — not a file beside the build, not a symlink out of it, not another host. Requests
// are real fetch Requests, as Electron's protocol.handle gives them; the built console (npm run build)
// is served as the window would load it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../main/console/index.js';
import { CONSOLE_PAGE, consoleSchemeHandler } from '../../main/desktop/console-scheme.js';
import { openConsoleWindow } from '../../main/desktop/console-window.js';
import { fakeElectron } from './support/fake-electron.js';

const BUILT = path.resolve('dist', 'renderer');
let dir: string;
let renderer: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-scheme-'));
  renderer = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><script type="module" crossorigin src="./assets/app-1a2b.js"></script>');
  fs.writeFileSync(path.join(renderer, 'assets', 'app-1a2b.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'admin.token'), 'a secret beside the build');
  fs.symlinkSync(path.join(dir, 'admin.token'), path.join(renderer, 'assets', 'token.js'));
  fs.symlinkSync(dir, path.join(renderer, 'up'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => consoleSchemeHandler(renderer)(new Request(url, { method }));

describe('the kura://console scheme', () => {
  it('serves the page and its assets with the console headers', async () => {
    const page = get(CONSOLE_PAGE);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    // No device API for the page, whatever a chooser would do (console-window.ts cancels them as well).
    const policy = new Set(page.headers.get('permissions-policy')!.split(', '));
    for (const feature of ['usb', 'hid', 'serial', 'bluetooth']) expect(policy.has(`${feature}=()`), feature).toBe(true);
    expect(await page.text()).toContain('./assets/app-1a2b.js');
    const js = get('kura://console/assets/app-1a2b.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
    expect(get('kura://console/').status).toBe(200);
    const head = get(CONSOLE_PAGE, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('names nothing outside the build: dot segments, encoded ones, symlinks out, other hosts', async () => {
    for (const url of [
      'kura://console/../admin.token',
      'kura://console/%2e%2e/admin.token',
      'kura://console/assets/%2e%2e%2f%2e%2e%2fadmin.token',
      'kura://console/assets/..%2f..%2fadmin.token',
      'kura://console/assets/token.js',
      'kura://console/up/admin.token',
      `kura://console/${encodeURIComponent(path.join(dir, 'admin.token'))}`,
      'kura://console/index.html%00',
      'kura://other/index.html',
      'kura://console:1/index.html',
      'https://console/index.html',
    ]) {
      const r = get(url);
      expect(r.status, url).toBe(404);
      const body = await r.text();
      expect(body, url).not.toContain('secret');
      expect(r.headers.get('content-security-policy'), url).toBe(CONSOLE_CSP);
    }
  });

  it('takes GET and HEAD only, and refuses a broken encoding', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = get(CONSOLE_PAGE, method);
      expect(r.status, method).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
    }
    expect(get('kura://console/%E0%A4%A').status).toBe(400);
  });

  it('says the console is not built, rather than throwing, when dist/renderer is missing', async () => {
    const r = consoleSchemeHandler(path.join(dir, 'nowhere'))(new Request(CONSOLE_PAGE));
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('npm run build');
  });

  it("is what the console window's session answers: the built console, page and every asset it names", async () => {
    const electron = fakeElectron();
    openConsoleWindow(electron, { preload: path.join(BUILT, '..', 'desktop', 'preload.cjs'), indexHtml: path.join(BUILT, 'index.html') }, false);
    const session = electron.windows[0]!.webContents.session;
    const page = await session.protocol.fetch(CONSOLE_PAGE);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toBe(fs.readFileSync(path.join(BUILT, 'index.html'), 'utf8'));
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const r = await session.protocol.fetch(new URL(asset, CONSOLE_PAGE).href);
      expect(r.status, asset).toBe(200);
      expect(Buffer.from(await r.arrayBuffer()).equals(fs.readFileSync(path.join(BUILT, asset))), asset).toBe(true);
    }
    // A second window on the same session does not register the scheme twice (Electron would throw).
    expect(() => openConsoleWindow(electron, { preload: '/p.cjs', indexHtml: path.join(BUILT, 'index.html') }, false)).not.toThrow();
  });
});
