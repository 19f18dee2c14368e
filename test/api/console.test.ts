// GET /console/… (main/api/console.ts) over a directory of files as a build writes them: the strict
// security headers on every answer, index.html for /console/ and a redirect for /console, immutable
// hashed assets, nothing outside the directory whatever the path says, GET and HEAD only, and a clear
// 503 while the console is not built.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleRoute } from '../../main/api/console.js';
import type { RawRequest } from '../../main/api/http.js';

let dir: string;
const get = (p: string, method = 'GET'): RawRequest => ({ method, path: p, query: '', headers: {}, body: Buffer.alloc(0) });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-console-'));
  fs.mkdirSync(path.join(dir, 'console', 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'console', 'index.html'), '<!doctype html><script type="module" src="./assets/app-1a2b.js"></script>');
  fs.writeFileSync(path.join(dir, 'console', 'assets', 'app-1a2b.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the console');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the console route', () => {
  it('serves index.html at /console/ with the strict headers, never cached', async () => {
    const r = await consoleRoute(path.join(dir, 'console'))(get('/console/'));
    expect(r.status).toBe(200);
    expect(String(r.body)).toContain('<script type="module"');
    expect(r.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CONSOLE_CSP,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-(inline|eval)/);
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });

  it('redirects /console to /console/; hashed assets are immutable', async () => {
    const route = consoleRoute(path.join(dir, 'console'));
    expect(await route(get('/console'))).toMatchObject({ status: 301, headers: { location: '/console/' } });
    const js = await route(get('/console/assets/app-1a2b.js'));
    expect(js).toMatchObject({ status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' } });
    expect(Buffer.from(js.body).toString()).toBe('console.log(1)');
    expect((await route(get('/console/assets/app-1a2b.js', 'HEAD'))).body).toBe('');
  });

  it('names nothing outside its directory, and takes GET and HEAD only', async () => {
    const route = consoleRoute(path.join(dir, 'console'));
    for (const p of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/..%2fsecret.txt', '/console/assets/../../secret.txt', '/console/nope.js']) {
      const r = await route(get(p));
      expect(r.status, p).toBe(404);
      expect(String(r.body)).not.toContain('outside the console');
    }
    expect((await route(get('/console/%E0%A4%A'))).status).toBe(400);
    const post = await route(get('/console/', 'POST'));
    expect(post).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
  });

  it('answers 503 with what to run while the console is not built', async () => {
    const r = await consoleRoute(path.join(dir, 'not-built'))(get('/console/'));
    expect(r.status).toBe(503);
    expect(String(r.body)).toMatch(/npm run build/);
  });
});
