// The KMS domain wired as main/app.ts wires it (store → root key → key store → services), over a real
// SQLite database in a temporary directory, with a FixedClock and the WebAssembly AEAD, without the HTTP
// listener. Opening a second domain on the same directory is how tests restart the appliance.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { AuditLog } from '../../main/audit/audit-log.js';
import { CredentialService } from '../../main/auth/credentials.js';
import { isKmsError, type KmsError } from '../../main/common/errors.js';
import type { Aead } from '../../main/crypto/aead.js';
import { randomBytes } from '../../main/crypto/bytes.js';
import { wasmAead, wasmKeyWrap } from '../../main/crypto/wasm-aead.js';
import { StandardKeyStore } from '../../main/keystores/standard.js';
import { ImportService } from '../../main/kms/import-service.js';
import { KeyService, type CallContext } from '../../main/kms/key-service.js';
import { KeyUseService } from '../../main/kms/key-use.js';
import { RootKeyHolder, ROOT_KEY_BYTES } from '../../main/seal/root-key.js';
import { openStore, type Store } from '../../main/store/index.js';
import { FixedClock } from './fixed-clock.js';

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
}

export interface Domain {
  dir: string;
  file: string;
  clock: FixedClock;
  store: Store;
  audit: AuditLog;
  root: RootKeyHolder;
  keystore: StandardKeyStore;
  keyUse: KeyUseService;
  imports: ImportService;
  keys: KeyService;
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
  const keystore = new StandardKeyStore({ aead, root });
  const keys = new KeyService({ store, keystore, root, audit, clock });
  const credentials = new CredentialService({ store, root, clock, audit });
  const keyUse = new KeyUseService({ keys });
  const imports = new ImportService({ keys, store, keystore, keyWrap: wasmKeyWrap, clock });
  let closed = false;
  const close = async (o: { keepFiles?: boolean } = {}) => {
    if (closed) return;
    closed = true;
    root.seal();
    await store.close();
    if (!o.keepFiles) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    if ((opts.unseal ?? 'dev') === 'dev') await root.initAndUnsealDev(rootKey);
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
    keystore,
    keys,
    keyUse,
    imports,
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
