// Composition root: builds an appliance from a resolved configuration. No logic beyond wiring and the
// start/stop order (store → seal → services → scheduler → listener; stop in reverse).
// A running appliance announces itself in its data directory's runtime file (kura.runtime.json,
// 0600: endpoint, pid, version, start time), which the `kura` client commands read to find it; the
// file goes when the appliance stops, and one whose pid is not alive is stale.
// Why one file of this length: the start order and its reverse are read top to bottom in one function;
// the helpers beside it (file names, TLS files, start failures) are the ones both hosts (kura serve, the
// desktop app) share.
import { createPublicKey, generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runApprovedCommand, type CommandDeps } from './api/admin/commands.js';
import { consoleRoute } from './api/console.js';
import { handleAdminRequest, runConsoleCommand, type AdminDeps, type ConsoleAnswer } from './api/admin/routes.js';
import { handleKmsRequest, replayApprovedCall } from './api/kms/dispatch.js';
import { xksAuditSink } from './api/xks/audit.js';
import { handleXksRequest } from './api/xks/dispatch.js';
import type { JsonResponse, RawRequest } from './api/http.js';
import { startServer, type RunningServer, type ServerLimits, type ServerTls } from './api/server.js';
import { BodyBudget, DEFAULT_MAX_BUFFERED_BODY_BYTES } from './api/body-budget.js';
import { AuditLog } from './audit/audit-log.js';
import { ADMIN, Quorum, type QuorumDeps } from './ceremony/quorum.js';
import { ConsoleSignIn } from './ceremony/sign-in.js';
import { RefusalLog } from './audit/refusals.js';
import { CredentialService, type NewCredential } from './auth/credentials.js';
import { systemClock, type Clock } from './common/clock.js';
import { systemMonotonic, type Monotonic } from './common/monotonic.js';
import { errorFields, type Logger } from './common/log.js';
import { packageRoot } from './common/package-root.js';
import { openDirectoryProblem } from './common/private-directory.js';
import type { Aead } from './crypto/aead.js';
import { randomBytes } from './crypto/bytes.js';
import { wasmAead, wasmKeyWrap } from './crypto/wasm-aead.js';
import { devicesSummary } from './devices/usb/index.js';
import { connectHsmKeyStore, probeHsmToken } from './keystores/hsm/index.js';
import type { HsmConnector, Kms, XksClientOptions } from './kms/index.js';
import type { LifecycleScheduler } from './kms/jobs/scheduler.js';
import { buildKmsDomain } from './kms/wiring.js';
import { RootKeyHolder, ROOT_KEY_BYTES } from './seal/root-key.js';
import { encodeAad } from './seal/at-rest.js';
import { DirectoryLockedError, lockDirectory, openStore, type DirectoryLock, type Store } from './store/index.js';

export const KURA_VERSION = '0.1.0';
/** How PKCS#11 module hosts are started: the desktop app sets Electron's utility processes (main/desktop/module-hosts.ts). */
export { setHostLauncher, type HostLauncher, type HostProcess } from './devices/pkcs11/module-host.js';
export const DEV_ACCOUNT_ID = '111122223333';

export interface ApplianceConfig {
  host: string;
  port: number;
  dataDir: string;
  dev: boolean;
  schedulerIntervalMs: number;
  limits: ServerLimits;
  /** Regions a request may be signed for; undefined: every AWS region. */
  regions?: readonly string[];
  /** XKS proxy calls per second per store before ThrottlingException (default 1,800, AWS's quota). */
  xksRequestsPerSecond?: number;
  /** How long an XKS call's work on the key manager may take before DependencyTimeoutException (default 200 ms). */
  xksAnswerDeadlineMs?: number;
  /** The XKS proxy's own listener with TLS: PEM files, and its address. */
  xksTls?: { certFile: string; keyFile: string; clientCaFile?: string; clientSubjects?: readonly string[]; host: string; port: number };
  /** How external key stores reach their XKS proxies: a CA file trusted besides the system's, connect-to addresses, the deadline. */
  xksClient?: { caFile?: string; connectTo: Record<string, { host: string; port: number }>; timeoutMs: number };
}

/** The XKS client's settings as the KMS domain takes them (the CA file read now: a missing file fails the start). */
function xksClientOptions(c: NonNullable<ApplianceConfig['xksClient']>): XksClientOptions {
  return {
    ...(c.caFile ? { ca: [fs.readFileSync(c.caFile, 'utf8')] } : {}),
    connectTo: new Map(Object.entries(c.connectTo)),
    timeoutMs: c.timeoutMs,
  };
}

export interface Appliance {
  store: Store;
  root: RootKeyHolder;
  keys: Kms;
  credentials: CredentialService;
  audit: AuditLog;
  scheduler: LifecycleScheduler;
  server: RunningServer;
  /** The XKS proxy's TLS listener, when configured. */
  xksTlsServer?: RunningServer;
  /**
   * Reads the XKS TLS listener's certificate, key and client CA files again and serves new connections
   * with them (`kura serve` does on SIGHUP). Throws, keeping the old ones, when they cannot be used.
   */
  reloadXksTls(): void;
  applianceId: string;
  devCredential?: NewCredential;
  /** A dev appliance's console operator (dev mode only). */
  devOperator?: DevOperator;
  adminToken: string;
  /** The operator console's commands (main/console) for a transport other than HTTP: the desktop app's IPC. */
  console: { run(sessionToken: string | undefined, command: string, input: unknown): Promise<ConsoleAnswer> };
  stop(): Promise<void>;
}

/** What kura.runtime.json holds. */
export interface RuntimeInfo {
  endpoint: string;
  dataDir: string;
  pid: number;
  version: string;
  /** ISO 8601. */
  startedAt: string;
  dev: boolean;
}

export const databaseFile = (dataDir: string) => path.join(dataDir, 'kura.db');
export const adminTokenFile = (dataDir: string) => path.join(dataDir, 'admin.token');
export const devRootKeyFile = (dataDir: string) => path.join(dataDir, 'root.key');
export const devOperatorKeyFile = (dataDir: string) => path.join(dataDir, 'dev-operator.key');
const devOperatorPassphraseFile = (dataDir: string) => path.join(dataDir, 'dev-operator.passphrase');

/** The dev appliance's own custodian, so that its console can be signed in to and its approvals signed at once. */
export interface DevOperator {
  name: string;
  passphrase: string;
  /** The operator's Ed25519 private key (PKCS#8 PEM, 0600), for `kura approvals sign ID --key`. */
  keyFile: string;
}

/**
 * A dev appliance's operator `dev`: an Ed25519 key pair and a console passphrase, made once and kept in
 * the data directory (0600) like the dev root key — dev mode is insecure by design, and its banner says
 * so. A production appliance has no such operator: its custodians are enrolled at `kura init`.
 */
async function ensureDevOperator(dataDir: string, quorum: Quorum, signIn: ConsoleSignIn): Promise<DevOperator> {
  const name = 'dev';
  const keyFile = devOperatorKeyFile(dataDir);
  const keyPem = readOrCreateSecretFile(keyFile, () => Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())).toString('utf8');
  const passphrase = readOrCreateSecretFile(devOperatorPassphraseFile(dataDir), () => Buffer.from(`dev-${randomBytes(12).toString('base64url')}`)).toString('utf8').trim();
  if (!(await quorum.listOperators()).some((o) => o.name === name)) {
    const publicPem = createPublicKey(keyPem).export({ format: 'pem', type: 'spki' }).toString();
    await quorum.addOperator({ operator: 'kura:dev' }, name, publicPem);
    await signIn.setPassphrase({ operator: ADMIN }, name, passphrase);
  }
  return { name, passphrase, keyFile };
}
export const runtimeFile = (dataDir: string) => path.join(dataDir, 'kura.runtime.json');
export const lockFile = (dataDir: string) => path.join(dataDir, 'kura.pid');

/** Written whole (temporary file, then rename) so that a reader never sees half of it. */
function writeRuntimeFile(info: RuntimeInfo): () => void {
  const file = runtimeFile(info.dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return () => fs.rmSync(file, { force: true });
}

function readOrCreateSecretFile(file: string, make: () => Buffer): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const value = make();
  // On the disk before anything the database commits relies on it (the dev root key's check value, the
  // dev operator's enrolled key): a power cut must not leave a database whose key file is empty.
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, value);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncDirectory(path.dirname(file));
  return value;
}

/** Makes a directory's new entries durable (POSIX: the file's own fsync does not cover its name). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open a directory for fsync; its file system journals names itself.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * One appliance per data directory: a second one on the same directory is refused. The kernel holds the
 * lock (kura.lock, main/store/sqlite/directory-lock.ts), so two starts cannot both pass, and a crashed
 * appliance's lock is gone with it; kura.pid only names the holder, for this message and `kura stop`,
 * and is removed first when the lock is let go.
 */
async function takeLock(dataDir: string): Promise<() => Promise<void>> {
  const file = lockFile(dataDir);
  let lock: DirectoryLock;
  try {
    lock = await lockDirectory(path.join(dataDir, 'kura.lock'));
  } catch (e) {
    if (!(e instanceof DirectoryLockedError)) throw e;
    let pid: number | undefined;
    try {
      pid = Number(fs.readFileSync(file, 'utf8')) || undefined;
    } catch {
      // Named by no file (its holder is just starting, or is not a Kura that writes one): said without a pid.
    }
    throw new Error(`Another Kura${pid ? ` (pid ${pid})` : ''} is running on ${dataDir}.`, { cause: e });
  }
  try {
    fs.writeFileSync(file, String(process.pid), { mode: 0o600 });
  } catch (e) {
    await lock.release();
    throw e;
  }
  // The lock is let go even when kura.pid cannot be removed (a data directory made read-only): a stale
  // kura.pid keeps no one out, a held lock would. The removal's failure is still reported.
  return async () => {
    try {
      fs.rmSync(file, { force: true });
    } finally {
      await lock.release();
    }
  };
}

/** How a gated KMS call's sensitive values are kept beside its approval request: sealed under the root key, bound to its parameters. */
export function approvalSecretSealer(root: RootKeyHolder): NonNullable<QuorumDeps['secrets']> {
  const aad = (digest: string) => encodeAad('kura/approval/kms-secrets/v1', digest);
  return {
    seal: (text, digest) => root.materialSealer().sealText(text, aad(digest)).toString('base64'),
    open: (sealed, digest) => root.materialSealer().openText(Buffer.from(sealed, 'base64'), aad(digest)),
  };
}

/**
 * The XKS TLS listener's files, read now. A private key other users may read is worth a word (not a
 * refusal, as for a PIN file: the operator may have reasons): whoever reads it can be the proxy to AWS KMS.
 */
function xksTlsFiles(t: NonNullable<ApplianceConfig['xksTls']>, log: Logger): ServerTls {
  if (process.platform !== 'win32') {
    const mode = fs.statSync(t.keyFile).mode & 0o777;
    if (mode & 0o077) log.warn('other users can read the XKS TLS private key file: chmod 600 it', { file: t.keyFile, mode: mode.toString(8).padStart(4, '0') });
  }
  return {
    cert: fs.readFileSync(t.certFile),
    key: fs.readFileSync(t.keyFile),
    ...(t.clientCaFile ? { clientCa: clientCaOf(t.clientCaFile) } : {}),
    ...(t.clientSubjects ? { clientSubjects: t.clientSubjects } : {}),
  };
}

/**
 * The XKS TLS listener's client CA file, which must hold at least one certificate: given a key or any
 * other file, the listener would start and refuse every client, AWS KMS's included, without a word.
 */
function clientCaOf(file: string): Buffer {
  const pem = fs.readFileSync(file);
  const certificates = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (certificates.length === 0) throw new Error('no certificate');
    for (const c of certificates) new X509Certificate(c);
  } catch {
    throw new Error(`The XKS TLS client CA file ${file} holds no readable certificate (PEM, -----BEGIN CERTIFICATE-----).`);
  }
  return pem;
}

/** The data directory is not Kura's alone (another user owns it or may write to it): nothing in it was read. */
export class DataDirectoryNotPrivateError extends Error {
  constructor(readonly problem: string) {
    super(`The data directory is refused: ${problem}.`);
    this.name = 'DataDirectoryNotPrivateError';
  }
}

/** Why startAppliance failed, in the usual cases, for `kura serve` and the desktop app to say alike. */
export interface StartFailure {
  code: 'PortInUse' | 'PortDenied' | 'DataDirectory';
  /** A clause without a capital or a full stop: "port 7420 is in use (another Kura? `kura status`)". */
  message: string;
}

/** The usual causes of a failed start in words (a listener's port, the data directory); undefined for others. */
export function startFailureOf(e: unknown, config: Pick<ApplianceConfig, 'port' | 'dataDir'>): StartFailure | undefined {
  const { code, syscall } = (e ?? {}) as NodeJS.ErrnoException;
  if (e instanceof DataDirectoryNotPrivateError) {
    return { code: 'DataDirectory', message: `cannot use the data directory ${config.dataDir}: ${e.problem}, and another user could put their own root key or admin token in it` };
  }
  const port = (e as { listener?: unknown } | undefined)?.listener;
  const listener = typeof port === 'string' ? port : `port ${config.port}`;
  if (syscall === 'listen' && code === 'EADDRINUSE') return { code: 'PortInUse', message: `${listener} is in use (another Kura? \`kura status\`)` };
  if (syscall === 'listen' && code === 'EACCES') return { code: 'PortDenied', message: `not allowed to listen on ${listener} (ports below 1024 need privileges)` };
  // Anything else the file system refuses is about the data directory (made, locked and opened first).
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return { code: 'DataDirectory', message: `cannot use the data directory ${config.dataDir}: not allowed (${code}); it must be writable by this user` };
  }
  if (code === 'EEXIST' || code === 'ENOTDIR') return { code: 'DataDirectory', message: `cannot use the data directory ${config.dataDir}: it, or a directory above it, is a file` };
  // SQLite's own codes (the sqlite3 module's `code`), about the database files in the data directory.
  if (code === 'ENOSPC' || code === 'SQLITE_FULL') {
    return { code: 'DataDirectory', message: `cannot use the data directory ${config.dataDir}: its disk is full (${code}); free space on it, then start Kura again` };
  }
  if (code === 'SQLITE_CANTOPEN') {
    return {
      code: 'DataDirectory',
      message: `cannot open the database in the data directory ${config.dataDir} (SQLITE_CANTOPEN): the directory must be writable by this user (SQLite makes files beside kura.db), and kura.db, if there, a file this user can read and write`,
    };
  }
  if (code === 'SQLITE_READONLY') {
    return {
      code: 'DataDirectory',
      message: `cannot write the database in the data directory ${config.dataDir} (SQLITE_READONLY): kura.db, its -wal and -shm files and the directory must be writable by this user (check their permissions, immutable attributes with lsattr, and read-only mounts)`,
    };
  }
  return undefined;
}

export async function startAppliance(
  config: ApplianceConfig,
  deps: { log: Logger; clock?: Clock; monotonic?: Monotonic; aead?: Aead; /** POST /admin/v1/stop: the host stops the appliance as on SIGTERM. */ onStopRequested?: () => void },
): Promise<Appliance> {
  const clock = deps.clock ?? systemClock;
  const monotonic = deps.monotonic ?? systemMonotonic;
  const aead = deps.aead ?? wasmAead;
  const { log } = deps;
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Before anything in it is read or trusted: a directory another local user can write to is theirs
  // (main/common/private-directory.ts says what they could do with it).
  const notPrivate = openDirectoryProblem(config.dataDir);
  if (notPrivate !== undefined) throw new DataDirectoryNotPrivateError(notPrivate);
  const releaseLock = await takeLock(config.dataDir);
  // Cleaning up after a failed start never throws: the error that stopped the start is the one to report
  // (a kura.pid that cannot be removed either would otherwise replace it with its own, misleading one).
  const releaseAfterFailure = () =>
    releaseLock().catch((c: unknown) => log.warn('start failed; cleaning up after it failed too', errorFields(c)));
  let store: Store;
  try {
    store = await openStore(databaseFile(config.dataDir));
  } catch (e) {
    await releaseAfterFailure();
    throw e;
  }
  try {
    const applianceId = await store.appliance.ensureApplianceId(randomUUID(), clock.nowMs());
    const audit = new AuditLog({ db: store.db, repo: store.audit, clock });
    // Before anything is written: the scheduler compares it with the clock (main/kms/jobs/scheduler.ts).
    const lastRecordedAt = (await audit.currentHead()).at;
    const refusals = new RefusalLog({ audit, clock, monotonic });
    const root = new RootKeyHolder({ db: store.db, appliance: store.appliance, aead, clock, applianceId });
    await root.load();
    // HSM key stores: PKCS#11 tokens, reached through main/keystores/hsm.
    const hsmConnector: HsmConnector = { probe: probeHsmToken, connect: (c) => connectHsmKeyStore(c, { log }) };
    // Custodians and quorum: the approval gate of the unit of work (main/ceremony).
    const quorum = new Quorum({ store, audit, clock, applianceId, dev: config.dev, log, isUnsealed: () => root.isUnsealed, secrets: approvalSecretSealer(root) });
    // Approved requests that a stop interrupted mid-run are ended by what their action did, before any
    // call can ask about them.
    await quorum.recoverInterrupted();
    const { kms: keys, scheduler, connections, afterUnseal, reopenCustomKeyStores } = buildKmsDomain({
      store,
      root,
      audit,
      clock,
      monotonic,
      aead,
      keyWrap: wasmKeyWrap,
      log,
      schedulerIntervalMs: config.schedulerIntervalMs,
      lastRecordedAt,
      hsmConnector,
      gate: quorum,
      xksRequestsPerSecond: config.xksRequestsPerSecond,
      ...(config.xksClient ? { xksClient: xksClientOptions(config.xksClient) } : {}),
    });
    const credentials = new CredentialService({ store, root, clock, audit });
    // Operators sign in to the console with their passphrases.
    const signIn = new ConsoleSignIn({ store, audit, clock, monotonic, refusals });
    // Where the listener is, once it listens (the dashboard shows it).
    const listener: { url?: string } = {};
    // The regions requests may be signed for; the console's key commands are held to the same set.
    const allowedRegions = config.regions ? new Set(config.regions) : undefined;
    const commandDeps: CommandDeps = {
      root,
      credentials,
      audit,
      refusals,
      applianceId,
      version: KURA_VERSION,
      onUnsealed: async () => {
        log.info('appliance unsealed: KMS calls are served again');
        await afterUnseal();
      },
      endpoints: () => ({ kms: listener.url ?? null, console: listener.url ? `${listener.url}/console/` : null }),
      ...(config.dev ? { consoleAccount: { accountId: DEV_ACCOUNT_ID, region: 'us-east-1' } } : {}),
      allowedRegions,
      kms: keys,
      quorum,
      signIn,
      listDevices: () => devicesSummary(),
    };
    // An approved KMS call runs again through the API's own handler; an approved operator command through the console's.
    quorum.setExecutor({
      execute: async (r, call) => (call.kind === 'kms' ? { summary: await replayApprovedCall({ kms: keys }, call.caller) } : runApprovedCommand(commandDeps, r, call)),
    });
    const adminToken = readOrCreateSecretFile(adminTokenFile(config.dataDir), () => Buffer.from(randomBytes(32).toString('hex'))).toString('utf8').trim();

    let devCredential: NewCredential | undefined;
    let devOperator: DevOperator | undefined;
    if (config.dev) {
      const rootKey = readOrCreateSecretFile(devRootKeyFile(config.dataDir), () => randomBytes(ROOT_KEY_BYTES));
      try {
        await root.initAndUnsealDev(rootKey);
      } finally {
        rootKey.fill(0);
      }
      devCredential = await credentials.ensureDevCredential(DEV_ACCOUNT_ID);
      devOperator = await ensureDevOperator(config.dataDir, quorum, signIn);
      await reopenCustomKeyStores();
    }
    await scheduler.start();
    refusals.start();

    const xksSink = xksAuditSink({ audit, refusals });
    const xksRoute = (req: RawRequest) => handleXksRequest({ backend: keys.xks, clock, log, audit: xksSink, proxyModel: `Kura ${KURA_VERSION}`, allowedRegions, ...(config.xksAnswerDeadlineMs !== undefined ? { answerDeadlineMs: config.xksAnswerDeadlineMs } : {}) }, req);
    const adminDeps: AdminDeps = { ...commandDeps, log, adminToken, requestStop: deps.onStopRequested };
    // The connection budget is one for the process (its open files): with the XKS TLS listener too, they share it.
    const limits: ServerLimits = config.xksTls ? { ...config.limits, maxConnections: Math.max(8, Math.floor(config.limits.maxConnections / 2)) } : config.limits;
    // One budget of buffered request bodies for the process, shared by its listeners, as the connection budget is.
    const bodyBudget = new BodyBudget(limits.maxBufferedBodyBytes ?? DEFAULT_MAX_BUFFERED_BODY_BYTES);
    const server = await startServer({
      host: config.host,
      port: config.port,
      log,
      limits,
      bodyBudget,
      routes: {
        kms: (req) => handleKmsRequest({ kms: keys, credentials, audit, refusals, clock, log, allowedRegions }, req),
        xks: xksRoute,
        admin: (req) => handleAdminRequest(adminDeps, req),
        console: consoleRoute(path.join(packageRoot(path.dirname(fileURLToPath(import.meta.url))), 'dist', 'renderer')),
      },
    });
    listener.url = server.url;
    // The XKS proxy API also over HTTPS, on a listener of its own that serves nothing else.
    let xksTlsServer: RunningServer | undefined;
    if (config.xksTls) {
      const t = config.xksTls;
      const xksOnly = async (): Promise<JsonResponse> => ({
        status: 404,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ errorName: 'InvalidUriPathException', errorMessage: 'This listener serves the XKS proxy API only ([/prefix]/kms/xks/v1/...).' }),
      });
      try {
        xksTlsServer = await startServer({
          host: t.host,
          port: t.port,
          log,
          limits,
          bodyBudget,
          tls: xksTlsFiles(t, log),
          routes: { kms: xksOnly, admin: xksOnly, xks: xksRoute, notXks: xksOnly },
        });
      } catch (e) {
        await server.close().catch(() => undefined);
        // So that a port in use is reported as this listener's, not the main one's.
        if (e instanceof Error) Object.assign(e, { listener: `the XKS TLS port ${t.port}` });
        throw e;
      }
    }
    let removeRuntimeFile: () => void;
    try {
      removeRuntimeFile = writeRuntimeFile({
        endpoint: server.url,
        dataDir: config.dataDir,
        pid: process.pid,
        version: KURA_VERSION,
        startedAt: new Date(clock.nowMs()).toISOString(),
        dev: config.dev,
      });
    } catch (e) {
      await server.close().catch(() => undefined);
      await xksTlsServer?.close().catch(() => undefined);
      throw e;
    }
    let stopped = false;
    // A seal or unseal while serving changes what every client gets: an operator reading the log must
    // see it (who did it is in the audit log). The seal of a stop is said by the stop's own lines.
    root.onSeal(() => {
      if (!stopped) log.warn('appliance sealed: its keys are wiped from memory and KMS calls are refused until it is unsealed (kura unseal)');
    });
    return {
      store,
      root,
      keys,
      credentials,
      audit,
      scheduler,
      server,
      xksTlsServer,
      reloadXksTls() {
        if (!config.xksTls || !xksTlsServer) throw new Error('No XKS TLS listener is configured (--xks-tls-cert, --xks-tls-key).');
        xksTlsServer.reloadTls(xksTlsFiles(config.xksTls, log));
      },
      applianceId,
      devCredential,
      adminToken,
      ...(devOperator ? { devOperator } : {}),
      console: { run: (token, command, input) => runConsoleCommand(adminDeps, token, command, input) },
      async stop() {
        if (stopped) return;
        stopped = true;
        // Every step runs even when one before it fails: a runtime file that cannot be removed must not
        // leave the listener serving, the root key unsealed, the database open or the lock held.
        const failed: string[] = [];
        const step = async (name: string, run: () => unknown): Promise<void> => {
          try {
            await run();
          } catch (e) {
            failed.push(name);
            log.error('stop: a step failed; the others go on', { step: name, ...errorFields(e) });
          }
        };
        // First, so that no client finds a stopping appliance.
        await step('remove the runtime file', removeRuntimeFile);
        await step('close the listener', () => server.close());
        await step('close the XKS TLS listener', () => xksTlsServer?.close());
        await step('stop the scheduler', () => scheduler.stop());
        await step('close the HSM connections', () => connections.closeAll());
        await step('flush the refusal log', () => refusals.stop());
        await step('seal', () => root.seal());
        await step('close the database', () => store.close());
        await step('release the data directory lock', releaseLock);
        if (failed.length > 0) throw new Error(`The appliance stopped, but not cleanly: could not ${failed.join(', ')}.`);
      },
    };
  } catch (e) {
    await store.close().catch(() => undefined);
    await releaseAfterFailure();
    throw e;
  }
}
