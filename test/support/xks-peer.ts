// Another Kura as an XKS proxy, for the tests of Kura's external key stores: a `kura serve --dev`
// process serving the XKS proxy API over TLS under a host name of its own (xks.kura.test, with a CA
// made here by OpenSSL), with one proxy store and its first credential; with a token, the store's keys are on a PKCS#11
// token (SoftHSM2 in the tests). A client reaches it as AWS
// KMS would — https://xks.kura.test, port 443 — through a connect-to address (127.0.0.1 and the
// listener's port) and the test CA.
//
// stop() and start() stop and restart the same appliance (its data directory, dev root key and port):
// what a proxy outage looks like from the client.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runKura, startKura, type KuraProcess } from './kura-process.js';

export const XKS_PEER_HOST = 'xks.kura.test';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'ignore' });

/**
 * A CA, a server certificate for `serverSan` (an OpenSSL subjectAltName value; its subject's CN is
 * `serverCn`, by default the name without its type) and a client
 * certificate, as PEM files in `dir`: ca.pem/ca.key, server.pem/server.key, client.pem/client.key.
 */
export function makePki(dir: string, serverSan = 'IP:127.0.0.1', serverCn = serverSan.replace(/^\w+:/, '')): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=kura-test-ca', '-days', '2'], dir);
  fs.writeFileSync(path.join(dir, 'server.ext'), `subjectAltName=${serverSan}\nextendedKeyUsage=serverAuth\n`);
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [['server', serverCn], ['client', 'aws-kms']] as const) {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  }
}

/** Another server certificate from makePki's CA in `dir` for 127.0.0.1 (a renewal): NAME.pem and NAME.key. */
export function issueServerCert(dir: string, name: string): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1'], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'server.ext'], dir);
}

/** Another client certificate from makePki's CA in `dir`, with subject CN `cn` (several CNs, in order, for a list): NAME.pem and NAME.key. */
export function issueClientCert(dir: string, name: string, cn: string | readonly string[]): void {
  const subject = (typeof cn === 'string' ? [cn] : cn).map((c) => `/CN=${c}`).join('');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'client.ext'], dir);
}

/** A port free now (bound, then released) for a listener that must keep its port across restarts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface XksPeer {
  /** The TLS listener's port on 127.0.0.1. */
  port: number;
  /** The CA that issued the listener's certificate (PEM file). */
  caFile: string;
  /** `--xks-connect-to` for a client Kura. */
  connectTo: string;
  uriEndpoint: string;
  store: { storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string };
  /** A key on the proxy store; usage as `kura xks keys create --usage`. */
  createKey(usage?: string): Promise<string>;
  /** Calls the peer's admin API. */
  admin(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  kura(): KuraProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the peer. With `token` (a PKCS#11 module and a token of it, with its user PIN), the proxy
 * store keeps its keys on that token: the peer registers it (`kura hsm add`) and makes its store with
 * `--hsm`; the module's configuration (SOFTHSM2_CONF) comes from this process's environment.
 */
export async function startXksPeer(opts: { token?: { modulePath: string; label: string; pin: string }; env?: NodeJS.ProcessEnv } = {}): Promise<XksPeer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-xks-peer-'));
  makePki(dir, `DNS:${XKS_PEER_HOST}`);
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  const args = ['--xks-tls-cert', path.join(dir, 'server.pem'), '--xks-tls-key', path.join(dir, 'server.key'), '--xks-tls-port', String(port)];
  let proc: KuraProcess | undefined = await startKura({ dataDir, args, ...(opts.env ? { env: opts.env } : {}) });
  const admin = async (method: string, route: string, body?: unknown) => {
    if (!proc) throw new Error('the XKS peer is stopped');
    const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    const res = await fetch(`${proc.url}/admin/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  let onHsm: Record<string, unknown> = {};
  if (opts.token) {
    const r = await runKura(['hsm', 'add', '--module', opts.token.modulePath, '--token-label', opts.token.label, '--data-dir', dataDir, '--json']);
    if (r.code !== 0) throw new Error(`kura hsm add failed: ${r.stderr}`);
    onHsm = { hsmId: (JSON.parse(r.stdout) as { hsmId: string }).hsmId, pin: opts.token.pin };
  }
  const made = await admin('POST', '/xks/stores', { uriPathPrefix: 'peer', ...onHsm });
  if (made.status !== 200) throw new Error(`the XKS peer refused its store: ${JSON.stringify(made.body)}`);
  const store = made.body as XksPeer['store'];
  return {
    port,
    caFile: path.join(dir, 'ca.pem'),
    connectTo: `${XKS_PEER_HOST}=127.0.0.1:${port}`,
    uriEndpoint: `https://${XKS_PEER_HOST}`,
    store,
    admin,
    async createKey(usage = 'encrypt,decrypt') {
      const r = await admin('POST', `/xks/stores/${store.storeId}/keys`, { usage: usage === 'none' ? [] : usage.toUpperCase().split(',') });
      if (r.status !== 200) throw new Error(`the XKS peer refused a key: ${JSON.stringify(r.body)}`);
      return (r.body as { externalKeyId: string }).externalKeyId;
    },
    kura: () => {
      if (!proc) throw new Error('the XKS peer is stopped');
      return proc;
    },
    async stop() {
      await proc?.stop();
      proc = undefined;
    },
    async start() {
      proc ??= await startKura({ dataDir, args, ...(opts.env ? { env: opts.env } : {}) });
    },
    async close() {
      await proc?.stop();
      proc = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
