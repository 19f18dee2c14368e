// The life of the XKS client's connections (main/keystores/external/xks-client.ts, and the stores that
// own clients in main/kms/external-key-stores.ts): what a kept-alive connection to a proxy costs while
// nothing uses it, how TLS names a proxy whose endpoint is an IP address, what a proxy that accepts TCP
// and never speaks TLS does to a call, and that connections go when the store that opened them goes.
// Real TLS servers on loopback count the connections they hold; bounds are generous for a loaded machine.
import { once } from 'node:events';
import fs from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isKmsError } from '../../main/common/errors.js';
import { XksClient, XksProxyError, type XksClientConfig } from '../../main/keystores/external/index.js';
import { KeyStoreRegistry } from '../../main/keystores/key-store.js';
import { XksConnections } from '../../main/kms/external-key-stores.js';
import type { RootKeyHolder } from '../../main/seal/root-key.js';
import { tempDir } from '../support/domain.js';
import { unsealedStandardStore } from '../support/standard-store.js';
import { loopbackClientConfig, readPki } from '../support/xks-loopback.js';
import { makePki, XKS_PEER_HOST } from '../support/xks-peer.js';
import { xksStoreRecord } from '../support/xks-store.js';

const META = { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'r-1' };
const SECRET = randomBytes(33).toString('base64');
/** Far above AWS's 250 ms deadline, far below a hang. */
const PROMPTLY_MS = 5_000;
const HEALTH = JSON.stringify({ xksProxyFleetSize: 1, xksProxyVendor: 'v', xksProxyModel: 'm', ekmVendor: 'e', ekmFleetDetails: [{ id: 'h', model: 'm', healthStatus: 'ACTIVE' }] });
/** An external key a KMS key may be bound to. */
const KEY_METADATA = JSON.stringify({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' });
/** The addresses the IP-endpoint proxy's certificate names. */
const PROXY_V4 = '192.0.2.10';
const PROXY_V6 = '2001:db8::10';

let dir: string;
let ca: string;
/** A certificate for XKS_PEER_HOST, and one for PROXY_V4 and PROXY_V6 only, from the same CA. */
let byName: { cert: Buffer; key: Buffer };
let byAddress: { cert: Buffer; key: Buffer };

interface CountingProxy {
  port: number;
  /** Connections accepted, ever. */
  accepted: number;
  /** Connections open now. */
  live(): number;
  close(): Promise<void>;
}

/**
 * Node's HTTPS server answering a key's metadata request with KEY_METADATA and any other with a health
 * status, after `delayMs`, keeping connections
 * open far longer than any bound here (so that only the client closes them), and counting them.
 */
async function countingProxy(creds: { cert: Buffer; key: Buffer }, delayMs = 0): Promise<CountingProxy> {
  const sockets = new Set<net.Socket>();
  const server = https.createServer({ ...creds, keepAliveTimeout: 600_000 }, (req, res) => {
    req.resume();
    const body = req.url?.endsWith('/metadata') ? KEY_METADATA : HEALTH;
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), delayMs));
  });
  const proxy: CountingProxy = {
    port: 0,
    accepted: 0,
    live: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  server.on('secureConnection', (s) => {
    proxy.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}

/** Runs `run` with a countingProxy, closed after it whatever happens. */
async function withProxy(creds: { cert: Buffer; key: Buffer }, delayMs: number, run: (p: CountingProxy) => Promise<void>): Promise<void> {
  const p = await countingProxy(creds, delayMs);
  try {
    await run(p);
  } finally {
    await p.close();
  }
}

const clients: XksClient[] = [];
function clientFor(port: number, over: Partial<XksClientConfig> = {}): XksClient {
  const c = new XksClient({ ...loopbackClientConfig(port, ca, SECRET), timeoutMs: PROMPTLY_MS, ...over });
  clients.push(c);
  return c;
}

/** The kind of the call's failure (a KmsError's code), or 'answered'. */
async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'answered';
  } catch (e) {
    return e instanceof XksProxyError ? e.kind : isKmsError(e) ? e.code : String(e);
  }
}

/** The process warnings `match` picks that are emitted while `run` runs. */
async function warningsDuring(match: (w: Error & { code?: string }) => boolean, run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (match(w)) seen.push(`${w.name} ${w.code ?? ''}: ${w.message}`);
  };
  process.on('warning', listener);
  try {
    await run();
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

beforeAll(() => {
  dir = tempDir('kura-xks-lifecycle-');
  makePki(dir, `DNS:${XKS_PEER_HOST}`);
  const named = readPki(dir);
  // A second CA and certificate, for the addresses only: the client trusts both CAs.
  const other = path.join(dir, 'by-address');
  fs.mkdirSync(other);
  makePki(other, `IP:${PROXY_V4},IP:${PROXY_V6}`, 'kura-ip-proxy');
  const addressed = readPki(other);
  ca = `${named.ca}\n${addressed.ca}`;
  byName = named.server;
  byAddress = addressed.server;
});

afterAll(() => {
  for (const c of clients) c.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the XKS client's kept-alive connections", () => {
  it('closes a connection idle past its bound, and the next call opens another and is answered', async () => {
    await withProxy(byName, 0, async (p) => {
      const c = clientFor(p.port, { idleMs: 300 });
      expect(await kindOf(c.health(META))).toBe('answered');
      expect(p.live()).toBe(1);
      await vi.waitFor(() => expect(p.live()).toBe(0), { timeout: PROMPTLY_MS, interval: 50 });
      expect(await kindOf(c.health(META))).toBe('answered');
      expect(p.accepted).toBe(2);
    });
  });

  it('keeps a connection used more often than its idle bound: one connection serves calls spread past the bound', async () => {
    await withProxy(byName, 0, async (p) => {
      // 1 s apart leaves 2 s of the bound for a loaded machine's event loop (the suite runs this beside
      // other files on two cores), and seven calls span 7 s, more than twice the bound: a connection
      // closed at a fixed age rather than when idle would be seen.
      const c = clientFor(p.port, { idleMs: 3_000 });
      for (let i = 0; i < 7; i++) {
        expect(await kindOf(c.health(META))).toBe('answered');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      expect(p.accepted).toBe(1);
    });
  });

  it('keeps at most 16 connections idle after a burst that needed 40', async () => {
    // Each answer waits, so that the 40 calls are in progress at once, each on a connection of its own.
    await withProxy(byName, 200, async (p) => {
      const c = clientFor(p.port, { idleMs: 600_000 });
      const all = await Promise.all(Array.from({ length: 40 }, () => kindOf(c.health(META))));
      expect(new Set(all)).toEqual(new Set(['answered']));
      expect(p.accepted).toBe(40);
      await vi.waitFor(() => expect(p.live()).toBeLessThanOrEqual(16), { timeout: PROMPTLY_MS, interval: 50 });
      expect(p.live()).toBeGreaterThan(0);
    });
  });
});

describe('an endpoint saved as an IP address', () => {
  it('sends no address as TLS server name (no DEP0123) and is answered when the certificate names the address, v4 or v6', async () => {
    await withProxy(byAddress, 0, async (p) => {
      const warnings = await warningsDuring((w) => w.code === 'DEP0123', async () => {
        expect(await kindOf(clientFor(p.port, { uriEndpoint: `https://${PROXY_V4}` }).health(META))).toBe('answered');
        expect(await kindOf(clientFor(p.port, { uriEndpoint: `https://[${PROXY_V6}]` }).health(META))).toBe('answered');
      });
      expect(warnings).toEqual([]);
    });
  });

  it("still checks the address against the certificate's IP SANs: one it does not name, or a certificate with none, is refused (XKS_PROXY_INVALID_TLS_CONFIGURATION)", async () => {
    const addressed = await countingProxy(byAddress);
    const named = await countingProxy(byName);
    try {
      // The connection goes to 127.0.0.1 (connectTo) in every case: what is checked is the endpoint's address.
      expect(await kindOf(clientFor(addressed.port, { uriEndpoint: 'https://192.0.2.11' }).health(META))).toBe('INVALID_TLS');
      expect(await kindOf(clientFor(addressed.port, { uriEndpoint: 'https://[2001:db8::11]' }).health(META))).toBe('INVALID_TLS');
      expect(await kindOf(clientFor(named.port, { uriEndpoint: `https://${PROXY_V4}` }).health(META))).toBe('INVALID_TLS');
      // And a name is still checked as a name: the address certificate does not serve XKS_PEER_HOST.
      expect(await kindOf(clientFor(addressed.port).health(META))).toBe('INVALID_TLS');
    } finally {
      await addressed.close();
      await named.close();
    }
  });
});

describe("the XKS client's calls", () => {
  it('holds the deadline (250 ms) when the proxy accepts TCP and never completes the TLS handshake, and closes that connection', async () => {
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      held.add(s);
      // Reads (and drops) the ClientHello: a socket never read would not see the client's close either.
      s.resume();
      s.on('close', () => held.delete(s));
      s.on('error', () => {});
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const c = clientFor((silent.address() as AddressInfo).port, { timeoutMs: 250 });
      const started = performance.now();
      expect(await kindOf(c.health(META))).toBe('TIMED_OUT');
      // 250 ms, and the event loop of a loaded machine.
      expect(performance.now() - started).toBeLessThan(1_500);
      await vi.waitFor(() => expect(held.size).toBe(0), { timeout: PROMPTLY_MS, interval: 50 });
    } finally {
      for (const s of held) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('fails a request Node refuses to send (a URI path with a space) as the call\'s own error, and leaves no deadline to fire on no request', async () => {
    await withProxy(byName, 0, async (p) => {
      const c = clientFor(p.port, { uriPath: '/kms xks/v1', timeoutMs: 250 });
      expect(await kindOf(c.health(META))).toBe('INVALID_CONFIGURATION');
      // Past the deadline: a timer left behind would have fired (and thrown) by now.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(p.accepted).toBe(0);
    });
  });

  it('leaves nothing behind per call: 60 calls on one kept-alive connection add no listeners (no MaxListenersExceededWarning) and no timers', async () => {
    const p = await countingProxy(byName);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    try {
      const c = clientFor(p.port, { timeoutMs: 250 });
      expect(await kindOf(c.health(META))).toBe('answered');
      const before = timers();
      const warnings = await warningsDuring((w) => w.name === 'MaxListenersExceededWarning', async () => {
        for (let i = 0; i < 60; i++) expect(await kindOf(c.health(META))).toBe('answered');
      });
      expect(warnings).toEqual([]);
      expect(p.accepted).toBe(1);
      expect(timers()).toBeLessThanOrEqual(before);
    } finally {
      await p.close();
    }
  });
});

/** The stores' connections of an unsealed appliance of its own (a standard store, a registry), to the proxy `p`. */
async function connectionsTo(p: CountingProxy): Promise<{ root: RootKeyHolder; registry: KeyStoreRegistry; conns: XksConnections }> {
  const { root, store: standard } = await unsealedStandardStore(tempDir('kura-xks-lifecycle-store-'));
  const registry = new KeyStoreRegistry({ standard, root });
  const connectTo = new Map([[XKS_PEER_HOST, { host: '127.0.0.1', port: p.port }]]);
  return { root, registry, conns: new XksConnections({ registry, root, standard, options: { ca: [ca], connectTo, timeoutMs: PROMPTLY_MS } }) };
}

/**
 * Connects `record`, starts a call on it that the proxy `p` holds, then reopens the store with a new secret
 * (a credential rotated while connected): the first store is retired with that call in progress.
 */
async function retiredWithCallAtProxy(p: CountingProxy, conns: XksConnections, registry: KeyStoreRegistry, record: ReturnType<typeof xksStoreRecord>): Promise<{ inProgress: Promise<string> }> {
  expect(await conns.open(record, undefined)).toEqual({ state: 'CONNECTED' });
  const inProgress = kindOf(registry.storeFor(record.id).generate('key-1', 'SYMMETRIC_DEFAULT', { externalKeyId: 'k' }));
  await vi.waitFor(() => expect(p.live()).toBe(1), { timeout: PROMPTLY_MS, interval: 10 });
  const rotated = xksStoreRecord(conns, record.id, { name: record.name, uriPath: '/kms/xks/v1', secretAccessKey: randomBytes(33).toString('base64') });
  expect(await conns.open(rotated, undefined)).toEqual({ state: 'CONNECTED' });
  // In an object: an async function's promise would wait for the call it returned.
  return { inProgress };
}

describe("an external key store's connections (XksConnections)", () => {
  it('are all closed when the store is closed, even when two connects of it ran at once: the one registered first is not left open', async () => {
    const p = await countingProxy(byName, 100);
    const { root, conns } = await connectionsTo(p);
    const id = 'cks-0123456789abcdef4';
    const record = xksStoreRecord(conns, id, { name: 'twice', uriPath: '/kms/xks/v1', secretAccessKey: SECRET });
    try {
      const opened = await Promise.all([0, 1].map(() => conns.open(record, { requestId: 'r', kmsOperation: 'ConnectCustomKeyStore' })));
      expect(opened).toEqual([{ state: 'CONNECTED' }, { state: 'CONNECTED' }]);
      expect(p.accepted).toBe(2);
      conns.close(id);
      await vi.waitFor(() => expect(p.live()).toBe(0), { timeout: 2_000, interval: 50 });
    } finally {
      conns.closeAll();
      root.seal();
      await p.close();
    }
  });

  it('of the old settings serve the calls in progress to their end, then close, when the store is reopened with new ones (a connected store whose credential is rotated)', async () => {
    const p = await countingProxy(byName, 300);
    const { root, registry, conns } = await connectionsTo(p);
    const id = 'cks-0123456789abcdef6';
    const record = xksStoreRecord(conns, id, { name: 'rotated', uriPath: '/kms/xks/v1', secretAccessKey: SECRET });
    try {
      expect(await conns.open(record, undefined)).toEqual({ state: 'CONNECTED' });
      const old = registry.storeFor(id);
      // Its GetKeyMetadata is at the proxy, answered in 300 ms, when the store is reopened.
      const inProgress = kindOf(old.generate('key-1', 'SYMMETRIC_DEFAULT', { externalKeyId: 'k' }));
      await vi.waitFor(() => expect(p.live()).toBe(1), { timeout: PROMPTLY_MS, interval: 10 });
      const rotated = xksStoreRecord(conns, id, { name: 'rotated', uriPath: '/kms/xks/v1', secretAccessKey: randomBytes(33).toString('base64') });
      expect(await conns.open(rotated, undefined)).toEqual({ state: 'CONNECTED' });
      expect(registry.storeFor(id)).not.toBe(old);
      expect(await inProgress).toBe('answered');
      // Its connection closes with that call, not after the idle bound; and it takes no new call.
      await vi.waitFor(() => expect(p.live()).toBe(0), { timeout: 2_000, interval: 50 });
      expect(await kindOf(old.generate('key-2', 'SYMMETRIC_DEFAULT', { externalKeyId: 'k' }))).toBe('CustomKeyStoreInvalidState');
      expect(p.accepted).toBe(1);
    } finally {
      conns.closeAll();
      root.seal();
      await p.close();
    }
  });

  it("of the old settings are closed by a disconnect that follows, with a call still in progress on them", async () => {
    // Each answer waits 4 s: the disconnect comes while the old settings' call is at the proxy.
    const p = await countingProxy(byName, 4_000);
    const { root, registry, conns } = await connectionsTo(p);
    const id = 'cks-0123456789abcdef8';
    const record = xksStoreRecord(conns, id, { name: 'disconnected', uriPath: '/kms/xks/v1', secretAccessKey: SECRET });
    try {
      const { inProgress } = await retiredWithCallAtProxy(p, conns, registry, record);
      conns.close(id);
      // Now, not when the proxy answers (its deadline here is 5 s; AWS's 250 ms in production).
      await vi.waitFor(() => expect(p.live()).toBe(0), { timeout: 2_000, interval: 20 });
      expect(await inProgress).toBe('CustomKeyStoreInvalidState');
    } finally {
      conns.closeAll();
      root.seal();
      await p.close();
    }
  });

  it("are closed when the appliance seals, a retired store's call in progress and a health check's included", async () => {
    // Each answer waits 4 s: the seal comes while both calls are at the proxy.
    const p = await countingProxy(byName, 4_000);
    const { root, registry, conns } = await connectionsTo(p);
    const id = 'cks-0123456789abcdef7';
    const record = xksStoreRecord(conns, id, { name: 'retired', uriPath: '/kms/xks/v1', secretAccessKey: SECRET });
    try {
      const { inProgress } = await retiredWithCallAtProxy(p, conns, registry, record);
      const checking = conns.checkSettings(record, 'r', 'UpdateCustomKeyStore').catch((e: unknown) => e);
      await vi.waitFor(() => expect(p.live()).toBe(2), { timeout: PROMPTLY_MS, interval: 10 });
      root.seal();
      // Both end now, not when the proxy answers: the old settings' secret serves no call past the seal.
      await vi.waitFor(() => expect(p.live()).toBe(0), { timeout: 2_000, interval: 20 });
      expect(await inProgress).toBe('CustomKeyStoreInvalidState');
      // The settings were not refused by the proxy: the seal cut the check short, and says so.
      expect(await checking).toMatchObject({ code: 'Sealed' });
    } finally {
      conns.closeAll();
      await p.close();
    }
  });

  it('are closed when the appliance seals', async () => {
    const p = await countingProxy(byName);
    const { root, conns } = await connectionsTo(p);
    const record = xksStoreRecord(conns, 'cks-0123456789abcdef5', { name: 'sealed', uriPath: '/kms/xks/v1', secretAccessKey: SECRET });
    try {
      expect(await conns.open(record, { requestId: 'r', kmsOperation: 'ConnectCustomKeyStore' })).toEqual({ state: 'CONNECTED' });
      expect(p.live()).toBe(1);
      root.seal();
      await vi.waitFor(() => expect(p.live()).toBe(0), { timeout: 2_000, interval: 50 });
      expect(conns.isOpen(record.id)).toBe(false);
    } finally {
      conns.closeAll();
      await p.close();
    }
  });
});
