// Kura as an XKS proxy (issue 12, the server side): the stores it serves under /{prefix}/kms/xks/v1,
// their SigV4 credentials, their keys, and the backend the XKS routes (main/api/xks) call for key
// lookups and AES-256-GCM. The routes do the XKS specification's logic (validation, the cipher AAD, the
// ciphertext data integrity value, status and usage checks); this class only finds stores, credentials
// and keys, and seals and opens with a key's material.
//
// A store's keys live on its HSM (`--hsm`: non-extractable AES-256 keys generated on the token, used over
// PKCS#11 through ./xks-hsm-tokens.ts) or, for a store without one, in Kura's standard key store (an
// AES-256 material sealed under the root key, used by the WASM core). Either way, each XKS encryption
// runs under a key derived from the key's material for that IV alone (SP 800-108, label kura/xks/v1), as
// Kura's own ciphertexts do — on the token itself for an HSM — so no material meets AES-GCM's 2^32
// random-IV bound. A store's HSM that cannot be reached makes its calls answer DependencyTimeoutException.
//
// Each store takes at most `requestsPerSecond` calls a second (a token bucket holding one second's worth;
// AWS's quota is 1,800): beyond it, ThrottlingException. A call is counted once, where every route
// starts — metadata() for the key routes (which then encrypt, and decrypt to verify), health() — so an
// Encrypt with a verifying decrypt is one call, and a call admitted is never throttled halfway. Health is
// a deep check per store — a test encryption and decryption under a key made for it: in memory for the
// standard key store, on the token for a store on an HSM (made with the store, so that a check leaves
// nothing behind). It names the store's HSM ACTIVE when the test round-trips, UNAVAILABLE when its token
// cannot be reached or logged in to, DEGRADED otherwise; ./xks-health.ts runs the checks, one per store at
// a time, and keeps their reports for at most a minute, refreshing them ahead.
//
// Stores, credentials (their secrets opened) and keys are read through caches, since every XKS call
// needs all three and one Encrypt reads its key up to three times; like the key directory's, they are
// dropped around every change this class makes (the only writer of those tables), and the opened
// secrets when the appliance seals.
//
// Operators' changes (stores, credentials, keys) run through the unit of work and are audited; XKS calls
// are audited by the routes' audit port. Credential secrets are sealed under the root key: a sealed
// appliance authenticates no XKS call, and every call answers DependencyTimeoutException (the key
// manager cannot be reached) until it is unsealed.
//
// Why one file of this length: it is one aggregate (a proxy store owns its credentials and keys), and
// the operators' changes and the routes' backend share its caches and their invalidation, which must
// stay in one place to stay right; the HSM connections of its stores are ./xks-hsm-tokens.ts.
import { randomUUID } from 'node:crypto';
import { isKmsError, KmsError, kmsErrors } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { AeadAuthenticationError } from '../crypto/aead.js';
import { randomBytes, randomIv } from '../crypto/bytes.js';
import type { KeyStore, StoredMaterial } from '../keystores/key-store.js';
import { materialRefFromStorage } from '../keystores/key-store.js';
import { encodeAad } from '../seal/at-rest.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { HsmRecord, Store, Tx, XksKeyRecord, XksStoreRecord } from '../store/index.js';
import type { ConnectedHsm, HsmConnector } from './custom-key-stores.js';
import type { KeyDirectory, OperatorCall } from './key-directory.js';
import { RecordCache } from './record-cache.js';
import { XksHealthReports, type HealthReport, type HealthStatus } from './xks-health.js';
import { xksPinAad, XksHsmTokens } from './xks-hsm-tokens.js';

export type XksKeyUsage = 'ENCRYPT' | 'DECRYPT';

export interface XksStoreView {
  storeId: string;
  uriPathPrefix: string;
  uriPath: string;
  hsmId: string | null;
  createdAt: number;
  credentials: number;
  keys: number;
}

export interface XksCredentialView {
  accessKeyId: string;
  storeId: string;
  createdAt: number;
}

export interface XksKeyView {
  externalKeyId: string;
  storeId: string;
  keyUsage: XksKeyUsage[];
  keyStatus: 'ENABLED' | 'DISABLED';
  createdAt: number;
}

/** The failures the XKS routes map to the specification's errors (main/api/xks/backend.ts has the same names). */
type Failure = 'KeyNotFound' | 'InvalidCiphertext' | 'DependencyTimeout' | 'Throttling' | 'Internal';
type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure; message: string };

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const fail = (failure: Failure, message: string): Outcome<never> => ({ ok: false, failure, message });

const PREFIX_SEGMENT = /^[A-Za-z0-9_-]+$/;
/** The specification's limit on the whole URI path (prefix + /kms/xks/v1). */
const MAX_URI_PATH_CHARS = 128;
const API_ROOT = '/kms/xks/v1';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const XKS_KEY_LABEL = Buffer.from('kura/xks/v1', 'ascii');
const XKS_EPOCH_KEY_LABEL = Buffer.from('kura/xks/epoch/v1', 'ascii');
/** ciphertextMetadata of an encryption under an epoch's key: this version byte, then the epoch's nonce. */
const EPOCH_V1 = Buffer.from([0x01]);
const EPOCH_NONCE_BYTES = 16;
const AES_256_BYTES = 32;

export const uriPathOf = (uriPathPrefix: string): string => (uriPathPrefix === '' ? API_ROOT : `/${uriPathPrefix}${API_ROOT}`);
const prefixTaken = (prefix: string) => new KmsError('AlreadyExists', `An XKS proxy store is served at ${uriPathOf(prefix)} already.`);

/** AWS's XKS credential shapes: an access key ID of 20–30 characters of A–Z and 2–7, a secret of 43–64 base64 characters. */
function newCredential(): { accessKeyId: string; secretAccessKey: string } {
  const id = `XKS${[...randomBytes(21)].map((b) => BASE32[b & 31]).join('')}`;
  return { accessKeyId: id, secretAccessKey: randomBytes(33).toString('base64') };
}

const credentialAad = (accessKeyId: string) => encodeAad('kura/xks/credential/v1', accessKeyId);
/** The label of the token key a store on an HSM runs its deep health checks with. */
const healthKeyLabel = (storeId: string) => `kura-xks-health-${storeId}`;

export interface XksProxyDeps {
  store: Pick<Store, 'db' | 'xks' | 'hsms'>;
  directory: KeyDirectory;
  root: RootKeyHolder;
  /** Where the keys of a store without an HSM live: Kura's standard key store. */
  standard: KeyStore;
  /** How stores on an HSM reach their tokens (main/keystores/hsm; an appliance without PKCS#11 refuses every connect). */
  hsmConnector: HsmConnector;
  log: Logger;
  clock: { nowMs(): number };
  /** For the age of a store's cached health report. */
  monotonic: { nowMs(): number };
  /** Calls per second per store before ThrottlingException (default 1,800, AWS's quota). */
  requestsPerSecond?: number;
}

/** A store's HSM, made on the token when the store is made: a connection kept until the store is written or given up. */
interface MadeOnHsm {
  hsm: ConnectedHsm;
  pinSealed: Buffer;
  healthKeyRef: Buffer;
}

const SEALED_MESSAGE = 'Kura is sealed: its key manager is not available until it is unsealed.';

export class XksProxy {
  private readonly rate: number;
  /** Per store: tokens left and when they were counted. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Per store: its deep health checks, and the report they last gave (./xks-health.ts). */
  private readonly healthReports: XksHealthReports;
  /** A material made in memory for the standard key store's health checks only (never stored); forgotten when the appliance seals. */
  private testMaterial: StoredMaterial | undefined;
  private readonly tokens: XksHsmTokens;
  /** Stores by URI path prefix. */
  private readonly storeCache = new RecordCache<XksStoreRecord | null>();
  private readonly storeByIdCache = new RecordCache<XksStoreRecord | null>();
  private readonly keyCache = new RecordCache<XksKeyRecord | null>();
  /** Opened secrets by access key ID, with their store; JavaScript strings, so dropped (not wiped) on seal. */
  private readonly secretCache = new RecordCache<{ storeId: string; secret: string } | null>();

  constructor(private readonly deps: XksProxyDeps) {
    this.rate = deps.requestsPerSecond ?? 1_800;
    this.tokens = new XksHsmTokens({ store: deps.store, connector: deps.hsmConnector, root: deps.root, log: deps.log });
    this.healthReports = new XksHealthReports({ monotonic: deps.monotonic, log: deps.log, check: (storeId) => this.deepCheck(storeId) });
    deps.root.onSeal(() => {
      this.testMaterial = undefined;
      this.healthReports.forget();
      this.secretCache.clear();
    });
  }

  /** The HSM connections of its stores, for `kura hsm keys --hsm` (./hsm-token-keys.ts): read, never connected there. */
  get hsmTokens(): XksHsmTokens {
    return this.tokens;
  }

  private clearCaches(): void {
    this.storeCache.clear();
    this.storeByIdCache.clear();
    this.keyCache.clear();
    this.secretCache.clear();
  }

  /** Runs an operator's change with the caches dropped before it (no earlier load can put an old row back) and after it. */
  private async changing<T>(run: () => Promise<T>): Promise<T> {
    this.clearCaches();
    try {
      return await run();
    } finally {
      this.clearCaches();
    }
  }

  private async cachedStore(uriPathPrefix: string): Promise<XksStoreRecord | undefined> {
    return (await this.storeCache.get(uriPathPrefix, async () => (await this.deps.store.xks.findStoreByPrefix(uriPathPrefix)) ?? null)) ?? undefined;
  }

  private async cachedStoreById(storeId: string): Promise<XksStoreRecord | undefined> {
    return (await this.storeByIdCache.get(storeId, async () => (await this.deps.store.xks.findStore(storeId)) ?? null)) ?? undefined;
  }

  private async cachedKey(storeId: string, externalKeyId: string): Promise<XksKeyRecord | undefined> {
    return (await this.keyCache.get(`${storeId}/${externalKeyId}`, async () => (await this.deps.store.xks.findKey(storeId, externalKeyId)) ?? null)) ?? undefined;
  }

  /** Takes one call from a store's bucket; false when it is empty (ThrottlingException). */
  private admit(storeId: string): boolean {
    const now = this.deps.clock.nowMs();
    const b = this.buckets.get(storeId) ?? { tokens: this.rate, at: now };
    // A wall clock stepped back refills nothing, and takes nothing away either.
    b.tokens = Math.min(this.rate, b.tokens + (Math.max(0, now - b.at) / 1000) * this.rate);
    b.at = now;
    this.buckets.set(storeId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private throttled(): Outcome<never> {
    return fail('Throttling', `This external key store takes at most ${this.rate} requests per second.`);
  }

  // ---- operators ------------------------------------------------------------------------------------

  private async storeOf(storeId: string): Promise<XksStoreRecord> {
    const s = await this.deps.store.xks.findStore(storeId);
    if (!s) throw kmsErrors.notFound(`No XKS proxy store ${storeId}.`);
    return s;
  }

  /** Seals a secret (a credential's secret access key, a token PIN) under the root key, bound to `aad`. */
  private sealText(text: string, aad: Buffer): Buffer {
    return this.deps.root.credentialSealer().sealText(text, aad);
  }

  private sealedCredential(): { accessKeyId: string; secretAccessKey: string; secretSealed: Buffer } {
    const c = newCredential();
    return { ...c, secretSealed: this.sealText(c.secretAccessKey, credentialAad(c.accessKeyId)) };
  }

  private async hsmOf(hsmId: string): Promise<HsmRecord> {
    const h = await this.deps.store.hsms.find(hsmId);
    if (!h) throw new KmsError('CloudHsmClusterNotFound', `No HSM with ID ${hsmId} is registered with Kura (see \`kura hsm list\`).`);
    return h;
  }

  /**
   * The key store that holds a store's keys, for operators' changes: the standard key store, or the
   * store's HSM (connected if need be; KmsError KeyUnavailable when its token cannot be reached).
   */
  private keyStoreOf(s: XksStoreRecord): Promise<KeyStore> {
    return s.hsmId === null ? Promise.resolve(this.deps.standard) : this.tokens.connection(s);
  }

  /** A store on an HSM and the unsealed appliance it needs for its token's keys (its PIN is sealed). */
  private requireTokenReachable(s: XksStoreRecord, what: string): void {
    if (s.hsmId !== null && !this.deps.root.isUnsealed) {
      throw new KmsError('Sealed', `Kura is sealed: ${what} of XKS proxy store ${s.id} needs its HSM's PIN; unseal Kura first.`);
    }
  }

  /**
   * A store on an HSM whose token answers now (connected if need be; KeyUnavailable otherwise): a change
   * that destroys a token object after its commit checks this first, so that no row goes while its key
   * stays on a token nothing names any more.
   */
  private async requireTokenAnswers(s: XksStoreRecord): Promise<void> {
    if (s.hsmId !== null) await this.tokens.connection(s);
  }

  private async requireKey(storeId: string, externalKeyId: string): Promise<void> {
    if (!(await this.deps.store.xks.findKey(storeId, externalKeyId))) throw kmsErrors.notFound(`XKS proxy store ${storeId} has no key ${externalKeyId}.`);
  }

  /** A credential that is the store's and not its last (two live at once is how one is rotated out). */
  private async requireCredentialDeletable(storeId: string, accessKeyId: string, tx?: Tx): Promise<void> {
    const live = await this.deps.store.xks.listCredentials(storeId, tx);
    if (!live.some((c) => c.accessKeyId === accessKeyId)) throw kmsErrors.notFound(`XKS proxy store ${storeId} has no credential ${accessKeyId}.`);
    if (live.length === 1) throw kmsErrors.invalidState(`${accessKeyId} is the last credential of XKS proxy store ${storeId}: create another before deleting it.`);
  }

  private async requireNoKeys(storeId: string, tx?: Tx): Promise<void> {
    const keys = (await this.deps.store.xks.listKeys(storeId, tx)).length;
    if (keys > 0) throw kmsErrors.invalidState(`XKS proxy store ${storeId} still has ${keys} key(s): delete them first.`);
  }

  /** Logs in to the HSM with the operator's PIN, makes the health check key, and seals the PIN. */
  private async makeOnHsm(storeId: string, hsm: HsmRecord, pin: string): Promise<MadeOnHsm> {
    const conn = await this.tokens.login(hsm, pin);
    try {
      const made = await conn.generate(healthKeyLabel(storeId), 'SYMMETRIC_DEFAULT', { label: healthKeyLabel(storeId) });
      return { hsm: conn, pinSealed: this.sealText(pin, xksPinAad(storeId)), healthKeyRef: made.ref };
    } catch (e) {
      await conn.close();
      throw e;
    }
  }

  /**
   * Makes a store and its first credential. On an HSM (`hsmId`, with the token's user `pin`): the HSM must
   * be registered, and a login with the PIN must work — a wrong PIN stores nothing — and the store's
   * health check key is made on the token.
   */
  createStore(op: OperatorCall, input: { uriPathPrefix: string; hsmId?: string; pin?: string }): Promise<{ storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string }> {
    const { directory } = this.deps;
    const { xks } = this.deps.store;
    const prefix = input.uriPathPrefix.replace(/^\/+|\/+$/g, '');
    const storeId = `xks-${randomUUID()}`;
    type Made = { accessKeyId: string; secretAccessKey: string; secretSealed: Buffer; onHsm?: MadeOnHsm };
    return this.changing(() =>
      directory.run<{ keys: []; hsm?: HsmRecord }, Made, { storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string }>(op, {
        kind: 'change',
        check: () => {
          if (prefix !== '' && !prefix.split('/').every((s) => PREFIX_SEGMENT.test(s))) {
            throw kmsErrors.validation('A URI path prefix is one or more segments of A–Z, a–z, 0–9, "-" and "_", separated by "/".');
          }
          // Paths under these go to other routes (request-target.ts), and the XKS routes split a path at
          // its first /kms/xks/v1/: a store there could never be called.
          const first = prefix.split('/')[0];
          if (first === 'admin' || first === 'console') throw kmsErrors.validation(`A URI path prefix cannot start with "${first}": Kura serves its ${first} routes there.`);
          if (`/${prefix}/`.includes(API_ROOT + '/')) throw kmsErrors.validation(`Give the URI path prefix without ${API_ROOT}: the store's URI path is the prefix followed by ${API_ROOT}.`);
          if (uriPathOf(prefix).length > MAX_URI_PATH_CHARS) throw kmsErrors.validation(`The URI path ${uriPathOf(prefix)} is longer than ${MAX_URI_PATH_CHARS} characters.`);
          if (input.hsmId === undefined && input.pin !== undefined) throw kmsErrors.validation('A PIN is for an XKS proxy store on an HSM only (give its HSM ID too).');
          if (input.hsmId !== undefined && (input.pin === undefined || input.pin === '')) throw kmsErrors.validation(`An XKS proxy store on HSM ${input.hsmId} needs the token's user PIN.`);
        },
        prepare: async () => {
          // Checked again in the transaction; here, so that a taken prefix is refused before the token is touched.
          if (await xks.findStoreByPrefix(prefix)) throw prefixTaken(prefix);
          return input.hsmId === undefined ? { keys: [] } : { keys: [], hsm: await this.hsmOf(input.hsmId) };
        },
        make: async ({ hsm }) => {
          // The login first: a wrong PIN is refused before anything is made.
          const onHsm = hsm && input.pin !== undefined ? await this.makeOnHsm(storeId, hsm, input.pin) : undefined;
          return { ...this.sealedCredential(), ...(onHsm ? { onHsm } : {}) };
        },
        discard: async ({ onHsm }) => {
          if (!onHsm) return;
          try {
            await onHsm.hsm.destroy({ keyId: healthKeyLabel(storeId), materialId: healthKeyLabel(storeId), ref: materialRefFromStorage(onHsm.healthKeyRef) });
          } finally {
            await onHsm.hsm.close();
          }
        },
        apply: async ({ tx }, { hsm }, made) => {
          if (await xks.findStoreByPrefix(prefix, tx)) throw prefixTaken(prefix);
          // An HSM removed since prepare would otherwise fail the insert as a constraint.
          if (hsm && !(await this.deps.store.hsms.find(hsm.id, tx))) throw new KmsError('CloudHsmClusterNotFound', `HSM ${hsm.id} was removed meanwhile.`);
          const now = directory.now();
          await xks.insertStore(tx, { id: storeId, uriPathPrefix: prefix, hsmId: hsm?.id ?? null, pinSealed: made.onHsm?.pinSealed ?? null, healthKeyRef: made.onHsm?.healthKeyRef ?? null, createdAt: now });
          await xks.insertCredential(tx, { accessKeyId: made.accessKeyId, storeId, secretSealed: made.secretSealed, createdAt: now });
          return {
            result: { storeId, uriPath: uriPathOf(prefix), accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey },
            details: { xksStoreId: storeId, uriPath: uriPathOf(prefix), accessKeyId: made.accessKeyId, ...(hsm ? { hsmId: hsm.id } : {}) },
          };
        },
        // The login that checked the PIN is given back; the store's calls connect with its sealed PIN.
        after: async (_r, { onHsm }) => onHsm?.hsm.close(),
      }),
    );
  }

  async listStores(): Promise<XksStoreView[]> {
    const { xks } = this.deps.store;
    return Promise.all(
      (await xks.listStores()).map(async (s) => ({
        storeId: s.id,
        uriPathPrefix: s.uriPathPrefix,
        uriPath: uriPathOf(s.uriPathPrefix),
        hsmId: s.hsmId,
        createdAt: s.createdAt,
        credentials: (await xks.listCredentials(s.id)).length,
        keys: (await xks.listKeys(s.id)).length,
      })),
    );
  }

  /** Deletes a store without keys; on an HSM, its connection is closed and its health check key goes from the token. */
  async deleteStore(op: OperatorCall, storeId: string): Promise<void> {
    const { xks } = this.deps.store;
    await this.changing(() =>
      this.deps.directory.run<{ keys: []; store: XksStoreRecord }, void, XksStoreRecord>(op, {
        kind: 'change',
        whileSealed: true,
        prepare: async () => {
          const store = await this.storeOf(storeId);
          await this.requireNoKeys(storeId);
          this.requireTokenReachable(store, 'deleting the health check key');
          return { keys: [], store };
        },
        make: ({ store }) => this.requireTokenAnswers(store),
        apply: async ({ tx }, { store }) => {
          // Again in the transaction: a key made since prepare would otherwise fail the delete as a constraint.
          await this.requireNoKeys(storeId, tx);
          if (!(await xks.deleteStore(tx, storeId))) throw kmsErrors.notFound(`No XKS proxy store ${storeId}.`);
          return { result: store, details: { xksStoreId: storeId } };
        },
        after: async (store) => {
          this.healthReports.forget(storeId);
          this.buckets.delete(storeId);
          if (store.hsmId === null) return;
          // Its own connection is the last use of the PIN: destroy the health check key on it, then close it.
          try {
            if (store.healthKeyRef !== null) {
              const hsm = await this.tokens.connection(store);
              await hsm.destroy({ keyId: healthKeyLabel(storeId), materialId: healthKeyLabel(storeId), ref: materialRefFromStorage(store.healthKeyRef) });
            }
          } finally {
            await this.tokens.closeDeleted(storeId);
          }
        },
      }),
    );
  }

  /**
   * Gives a store on an HSM its token's user PIN anew (changed on the token, or refused: ./xks-hsm-tokens.ts).
   * The PIN must log in first — a wrong one changes nothing, with the error createStore gives — then it is
   * stored sealed, the store's connection with the old PIN closes, and a refusal of the old one is forgotten.
   */
  updateStorePin(op: OperatorCall, storeId: string, pin: string): Promise<{ storeId: string; hsmId: string }> {
    const { xks } = this.deps.store;
    type Prepared = { keys: []; store: XksStoreRecord; hsm: HsmRecord };
    return this.changing(() =>
      this.deps.directory.run<Prepared, { hsm: ConnectedHsm; pinSealed: Buffer }, { storeId: string; hsmId: string }>(op, {
        kind: 'change',
        check: () => {
          if (pin === '') throw kmsErrors.validation("An XKS proxy store's new PIN is the token's user PIN: give one.");
        },
        prepare: async () => {
          const store = await this.storeOf(storeId);
          if (store.hsmId === null) throw kmsErrors.validation(`XKS proxy store ${storeId} is not on an HSM: it has no PIN to update.`);
          return { keys: [], store, hsm: await this.hsmOf(store.hsmId) };
        },
        make: async ({ hsm }) => {
          // The store's live connection holds the token's login with the old PIN, which a login with
          // another PIN would be refused beside (one login per token and process): it goes first.
          await this.tokens.close(storeId);
          const conn = await this.tokens.login(hsm, pin);
          return { hsm: conn, pinSealed: this.sealText(pin, xksPinAad(storeId)) };
        },
        discard: async ({ hsm }) => hsm.close(),
        apply: async ({ tx }, { hsm }, made) => {
          if (!(await xks.setStorePin(tx, storeId, made.pinSealed))) throw kmsErrors.notFound(`No XKS proxy store ${storeId}.`);
          return { result: { storeId, hsmId: hsm.id }, details: { xksStoreId: storeId, hsmId: hsm.id } };
        },
        after: async (_r, made) => {
          await made.hsm.close();
          await this.tokens.renewed(storeId);
          // Its last report may say UNAVAILABLE for the old PIN: the next health check is made afresh.
          this.healthReports.forget(storeId);
        },
      }),
    );
  }

  createCredential(op: OperatorCall, storeId: string): Promise<{ storeId: string; accessKeyId: string; secretAccessKey: string }> {
    const { xks } = this.deps.store;
    return this.changing(() =>
      this.deps.directory.run<{ keys: [] }, { accessKeyId: string; secretAccessKey: string; secretSealed: Buffer }, { storeId: string; accessKeyId: string; secretAccessKey: string }>(op, {
        kind: 'change',
        prepare: async () => {
          await this.storeOf(storeId);
          return { keys: [] };
        },
        make: async () => this.sealedCredential(),
        apply: async ({ tx }, _p, made) => {
          await xks.insertCredential(tx, { accessKeyId: made.accessKeyId, storeId, secretSealed: made.secretSealed, createdAt: this.deps.directory.now() });
          return { result: { storeId, accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey }, details: { xksStoreId: storeId, accessKeyId: made.accessKeyId } };
        },
      }),
    );
  }

  async listCredentials(storeId: string): Promise<XksCredentialView[]> {
    await this.storeOf(storeId);
    return (await this.deps.store.xks.listCredentials(storeId)).map((c) => ({ accessKeyId: c.accessKeyId, storeId: c.storeId, createdAt: c.createdAt }));
  }

  deleteCredential(op: OperatorCall, storeId: string, accessKeyId: string): Promise<void> {
    const { xks } = this.deps.store;
    return this.changing(() =>
      this.deps.directory.run<{ keys: [] }, never, void>(op, {
        kind: 'change',
        whileSealed: true,
        // Checked here too (not only in the transaction), so that a command that could not run is refused before custodians are asked.
        prepare: async () => {
          await this.requireCredentialDeletable(storeId, accessKeyId);
          return { keys: [] };
        },
        apply: async ({ tx }) => {
          await this.requireCredentialDeletable(storeId, accessKeyId, tx);
          await xks.deleteCredential(tx, accessKeyId);
          return { result: undefined, details: { xksStoreId: storeId, accessKeyId } };
        },
      }),
    );
  }

  /** Makes a key: generated on the store's HSM (labelled with its external key ID), or in the standard key store. */
  createKey(op: OperatorCall, storeId: string, usage: XksKeyUsage[]): Promise<{ externalKeyId: string }> {
    const { xks } = this.deps.store;
    const externalKeyId = `kura-xks-${randomUUID()}`;
    return this.changing(() =>
      this.deps.directory.run<{ keys: []; store: XksStoreRecord }, { materialId: string; ref: Buffer; keyStore: KeyStore }, { externalKeyId: string }>(op, {
        kind: 'change',
        check: () => {
          if (new Set(usage).size !== usage.length || usage.some((u) => u !== 'ENCRYPT' && u !== 'DECRYPT')) throw kmsErrors.validation('A key usage is ENCRYPT and/or DECRYPT, each once.');
        },
        prepare: async () => ({ keys: [], store: await this.storeOf(storeId) }),
        make: async ({ store }) => {
          const keyStore = await this.keyStoreOf(store);
          return { ...(await keyStore.generate(externalKeyId, 'SYMMETRIC_DEFAULT', { label: externalKeyId })), keyStore };
        },
        discard: async (made) => made.keyStore.destroy({ keyId: externalKeyId, materialId: made.materialId, ref: materialRefFromStorage(made.ref) }),
        apply: async ({ tx }, _p, made) => {
          // Again in the transaction: a store deleted since prepare would otherwise fail the insert as a constraint.
          if (!(await xks.findStore(storeId, tx))) throw kmsErrors.notFound(`No XKS proxy store ${storeId}.`);
          await xks.insertKey(tx, { externalKeyId, storeId, usage: [...usage], status: 'ENABLED', materialId: made.materialId, materialRef: made.ref, createdAt: this.deps.directory.now() });
          return { result: { externalKeyId }, details: { xksStoreId: storeId, externalKeyId, usage: usage.join(',') } };
        },
      }),
    );
  }

  async listKeys(storeId: string): Promise<XksKeyView[]> {
    await this.storeOf(storeId);
    return (await this.deps.store.xks.listKeys(storeId)).map((k) => ({ externalKeyId: k.externalKeyId, storeId: k.storeId, keyUsage: k.usage, keyStatus: k.status, createdAt: k.createdAt }));
  }

  setKeyStatus(op: OperatorCall, storeId: string, externalKeyId: string, status: 'ENABLED' | 'DISABLED'): Promise<void> {
    return this.changing(() =>
      this.deps.directory.run<{ keys: [] }, never, void>(op, {
        kind: 'change',
        whileSealed: true,
        prepare: async () => {
          await this.requireKey(storeId, externalKeyId);
          return { keys: [] };
        },
        apply: async ({ tx }) => {
          if (!(await this.deps.store.xks.setKeyStatus(tx, storeId, externalKeyId, status))) throw kmsErrors.notFound(`XKS proxy store ${storeId} has no key ${externalKeyId}.`);
          return { result: undefined, details: { xksStoreId: storeId, externalKeyId, status } };
        },
      }),
    );
  }

  /** Deletes a key, and its material: on the store's HSM (which needs Kura unsealed, for the PIN), or in the standard key store. */
  async deleteKey(op: OperatorCall, storeId: string, externalKeyId: string): Promise<void> {
    const { xks } = this.deps.store;
    await this.changing(() =>
      this.deps.directory.run<{ keys: []; store: XksStoreRecord | undefined }, void, XksKeyRecord>(op, {
        kind: 'change',
        whileSealed: true,
        prepare: async () => {
          await this.requireKey(storeId, externalKeyId);
          const store = await xks.findStore(storeId);
          if (store) this.requireTokenReachable(store, 'deleting a key');
          return { keys: [], store };
        },
        make: async ({ store }) => {
          if (store) await this.requireTokenAnswers(store);
        },
        apply: async ({ tx }) => {
          const k = await xks.findKey(storeId, externalKeyId, tx);
          if (!k || !(await xks.deleteKey(tx, storeId, externalKeyId))) throw kmsErrors.notFound(`XKS proxy store ${storeId} has no key ${externalKeyId}.`);
          return { result: k, details: { xksStoreId: storeId, externalKeyId } };
        },
        after: async (k) => {
          const store = await xks.findStore(storeId);
          const keyStore = store ? await this.keyStoreOf(store) : this.deps.standard;
          await keyStore.destroy({ keyId: k.externalKeyId, materialId: k.materialId, ref: materialRefFromStorage(k.materialRef) });
        },
      }),
    );
  }

  // ---- the XKS routes' backend (main/api/xks/backend.ts) ------------------------------------------------

  async resolveStore(uriPathPrefix: string): Promise<{ storeId: string; sealed: boolean; secretFor(accessKeyId: string): Promise<string | undefined> } | undefined> {
    const s = await this.cachedStore(uriPathPrefix);
    if (!s) return undefined;
    return {
      storeId: s.id,
      sealed: !this.deps.root.isUnsealed,
      secretFor: async (accessKeyId) => {
        if (!this.deps.root.isUnsealed) return undefined;
        const found = await this.secretCache.get(accessKeyId, async () => {
          const c = await this.deps.store.xks.findCredential(accessKeyId);
          if (!c || !this.deps.root.isUnsealed) return null;
          return { storeId: c.storeId, secret: this.deps.root.credentialSealer().openText(c.secretSealed, credentialAad(accessKeyId)) };
        });
        return found && found.storeId === s.id ? found.secret : undefined;
      },
    };
  }

  async metadata(
    storeId: string,
    externalKeyId: string,
  ): Promise<Outcome<{ keySpec: 'AES_256'; keyUsage: XksKeyUsage[]; keyStatus: 'ENABLED' | 'DISABLED'; ciphertextMetadata?: Buffer }>> {
    if (!this.admit(storeId)) return this.throttled();
    const k = await this.cachedKey(storeId, externalKeyId);
    if (!k) return fail('KeyNotFound', `No key ${externalKeyId} in this external key store.`);
    return ok({ keySpec: 'AES_256', keyUsage: k.usage, keyStatus: k.status, ...(await this.epochMetadata(storeId, externalKeyId)) });
  }

  /**
   * A key on an HSM encrypts under a key derived on the token once per epoch (the HSM key store's blob
   * nonces, main/keystores/hsm/blob-keys.ts) rather than once per IV: deriving costs the token three
   * times the AES-GCM. The epoch's nonce travels as the ciphertext's ciphertextMetadata (EPOCH_V1 and 16
   * bytes), which the spec has AWS KMS keep and send back with Decrypt, bound into the cipher AAD. A key
   * in the standard store (cheap to derive) keeps a key per IV and no metadata.
   */
  private async epochMetadata(storeId: string, externalKeyId: string): Promise<{ ciphertextMetadata?: Buffer }> {
    const s = await this.cachedStoreById(storeId);
    if (!s || s.hsmId === null || !this.deps.root.isUnsealed) return {};
    const m = await this.material(storeId, externalKeyId);
    if (!m.ok || !m.value.keyStore.blobNonce) return {};
    return { ciphertextMetadata: Buffer.concat([EPOCH_V1, m.value.keyStore.blobNonce(m.value.material, EPOCH_NONCE_BYTES)]) };
  }

  /** A key's material, its store, and the key store that holds it (the store's HSM connected if need be). */
  private async material(storeId: string, externalKeyId: string): Promise<Outcome<{ store: XksStoreRecord; keyStore: KeyStore; material: StoredMaterial }>> {
    const k = await this.cachedKey(storeId, externalKeyId);
    const store = k && (await this.cachedStoreById(storeId));
    if (!k || !store) return fail('KeyNotFound', `No key ${externalKeyId} in this external key store.`);
    if (!this.deps.root.isUnsealed) return fail('DependencyTimeout', SEALED_MESSAGE);
    let keyStore: KeyStore;
    try {
      keyStore = await this.keyStoreOf(store);
    } catch (e) {
      return this.unreachable(store, e);
    }
    return ok({ store, keyStore, material: { keyId: k.externalKeyId, materialId: k.materialId, keySpec: 'SYMMETRIC_DEFAULT', ref: materialRefFromStorage(k.materialRef), publicKey: null } });
  }

  /**
   * What a call answers when the store's key manager cannot serve it: DependencyTimeout (AWS KMS retries)
   * for a token that cannot be reached or failed mid-use, or a sealed appliance; any other error is thrown.
   */
  private unreachable(s: XksStoreRecord, e: unknown, keyStore?: KeyStore): Outcome<never> {
    // The token answers, and no longer holds the key's material (deleted there): the external key is gone.
    if (isKmsError(e) && e.code === 'InvalidState' && s.hsmId !== null) return fail('KeyNotFound', e.message);
    if (!isKmsError(e) || (e.code !== 'KeyUnavailable' && e.code !== 'Sealed')) throw e;
    if (e.code === 'Sealed' || s.hsmId === null) return fail('DependencyTimeout', SEALED_MESSAGE);
    const failed = keyStore && keyStore !== this.deps.standard ? (keyStore as ConnectedHsm).failure() : undefined;
    const why = failed ? `its token failed (${failed})` : e.message.replace(/\.$/, '');
    const then = this.tokens.isRefused(s) ? '' : ' Kura connects to it again on the next call.';
    return fail('DependencyTimeout', `HSM ${s.hsmId} of this external key store is not available: ${why}.${then}`);
  }

  /** The key of one encryption: derived over its epoch's nonce (ciphertextMetadata EPOCH_V1 …), or over its IV. */
  private payload(iv: Buffer, aad: Buffer, ciphertextMetadata?: Buffer) {
    const epoch = ciphertextMetadata?.length === 1 + EPOCH_NONCE_BYTES && ciphertextMetadata[0] === EPOCH_V1[0];
    const derivation = epoch ? { label: XKS_EPOCH_KEY_LABEL, context: ciphertextMetadata.subarray(1), length: AES_256_BYTES } : { label: XKS_KEY_LABEL, context: iv, length: AES_256_BYTES };
    return { version: 2 as const, derivation, iv, aad };
  }

  async encrypt(storeId: string, externalKeyId: string, input: { plaintext: Buffer; aad: Buffer; ciphertextMetadata?: Buffer }): Promise<Outcome<{ ciphertext: Buffer; iv: Buffer; tag: Buffer }>> {
    const m = await this.material(storeId, externalKeyId);
    if (!m.ok) return m;
    const iv = randomIv();
    let sealed: Buffer;
    try {
      sealed = await m.value.keyStore.encryptBlobPayload(m.value.material, this.payload(iv, input.aad, input.ciphertextMetadata), input.plaintext);
    } catch (e) {
      return this.unreachable(m.value.store, e, m.value.keyStore);
    }
    return ok({ ciphertext: sealed.subarray(0, sealed.length - 16), iv, tag: sealed.subarray(sealed.length - 16) });
  }

  async decrypt(storeId: string, externalKeyId: string, input: { ciphertext: Buffer; iv: Buffer; tag: Buffer; aad: Buffer; ciphertextMetadata?: Buffer }): Promise<Outcome<Buffer>> {
    const m = await this.material(storeId, externalKeyId);
    if (!m.ok) return m;
    try {
      return ok(await m.value.keyStore.decryptBlobPayload(m.value.material, this.payload(input.iv, input.aad, input.ciphertextMetadata), Buffer.concat([input.ciphertext, input.tag])));
    } catch (e) {
      if (e instanceof AeadAuthenticationError) return fail('InvalidCiphertext', 'The ciphertext, its tag, IV or AAD do not match this key.');
      return this.unreachable(m.value.store, e, m.value.keyStore);
    }
  }

  async health(storeId: string): Promise<Outcome<HealthReport>> {
    if (!this.admit(storeId)) return this.throttled();
    const report = await this.healthReports.report(storeId);
    return report ? ok(report) : fail('Internal', `No XKS proxy store ${storeId}.`);
  }

  /** One deep check of a store's key manager (./xks-health.ts decides when); undefined for a store that does not exist. */
  private async deepCheck(storeId: string): Promise<HealthReport | undefined> {
    const s = await this.cachedStoreById(storeId);
    if (!s) return undefined;
    if (s.hsmId === null) return { ekmVendor: 'Kura', ekmFleetDetails: [await this.standardCheck()] };
    // The spec's ekmVendor names the external key manager's vendor (the proxy's is xksProxyVendor): the
    // HSM's manufacturer, as its token reported it when it was registered.
    const registered = await this.deps.store.hsms.find(s.hsmId);
    return { ekmVendor: registered?.manufacturer.trim() || 'Unknown', ekmFleetDetails: [await this.hsmCheck(s, s.hsmId, registered)] };
  }

  /** A test encryption and decryption that must give back what it sealed. */
  private async roundTrips(keyStore: KeyStore, material: StoredMaterial): Promise<boolean> {
    const probe = randomBytes(32);
    const payload = this.payload(randomIv(), Buffer.from('kura/xks/health'));
    return (await keyStore.decryptBlobPayload(material, payload, await keyStore.encryptBlobPayload(material, payload, probe))).equals(probe);
  }

  /** The standard key store's deep check, under a material made for it in memory. */
  private async standardCheck(): Promise<HealthReport['ekmFleetDetails'][number]> {
    const model = 'Kura standard key store (WebAssembly AES-256-GCM)';
    let healthStatus: HealthStatus = 'UNAVAILABLE';
    if (this.deps.root.isUnsealed) {
      try {
        if (!this.testMaterial) {
          const keyId = `kura-xks-health-${randomUUID()}`;
          const made = await this.deps.standard.generate(keyId, 'SYMMETRIC_DEFAULT');
          this.testMaterial = { keyId, materialId: made.materialId, keySpec: 'SYMMETRIC_DEFAULT', ref: made.ref, publicKey: null };
        }
        if (await this.roundTrips(this.deps.standard, this.testMaterial)) healthStatus = 'ACTIVE';
      } catch {
        healthStatus = 'UNAVAILABLE';
      }
    }
    return { id: 'standard', model, healthStatus };
  }

  /**
   * A store's HSM: UNAVAILABLE while its token cannot be connected (or Kura is sealed), ACTIVE when the
   * test round-trips under the store's health check key, DEGRADED when the token answers but the test
   * fails (its health check key gone, say).
   */
  private async hsmCheck(s: XksStoreRecord, hsmId: string, registered: HsmRecord | undefined): Promise<HealthReport['ekmFleetDetails'][number]> {
    const model = registered ? `${registered.manufacturer} ${registered.model}`.trim() : 'HSM no longer registered';
    const status = async (): Promise<HealthStatus> => {
      if (!this.deps.root.isUnsealed) return 'UNAVAILABLE';
      let hsm: ConnectedHsm;
      try {
        hsm = await this.tokens.connection(s);
      } catch {
        return 'UNAVAILABLE';
      }
      if (s.healthKeyRef === null) return 'DEGRADED';
      const material: StoredMaterial = { keyId: healthKeyLabel(s.id), materialId: healthKeyLabel(s.id), keySpec: 'SYMMETRIC_DEFAULT', ref: materialRefFromStorage(s.healthKeyRef), publicKey: null };
      try {
        return (await this.roundTrips(hsm, material)) ? 'ACTIVE' : 'DEGRADED';
      } catch {
        return hsm.failure() !== undefined || hsm.connectionState() !== 'CONNECTED' ? 'UNAVAILABLE' : 'DEGRADED';
      }
    };
    return { id: hsmId, model, healthStatus: await status() };
  }
}
