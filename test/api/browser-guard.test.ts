// The loopback admin API and console against a browser driven by another site (main/api/browser-guard.ts):
// a DNS-rebinding host name is refused, and so is a cross-origin page's request to the admin API, while
// the CLI's requests (no Origin) and the console's own (same origin) pass — in the guard itself and
// over a real listener.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserGuard } from '../../main/api/browser-guard.js';
import type { RawRequest } from '../../main/api/http.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const req = (headers: Record<string, string>): RawRequest => ({ method: 'POST', path: '/admin/v1/sessions', query: '', headers, body: Buffer.alloc(0) });
const admin = { checkOrigin: true };

describe('browserGuard', () => {
  it('lets through loopback names with or without a port, and the address Kura listens on', () => {
    for (const host of ['127.0.0.1:7420', 'localhost:7420', 'LOCALHOST', '[::1]:7420', '127.0.0.1']) expect(browserGuard(req({ host }), '127.0.0.1', admin), host).toBeUndefined();
    expect(browserGuard(req({ host: '10.0.0.5:7420' }), '10.0.0.5', admin)).toBeUndefined();
  });

  it('refuses another host name (DNS rebinding), a missing Host, and a wildcard listener\'s own name', () => {
    const cases: Record<string, string>[] = [{ host: 'attacker.example:7420' }, { host: 'attacker.example' }, {}, { host: '127.0.0.1.attacker.example' }];
    for (const headers of cases) {
      const r = browserGuard(req(headers), '127.0.0.1', admin);
      expect(r?.status, JSON.stringify(headers)).toBe(421);
    }
    expect(browserGuard(req({ host: '0.0.0.0:7420' }), '0.0.0.0', admin)?.status).toBe(421);
  });

  it('refuses a page of another origin, by Origin or by Sec-Fetch-Site; the same origin passes', () => {
    const host = '127.0.0.1:7420';
    expect(browserGuard(req({ host, origin: 'https://attacker.example' }), '127.0.0.1', admin)?.status).toBe(403);
    expect(browserGuard(req({ host, origin: 'null' }), '127.0.0.1', admin)?.status).toBe(403);
    expect(browserGuard(req({ host, origin: 'http://127.0.0.1:9999' }), '127.0.0.1', admin)?.status).toBe(403);
    expect(browserGuard(req({ host, 'sec-fetch-site': 'cross-site' }), '127.0.0.1', admin)?.status).toBe(403);
    expect(browserGuard(req({ host, 'sec-fetch-site': 'same-site' }), '127.0.0.1', admin)?.status).toBe(403);
    expect(browserGuard(req({ host, origin: 'http://127.0.0.1:7420', 'sec-fetch-site': 'same-origin' }), '127.0.0.1', admin)).toBeUndefined();
    // The console's files may be opened from a link elsewhere; only the host is checked there.
    expect(browserGuard(req({ host, 'sec-fetch-site': 'cross-site' }), '127.0.0.1', { checkOrigin: false })).toBeUndefined();
  });
});

describe('over the listener', () => {
  let kura: KuraProcess;
  beforeAll(async () => {
    kura = await startKura();
  }, 60_000);
  afterAll(async () => {
    await kura?.stop();
  });

  const send = (path: string, headers: Record<string, string>, body = ''): Promise<number> =>
    new Promise((resolve, reject) => {
      const u = new URL(kura.url);
      const r = http.request({ host: u.hostname, port: u.port, path, method: body ? 'POST' : 'GET', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.end(body);
    });

  it('a rebinding host name or a cross-origin page is refused; the CLI\'s way through still works', async () => {
    const login = JSON.stringify({ operator: 'nobody', passphrase: 'a passphrase long enough' });
    expect(await send('/admin/v1/sessions', { host: 'attacker.example', 'content-type': 'application/json' }, login)).toBe(421);
    expect(await send('/admin/v1/sessions', { host: new URL(kura.url).host, origin: 'https://attacker.example', 'content-type': 'text/plain' }, login)).toBe(403);
    expect(await send('/console/', { host: 'attacker.example' })).toBe(421);
    // Through the guard, the sign-in itself answers (the operator does not exist).
    expect(await send('/admin/v1/sessions', { host: new URL(kura.url).host, 'content-type': 'application/json' }, login)).toBe(403);
    expect(await send('/admin/v1/status', { host: new URL(kura.url).host })).toBe(200);
  });
});
