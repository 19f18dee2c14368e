// The KMS domain wired as main/app.ts wires it (store → root key → buildKmsDomain: key stores, key
// directory, operations, façade, jobs), over a real SQLite database in a temporary directory, with a
// FixedClock and the WebAssembly AEAD, without the HTTP listener. Opening a second domain on the same
// directory is how tests restart the appliance.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { AuditLog } from '../../main/audit/audit-log.js';
import { CredentialService } from '../../main/auth/credentials.js';
import { isKmsError, type KmsError } from '../../main/common/errors.js';
import { createLogger, type Logger } from '../../main/common/log.js';
import type { Aead } from '../../main/crypto/aead.js';
import { randomBytes } from '../../main/crypto/bytes.js';
import { wasmAead, wasmKeyWrap } from '../../main/crypto/wasm-aead.js';
import type { StandardKeyStore } from '../../main/keystores/standard/standard-key-store.js';
import type { ApprovalGate } from '../../main/kms/approval-gate.js';
import type { Authorizer } from '../../main/kms/authorization.js';
import type { CallContext, HsmConnector, Kms } from '../../main/kms/index.js';
import type { ScheduledJobs } from '../../main/kms/jobs/due.js';
import type { KeyDirectory } from '../../main/kms/key-directory.js';
import { buildKmsDomain } from '../../main/kms/wiring.js';
import { RootKeyHolder, ROOT_KEY_BYTES } from '../../main/seal/root-key.js';
import { openStore, type Store } from '../../main/store/index.js';
import { FixedClock } from './fixed-clock.js';
import { sqliteOf } from './sqlite.js';

export const TEST_ACCOUNT = '111122223333';
export const TEST_REGION = 'us-east-1';
export const TEST_PRINCIPAL = `arn:aws:iam::${TEST_ACCOUNT}:user/test`;

export interface DomainOptions {
  /** An existing data directory (to reopen a domain); a new temporary one when absent. */
  dir?: string;
  clock?: FixedClock;
  aead?: Aead;
  /**
   * 'dev' (default): initialize in dev mode if needed and unseal with `rootKey`.
   * 'none': leave the holder as it is (uninitialized or sealed), for seal tests.
   */
  unseal?: 'dev' | 'none';
  /** The dev root key; a random one when absent. Pass the previous domain's key to reopen. */
  rootKey?: Buffer;
  /** Ports of the unit of work to use instead of Kura's allow-everything ones (unit-of-work tests). */
  authorizer?: Authorizer;
  gate?: ApprovalGate;
  /** How HSM key stores reach their tokens (a fake token in unit tests; SoftHSM2 or NSS in integration tests). */
  hsmConnector?: HsmConnector;
  /** The XKS proxy's calls per second per store (default 1,800). */
  xksRequestsPerSecond?: number;
  /** Where the domain logs (default: errors only, dropped). */
  log?: Logger;
}

export interface Domain {
  dir: string;
  file: string;
  clock: FixedClock;
  store: Store;
  audit: AuditLog;
  root: RootKeyHolder;
  keystore: StandardKeyStore;
  /** The KMS façade, as the API layer calls it. */
  keys: Kms;
  /** The same façade, under the names of its asymmetric and import operations' callers. */
  keyUse: Kms;
  imports: Kms;
  /** Time-driven changes (deletion, rotation, expiry), run when a test moves the clock. */
  jobs: ScheduledJobs;
  /** What the appliance does once unsealed: the custom key stores connect again, then what fell due runs. */
  afterUnseal(): Promise<void>;
  directory: KeyDirectory;
  credentials: CredentialService;
  applianceId: string;
  /** The dev root key (a copy; the holder only keeps keys derived from it). */
  rootKey: Buffer;
  /** A CallContext for account 111122223333 in us-east-1; `over` changes any field. */
  ctx(operation: string, over?: Partial<CallContext>): CallContext;
  /** Seals, closes the database and removes the directory (unless keepFiles, to reopen it). */
  close(opts?: { keepFiles?: boolean }): Promise<void>;
}

export function tempDir(prefix = 'kura-domain-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function openDomain(opts: DomainOptions = {}): Promise<Domain> {
  const dir = opts.dir ?? tempDir();
  const file = path.join(dir, 'kura.db');
  const clock = opts.clock ?? new FixedClock();
  const aead = opts.aead ?? wasmAead;
  const rootKey = Buffer.from(opts.rootKey ?? randomBytes(ROOT_KEY_BYTES));
  const store = await openStore(file);
  const applianceId = await store.appliance.ensureApplianceId(randomUUID(), clock.nowMs());
  const audit = new AuditLog({ db: store.db, repo: store.audit, clock });
  const root = new RootKeyHolder({ db: store.db, appliance: store.appliance, aead, clock, applianceId });
  await root.load();
  // The domain logs only what goes wrong around a call (an audit entry that could not be written); tests assert on outcomes.
  const log = opts.log ?? createLogger('error', () => undefined);
  const kmsDomain = buildKmsDomain({ store, root, audit, clock, monotonic: clock.monotonic, aead, keyWrap: wasmKeyWrap, log, schedulerIntervalMs: 60_000, authorizer: opts.authorizer, gate: opts.gate, hsmConnector: opts.hsmConnector, xksRequestsPerSecond: opts.xksRequestsPerSecond });
  const credentials = new CredentialService({ store, root, clock, audit });
  let closed = false;
  const close = async (o: { keepFiles?: boolean } = {}) => {
    if (closed) return;
    closed = true;
    root.seal();
    await store.close();
    if (!o.keepFiles) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    if ((opts.unseal ?? 'dev') === 'dev') {
      await root.initAndUnsealDev(rootKey);
      await kmsDomain.reopenCustomKeyStores();
    }
  } catch (e) {
    await close({ keepFiles: opts.dir !== undefined });
    throw e;
  }
  return {
    dir,
    file,
    clock,
    store,
    audit,
    root,
    keystore: kmsDomain.standardStore,
    keys: kmsDomain.kms,
    keyUse: kmsDomain.kms,
    imports: kmsDomain.kms,
    jobs: kmsDomain.jobs,
    afterUnseal: kmsDomain.afterUnseal,
    directory: kmsDomain.directory,
    credentials,
    applianceId,
    rootKey,
    ctx: (operation, over = {}) => ({ accountId: TEST_ACCOUNT, region: TEST_REGION, principal: TEST_PRINCIPAL, operation, ...over }),
    close,
  };
}

/** Awaits a call that must fail with a KmsError and returns the error (fails the test otherwise). */
export async function kmsError(p: Promise<unknown> | (() => unknown)): Promise<KmsError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isKmsError(e)) return e;
    throw e;
  }
  throw new Error('expected a KmsError, but the call succeeded');
}

/** The code of the KmsError a call fails with. */
export async function kmsCode(p: Promise<unknown> | (() => unknown)): Promise<string> {
  return (await kmsError(p)).code;
}

/** The audit entries written after the first `count` (decoded, in order): what a test's calls added. */
export async function auditEntriesAfter(d: Pick<Domain, 'store'>, count: number): Promise<Record<string, unknown>[]> {
  const rows = await sqliteOf(d.store).all<{ entry: string }>('SELECT entry FROM audit_log WHERE seq > ? ORDER BY seq', count);
  return rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>);
}
