// The KMS domain for keys in the standard key store: key lifecycle and states, aliases, tags,
// rotation, policies and the symmetric cryptographic operations, with AWS KMS semantics.
// Every change commits in one transaction together with its audit entry. Imported material past its
// ValidTo is unusable from that instant, before the scheduler's bookkeeping (material-expiry.ts);
// symmetric ciphertexts are blobs of version 2, sealed under a key derived per blob (ciphertext.ts).
import type { AuditEvent, AuditLog } from '../audit/audit-log.js';
import { DAY_MS, type Clock } from '../common/clock.js';
import { KmsError, kmsErrors } from '../common/errors.js';
import { partitionOf } from '../common/regions.js';
import { AeadAuthenticationError } from '../crypto/aead.js';
import {
  asymmetricDecrypt,
  asymmetricEncrypt,
  isKeySpec,
  isKeyUsageAllowed,
  KEY_SPEC_INFO,
  type AsymmetricEncryptionAlgorithm,
  type KeySpec,
  type KeyUsage,
  type PublicKeyHandle,
} from '../crypto/asymmetric/index.js';
import { randomBytes, randomIv } from '../crypto/bytes.js';
import { newMaterialId, type PrivateMaterial, type StandardKeyStore } from '../keystores/standard.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { AliasRecord, KeyRecord, MaterialRecord, Store, TagRecord, WriteTx } from '../store/index.js';
import { assembleBlob, blobAad, blobKeyDerivation, BLOB_V2, encodeHeader, NONCE_BYTES, parseBlob } from './ciphertext.js';
import { aliasArn, checkAliasName, keyArn, newKeyId, parseKeyRef, type KeyRef } from './identifiers.js';
import { checkPolicyDocument, defaultKeyPolicy } from './policy.js';
import { withCryptoErrors } from './crypto-errors.js';
import { awaitsImport, keyAsOf, materialAsOf, materialExpired, mayExpire } from './material-expiry.js';
import { RecordCache } from './record-cache.js';

export type { KeyRecord, AliasRecord, MaterialRecord, TagRecord };

/** Who is calling, and where: the account comes from the credential, the region from the SigV4 scope. */
export interface CallContext {
  accountId: string;
  region: string;
  principal: string;
  accessKeyId?: string;
  requestId?: string;
  operation: string;
  /** Set when the operation wrote its own audit entry inside its transaction. */
  audited?: boolean;
}

export type EncryptionContext = Readonly<Record<string, string>>;

export const DEFAULT_ROTATION_DAYS = 365;
export const MAX_ON_DEMAND_ROTATIONS = 25;
export const MAX_TAGS = 50;
const SYMMETRIC_DEFAULT = 'SYMMETRIC_DEFAULT';

interface Deps {
  store: Store;
  keystore: StandardKeyStore;
  root: RootKeyHolder;
  audit: AuditLog;
  clock: Clock;
}

export type Lookup = {
  key: (keyId: string) => Promise<KeyRecord | undefined>;
  alias: (accountId: string, region: string, name: string) => Promise<AliasRecord | undefined>;
  /** Every material of a key (the expiry of imported material decides the key's state at request time). */
  materials: (keyId: string) => Promise<MaterialRecord[]>;
};

export interface CreateKeyInput {
  description?: string;
  keyUsage?: string;
  keySpec?: string;
  customerMasterKeySpec?: string;
  origin?: string;
  policy?: string;
  tags?: TagRecord[];
  customKeyStoreId?: string;
  multiRegion?: boolean;
  xksKeyId?: string;
}

export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

const dryRun = () => new KmsError('DryRunOperation', 'The request would have succeeded, but the DryRun option is set.');

/**
 * The current API model marks CiphertextBlob optional (dry runs may ignore it), so the model's
 * validation lets a request without it through; every real decryption needs it.
 */
function requireCiphertext(blob: Buffer | undefined): Buffer {
  if (blob === undefined) {
    throw kmsErrors.validation("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  }
  return blob;
}

/** The columns a generated (not imported) material leaves empty. */
export function newMaterialFields(): Pick<MaterialRecord, 'importState' | 'validTo' | 'expirationModel' | 'description' | 'pendingRotation'> {
  return { importState: null, validTo: null, expirationModel: null, description: null, pendingRotation: false };
}

function encodeMarker(kind: string, value: string): string {
  return Buffer.from(JSON.stringify([kind, value]), 'utf8').toString('base64url');
}

function decodeMarker(kind: string, marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v[0] === kind && typeof v[1] === 'string') return v[1];
  } catch {
    // fall through
  }
  throw new KmsError('InvalidMarker', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');
}

function paginate<T>(rows: T[], limit: number, markerOf: (last: T) => string): Page<T> {
  if (rows.length > limit) {
    const items = rows.slice(0, limit);
    return { items, nextMarker: markerOf(items[items.length - 1]!) };
  }
  return { items: rows };
}

export class KeyService {
  private readonly keyCache = new RecordCache<KeyRecord>();
  private readonly aliasCache = new RecordCache<AliasRecord>();
  private readonly materialCache = new RecordCache<MaterialRecord>();
  private readonly materialListCache = new RecordCache<MaterialRecord[]>();

  constructor(private readonly deps: Deps) {}

  private clearCaches(): void {
    this.keyCache.clear();
    this.aliasCache.clear();
    this.materialCache.clear();
    this.materialListCache.clear();
  }

  private findKey(keyId: string): Promise<KeyRecord | undefined> {
    return this.keyCache.get(keyId, () => this.deps.store.keys.find(keyId));
  }

  private findMaterial(keyId: string, materialId: string): Promise<MaterialRecord | undefined> {
    return this.materialCache.get(`${keyId}/${materialId}`, () => this.deps.store.keys.findMaterial(keyId, materialId));
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }

  private requireUnsealed(): void {
    this.deps.root.requireUnsealed();
  }

  arnOf(k: Pick<KeyRecord, 'region' | 'accountId' | 'keyId'>): string {
    return keyArn(k.region, k.accountId, k.keyId);
  }

  aliasArnOf(a: AliasRecord): string {
    return aliasArn(a.region, a.accountId, a.aliasName);
  }

  // ---- resolution -------------------------------------------------------------------------------

  private readLookup(): Lookup {
    const repo = this.deps.store.keys;
    return {
      key: (id) => this.findKey(id),
      alias: (a, r, n) => this.aliasCache.get(`${a}/${r}/${n}`, () => repo.findAlias(a, r, n)),
      materials: async (id) => (await this.materialListCache.get(id, () => repo.listMaterials(id))) ?? [],
    };
  }

  private txLookup(tx: WriteTx): Lookup {
    const repo = this.deps.store.keys;
    return { key: (id) => repo.find(id, tx), alias: (a, r, n) => repo.findAlias(a, r, n, tx), materials: (id) => repo.listMaterialsIn(tx, id) };
  }

  /**
   * The key in the state it has at this request's time: an imported key whose material has passed its
   * ValidTo is PendingImport now, whether or not the scheduler has written that down yet
   * (main/kms/material-expiry.ts). Changes made through a transaction see the same state.
   */
  private async asOfNow(k: KeyRecord, lookup: Lookup): Promise<KeyRecord> {
    if (!mayExpire(k)) return k;
    return keyAsOf(k, await lookup.materials(k.keyId), this.now());
  }

  private async resolve(ctx: CallContext, raw: string, allowAlias: boolean, lookup: Lookup = this.readLookup()): Promise<KeyRecord> {
    const ref: KeyRef = parseKeyRef(raw, allowAlias);
    const account = ref.accountId ?? ctx.accountId;
    const region = ref.region ?? ctx.region;
    const notFound = () => kmsErrors.notFound(ref.kind === 'alias' ? `Alias ${aliasArn(region, account, ref.aliasName)} is not found.` : `Key '${keyArn(region, account, ref.keyId)}' does not exist`);
    // Keys live in one account and one region, as in AWS: an ARN naming another (or the region in a
    // partition it is not in) is not found here.
    if (account !== ctx.accountId || region !== ctx.region || (ref.partition !== undefined && ref.partition !== partitionOf(region))) throw notFound();
    let keyId: string;
    if (ref.kind === 'alias') {
      const alias = await lookup.alias(account, region, ref.aliasName);
      if (!alias) throw notFound();
      keyId = alias.keyId;
    } else {
      keyId = ref.keyId;
    }
    const key = await lookup.key(keyId);
    if (!key || key.accountId !== account || key.region !== region) throw notFound();
    return this.asOfNow(key, lookup);
  }

  /** Runs a change with its audit entry in one transaction. */
  private async mutate<T>(ctx: CallContext, fn: (tx: WriteTx, lookup: Lookup) => Promise<{ result: T; keyId?: string; details?: AuditEvent['details'] }>): Promise<T> {
    this.requireUnsealed();
    this.clearCaches();
    const out = await this.deps.store.db.write(async (tx) => {
      const r = await fn(tx, this.txLookup(tx));
      await this.deps.audit.appendIn(tx, {
        principal: ctx.principal,
        accessKeyId: ctx.accessKeyId,
        source: 'kms',
        operation: ctx.operation,
        keyId: r.keyId,
        outcome: 'ok',
        requestId: ctx.requestId,
        details: r.details,
      });
      return r.result;
    }).finally(() => this.clearCaches());
    ctx.audited = true;
    return out;
  }

  // ---- state rules (AWS "key states" table) -----------------------------------------------------

  private requireNotPendingDeletion(k: KeyRecord): void {
    if (k.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(this.arnOf(k));
  }

  private requireNotPendingImport(k: KeyRecord): void {
    if (k.state === 'PendingImport') throw kmsErrors.invalidState(`${this.arnOf(k)} is pending import.`);
  }

  /** Enabled and not pending anything: what cryptographic operations need. */
  private requireUsable(k: KeyRecord): void {
    if (k.state === 'Enabled') return;
    if (k.state === 'Disabled') throw kmsErrors.disabled(this.arnOf(k));
    if (k.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(this.arnOf(k));
    throw kmsErrors.invalidState(`${this.arnOf(k)} is ${k.state}.`);
  }

  private requireEncryptDecrypt(k: KeyRecord): void {
    if (k.keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new KmsError('InvalidKeyUsage', `${this.arnOf(k)} key usage is ${k.keyUsage} which is not valid for ${'this operation'}.`);
    }
  }

  /**
   * The encryption algorithm a request may use with a key: SYMMETRIC_DEFAULT (the default) for
   * symmetric keys; one of the spec's algorithms, which the caller must name, for RSA and SM2 keys.
   */
  private requireAlgorithm(k: KeyRecord, algorithm: string | undefined): string {
    if (k.keySpec === SYMMETRIC_DEFAULT) {
      if (algorithm !== undefined && algorithm !== SYMMETRIC_DEFAULT) {
        throw new KmsError('InvalidKeyUsage', `The encryption algorithm ${algorithm} is not compatible with the key spec ${k.keySpec} of ${this.arnOf(k)}.`);
      }
      return SYMMETRIC_DEFAULT;
    }
    const allowed = KEY_SPEC_INFO[k.keySpec as KeySpec].encryptionAlgorithms as readonly string[];
    if (algorithm === undefined || !allowed.includes(algorithm)) {
      throw new KmsError(
        'InvalidKeyUsage',
        `${this.arnOf(k)} has key spec ${k.keySpec}: name its encryption algorithm (${allowed.join(', ')})${algorithm ? `, not ${algorithm}` : ''}.`,
      );
    }
    return algorithm;
  }

  /** Symmetric-only operations (data keys, rotation) on another spec: InvalidKeyUsage or Unsupported, as AWS answers. */
  private requireSymmetric(k: KeyRecord, operation: string, code: 'InvalidKeyUsage' | 'UnsupportedOperation' = 'InvalidKeyUsage'): void {
    if (k.keySpec !== SYMMETRIC_DEFAULT) throw new KmsError(code, `${operation} is not valid for ${this.arnOf(k)}, whose key spec is ${k.keySpec}.`);
  }

  private requireGenerated(k: KeyRecord, operation: string): void {
    if (k.origin !== 'AWS_KMS') throw new KmsError('UnsupportedOperation', `${operation} is not supported for ${this.arnOf(k)}, whose origin is ${k.origin}.`);
  }

  /** For an asymmetric Encrypt/Decrypt: AWS binds no encryption context to RSA or SM2 ciphertexts. */
  private static requireNoContext(k: KeyRecord, context: EncryptionContext | undefined): void {
    if (k.keySpec !== SYMMETRIC_DEFAULT && context && Object.keys(context).length > 0) {
      throw kmsErrors.validation(`EncryptionContext is not supported for asymmetric KMS keys (key spec ${k.keySpec}).`);
    }
  }

  // ---- for the operations of main/kms/key-use.ts ------------------------------------------------

  /** Resolves a key that a cryptographic call names (aliases allowed) and checks it is usable. */
  async resolveUsable(ctx: CallContext, keyRef: string): Promise<KeyRecord> {
    this.requireUnsealed();
    const k = await this.resolve(ctx, keyRef, true);
    this.requireUsable(k);
    return k;
  }

  /**
   * The current material of a usable key. Checked again for expiry here, at the point of use: the key's
   * state was decided when it was resolved, and its ValidTo may have come since (a data key pair, for
   * one, is generated in between).
   */
  async currentMaterial(k: KeyRecord): Promise<MaterialRecord> {
    const material = k.currentMaterialId ? await this.findMaterial(k.keyId, k.currentMaterialId) : undefined;
    if (!material) throw kmsErrors.internal();
    if (materialExpired(material, this.now())) throw kmsErrors.invalidState(`${this.arnOf(k)} is PendingImport.`);
    return material;
  }

  /** The private key (parsed, or raw for HMAC) of a non-symmetric material; use it synchronously. */
  privateKeyOf(k: KeyRecord, m: MaterialRecord): PrivateMaterial {
    return this.deps.keystore.usePrivate(k.keyId, m.materialId, k.keySpec as KeySpec, m.materialSealed);
  }

  /** The parsed public key of an asymmetric material. */
  publicKeyOf(k: KeyRecord, m: MaterialRecord): PublicKeyHandle {
    if (!m.publicKey) throw kmsErrors.internal();
    return this.deps.keystore.usePublic(k.keyId, m.materialId, k.keySpec as KeySpec, m.publicKey);
  }

  /** Encrypts under a symmetric key's current material (what GenerateDataKey and data key pairs use). */
  encryptSymmetric(k: KeyRecord, plaintext: Uint8Array, context: EncryptionContext | undefined): Promise<{ blob: Buffer; materialId: string }> {
    this.requireSymmetric(k, 'This operation');
    return this.encryptUnder(k, plaintext, context);
  }

  // ---- keys -------------------------------------------------------------------------------------

  async createKey(ctx: CallContext, input: CreateKeyInput): Promise<KeyRecord> {
    this.requireUnsealed();
    if (input.keySpec && input.customerMasterKeySpec) {
      throw kmsErrors.validation('You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.');
    }
    const keySpec = input.keySpec ?? input.customerMasterKeySpec ?? SYMMETRIC_DEFAULT;
    const keyUsage = input.keyUsage ?? 'ENCRYPT_DECRYPT';
    const origin = input.origin ?? 'AWS_KMS';
    if (keySpec === SYMMETRIC_DEFAULT ? keyUsage !== 'ENCRYPT_DECRYPT' : !isKeySpec(keySpec) || !isKeyUsageAllowed(keySpec, keyUsage as KeyUsage)) {
      throw kmsErrors.validation(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    }
    if (input.customKeyStoreId !== undefined) {
      throw new KmsError('CustomKeyStoreNotFound', `Custom key store ${input.customKeyStoreId} does not exist.`);
    }
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
      throw new KmsError('UnsupportedOperation', `Kura does not support Origin ${origin} yet; keys are AWS_KMS (generated) or EXTERNAL (imported).`);
    }
    if (input.xksKeyId !== undefined) throw kmsErrors.validation('XksKeyId is valid only for keys in an external key store (Origin EXTERNAL_KEY_STORE).');
    if (input.multiRegion) throw new KmsError('UnsupportedOperation', 'Kura does not support multi-Region keys.');
    const policy = input.policy ?? defaultKeyPolicy(ctx.accountId, partitionOf(ctx.region));
    checkPolicyDocument(policy);
    const tags = this.checkTags(input.tags ?? []);

    const now = this.now();
    const keyId = newKeyId();
    const imported = origin === 'EXTERNAL';
    // An EXTERNAL key has no material until ImportKeyMaterial; its material ID comes from the material.
    const materialId = imported ? null : newMaterialId();
    const record: KeyRecord = {
      keyId,
      accountId: ctx.accountId,
      region: ctx.region,
      description: input.description ?? '',
      keyUsage,
      keySpec,
      origin,
      state: imported ? 'PendingImport' : 'Enabled',
      createdAt: now,
      deletionAt: null,
      pendingWindowDays: null,
      rotationEnabled: false,
      rotationPeriodDays: null,
      nextRotationAt: null,
      onDemandRotationStartedAt: null,
      policy,
      currentMaterialId: materialId,
      expirationModel: null,
      validTo: null,
    };
    const generated =
      materialId === null
        ? null
        : keySpec === SYMMETRIC_DEFAULT
          ? { sealed: this.deps.keystore.generateMaterial(keyId, materialId), publicKey: null }
          : await this.deps.keystore.generatePrivateMaterial(keyId, materialId, keySpec as KeySpec);
    return this.mutate(ctx, async (tx) => {
      await this.deps.store.keys.insert(tx, record);
      if (generated && materialId) {
        await this.deps.store.keys.insertMaterial(tx, {
          ...newMaterialFields(),
          keyId,
          materialId,
          createdAt: now,
          rotationType: null,
          materialSealed: generated.sealed,
          publicKey: generated.publicKey,
        });
      }
      for (const t of tags) await this.deps.store.keys.putTag(tx, keyId, t);
      return { result: record, keyId };
    });
  }

  async describeKey(ctx: CallContext, keyRef: string): Promise<KeyRecord> {
    this.requireUnsealed();
    return this.resolve(ctx, keyRef, true);
  }

  async listKeys(ctx: CallContext, limit = 100, marker?: string): Promise<Page<KeyRecord>> {
    this.requireUnsealed();
    const after = decodeMarker('keys', marker) ?? '';
    const rows = await this.deps.store.keys.list(ctx.accountId, ctx.region, after, limit + 1);
    return paginate(rows, limit, (k) => encodeMarker('keys', k.keyId));
  }

  private async setState(ctx: CallContext, keyRef: string, change: (k: KeyRecord) => KeyRecord | null): Promise<void> {
    await this.mutate(ctx, async (tx, lookup) => {
      const k = await this.resolve(ctx, keyRef, false, lookup);
      const next = change(k);
      if (next) await this.deps.store.keys.update(tx, next);
      return { result: undefined, keyId: k.keyId };
    });
  }

  enableKey(ctx: CallContext, keyRef: string): Promise<void> {
    return this.setState(ctx, keyRef, (k) => {
      this.requireNotPendingDeletion(k);
      this.requireNotPendingImport(k);
      return { ...k, state: 'Enabled' };
    });
  }

  disableKey(ctx: CallContext, keyRef: string): Promise<void> {
    return this.setState(ctx, keyRef, (k) => {
      this.requireNotPendingDeletion(k);
      this.requireNotPendingImport(k);
      return { ...k, state: 'Disabled' };
    });
  }

  updateKeyDescription(ctx: CallContext, keyRef: string, description: string): Promise<void> {
    return this.setState(ctx, keyRef, (k) => {
      this.requireNotPendingDeletion(k);
      return { ...k, description };
    });
  }

  async scheduleKeyDeletion(ctx: CallContext, keyRef: string, pendingWindowDays = 30): Promise<KeyRecord> {
    if (pendingWindowDays < 7 || pendingWindowDays > 30) {
      throw kmsErrors.validation(
        `1 validation error detected: Value '${pendingWindowDays}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`,
      );
    }
    return this.mutate(ctx, async (tx, lookup) => {
      const k = await this.resolve(ctx, keyRef, false, lookup);
      this.requireNotPendingDeletion(k);
      const next: KeyRecord = { ...k, state: 'PendingDeletion', deletionAt: this.now() + pendingWindowDays * DAY_MS, pendingWindowDays };
      await this.deps.store.keys.update(tx, next);
      return { result: next, keyId: k.keyId, details: { pendingWindowDays } };
    });
  }

  async cancelKeyDeletion(ctx: CallContext, keyRef: string): Promise<KeyRecord> {
    return this.mutate(ctx, async (tx, lookup) => {
      const k = await this.resolve(ctx, keyRef, false, lookup);
      if (k.state !== 'PendingDeletion') throw kmsErrors.invalidState(`${this.arnOf(k)} is not pending deletion.`);
      // AWS: a cancelled key is Disabled, unless it is an imported key without usable material (never
      // imported, deleted or expired while it waited): that one is PendingImport, or EnableKey would
      // enable a key that has nothing to encrypt with.
      const state = awaitsImport(k, await lookup.materials(k.keyId), this.now()) ? 'PendingImport' : 'Disabled';
      const next: KeyRecord = { ...k, state, deletionAt: null, pendingWindowDays: null };
      await this.deps.store.keys.update(tx, next);
      return { result: next, keyId: k.keyId };
    });
  }

  // ---- cryptographic operations -----------------------------------------------------------------

  /** Encrypts under a key's current material: Kura's blob for symmetric keys, RSA-OAEP or SM2PKE otherwise. */
  private async encryptUnder(
    k: KeyRecord,
    plaintext: Uint8Array,
    context: EncryptionContext | undefined,
    algorithm = SYMMETRIC_DEFAULT,
  ): Promise<{ blob: Buffer; materialId: string }> {
    const material = await this.currentMaterial(k);
    const materialId = material.materialId;
    if (k.keySpec !== SYMMETRIC_DEFAULT) {
      KeyService.requireNoContext(k, context);
      const blob = withCryptoErrors(() =>
        asymmetricEncrypt(k.keySpec as KeySpec, this.publicKeyOf(k, material), algorithm as AsymmetricEncryptionAlgorithm, plaintext),
      );
      return { blob, materialId };
    }
    // Version 2: a fresh key per blob, derived from the material over a random nonce in the header, so
    // that no material ever meets SP 800-38D's 2^32 limit on random IVs (main/kms/ciphertext.ts).
    const header = encodeHeader(k.keyId, materialId, randomBytes(NONCE_BYTES));
    const iv = randomIv();
    const aad = blobAad(header, context);
    const sealed = this.deps.keystore.withDerivedKey(k.keyId, materialId, material.materialSealed, blobKeyDerivation({ version: BLOB_V2, header }), (key) =>
      key.seal(iv, plaintext, aad),
    );
    return { blob: assembleBlob(header, iv, sealed), materialId };
  }

  async encrypt(
    ctx: CallContext,
    input: { keyId: string; plaintext: Buffer; encryptionContext?: EncryptionContext; encryptionAlgorithm?: string; dryRun?: boolean },
  ): Promise<{ key: KeyRecord; ciphertextBlob: Buffer; materialId: string; algorithm: string }> {
    this.requireUnsealed();
    const k = await this.resolve(ctx, input.keyId, true);
    this.requireUsable(k);
    this.requireEncryptDecrypt(k);
    const algorithm = this.requireAlgorithm(k, input.encryptionAlgorithm);
    if (input.dryRun) throw dryRun();
    const { blob, materialId } = await this.encryptUnder(k, input.plaintext, input.encryptionContext, algorithm);
    return { key: k, ciphertextBlob: blob, materialId, algorithm };
  }

  /** Opens a blob; returns the key it was made under. */
  private async openBlob(
    ctx: CallContext,
    blob: Buffer,
    context: EncryptionContext | undefined,
    keyRef: string | undefined,
    algorithm: string | undefined,
  ): Promise<{ key: KeyRecord; plaintext: Buffer; materialId: string; algorithm: string }> {
    if (keyRef !== undefined) {
      // An RSA or SM2 ciphertext has no header: the request must name the key and the algorithm.
      const named = await this.resolve(ctx, keyRef, true);
      if (named.keySpec !== SYMMETRIC_DEFAULT) {
        this.requireUsable(named);
        this.requireEncryptDecrypt(named);
        const alg = this.requireAlgorithm(named, algorithm);
        KeyService.requireNoContext(named, context);
        const material = await this.currentMaterial(named);
        const privateKey = this.privateKeyOf(named, material);
        const plaintext = withCryptoErrors(() => asymmetricDecrypt(named.keySpec as KeySpec, privateKey, alg as AsymmetricEncryptionAlgorithm, blob));
        return { key: named, plaintext, materialId: material.materialId, algorithm: alg };
      }
    }
    const parsed = parseBlob(blob);
    const invalid = () => new KmsError('InvalidCiphertext', 'The ciphertext is invalid, was made under another key, or the encryption context does not match.');
    let k: KeyRecord | undefined;
    if (keyRef !== undefined) {
      const named = await this.resolve(ctx, keyRef, true);
      if (named.keyId !== parsed.keyId) {
        throw new KmsError('IncorrectKey', 'The key ID in the request does not identify a KMS key that can perform this operation.');
      }
      k = named;
    } else {
      const found = await this.findKey(parsed.keyId);
      if (!found || found.accountId !== ctx.accountId || found.region !== ctx.region) throw invalid();
      k = await this.asOfNow(found, this.readLookup());
    }
    this.requireUsable(k);
    this.requireEncryptDecrypt(k);
    this.requireAlgorithm(k, algorithm);
    const material = await this.findMaterial(k.keyId, parsed.materialId);
    if (!material) throw invalid();
    // Expired material answers as deleted material does, before the scheduler has emptied its row.
    if (material.materialSealed.length === 0 || materialExpired(material, this.now())) {
      throw kmsErrors.invalidState(`The key material this ciphertext was made under has been deleted from ${this.arnOf(k)}; import it again.`);
    }
    const aad = blobAad(parsed.header, context);
    try {
      const plaintext =
        parsed.version === BLOB_V2
          ? this.deps.keystore.withDerivedKey(k.keyId, material.materialId, material.materialSealed, blobKeyDerivation(parsed), (key) =>
              key.open(parsed.iv, parsed.sealed, aad),
            )
          : this.deps.keystore.use(k.keyId, material.materialId, material.materialSealed).open(parsed.iv, parsed.sealed, aad);
      return { key: k, plaintext, materialId: material.materialId, algorithm: SYMMETRIC_DEFAULT };
    } catch (e) {
      if (e instanceof AeadAuthenticationError) throw invalid();
      throw e;
    }
  }

  async decrypt(
    ctx: CallContext,
    input: { ciphertextBlob: Buffer | undefined; encryptionContext?: EncryptionContext; keyId?: string; encryptionAlgorithm?: string; dryRun?: boolean },
  ): Promise<{ key: KeyRecord; plaintext: Buffer; materialId: string; algorithm: string }> {
    this.requireUnsealed();
    if (input.dryRun) {
      // A dry run checks the key and permissions, not the ciphertext's integrity (AWS does the same
      // unless told otherwise); without a KeyId the header still has to name a usable key.
      const keyRef = input.keyId ?? parseBlob(requireCiphertext(input.ciphertextBlob)).keyId;
      const k = await this.resolve(ctx, keyRef, true);
      this.requireUsable(k);
      throw dryRun();
    }
    return this.openBlob(ctx, requireCiphertext(input.ciphertextBlob), input.encryptionContext, input.keyId, input.encryptionAlgorithm);
  }

  async reEncrypt(
    ctx: CallContext,
    input: {
      ciphertextBlob: Buffer | undefined;
      sourceEncryptionContext?: EncryptionContext;
      sourceKeyId?: string;
      destinationKeyId: string;
      destinationEncryptionContext?: EncryptionContext;
      sourceEncryptionAlgorithm?: string;
      destinationEncryptionAlgorithm?: string;
      dryRun?: boolean;
    },
  ): Promise<{
    source: KeyRecord;
    destination: KeyRecord;
    ciphertextBlob: Buffer;
    sourceMaterialId: string;
    destinationMaterialId: string;
    sourceAlgorithm: string;
    destinationAlgorithm: string;
  }> {
    this.requireUnsealed();
    const dest = await this.resolve(ctx, input.destinationKeyId, true);
    this.requireUsable(dest);
    this.requireEncryptDecrypt(dest);
    const destinationAlgorithm = this.requireAlgorithm(dest, input.destinationEncryptionAlgorithm);
    const opened = await this.openBlob(ctx, requireCiphertext(input.ciphertextBlob), input.sourceEncryptionContext, input.sourceKeyId, input.sourceEncryptionAlgorithm);
    try {
      if (input.dryRun) throw dryRun();
      const { blob, materialId } = await this.encryptUnder(dest, opened.plaintext, input.destinationEncryptionContext, destinationAlgorithm);
      return {
        source: opened.key,
        destination: dest,
        ciphertextBlob: blob,
        sourceMaterialId: opened.materialId,
        destinationMaterialId: materialId,
        sourceAlgorithm: opened.algorithm,
        destinationAlgorithm,
      };
    } finally {
      opened.plaintext.fill(0);
    }
  }

  async generateDataKey(
    ctx: CallContext,
    input: { keyId: string; encryptionContext?: EncryptionContext; numberOfBytes?: number; keySpec?: string; dryRun?: boolean },
  ): Promise<{ key: KeyRecord; plaintext: Buffer; ciphertextBlob: Buffer; materialId: string }> {
    this.requireUnsealed();
    if (input.numberOfBytes === undefined && input.keySpec === undefined) {
      throw kmsErrors.validation('Please specify either number of bytes or key spec.');
    }
    if (input.numberOfBytes !== undefined && input.keySpec !== undefined) {
      throw kmsErrors.validation('Please specify either number of bytes or key spec, not both.');
    }
    const n = input.numberOfBytes ?? (input.keySpec === 'AES_128' ? 16 : 32);
    const k = await this.resolve(ctx, input.keyId, true);
    this.requireUsable(k);
    this.requireEncryptDecrypt(k);
    this.requireSymmetric(k, 'GenerateDataKey');
    if (input.dryRun) throw dryRun();
    const plaintext = randomBytes(n);
    const { blob, materialId } = await this.encryptUnder(k, plaintext, input.encryptionContext);
    return { key: k, plaintext, ciphertextBlob: blob, materialId };
  }

  generateRandom(numberOfBytes: number, customKeyStoreId?: string): Buffer {
    this.requireUnsealed();
    if (customKeyStoreId !== undefined) throw new KmsError('CustomKeyStoreNotFound', `Custom key store ${customKeyStoreId} does not exist.`);
    return randomBytes(numberOfBytes);
  }

  // ---- aliases ----------------------------------------------------------------------------------

  async createAlias(ctx: CallContext, aliasName: string, targetKeyId: string): Promise<void> {
    checkAliasName(aliasName);
    await this.mutate(ctx, async (tx, lookup) => {
      const k = await this.resolve(ctx, targetKeyId, false, lookup);
      this.requireNotPendingDeletion(k);
      if (await this.deps.store.keys.findAlias(ctx.accountId, ctx.region, aliasName, tx)) {
        throw new KmsError('AlreadyExists', `An alias with the name ${aliasArn(ctx.region, ctx.accountId, aliasName)} already exists`);
      }
      const now = this.now();
      await this.deps.store.keys.insertAlias(tx, { accountId: ctx.accountId, region: ctx.region, aliasName, keyId: k.keyId, createdAt: now, updatedAt: now });
      return { result: undefined, keyId: k.keyId, details: { aliasName } };
    });
  }

  async updateAlias(ctx: CallContext, aliasName: string, targetKeyId: string): Promise<void> {
    checkAliasName(aliasName);
    await this.mutate(ctx, async (tx, lookup) => {
      const alias = await this.deps.store.keys.findAlias(ctx.accountId, ctx.region, aliasName, tx);
      if (!alias) throw kmsErrors.notFound(`Alias ${aliasArn(ctx.region, ctx.accountId, aliasName)} is not found.`);
      const k = await this.resolve(ctx, targetKeyId, false, lookup);
      this.requireNotPendingDeletion(k);
      const current = await lookup.key(alias.keyId);
      if (current && (current.keyUsage !== k.keyUsage || current.keySpec !== k.keySpec)) {
        throw kmsErrors.validation('The alias can only point to a key of the same key spec and key usage as its current key.');
      }
      await this.deps.store.keys.retargetAlias(tx, alias, k.keyId, this.now());
      return { result: undefined, keyId: k.keyId, details: { aliasName } };
    });
  }

  async deleteAlias(ctx: CallContext, aliasName: string): Promise<void> {
    checkAliasName(aliasName);
    await this.mutate(ctx, async (tx) => {
      const alias = await this.deps.store.keys.findAlias(ctx.accountId, ctx.region, aliasName, tx);
      if (!alias) throw kmsErrors.notFound(`Alias ${aliasArn(ctx.region, ctx.accountId, aliasName)} is not found.`);
      await this.deps.store.keys.deleteAlias(tx, alias);
      return { result: undefined, keyId: alias.keyId, details: { aliasName } };
    });
  }

  async listAliases(ctx: CallContext, keyRef: string | undefined, limit = 50, marker?: string): Promise<Page<AliasRecord>> {
    this.requireUnsealed();
    const after = decodeMarker('aliases', marker) ?? '';
    const keyId = keyRef === undefined ? null : (await this.resolve(ctx, keyRef, false)).keyId;
    const rows = await this.deps.store.keys.listAliases(ctx.accountId, ctx.region, keyId, after, limit + 1);
    return paginate(rows, limit, (a) => encodeMarker('aliases', a.aliasName));
  }

  // ---- tags -------------------------------------------------------------------------------------

  private checkTags(tags: TagRecord[]): TagRecord[] {
    const seen = new Set<string>();
    for (const t of tags) {
      if (t.tagKey.startsWith('aws:')) throw new KmsError('Tag', `Tag keys beginning with "aws:" are reserved for AWS use: ${t.tagKey}`);
      if (seen.has(t.tagKey)) throw new KmsError('Tag', `Duplicate tag key ${t.tagKey} in the request.`);
      seen.add(t.tagKey);
    }
    if (tags.length > MAX_TAGS) throw new KmsError('Tag', `A KMS key can have at most ${MAX_TAGS} tags.`);
    return tags;
  }

  async tagResource(ctx: CallContext, keyRef: string, tags: TagRecord[]): Promise<void> {
    this.checkTags(tags);
    await this.mutate(ctx, async (tx, lookup) => {
      const k = await this.resolve(ctx, keyRef, false, lookup);
      this.requireNotPendingDeletion(k);
      for (const t of tags) await this.deps.store.keys.putTag(tx, k.keyId, t);
      if ((await this.deps.store.keys.countTagsIn(tx, k.keyId)) > MAX_TAGS) {
        throw new KmsError('Tag', `A KMS key can have at most ${MAX_TAGS} tags.`);
      }
      return { result: undefined, keyId: k.keyId, details: { tags: tags.length } };
    });
  }

  async untagResource(ctx: CallContext, keyRef: string, tagKeys: string[]): Promise<void> {
    await this.mutate(ctx, async (tx, lookup) => {
      const k = await this.resolve(ctx, keyRef, false, lookup);
      this.requireNotPendingDeletion(k);
      for (const key of tagKeys) await this.deps.store.keys.deleteTag(tx, k.keyId, key);
      return { result: undefined, keyId: k.keyId, details: { tags: tagKeys.length } };
    });
  }

  async listResourceTags(ctx: CallContext, keyRef: string, limit = 50, marker?: string): Promise<Page<TagRecord>> {
    this.requireUnsealed();
    const k = await this.resolve(ctx, keyRef, false);
    const after = decodeMarker('tags', marker) ?? '';
    const all = (await this.deps.store.keys.listTags(k.keyId)).filter((t) => t.tagKey > after);
    return paginate(all, limit, (t) => encodeMarker('tags', t.tagKey));
  }

  // ---- rotation ---------------------------------------------------------------------------------

  async enableKeyRotation(ctx: CallContext, keyRef: string, periodDays = DEFAULT_ROTATION_DAYS): Promise<void> {
    await this.setState(ctx, keyRef, (k) => {
      this.requireSymmetric(k, 'Automatic key rotation', 'UnsupportedOperation');
      this.requireGenerated(k, 'Automatic key rotation');
      this.requireUsable(k);
      return { ...k, rotationEnabled: true, rotationPeriodDays: periodDays, nextRotationAt: this.now() + periodDays * DAY_MS };
    });
  }

  async disableKeyRotation(ctx: CallContext, keyRef: string): Promise<void> {
    await this.setState(ctx, keyRef, (k) => {
      this.requireSymmetric(k, 'Automatic key rotation', 'UnsupportedOperation');
      this.requireGenerated(k, 'Automatic key rotation');
      this.requireUsable(k);
      return { ...k, rotationEnabled: false, nextRotationAt: null };
    });
  }

  async getKeyRotationStatus(ctx: CallContext, keyRef: string): Promise<KeyRecord> {
    this.requireUnsealed();
    return this.resolve(ctx, keyRef, false);
  }

  async rotateKeyOnDemand(ctx: CallContext, keyRef: string): Promise<KeyRecord> {
    this.requireUnsealed();
    const k = await this.resolve(ctx, keyRef, false);
    this.requireSymmetric(k, 'On-demand key rotation', 'UnsupportedOperation');
    this.requireUsable(k);
    if (k.origin === 'EXTERNAL') return this.rotateToImportedMaterial(ctx, keyRef);
    const materialId = newMaterialId();
    const sealed = this.deps.keystore.generateMaterial(k.keyId, materialId);
    return this.mutate(ctx, async (tx, lookup) => {
      const cur = await this.resolve(ctx, keyRef, false, lookup);
      this.requireUsable(cur);
      // Counted inside the transaction: rotations committed by other jobs of the same batch count too.
      const onDemand = await this.deps.store.keys.countMaterialsIn(tx, cur.keyId, 'ON_DEMAND');
      if (onDemand >= MAX_ON_DEMAND_ROTATIONS) {
        throw new KmsError('LimitExceeded', `${this.arnOf(cur)} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
      }
      return this.addMaterial(tx, cur, materialId, sealed, 'ON_DEMAND');
    });
  }

  /**
   * Imported keys rotate on demand to material imported beforehand with ImportType NEW_KEY_MATERIAL
   * (AWS's workflow): that material becomes current; without one, there is nothing to rotate to.
   */
  private rotateToImportedMaterial(ctx: CallContext, keyRef: string): Promise<KeyRecord> {
    return this.mutate(ctx, async (tx, lookup) => {
      const cur = await this.resolve(ctx, keyRef, false, lookup);
      this.requireUsable(cur);
      const now = this.now();
      const pending = (await lookup.materials(cur.keyId)).find((m) => m.pendingRotation && m.importState === 'IMPORTED' && !materialExpired(m, now));
      if (!pending) {
        throw kmsErrors.invalidState(`${this.arnOf(cur)} has no key material imported with ImportType NEW_KEY_MATERIAL to rotate to.`);
      }
      await this.deps.store.keys.updateMaterial(tx, { ...pending, pendingRotation: false, rotationType: 'ON_DEMAND', createdAt: this.now() });
      const next: KeyRecord = { ...cur, currentMaterialId: pending.materialId, expirationModel: pending.expirationModel, validTo: pending.validTo };
      await this.deps.store.keys.update(tx, next);
      return { result: next, keyId: cur.keyId, details: { rotationType: 'ON_DEMAND' } };
    });
  }

  private async addMaterial(tx: WriteTx, k: KeyRecord, materialId: string, sealed: Buffer, rotationType: 'AUTOMATIC' | 'ON_DEMAND') {
    const now = this.now();
    await this.deps.store.keys.insertMaterial(tx, { ...newMaterialFields(), keyId: k.keyId, materialId, createdAt: now, rotationType, materialSealed: sealed, publicKey: null });
    const next: KeyRecord = { ...k, currentMaterialId: materialId };
    if (rotationType === 'AUTOMATIC' && k.rotationPeriodDays) next.nextRotationAt = now + k.rotationPeriodDays * DAY_MS;
    await this.deps.store.keys.update(tx, next);
    return { result: next, keyId: k.keyId, details: { rotationType } };
  }

  async listKeyRotations(
    ctx: CallContext,
    keyRef: string,
    includeKeyMaterial: string | undefined,
    limit = 100,
    marker?: string,
  ): Promise<{ key: KeyRecord; page: Page<MaterialRecord> }> {
    this.requireUnsealed();
    const k = await this.resolve(ctx, keyRef, false);
    const now = this.now();
    const all = (await this.deps.store.keys.listMaterials(k.keyId)).map((m) => materialAsOf(m, now));
    const rows = includeKeyMaterial === 'ALL_KEY_MATERIAL' ? all : all.filter((m) => m.rotationType !== null);
    const after = Number(decodeMarker('rotations', marker) ?? '0');
    const page = paginate(rows.slice(after), limit, () => encodeMarker('rotations', String(after + limit)));
    return { key: k, page };
  }

  // ---- policies ---------------------------------------------------------------------------------

  private static checkPolicyName(name: string | undefined): void {
    if (name !== undefined && name !== 'default') throw kmsErrors.notFound(`Policy ${name} is not found. The only key policy name is "default".`);
  }

  async getKeyPolicy(ctx: CallContext, keyRef: string, policyName?: string): Promise<string> {
    this.requireUnsealed();
    KeyService.checkPolicyName(policyName);
    return (await this.resolve(ctx, keyRef, false)).policy;
  }

  async putKeyPolicy(ctx: CallContext, keyRef: string, policy: string, policyName?: string): Promise<void> {
    KeyService.checkPolicyName(policyName);
    checkPolicyDocument(policy);
    await this.setState(ctx, keyRef, (k) => {
      this.requireNotPendingDeletion(k);
      return { ...k, policy };
    });
  }

  async listKeyPolicies(ctx: CallContext, keyRef: string): Promise<string[]> {
    this.requireUnsealed();
    await this.resolve(ctx, keyRef, false);
    return ['default'];
  }

  // ---- time-driven changes ----------------------------------------------------------------------

  /**
   * Runs what has fallen due by now: deletes keys whose waiting period has ended (with their
   * material, aliases and tags) and rotates keys whose rotation date has come. Rotation needs the
   * root key, so it waits while the appliance is sealed; deletion does not.
   */
  async runDue(): Promise<{ deleted: string[]; rotated: string[]; expired: string[] }> {
    const now = this.now();
    const deleted: string[] = [];
    const rotated: string[] = [];
    const expired: string[] = [];
    this.clearCaches();
    try {
      await this.runDueUncached(now, deleted, rotated);
      await this.expireImportedMaterial(now, expired);
    } finally {
      this.clearCaches();
    }
    return { deleted, rotated, expired };
  }

  /**
   * Imported material whose ValidTo has passed is deleted (the row stays, emptied, so that the same
   * material can be imported again under the same material ID) and its key waits for an import.
   * Expired import tokens go with their wrapping private keys.
   */
  private async expireImportedMaterial(now: number, expired: string[]): Promise<void> {
    for (const m of await this.deps.store.keys.expiredMaterials(now)) {
      await this.deps.store.db.write(async (tx) => {
        const k = await this.deps.store.keys.find(m.keyId, tx);
        if (!k) return;
        await this.removeImportedMaterial(tx, k, m);
        await this.deps.audit.appendIn(tx, {
          principal: 'kura:scheduler',
          source: 'scheduler',
          operation: 'ExpireImportedKeyMaterial',
          keyId: k.keyId,
          outcome: 'ok',
          details: { keyMaterialId: m.materialId },
        });
        expired.push(m.keyId);
      });
      this.deps.keystore.forget(m.keyId);
    }
    await this.deps.store.db.write((tx) => this.deps.store.keys.deleteExpiredImportTokens(tx, now));
  }

  /** Empties an imported material; the key goes to PendingImport unless it is pending deletion. */
  async removeImportedMaterial(tx: WriteTx, k: KeyRecord, m: MaterialRecord): Promise<KeyRecord> {
    await this.deps.store.keys.updateMaterial(tx, { ...m, materialSealed: Buffer.alloc(0), importState: 'PENDING_IMPORT' });
    // Material imported for a rotation that has not happened yet is not the key's: the key is unchanged.
    if (m.pendingRotation) return k;
    const next: KeyRecord = { ...k, state: k.state === 'PendingDeletion' ? k.state : 'PendingImport' };
    await this.deps.store.keys.update(tx, next);
    return next;
  }

  /** Runs an import-related change with its audit entry in one transaction (see main/kms/import-service.ts). */
  runChange<T>(ctx: CallContext, fn: (tx: WriteTx, lookup: Lookup) => Promise<{ result: T; keyId?: string; details?: AuditEvent['details'] }>): Promise<T> {
    return this.mutate(ctx, fn);
  }

  /** Resolves a key by key ID or key ARN, through a transaction when given one. */
  resolveKey(ctx: CallContext, keyRef: string, lookup?: Lookup): Promise<KeyRecord> {
    this.requireUnsealed();
    return this.resolve(ctx, keyRef, false, lookup);
  }

  /** Drops cached materials of a key after its material changed outside this service. */
  forgetMaterial(keyId: string): void {
    this.deps.keystore.forget(keyId);
  }

  private async runDueUncached(now: number, deleted: string[], rotated: string[]): Promise<void> {
    for (const k of await this.deps.store.keys.dueForDeletion(now)) {
      await this.deps.store.db.write(async (tx) => {
        const cur = await this.deps.store.keys.find(k.keyId, tx);
        if (!cur || cur.state !== 'PendingDeletion' || cur.deletionAt === null || cur.deletionAt > now) return;
        await this.deps.store.keys.delete(tx, k.keyId);
        await this.deps.audit.appendIn(tx, { principal: 'kura:scheduler', source: 'scheduler', operation: 'DeleteKey', keyId: k.keyId, outcome: 'ok' });
        deleted.push(k.keyId);
      });
      this.deps.keystore.forget(k.keyId);
    }
    if (this.deps.root.isUnsealed) {
      for (const k of await this.deps.store.keys.dueForRotation(now)) {
        const materialId = newMaterialId();
        const sealed = this.deps.keystore.generateMaterial(k.keyId, materialId);
        await this.deps.store.db.write(async (tx) => {
          const cur = await this.deps.store.keys.find(k.keyId, tx);
          if (!cur || !cur.rotationEnabled || cur.state !== 'Enabled' || cur.nextRotationAt === null || cur.nextRotationAt > now) return;
          await this.addMaterial(tx, cur, materialId, sealed, 'AUTOMATIC');
          await this.deps.audit.appendIn(tx, { principal: 'kura:scheduler', source: 'scheduler', operation: 'RotateKey', keyId: k.keyId, outcome: 'ok' });
          rotated.push(k.keyId);
        });
      }
    }
  }
}
