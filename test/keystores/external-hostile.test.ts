// Kura's XKS client (main/keystores/external/xks-client.ts) against a proxy that misbehaves at the HTTP
// and TLS level rather than in its JSON: small TLS servers written here, under the proxy's host name and
// a CA made here, that trickle their answer, send one without end, answer what is not HTTP, redirect,
// close kept-alive connections, restart or change their certificate. Each call must end by the deadline
// (AWS's 250 ms) with the failure AWS KMS would name, without following the proxy elsewhere and without
// the credential or the plaintext in what it reports. Bounds are generous: a loaded machine passes.
import { createHash, randomBytes } from 'node:crypto';
import dns from 'node:dns';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isKmsError } from '../../main/common/errors.js';
import { createLogger } from '../../main/common/log.js';
import { encodeExternalRef, ExternalKeyStore, XksClient, XksProxyError, type XksClientConfig } from '../../main/keystores/external/index.js';
import { KeyStoreRegistry } from '../../main/keystores/key-store.js';
import { checkXksSettings, XksConnections } from '../../main/kms/external-key-stores.js';
import { tempDir } from '../support/domain.js';
import { unsealedStandardStore } from '../support/standard-store.js';
import { loopbackClientConfig, readPki } from '../support/xks-loopback.js';
import { makePki, XKS_PEER_HOST } from '../support/xks-peer.js';
import { xksStoreRecord } from '../support/xks-store.js';

const META = { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'r-1' };
/** Far above AWS's 250 ms deadline, far below a hang: a loaded 2-core machine still passes. */
const PROMPTLY_MS = 5_000;
const SECRET = randomBytes(33).toString('base64');
const PLAINTEXT = randomBytes(32);
const logged: string[] = [];

let dir: string;
let ca: string;
let creds: { cert: Buffer; key: Buffer };

/** Called for each whole request a connection carries; n counts them on that connection. */
type OnRequest = (socket: tls.TLSSocket, n: number) => void;

interface RawProxy {
  port: number;
  /** Connections it was sent, ever. */
  connections: number;
  /** Connections open now. */
  live(): number;
  /** Drops its connections (as a restart would) without closing the listener. */
  drop(): void;
  /** Serves another certificate to new connections from now on. */
  setCertificate(c: { cert: Buffer; key: Buffer }): void;
  close(): Promise<void>;
}

/** A TLS listener on 127.0.0.1 that reads HTTP/1.1 requests (headers, Content-Length body) and lets `onRequest` write raw bytes. */
async function rawProxy(onRequest: OnRequest, port = 0): Promise<RawProxy> {
  const sockets = new Set<tls.TLSSocket>();
  const proxy: RawProxy = { port: 0, connections: 0, live: () => sockets.size, drop: () => {}, setCertificate: () => {}, close: async () => {} };
  const server = tls.createServer(creds, (socket) => {
    proxy.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    let n = 0;
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.slice(end + 4 + len);
        onRequest(socket, n++);
      }
    });
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.drop = () => {
    for (const s of sockets) s.destroy();
  };
  proxy.setCertificate = (c) => server.setSecureContext(c);
  proxy.close = () => {
    proxy.drop();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

/** Writes `pieces` one at a time, one every `everyMs`, until they or the socket are gone. */
function trickle(s: tls.TLSSocket, pieces: Iterable<string>, everyMs = 20): void {
  const it = pieces[Symbol.iterator]();
  const t = setInterval(() => {
    const next = it.next();
    if (s.destroyed || next.done) clearInterval(t);
    else s.write(next.value);
  }, everyMs);
}

const HEALTH = JSON.stringify({ xksProxyFleetSize: 1, xksProxyVendor: 'v', xksProxyModel: 'm', ekmVendor: 'e', ekmFleetDetails: [{ id: 'h', model: 'm', healthStatus: 'ACTIVE' }] });
const http200 = (body = HEALTH) => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const clients: XksClient[] = [];
function clientFor(port: number, over: Partial<XksClientConfig> = {}): XksClient {
  const c = new XksClient({ ...loopbackClientConfig(port, ca, SECRET), log: createLogger('debug', (line) => void logged.push(line)), ...over });
  clients.push(c);
  return c;
}

/** Every error message a test met, checked at the end for the credential's secret and plaintexts. */
const messages: string[] = [];
/** The call's failure (or 'answered'), and whether it came within PROMPTLY_MS. */
async function outcome(p: Promise<unknown>): Promise<{ kind: string; prompt: boolean }> {
  const started = performance.now();
  let kind = 'answered';
  try {
    await p;
  } catch (e) {
    messages.push((e as Error).message);
    kind = e instanceof XksProxyError ? e.kind : isKmsError(e) ? `KmsError:${e.code}` : String(e);
  }
  return { kind, prompt: performance.now() - started < PROMPTLY_MS };
}

beforeAll(() => {
  dir = tempDir('kura-xks-hostile-');
  makePki(dir, `DNS:${XKS_PEER_HOST}`);
  ({ ca, server: creds } = readPki(dir));
});

afterAll(() => {
  for (const c of clients) c.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("Kura's XKS client, against a proxy that misbehaves on the wire", () => {
  it('holds the whole exchange to the deadline (AWS: 250 ms), not each piece: a proxy that trickles its status line or its body times out', async () => {
    const slowHead = await rawProxy((s) => trickle(s, http200()));
    const slowBody = await rawProxy((s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n');
      trickle(s, (function* () { for (;;) yield ' '; })());
    });
    try {
      for (const p of [slowHead, slowBody]) expect(await outcome(clientFor(p.port).health(META))).toEqual({ kind: 'TIMED_OUT', prompt: true });
    } finally {
      await slowHead.close();
      await slowBody.close();
    }
  });

  it('stops reading an answer past 256 KiB: one without end is an invalid response, promptly', async () => {
    let written = 0;
    const endless = await rawProxy((s) => {
      s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      const pump = () => {
        while (!s.destroyed && s.write(`10000\r\n${'a'.repeat(0x10000)}\r\n`)) written += 0x10000;
        if (!s.destroyed) s.once('drain', pump);
      };
      pump();
    });
    try {
      expect(await outcome(clientFor(endless.port).health(META))).toEqual({ kind: 'INVALID_RESPONSE', prompt: true });
      // The client hung up: the server stops well short of anything large.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(written).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await endless.close();
    }
  });

  it('reads an answer that is not HTTP, headers without end or past 16 KiB, and a garbled chunked body as an invalid response (XKS_PROXY_INVALID_RESPONSE), not an unreachable proxy', async () => {
    const answers: [string, OnRequest][] = [
      ['not HTTP', (s) => s.end('HELLO THERE\r\n\r\n')],
      ['a 100 KiB header', (s) => s.write(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(100_000)}\r\ncontent-length: 2\r\n\r\n{}`)],
      ['headers without end', (s) => { s.write('HTTP/1.1 200 OK\r\n'); trickle(s, (function* () { for (;;) yield `x-a: ${'b'.repeat(1000)}\r\n`; })(), 1); }],
      ['a garbled chunk size', (s) => s.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nxx\r\n')],
    ];
    for (const [what, onRequest] of answers) {
      const p = await rawProxy(onRequest);
      try {
        expect(await outcome(clientFor(p.port).health(META)), what).toEqual({ kind: 'INVALID_RESPONSE', prompt: true });
      } finally {
        await p.close();
      }
    }
  });

  it('follows no redirect: a 3xx is an invalid response and the place it names is never contacted', async () => {
    const elsewhere = await rawProxy((s) => s.write(http200()));
    const redirecting = await rawProxy((s) => s.write(`HTTP/1.1 307 Temporary Redirect\r\nlocation: https://127.0.0.1:${elsewhere.port}/kms/xks/v1/health\r\ncontent-length: 0\r\n\r\n`));
    try {
      expect(await outcome(clientFor(redirecting.port).health(META))).toEqual({ kind: 'INVALID_RESPONSE', prompt: true });
      expect(elsewhere.connections).toBe(0);
    } finally {
      await elsewhere.close();
      await redirecting.close();
    }
  });

  it('takes what the spec allows and names the rest: HTTP/1.0 closed after the body and another Content-Type are read; a 429 or 503 without a spec error body is an invalid response (the spec: "cannot interpret")', async () => {
    const answers: [string, OnRequest, string][] = [
      ['HTTP/1.0, no length, closed', (s) => s.end(`HTTP/1.0 200 OK\r\n\r\n${HEALTH}`), 'answered'],
      ['text/plain', (s) => s.write(http200().replace('application/json', 'text/plain')), 'answered'],
      ['429, empty', (s) => s.write('HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n'), 'INVALID_RESPONSE'],
      ['503, HTML', (s) => s.write('HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\ncontent-length: 13\r\n\r\n<h1>down</h1>'), 'INVALID_RESPONSE'],
      ['a connection closed mid-body', (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{}'), 'NOT_REACHABLE'],
    ];
    for (const [what, onRequest, kind] of answers) {
      const p = await rawProxy(onRequest);
      try {
        expect(await outcome(clientFor(p.port).health(META)), what).toEqual({ kind, prompt: true });
      } finally {
        await p.close();
      }
    }
  });

  it('sends a call again on a new connection when the kept-alive one it went out on was closed by the proxy: no spurious failure', async () => {
    // The proxy answers the first request of a connection and closes it on the second without answering:
    // an idle timeout crossing the request. The second call goes again on a new connection.
    const closesKeptAlive = await rawProxy((s, n) => (n === 0 ? s.write(http200()) : s.end()));
    try {
      const c = clientFor(closesKeptAlive.port);
      expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
      expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
      expect(closesKeptAlive.connections).toBe(2);
    } finally {
      await closesKeptAlive.close();
    }
    // A proxy that fails every connection so is unreachable, not retried without end.
    const neverAnswers = await rawProxy((s) => s.end());
    try {
      expect(await outcome(clientFor(neverAnswers.port).health(META))).toEqual({ kind: 'NOT_REACHABLE', prompt: true });
      expect(neverAnswers.connections).toBe(1);
    } finally {
      await neverAnswers.close();
    }
  });

  it('answers the first call after the proxy restarts on the same port', async () => {
    const before = await rawProxy((s) => s.write(http200()));
    const c = clientFor(before.port);
    expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
    await before.close();
    const after = await rawProxy((s) => s.write(http200()), before.port);
    try {
      expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
    } finally {
      await after.close();
    }
  });

  it("verifies the certificate for the endpoint's host name; after the proxy changes it to one that does not verify, the next connection fails TLS (XKS_PROXY_INVALID_TLS_CONFIGURATION)", async () => {
    const p = await rawProxy((s) => s.write(http200()));
    const other = tempDir('kura-xks-hostile-other-');
    try {
      expect(await outcome(clientFor(p.port, { uriEndpoint: 'https://other.kura.test' }).health(META))).toEqual({ kind: 'INVALID_TLS', prompt: true });
      expect(await outcome(clientFor(p.port, { ca: [] }).health(META))).toEqual({ kind: 'INVALID_TLS', prompt: true });
      const c = clientFor(p.port);
      expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
      // Another CA's certificate for another name, served from now on.
      makePki(other, 'DNS:evil.example');
      p.setCertificate({ cert: fs.readFileSync(path.join(other, 'server.pem')), key: fs.readFileSync(path.join(other, 'server.key')) });
      // The kept-alive connection was verified when it opened and is still the same TLS session.
      expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
      p.drop();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await outcome(c.health(META))).toEqual({ kind: 'INVALID_TLS', prompt: true });
    } finally {
      await p.close();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('a proxy whose health check passes but whose every Encrypt fails: the store stays CONNECTED (as AWS) and each Encrypt is KMSInvalidStateException, promptly', async () => {
    // It answers everything with its health status, which has none of an Encrypt answer's members.
    const failsEncrypt = await rawProxy((s) => s.write(http200()));
    const { root, store: standard } = await unsealedStandardStore(tempDir('kura-xks-hostile-store-'));
    const conns = new XksConnections({ registry: new KeyStoreRegistry({ standard, root }), root, standard, options: { ca: [ca], connectTo: new Map([[XKS_PEER_HOST, { host: '127.0.0.1', port: failsEncrypt.port }]]) } });
    const id = 'cks-0123456789abcdef3';
    const record = xksStoreRecord(conns, id, { name: 'fails-encrypt', uriPath: '/kms/xks/v1', secretAccessKey: SECRET });
    try {
      expect(await conns.open(record, { requestId: 'r', kmsOperation: 'ConnectCustomKeyStore' })).toEqual({ state: 'CONNECTED' });
      const store = new ExternalKeyStore({ customKeyStoreId: id, client: clientFor(failsEncrypt.port), inner: standard });
      const keyId = 'key-fails';
      const made = await standard.generate(keyId, 'SYMMETRIC_DEFAULT');
      const material = { keyId, materialId: made.materialId, keySpec: 'SYMMETRIC_DEFAULT' as const, ref: encodeExternalRef({ externalKeyId: 'k', inner: made.ref }), publicKey: null };
      const payload = { version: 2 as const, derivation: { label: Buffer.from('test'), context: randomBytes(16), length: 32 }, iv: randomBytes(12), aad: randomBytes(20) };
      for (let i = 0; i < 3; i++) expect(await outcome(store.encryptBlobPayload(material, payload, PLAINTEXT))).toEqual({ kind: 'KmsError:InvalidState', prompt: true });
      expect(conns.state(record)).toEqual({ state: 'CONNECTED' });
    } finally {
      conns.closeAll();
      root.seal();
      await failsEncrypt.close();
    }
  });

  it('closed (its store disconnected), fails the call in progress and every later one, and opens no connection for them', async () => {
    // It answers the first request of a connection and none after.
    const p = await rawProxy((s, n) => n === 0 && s.write(http200()));
    try {
      const c = clientFor(p.port, { timeoutMs: PROMPTLY_MS });
      expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
      const during = outcome(c.health(META));
      await new Promise((resolve) => setTimeout(resolve, 50));
      c.close();
      expect(await during).toEqual({ kind: 'NOT_REACHABLE', prompt: true });
      expect(await outcome(c.health(META))).toEqual({ kind: 'NOT_REACHABLE', prompt: true });
      expect(p.connections).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('builds its TLS context (the system\'s CAs and the operator\'s) once, not again for each connection', async () => {
    // Each answer closes its connection, so each call opens one.
    const p = await rawProxy((s) => s.end(http200().replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n')));
    const c = clientFor(p.port);
    const contexts = vi.spyOn(tls, 'createSecureContext');
    try {
      for (let i = 0; i < 3; i++) expect(await outcome(c.health(META))).toEqual({ kind: 'answered', prompt: true });
      expect(p.connections).toBe(3);
      expect(contexts).not.toHaveBeenCalled();
    } finally {
      contexts.mockRestore();
      await p.close();
    }
  });

  it('under 200 concurrent calls to a proxy that never answers, each times out promptly and leaves no connection or timer behind', async () => {
    const p = await rawProxy(() => {});
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const c = clientFor(p.port);
    const before = timers();
    try {
      // More than the client's 64 connections: the rest wait for one, within their deadline.
      const all = await Promise.all(Array.from({ length: 200 }, () => outcome(c.health(META))));
      expect(new Set(all.map((o) => JSON.stringify(o)))).toEqual(new Set([JSON.stringify({ kind: 'TIMED_OUT', prompt: true })]));
      await vi.waitFor(() => expect(p.live()).toBe(0), { timeout: PROMPTLY_MS });
      expect(timers()).toBeLessThanOrEqual(before);
    } finally {
      await p.close();
    }
  });

  it('reads a 101 Switching Protocols, or an answer that says it is larger than 256 KiB, as an invalid response at once, not a timeout', async () => {
    const answers: [string, OnRequest][] = [
      ['101', (s) => s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n')],
      ['a Content-Length of 100 TB', (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 99999999999999\r\n\r\n{}')],
    ];
    for (const [what, onRequest] of answers) {
      const p = await rawProxy(onRequest);
      try {
        expect(await outcome(clientFor(p.port, { timeoutMs: PROMPTLY_MS }).health(META)), what).toEqual({ kind: 'INVALID_RESPONSE', prompt: true });
      } finally {
        await p.close();
      }
    }
  });

  it("resolves the endpoint's name once for all the calls waiting on it: a resolver that does not answer holds one lookup, not one per call", async () => {
    // Node's getaddrinfo runs on libuv's four threads, SQLite's too; here a lookup that answers after 1 s.
    let inFlight = 0;
    let most = 0;
    let lookups = 0;
    const slowDns = vi.spyOn(dns, 'lookup').mockImplementation(((_host: string, _options: unknown, callback: (e: Error) => void) => {
      lookups++;
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        callback(Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' }));
      }, 1_000);
    }) as never);
    try {
      const c = clientFor(0, { connectTo: undefined });
      const all = await Promise.all(Array.from({ length: 20 }, () => outcome(c.health(META))));
      expect(new Set(all.map((o) => JSON.stringify(o)))).toEqual(new Set([JSON.stringify({ kind: 'TIMED_OUT', prompt: true })]));
      expect([lookups, most]).toEqual([1, 1]);
      // Its failure, once in, is not kept: the next call asks again, and is told the name does not resolve.
      await vi.waitFor(() => expect(inFlight).toBe(0), { timeout: PROMPTLY_MS });
      expect(await outcome(clientFor(0, { connectTo: undefined, timeoutMs: PROMPTLY_MS }).health(META))).toEqual({ kind: 'NOT_REACHABLE', prompt: true });
      expect(lookups).toBe(2);
    } finally {
      slowDns.mockRestore();
    }
  });

  it("cuts what the TLS layer says at 200 characters: a proxy's certificate, its names included, is the proxy's text, not the caller's", async () => {
    const many = tempDir('kura-xks-hostile-names-');
    const names = Array.from({ length: 200 }, (_, i) => `DNS:name-${i}-${'x'.repeat(40)}.example`).join(',');
    makePki(many, names, 'many.example');
    const p = await rawProxy((s) => s.write(http200()));
    try {
      p.setCertificate({ cert: fs.readFileSync(path.join(many, 'server.pem')), key: fs.readFileSync(path.join(many, 'server.key')) });
      // Its CA is trusted: only the name fails, and Node's message lists every name of the certificate.
      const c = clientFor(p.port, { ca: [fs.readFileSync(path.join(many, 'ca.pem'), 'utf8')] });
      const e = await c.health(META).catch((x: unknown) => x);
      expect(e).toMatchObject({ kind: 'INVALID_TLS', message: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/) });
      messages.push((e as Error).message);
      expect((e as Error).message.length).toBeLessThan(400);
    } finally {
      await p.close();
      fs.rmSync(many, { recursive: true, force: true });
    }
  });

  it('puts neither the credential\'s secret nor a plaintext in any error or log line it made above', () => {
    expect(messages.length).toBeGreaterThan(10);
    const said = [...messages, ...logged].join('\n');
    for (const secret of [SECRET, PLAINTEXT.toString('base64'), PLAINTEXT.toString('hex'), createHash('sha256').update(SECRET).digest('hex')]) expect(said).not.toContain(secret);
  });
});

describe("an external key store's endpoint", () => {
  it('names its host by a domain name, as the spec requires: an IP address, in any of the forms a URL reads as one, is refused', () => {
    const settings = (xksProxyUriEndpoint: string) => () => checkXksSettings({ xksProxyUriEndpoint, xksProxyUriPath: '/kms/xks/v1', xksProxyConnectivity: 'PUBLIC_ENDPOINT' });
    for (const endpoint of ['https://127.0.0.1', 'https://10.0.0.5', 'https://169.254.169.254', 'https://2130706433', 'https://0x7f.1']) {
      expect(settings(endpoint), endpoint).toThrow(expect.objectContaining({ code: 'Validation', message: expect.stringMatching(/not an IP address/) }));
    }
    expect(settings(`https://${XKS_PEER_HOST}`)()).toEqual({ uriEndpoint: `https://${XKS_PEER_HOST}`, uriPath: '/kms/xks/v1' });
  });
});
