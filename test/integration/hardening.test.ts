// Regression tests for the hardening issue against real `kura serve` processes: every route family
// answers in its own protocol's shape; a flood of refused, unauthenticated requests costs the audit
// log a few bounded entries; concurrent inits answer 409, never 500; a stalled client does not make a
// graceful stop time out, and a call in progress still gets its answer.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../main/audit/audit-log.js';
import { systemClock } from '../../main/common/clock.js';
import { openStore } from '../../main/store/index.js';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';
import { sqliteOf } from '../support/sqlite.js';

const started: KuraProcess[] = [];
async function kuraUp(opts: Parameters<typeof startKura>[0] = {}): Promise<KuraProcess> {
  const k = await startKura(opts);
  started.push(k);
  return k;
}
afterEach(async () => {
  while (started.length) await started.pop()!.stop();
});

/** Sends raw bytes and resolves with everything the server wrote before it closed (or after `ms`). */
function rawExchange(port: number, bytes: string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => (s.destroy(), resolve(data)), ms);
    s.on('data', (c: Buffer) => (data += c.toString('latin1')));
    s.on('close', () => (clearTimeout(timer), resolve(data)));
    s.on('error', () => undefined);
    s.write(bytes);
  });
}

describe('routes answer in the shape of their protocol', () => {
  it('KMS JSON for / and unknown paths, the admin shape under /admin, the XKS shape under /kms/xks/v1', async () => {
    const kura = await kuraUp();
    const get = await fetch(`${kura.url}/`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(get.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await get.json()).toMatchObject({ __type: 'UnknownOperationException' });

    const unknown = await fetch(`${kura.url}/nothing/here`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });

    const admin = await fetch(`${kura.url}/admin/v1/status`);
    expect(admin.status).toBe(200);
    const adminMissing = await fetch(`${kura.url}/admin/v1/nothing`, { headers: { authorization: `Bearer x` } });
    expect(adminMissing.status).toBeGreaterThanOrEqual(400);
    expect(adminMissing.status).toBeLessThan(500);
    expect(Object.keys((await adminMissing.json()) as object).sort()).toEqual(['error', 'message']);

    const xks = await fetch(`${kura.url}/kms/xks/v1/health`, { method: 'POST' });
    expect(xks.status).toBe(404);
    expect(await xks.json()).toMatchObject({ errorName: 'InvalidUriPathException' });

    for (const target of ['//', 'http://[/', 'http://a:99999/', '//a%zz']) {
      const answer = await rawExchange(kura.port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(answer, target).toContain('"__type"');
    }
    expect(kura.proc.exitCode).toBeNull();
  });
});

describe('the audit log under a flood of refused requests', () => {
  it('300 unsigned requests with a 15 KB X-Amz-Target add two small entries, and the chain verifies', async () => {
    const kura = await kuraUp();
    const target = `TrentService.${'X'.repeat(15_000)}`;
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`${kura.url}/`, { method: 'POST', headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
      expect(r.status).toBe(400);
      await r.arrayBuffer();
    }
    expect(await kura.stop()).toBe(0);
    const store = await openStore(`${kura.dataDir}/kura.db`);
    try {
      const rows = await sqliteOf(store).all<{ entry: string }>('SELECT entry FROM audit_log ORDER BY seq');
      const refused = rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>).filter((e) => e.principal === 'anonymous');
      expect(refused).toHaveLength(2);
      expect(refused[0]!.operation).toMatch(/^unknown:[0-9a-f]{16}$/);
      expect(refused[1]).toMatchObject({ operation: 'RefusedRepeatedly', errorCode: 'MissingAuthenticationToken', details: { repeats: 299 } });
      const bytes = rows.reduce((n, r) => n + r.entry.length, 0);
      expect(bytes).toBeLessThan(4096);
      expect(await new AuditLog({ db: store.db, repo: store.audit, clock: systemClock }).verify()).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
  });
});

describe('initialization', () => {
  it('concurrent POST /admin/v1/init: one 200, the others 409 already initialized, never a 500', async () => {
    const kura = await kuraUp({ dev: false });
    const token = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${kura.url}/admin/v1/init`, { method: 'POST', headers, body: JSON.stringify({ threshold: 2, shares: 3 }) }).then(
          async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
        ),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(a.status).toBe(409);
      expect(String(a.body.message)).toMatch(/already initialized/);
    }
  });
});

describe('graceful stop', () => {
  it('a stalled client does not hold the stop; a call in progress still gets its answer; exit code 0', async () => {
    const kura = await kuraUp();
    // Headers promise a body that never comes.
    const stalled = net.connect(kura.port, '127.0.0.1');
    stalled.on('error', () => undefined);
    stalled.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{"a":');
    const idle = net.connect(kura.port, '127.0.0.1');
    idle.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));

    const kms = kmsClient(kura);
    await kms.send(new ListKeysCommand({}));
    const inProgress = kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }));
    await new Promise((r) => setTimeout(r, 50));
    // Before, the stalled client held the stop until the 15 s guard gave up with exit code 1.
    expect(await kura.stop()).toBe(0);
    const created = await inProgress.then(
      (r) => r.KeyMetadata?.KeySpec,
      (e: Error) => e.name,
    );
    expect(created).toBe('RSA_2048');
    stalled.destroy();
    idle.destroy();
  });
});
