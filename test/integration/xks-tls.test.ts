// The XKS proxy API on a TLS listener of its own (AWS KMS reaches an external key store's proxy over
// HTTPS only): `kura serve --xks-tls-cert … --xks-tls-key … --xks-tls-client-ca …`, a CA, a server
// certificate for 127.0.0.1 and a client certificate made with OpenSSL in a temporary directory. With a
// client CA it is mutual TLS: a client without a certificate of that CA does not get through the
// handshake, and with --xks-tls-client-subject neither does one whose subject is another. The listener
// serves the XKS routes and nothing else.
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../main/sigv4/sign.js';
import { isolatedEnv, runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';
import { issueClientCert, issueServerCert, makePki } from '../support/xks-peer.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('the XKS proxy API over TLS', () => {
  let dir: string;
  let kura: KuraProcess;
  let port: number;
  let store: { storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string };
  const file = (name: string) => fs.readFileSync(path.join(dir, name));

  const call = (route: string, body: unknown, client: { cert?: Buffer; key?: Buffer } = { cert: file('client.pem'), key: file('client.key') }): Promise<Answer> => {
    const text = JSON.stringify(body);
    const { host: _h, ...headers } = signRequest({ method: 'POST', host: `127.0.0.1:${port}`, path: route, body: text, ...store, region: 'us-east-1', service: 'kms-xks-proxy', nowMs: Date.now(), headers: { 'content-type': 'application/json' } });
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, method: 'POST', path: route, headers, ca: file('ca.pem'), ...client }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(text);
    });
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-xks-tls-'));
    makePki(dir);
    kura = await startKura({
      args: ['--xks-tls-cert', path.join(dir, 'server.pem'), '--xks-tls-key', path.join(dir, 'server.key'), '--xks-tls-client-ca', path.join(dir, 'ca.pem'), '--xks-tls-port', '0', '--max-connections', '16'],
    });
    port = Number(/XKS proxy API over TLS: https:\/\/127\.0\.0\.1:(\d+)\//.exec(kura.stdout())![1]);
    const token = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
    const res = await fetch(`${kura.url}/admin/v1/xks/stores`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ uriPathPrefix: 'tls' }) });
    store = (await res.json()) as typeof store;
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers a client with a certificate of the configured CA', async () => {
    const r = await call(`${store.uriPath}/health`, { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'tls-1' } });
    expect(r.status).toBe(200);
    expect(r.body.xksProxyVendor).toBe('Kura');
  });

  it('refuses, at the handshake, a client without a certificate', async () => {
    await expect(call(`${store.uriPath}/health`, { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'tls-2' } }, {})).rejects.toThrow();
  });

  /**
   * Runs `check` against a Kura of its own whose XKS TLS listener takes only client certificates for
   * AWS KMS's us-east-1 and eu-west-1 subjects, with `port` and `store` pointing at it meanwhile.
   */
  async function withPinnedSubjects(check: (pinned: KuraProcess) => Promise<void>): Promise<void> {
    const pinned = await startKura({
      args: [
        ...['--xks-tls-cert', path.join(dir, 'server.pem'), '--xks-tls-key', path.join(dir, 'server.key'), '--xks-tls-port', '0'],
        ...['--xks-tls-client-ca', path.join(dir, 'ca.pem'), '--xks-tls-client-subject', 'cks.kms.us-east-1.amazonaws.com,cks.kms.eu-west-1.amazonaws.com'],
      ],
    });
    const mainPort = port;
    const saved = store;
    try {
      port = Number(/XKS proxy API over TLS: https:\/\/127\.0\.0\.1:(\d+)\//.exec(pinned.stdout())![1]);
      const token = fs.readFileSync(path.join(pinned.dataDir, 'admin.token'), 'utf8').trim();
      const res = await fetch(`${pinned.url}/admin/v1/xks/stores`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ uriPathPrefix: 'tls' }) });
      store = (await res.json()) as typeof store;
      await check(pinned);
    } finally {
      store = saved;
      port = mainPort;
      await pinned.stop();
    }
  }

  it("takes, with --xks-tls-client-subject, only client certificates with one of those subject names (AWS KMS's cks.kms.REGION.amazonaws.com)", async () => {
    issueClientCert(dir, 'kms', 'cks.kms.us-east-1.amazonaws.com');
    await withPinnedSubjects(async (pinned) => {
      const health = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'tls-cn' } };
      // Issued by the right CA, but for another subject: the connection ends before any request is read.
      for (let i = 0; i < 4; i++) await expect(call(`${store.uriPath}/health`, health)).rejects.toThrow();
      expect((await call(`${store.uriPath}/health`, health, { cert: file('kms.pem'), key: file('kms.key') })).status).toBe(200);
      // One line for the first refusal; the others are counted, and the count is written at the stop.
      expect(pinned.stderr().match(/TLS client certificate refused/g)).toHaveLength(1);
    });
  }, 60_000);

  it('with --xks-tls-client-subject, refuses a certificate carrying several CNs unless every one of them is a configured name', async () => {
    // One allowed CN does not vouch for another the operator never named.
    issueClientCert(dir, 'mixed', ['cks.kms.us-east-1.amazonaws.com', 'intruder.example']);
    issueClientCert(dir, 'both', ['cks.kms.us-east-1.amazonaws.com', 'cks.kms.eu-west-1.amazonaws.com']);
    await withPinnedSubjects(async (pinned) => {
      const health = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'tls-cns' } };
      // Both subjects really are in the certificate: Node reads a repeated CN as a list.
      expect(new X509Certificate(file('mixed.pem')).subject.split('\n')).toEqual(['CN=cks.kms.us-east-1.amazonaws.com', 'CN=intruder.example']);
      await expect(call(`${store.uriPath}/health`, health, { cert: file('mixed.pem'), key: file('mixed.key') })).rejects.toThrow();
      expect((await call(`${store.uriPath}/health`, health, { cert: file('both.pem'), key: file('both.key') })).status).toBe(200);
      expect(pinned.stderr()).toMatch(/TLS client certificate refused/);
    });
  }, 60_000);

  it('counts a connection from its accept: sockets that never start a handshake are capped, then timed out', async () => {
    // --max-connections 16, shared by the two listeners: 8 each.
    const sockets = Array.from({ length: 20 }, () => net.connect({ host: '127.0.0.1', port }));
    const closed = sockets.map((s) => new Promise<void>((resolve) => s.on('close', () => resolve()).on('error', () => undefined)));
    let closedNow = 0;
    closed.forEach((c) => void c.then(() => closedNow++));
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.readyState === 'open' ? resolve() : s.once('connect', () => resolve()).once('close', () => resolve())))));
    await new Promise((r) => setTimeout(r, 500));
    // Past the cap they are closed at once; the 8 let in wait for their handshake's deadline.
    expect(closedNow).toBeGreaterThanOrEqual(12);
    expect(closedNow).toBeLessThan(20);
    await Promise.all(closed);
    // Freed, the listener serves a real client again.
    const r = await call(`${store.uriPath}/health`, { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'tls-cap' } });
    expect(r.status).toBe(200);
  }, 30_000);

  it('refuses to start with a client CA file that holds no certificate (every client would be refused)', async () => {
    const dataDir = tempDataDir('kura-xks-tls-ca-');
    const tls = ['--xks-tls-cert', path.join(dir, 'server.pem'), '--xks-tls-key', path.join(dir, 'server.key'), '--xks-tls-port', '0'];
    const r = await runKura(['serve', '--dev', '--port', '0', '--data-dir', dataDir, ...tls, '--xks-tls-client-ca', path.join(dir, 'server.key')], { env: isolatedEnv(dataDir) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The XKS TLS client CA file ${path.join(dir, 'server.key')} holds no readable certificate`);
  }, 60_000);

  it('a busy XKS TLS port is reported as that port, not the main one', async () => {
    const dataDir = tempDataDir('kura-xks-tls-busy-');
    const r = await runKura(['serve', '--dev', '--port', '0', '--data-dir', dataDir, '--xks-tls-cert', path.join(dir, 'server.pem'), '--xks-tls-key', path.join(dir, 'server.key'), '--xks-tls-port', String(port)], { env: isolatedEnv(dataDir) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe(`kura serve: the XKS TLS port ${port} is in use (another Kura? \`kura status\`)`);
  }, 60_000);

  it('serves the XKS routes only: the KMS and admin APIs stay on the loopback listener', async () => {
    const r = await call('/admin/v1/status', {});
    expect(r.status).toBe(404);
    expect(r.body.errorName).toBe('InvalidUriPathException');
  });

  it("answers any other path InvalidUriPathException (404) in the XKS spec's error shape, whatever the method", async () => {
    for (const route of ['/elsewhere', '/KMS/XKS/V1/health', '/console/index.html', '/']) {
      const r = await call(route, {});
      expect([r.status, r.body.errorName], route).toEqual([404, 'InvalidUriPathException']);
    }
    const get = await new Promise<Answer>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, method: 'GET', path: '/', ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key') }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end();
    });
    expect([get.status, get.body.errorName]).toEqual([404, 'InvalidUriPathException']);
    // A body over the size limit is refused in the same shape, whatever the path.
    for (const route of ['/elsewhere', `${store.uriPath}/health`]) {
      const big = await call(route, { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'x'.repeat(1024 * 1024) } });
      expect([big.status, big.body.errorName], route).toEqual([400, 'ValidationException']);
    }
  });
  // Last: it renews the listener's certificate (another of the same CA, for the same address).
  it('on SIGHUP serves new connections with a renewed certificate; a pair that does not match is refused and the old one kept', async () => {
    const fingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key') }, () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.end();
        });
        socket.on('error', reject);
      });
    const fingerprintOf = (name: string) => new X509Certificate(file(name)).fingerprint256;
    expect(await fingerprint()).toBe(fingerprintOf('server.pem'));
    issueServerCert(dir, 'renewed');
    const original = { pem: file('server.pem'), key: file('server.key') };
    fs.copyFileSync(path.join(dir, 'renewed.pem'), path.join(dir, 'server.pem'));
    fs.copyFileSync(path.join(dir, 'renewed.key'), path.join(dir, 'server.key'));
    kura.proc.kill('SIGHUP');
    await expect.poll(fingerprint, { timeout: 10_000 }).toBe(fingerprintOf('renewed.pem'));
    // The renewed certificate with the old key: refused, logged; the listener keeps the renewed pair.
    fs.writeFileSync(path.join(dir, 'server.key'), original.key);
    kura.proc.kill('SIGHUP');
    await expect.poll(() => kura.stdout() + kura.stderr(), { timeout: 10_000 }).toMatch(/XKS TLS certificate not reloaded/);
    expect(await fingerprint()).toBe(fingerprintOf('renewed.pem'));
    const r = await call(`${store.uriPath}/health`, { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'tls-renewed' } });
    expect(r.status).toBe(200);
    fs.writeFileSync(path.join(dir, 'server.pem'), original.pem);
  }, 60_000);
});
