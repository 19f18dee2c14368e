// Kura as an XKS proxy (issue 12, the server side): the stores it serves under /{prefix}/kms/xks/v1,
// their SigV4 credentials, their keys, and the backend the XKS routes (main/api/xks) call for key
// lookups and AES-256-GCM. The routes do the XKS specification's logic (validation, the cipher AAD, the
// ciphertext data integrity value, status and usage checks); this class only finds stores, credentials
// and keys, and seals and opens with a key's material.
//
// Keys live in Kura's standard key store for now (an AES-256 material sealed under the root key, used by
// the WASM core); a store on an HSM (`--hsm`) comes with the next step of the issue. Each XKS encryption
// runs under a key derived from the key's material for that IV alone (SP 800-108, label kura/xks/v1), as
// Kura's own ciphertexts do, so no material meets AES-GCM's 2^32 random-IV bound.
//
// Each store takes at most `requestsPerSecond` calls a second (a token bucket holding one second's worth;
// AWS's quota is 1,800): beyond it, ThrottlingException. A call is counted once, where every route
// starts — metadata() for the key routes (which then encrypt, and decrypt to verify), health() — so an
// Encrypt with a verifying decrypt is one call, and a call admitted is never throttled halfway. Health is a deep check — a test encryption and
// decryption under a key made for it in memory — whose report is cached for at most a minute.
//
// Stores, credentials (their secrets opened) and keys are read through caches, since every XKS call
// needs all three and one Encrypt reads its key up to three times; like the key directory's, they are
// dropped around every change this class makes (the only writer of those tables), and the opened
// secrets when the appliance seals.
//
// Operators' changes (stores, credentials, keys) run through the unit of work and are audited; XKS calls
// are audited by the routes' audit port. Credential secrets are sealed under the root key: a sealed
// appliance authenticates no XKS call, and its keys answer DependencyTimeoutException (the key manager
// cannot be reached) until it is unsealed.
import { randomUUID } from 'node:crypto';
import { KmsError, kmsErrors } from '../common/errors.js';
import { AeadAuthenticationError } from '../crypto/aead.js';
import { randomBytes, randomIv } from '../crypto/bytes.js';
import type { KeyStore, StoredMaterial } from '../keystores/key-store.js';
import { materialRefFromStorage } from '../keystores/key-store.js';
import { encodeAad } from '../seal/at-rest.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { Store, XksKeyRecord, XksStoreRecord } from '../store/index.js';
import type { KeyDirectory, OperatorCall } from './key-directory.js';
import { RecordCache } from './record-cache.js';

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
const AES_256_BYTES = 32;

export const uriPathOf = (uriPathPrefix: string): string => (uriPathPrefix === '' ? API_ROOT : `/${uriPathPrefix}${API_ROOT}`);

/** AWS's XKS credential shapes: an access key ID of 20–30 characters of A–Z and 2–7, a secret of 43–64 base64 characters. */
function newCredential(): { accessKeyId: string; secretAccessKey: string } {
  const id = `XKS${[...randomBytes(21)].map((b) => BASE32[b & 31]).join('')}`;
  return { accessKeyId: id, secretAccessKey: randomBytes(33).toString('base64') };
}

const credentialAad = (accessKeyId: string) => encodeAad('kura/xks/credential/v1', accessKeyId);

export interface XksProxyDeps {
  store: Pick<Store, 'db' | 'xks' | 'hsms'>;
  directory: KeyDirectory;
  root: RootKeyHolder;
  /** Where the keys of a store without an HSM live: Kura's standard key store. */
  standard: KeyStore;
  clock: { nowMs(): number };
  /** Calls per second per store before ThrottlingException (default 1,800, AWS's quota). */
  requestsPerSecond?: number;
}

type HealthReport = { ekmVendor: string; ekmFleetDetails: { id: string; model: string; healthStatus: 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE' }[] };

/** How long a deep health check's report is served from the cache (the issue: at most one minute). */
export const HEALTH_CACHE_MS = 60_000;

export class XksProxy {
  private readonly rate: number;
  /** Per store: tokens left and when they were counted. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private health_: { report: HealthReport; at: number } | undefined;
  /** A material made in memory for health checks only (never stored); forgotten when the appliance seals. */
  private testMaterial: StoredMaterial | undefined;
  private readonly storeCache = new RecordCache<XksStoreRecord | null>();
  private readonly keyCache = new RecordCache<XksKeyRecord | null>();
  /** Opened secrets by access key ID, with their store; JavaScript strings, so dropped (not wiped) on seal. */
  private readonly secretCache = new RecordCache<{ storeId: string; secret: string } | null>();

  constructor(private readonly deps: XksProxyDeps) {
    this.rate = deps.requestsPerSecond ?? 1_800;
    deps.root.onSeal(() => {
      this.testMaterial = undefined;
      this.health_ = undefined;
      this.secretCache.clear();
    });
  }

  private clearCaches(): void {
    this.storeCache.clear();
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

  private async cachedKey(storeId: string, externalKeyId: string): Promise<XksKeyRecord | undefined> {
    return (await this.keyCache.get(`${storeId}/${externalKeyId}`, async () => (await this.deps.store.xks.findKey(storeId, externalKeyId)) ?? null)) ?? undefined;
  }

  /** Takes one call from a store's bucket; false when it is empty (ThrottlingException). */
  private admit(storeId: string): boolean {
    const now = this.deps.clock.nowMs();
    const b = this.buckets.get(storeId) ?? { tokens: this.rate, at: now };
    b.tokens = Math.min(this.rate, b.tokens + ((now - b.at) / 1000) * this.rate);
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

  private sealSecret(accessKeyId: string, secret: string): Buffer {
    const raw = Buffer.from(secret, 'utf8');
    try {
      return this.deps.root.credentialSealer().seal(raw, credentialAad(accessKeyId));
    } finally {
      raw.fill(0);
    }
  }

  createStore(op: OperatorCall, input: { uriPathPrefix: string; hsmId?: string }): Promise<{ storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string }> {
    const { directory } = this.deps;
    const { xks } = this.deps.store;
    const prefix = input.uriPathPrefix.replace(/^\/+|\/+$/g, '');
    return this.changing(() =>
      directory.run<{ keys: [] }, { accessKeyId: string; secretAccessKey: string; secretSealed: Buffer }, { storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string }>(op, {
        kind: 'change',
        check: () => {
          if (input.hsmId !== undefined) throw new KmsError('UnsupportedOperation', 'XKS proxy stores on an HSM (--hsm) are not served yet; a store without one keeps its keys in the standard key store.');
          if (prefix !== '' && !prefix.split('/').every((s) => PREFIX_SEGMENT.test(s))) {
            throw kmsErrors.validation('A URI path prefix is one or more segments of A–Z, a–z, 0–9, "-" and "_", separated by "/".');
          }
          if (uriPathOf(prefix).length > MAX_URI_PATH_CHARS) throw kmsErrors.validation(`The URI path ${uriPathOf(prefix)} is longer than ${MAX_URI_PATH_CHARS} characters.`);
        },
        make: async () => {
          const c = newCredential();
          return { ...c, secretSealed: this.sealSecret(c.accessKeyId, c.secretAccessKey) };
        },
        apply: async ({ tx }, _p, made) => {
          if (await xks.findStoreByPrefix(prefix, tx)) throw new KmsError('AlreadyExists', `An XKS proxy store is served at ${uriPathOf(prefix)} already.`);
          const storeId = `xks-${randomUUID()}`;
          const now = directory.now();
          await xks.insertStore(tx, { id: storeId, uriPathPrefix: prefix, hsmId: null, createdAt: now });
          await xks.insertCredential(tx, { accessKeyId: made.accessKeyId, storeId, secretSealed: made.secretSealed, createdAt: now });
          return {
            result: { storeId, uriPath: uriPathOf(prefix), accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey },
            details: { xksStoreId: storeId, uriPath: uriPathOf(prefix), accessKeyId: made.accessKeyId },
          };
        },
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

  deleteStore(op: OperatorCall, storeId: string): Promise<void> {
    const { xks } = this.deps.store;
    return this.changing(() =>
      this.deps.directory.run<{ keys: [] }, never, void>(op, {
        kind: 'change',
        whileSealed: true,
        prepare: async () => {
          await this.storeOf(storeId);
          const keys = (await xks.listKeys(storeId)).length;
          if (keys > 0) throw kmsErrors.invalidState(`XKS proxy store ${storeId} still has ${keys} key(s): delete them first.`);
          return { keys: [] };
        },
        apply: async ({ tx }) => {
          if (!(await xks.deleteStore(tx, storeId))) throw kmsErrors.notFound(`No XKS proxy store ${storeId}.`);
          return { result: undefined, details: { xksStoreId: storeId } };
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
        make: async () => {
          const c = newCredential();
          return { ...c, secretSealed: this.sealSecret(c.accessKeyId, c.secretAccessKey) };
        },
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
        apply: async ({ tx }) => {
          const live = await xks.listCredentials(storeId, tx);
          if (!live.some((c) => c.accessKeyId === accessKeyId)) throw kmsErrors.notFound(`XKS proxy store ${storeId} has no credential ${accessKeyId}.`);
          if (live.length === 1) throw kmsErrors.invalidState(`${accessKeyId} is the last credential of XKS proxy store ${storeId}: create another before deleting it.`);
          await xks.deleteCredential(tx, accessKeyId);
          return { result: undefined, details: { xksStoreId: storeId, accessKeyId } };
        },
      }),
    );
  }

  createKey(op: OperatorCall, storeId: string, usage: XksKeyUsage[]): Promise<{ externalKeyId: string }> {
    const { xks } = this.deps.store;
    const externalKeyId = `kura-xks-${randomUUID()}`;
    return this.changing(() =>
      this.deps.directory.run<{ keys: [] }, { materialId: string; ref: Buffer }, { externalKeyId: string }>(op, {
        kind: 'change',
        check: () => {
          if (new Set(usage).size !== usage.length || usage.some((u) => u !== 'ENCRYPT' && u !== 'DECRYPT')) throw kmsErrors.validation('A key usage is ENCRYPT and/or DECRYPT, each once.');
        },
        prepare: async () => {
          await this.storeOf(storeId);
          return { keys: [] };
        },
        make: async () => this.deps.standard.generate(externalKeyId, 'SYMMETRIC_DEFAULT', { label: externalKeyId }),
        discard: async (made) => this.deps.standard.destroy({ keyId: externalKeyId, materialId: made.materialId, ref: materialRefFromStorage(made.ref) }),
        apply: async ({ tx }, _p, made) => {
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
        apply: async ({ tx }) => {
          if (!(await this.deps.store.xks.setKeyStatus(tx, storeId, externalKeyId, status))) throw kmsErrors.notFound(`XKS proxy store ${storeId} has no key ${externalKeyId}.`);
          return { result: undefined, details: { xksStoreId: storeId, externalKeyId, status } };
        },
      }),
    );
  }

  async deleteKey(op: OperatorCall, storeId: string, externalKeyId: string): Promise<void> {
    const { xks } = this.deps.store;
    await this.changing(() =>
      this.deps.directory.run<{ keys: [] }, never, XksKeyRecord>(op, {
        kind: 'change',
        whileSealed: true,
        apply: async ({ tx }) => {
          const k = await xks.findKey(storeId, externalKeyId, tx);
          if (!k || !(await xks.deleteKey(tx, storeId, externalKeyId))) throw kmsErrors.notFound(`XKS proxy store ${storeId} has no key ${externalKeyId}.`);
          return { result: k, details: { xksStoreId: storeId, externalKeyId } };
        },
        after: async (k) => this.deps.standard.destroy({ keyId: k.externalKeyId, materialId: k.materialId, ref: materialRefFromStorage(k.materialRef) }),
      }),
    );
  }

  // ---- the XKS routes' backend (main/api/xks/backend.ts) ------------------------------------------------

  async resolveStore(uriPathPrefix: string): Promise<{ storeId: string; secretFor(accessKeyId: string): Promise<string | undefined> } | undefined> {
    const s = await this.cachedStore(uriPathPrefix);
    if (!s) return undefined;
    return {
      storeId: s.id,
      secretFor: async (accessKeyId) => {
        if (!this.deps.root.isUnsealed) return undefined;
        const found = await this.secretCache.get(accessKeyId, async () => {
          const c = await this.deps.store.xks.findCredential(accessKeyId);
          if (!c || !this.deps.root.isUnsealed) return null;
          const raw = this.deps.root.credentialSealer().open(c.secretSealed, credentialAad(accessKeyId));
          try {
            return { storeId: c.storeId, secret: raw.toString('utf8') };
          } finally {
            raw.fill(0);
          }
        });
        return found && found.storeId === s.id ? found.secret : undefined;
      },
    };
  }

  async metadata(storeId: string, externalKeyId: string): Promise<Outcome<{ keySpec: 'AES_256'; keyUsage: XksKeyUsage[]; keyStatus: 'ENABLED' | 'DISABLED' }>> {
    if (!this.admit(storeId)) return this.throttled();
    const k = await this.cachedKey(storeId, externalKeyId);
    if (!k) return fail('KeyNotFound', `No key ${externalKeyId} in this external key store.`);
    return ok({ keySpec: 'AES_256', keyUsage: k.usage, keyStatus: k.status });
  }

  private async material(storeId: string, externalKeyId: string): Promise<Outcome<StoredMaterial>> {
    const k = await this.cachedKey(storeId, externalKeyId);
    if (!k) return fail('KeyNotFound', `No key ${externalKeyId} in this external key store.`);
    if (!this.deps.root.isUnsealed) return fail('DependencyTimeout', 'Kura is sealed: its key manager is not available until it is unsealed.');
    return ok({ keyId: k.externalKeyId, materialId: k.materialId, keySpec: 'SYMMETRIC_DEFAULT', ref: materialRefFromStorage(k.materialRef), publicKey: null });
  }

  private payload(iv: Buffer, aad: Buffer) {
    return { version: 2 as const, derivation: { label: XKS_KEY_LABEL, context: iv, length: AES_256_BYTES }, iv, aad };
  }

  async encrypt(storeId: string, externalKeyId: string, input: { plaintext: Buffer; aad: Buffer }): Promise<Outcome<{ ciphertext: Buffer; iv: Buffer; tag: Buffer }>> {
    const m = await this.material(storeId, externalKeyId);
    if (!m.ok) return m;
    const iv = randomIv();
    const sealed = await this.deps.standard.encryptBlobPayload(m.value, this.payload(iv, input.aad), input.plaintext);
    return ok({ ciphertext: sealed.subarray(0, sealed.length - 16), iv, tag: sealed.subarray(sealed.length - 16) });
  }

  async decrypt(storeId: string, externalKeyId: string, input: { ciphertext: Buffer; iv: Buffer; tag: Buffer; aad: Buffer }): Promise<Outcome<Buffer>> {
    const m = await this.material(storeId, externalKeyId);
    if (!m.ok) return m;
    try {
      return ok(await this.deps.standard.decryptBlobPayload(m.value, this.payload(input.iv, input.aad), Buffer.concat([input.ciphertext, input.tag])));
    } catch (e) {
      if (e instanceof AeadAuthenticationError) return fail('InvalidCiphertext', 'The ciphertext, its tag, IV or AAD do not match this key.');
      throw e;
    }
  }

  async health(storeId: string): Promise<Outcome<HealthReport>> {
    if (!this.admit(storeId)) return this.throttled();
    const now = this.deps.clock.nowMs();
    if (!this.health_ || now - this.health_.at >= HEALTH_CACHE_MS) this.health_ = { report: await this.deepCheck(), at: now };
    return ok(this.health_.report);
  }

  /** A test encryption and decryption on the standard key store, under a material made for it in memory. */
  private async deepCheck(): Promise<HealthReport> {
    const model = 'Kura standard key store (WebAssembly AES-256-GCM)';
    let healthStatus: 'ACTIVE' | 'UNAVAILABLE' = 'UNAVAILABLE';
    if (this.deps.root.isUnsealed) {
      try {
        if (!this.testMaterial) {
          const keyId = `kura-xks-health-${randomUUID()}`;
          const made = await this.deps.standard.generate(keyId, 'SYMMETRIC_DEFAULT');
          this.testMaterial = { keyId, materialId: made.materialId, keySpec: 'SYMMETRIC_DEFAULT', ref: made.ref, publicKey: null };
        }
        const probe = randomBytes(32);
        const payload = this.payload(randomIv(), Buffer.from('kura/xks/health'));
        const opened = await this.deps.standard.decryptBlobPayload(this.testMaterial, payload, await this.deps.standard.encryptBlobPayload(this.testMaterial, payload, probe));
        if (opened.equals(probe)) healthStatus = 'ACTIVE';
      } catch {
        healthStatus = 'UNAVAILABLE';
      }
    }
    return { ekmVendor: 'Kura', ekmFleetDetails: [{ id: 'standard', model, healthStatus }] };
  }
}
