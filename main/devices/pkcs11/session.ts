// One PKCS#11 session and the operations Kura runs in it: AES-256 token keys (generate, find by
// CKA_ID, read attributes, destroy; the HSM key store's derive-only keys and the pkcs11 seal mode's
// encrypt/decrypt-only root key sealing key), per-blob session keys derived on the token, and single-part
// AES-GCM (PKCS #11 v2.40 §2.14 / v3.0 §6.13, CKM_AES_GCM with CK_GCM_PARAMS; NIST SP 800-38D).
//
// Every call goes through the module (./module.ts), inline for a software token and to its host process
// for any other (./cryptoki.ts). A session runs one operation at a time: the pool (./session-pool.ts)
// hands each session to one caller and closes it when an operation failed, since a failed call may leave
// the operation active (SoftHSM: CKR_BUFFER_TOO_SMALL, CKR_ARGUMENTS_BAD).
//
// Vendor differences come from the module's row of ./vendors.ts.
import pkcs11js from 'pkcs11js';
import type { AesCBC, GcmParams, Handle, Template } from 'pkcs11js';
import { Pkcs11CallError } from './errors.js';
import type { Pkcs11Module } from './module.js';
import type { Pkcs11Token } from './token.js';

/** CKM_AES_CBC_ENCRYPT_DATA (PKCS #11 v2.40 §2.14.6); pkcs11js 2.1.7 does not export it. */
export const CKM_AES_CBC_ENCRYPT_DATA = 0x1105;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
const AES_256_BYTES = 32;

/** The attributes Kura sets on, and checks of, a token key. */
export interface SecretKeyAttributes {
  token: boolean;
  private: boolean;
  sensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean;
  alwaysSensitive: boolean;
  encrypt: boolean;
  decrypt: boolean;
  derive: boolean;
  wrap: boolean;
  unwrap: boolean;
  sign: boolean;
  verify: boolean;
  modifiable: boolean;
  valueBytes: number;
  label: string;
}

type BooleanAttribute = Exclude<keyof SecretKeyAttributes, 'valueBytes' | 'label'>;

const BOOLEAN_ATTRIBUTES: readonly [BooleanAttribute, number][] = [
  ['token', pkcs11js.CKA_TOKEN],
  ['private', pkcs11js.CKA_PRIVATE],
  ['sensitive', pkcs11js.CKA_SENSITIVE],
  ['extractable', pkcs11js.CKA_EXTRACTABLE],
  ['neverExtractable', pkcs11js.CKA_NEVER_EXTRACTABLE],
  ['alwaysSensitive', pkcs11js.CKA_ALWAYS_SENSITIVE],
  ['encrypt', pkcs11js.CKA_ENCRYPT],
  ['decrypt', pkcs11js.CKA_DECRYPT],
  ['derive', pkcs11js.CKA_DERIVE],
  ['wrap', pkcs11js.CKA_WRAP],
  ['unwrap', pkcs11js.CKA_UNWRAP],
  ['sign', pkcs11js.CKA_SIGN],
  ['verify', pkcs11js.CKA_VERIFY],
  ['modifiable', pkcs11js.CKA_MODIFIABLE],
];

/**
 * A token AES-256 key that is private, sensitive and never extractable, labelled and with an ID, allowed
 * exactly the `uses` given: every usage attribute is set, true or false, since a module's defaults for
 * unnamed attributes vary. It is not modifiable, and not copyable where the module knows CKA_COPYABLE:
 * both default to true (PKCS #11 v2.40 §4.4), and a modifiable key is one whose usages anyone holding
 * the PIN can turn on with C_SetAttributeValue (SoftHSM, NSS), or on a copy of it with C_CopyObject —
 * the derive-only key made able to encrypt computes blob keys outside the token.
 */
function tokenAesKeyTemplate(label: string, id: Buffer, uses: { encrypt: boolean; derive: boolean }, copyable: boolean): Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: AES_256_BYTES },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    ...usages(uses),
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
    ...unchangeable(copyable),
  ];
}

/** Every usage attribute of a secret key, true only for the uses given. */
const usages = (uses: { encrypt: boolean; derive: boolean }): Template => [
  { type: pkcs11js.CKA_ENCRYPT, value: uses.encrypt },
  { type: pkcs11js.CKA_DECRYPT, value: uses.encrypt },
  { type: pkcs11js.CKA_DERIVE, value: uses.derive },
  { type: pkcs11js.CKA_WRAP, value: false },
  { type: pkcs11js.CKA_UNWRAP, value: false },
  { type: pkcs11js.CKA_SIGN, value: false },
  { type: pkcs11js.CKA_VERIFY, value: false },
];

/**
 * CKA_MODIFIABLE false (and CKA_COPYABLE false): last in a template, since SoftHSM 2.6 applies a
 * derived key's template in order and refuses, as CKR_ATTRIBUTE_READ_ONLY, any attribute after
 * CKA_MODIFIABLE false.
 */
const unchangeable = (copyable: boolean): Template => [
  { type: pkcs11js.CKA_MODIFIABLE, value: false },
  ...(copyable ? [{ type: pkcs11js.CKA_COPYABLE, value: false }] : []),
];

/**
 * Whether a key the token made is what a template of tokenAesKeyTemplate asked for: the template asks,
 * the token decides, and a module may ignore an attribute it does not enforce (CKA_MODIFIABLE, say).
 * CKA_COPYABLE is not read: NSS softokn does not know it.
 */
export function madeAsAsked(a: SecretKeyAttributes, uses: { encrypt: boolean; derive: boolean }): boolean {
  return (
    a.token && a.private && a.sensitive && a.alwaysSensitive && !a.extractable && a.neverExtractable && !a.modifiable &&
    a.encrypt === uses.encrypt && a.decrypt === uses.encrypt && a.derive === uses.derive &&
    !a.wrap && !a.unwrap && !a.sign && !a.verify && a.valueBytes === AES_256_BYTES
  );
}

/** The uses of the blob token key (tokenKeyTemplate) and of the root key's sealing key (sealingKeyTemplate). */
export const BLOB_TOKEN_KEY_USES = { encrypt: false, derive: true } as const;
export const SEALING_KEY_USES = { encrypt: true, derive: false } as const;

/**
 * A key for Kura's blobs. It only derives per-blob keys (CKM_AES_CBC_ENCRYPT_DATA): with CKA_ENCRYPT
 * false, nobody holding the PIN can compute a blob key outside the token by encrypting the derivation
 * data with plain CKM_AES_CBC.
 */
const tokenKeyTemplate = (label: string, id: Buffer, copyable: boolean): Template => tokenAesKeyTemplate(label, id, BLOB_TOKEN_KEY_USES, copyable);

/**
 * The key that seals the appliance's root key (seal mode pkcs11, main/seal/): it only encrypts and
 * decrypts (single-part CKM_AES_GCM), since it seals one 32-byte value and never derives anything. Its
 * label names the appliance (kura-root-wrap:<applianceId>); Kura finds it again by CKA_ID.
 */
const sealingKeyTemplate = (label: string, id: Buffer, copyable: boolean): Template => tokenAesKeyTemplate(label, id, SEALING_KEY_USES, copyable);

/**
 * A per-blob key: a session object (gone with the session), sensitive, never extractable, not
 * modifiable, for GCM only. Every usage is named: SoftHSM otherwise makes a derived key that can also
 * wrap, unwrap, sign and verify.
 */
const BLOB_KEY_TEMPLATE: Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
  { type: pkcs11js.CKA_VALUE_LEN, value: AES_256_BYTES },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  ...usages({ encrypt: true, derive: false }),
  ...unchangeable(false),
];

/** Whether a module says it implements PKCS #11 v2.40 or later (C_GetInfo's cryptokiVersion, "major.minor"). */
function implementsV240(cryptokiVersion: string): boolean {
  const [major = 0, minor = 0] = cryptokiVersion.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 40);
}

/** CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID: one object's attribute cannot be read, the token is fine. */
const UNREADABLE_ATTRIBUTE_RVS: ReadonlySet<number> = new Set([0x11, 0x12]);

export class Pkcs11Session {
  /** Set when a clean-up step failed (a per-blob key could not be destroyed): the pool closes the session, which destroys its objects. */
  broken = false;

  constructor(
    readonly token: Pkcs11Token,
    readonly handle: Handle,
  ) {}

  private get module(): Pkcs11Module {
    return this.token.module;
  }

  /** Whether key templates may carry CKA_COPYABLE on this module (see Vendor.copyable). */
  private get copyable(): boolean {
    return this.module.vendor.copyable && implementsV240(this.module.description.cryptokiVersion);
  }

  /** Generates a token key (see tokenKeyTemplate) on the token. */
  generateAesKey(label: string, id: Buffer): Promise<Handle> {
    return this.module.call('generateKey', this.handle, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, tokenKeyTemplate(label, id, this.copyable));
  }

  /** Generates the root key's sealing key (see sealingKeyTemplate) on the token; the session must be logged in. */
  generateSealingKey(label: string, id: Buffer): Promise<Handle> {
    return this.module.call('generateKey', this.handle, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, sealingKeyTemplate(label, id, this.copyable));
  }

  /** The secret keys whose CKA_ID is `id` (visible to this session: private objects need the login). */
  findSecretKeys(id: Buffer): Promise<Handle[]> {
    return this.module.call(
      'findObjects',
      this.handle,
      [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_ID, value: id },
      ],
      2,
    );
  }

  /**
   * The token's secret keys (objects of the token, not of a session) visible to this session, at most
   * `max`: each one's CKA_LABEL and CKA_ID, never its value. What an operator needs to find a key again.
   */
  async tokenSecretKeys(max: number): Promise<{ label: string; id: Buffer }[]> {
    const found = await this.module.call('findObjects', this.handle, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_TOKEN, value: true },
    ], max);
    const keys: { label: string; id: Buffer }[] = [];
    for (const h of found) {
      // The token is shared: another program may destroy a key between the search and this read, or keep
      // objects whose label or ID it will not give. Such a key is not listed; the others still are.
      const read = await this.module.call('attributes', this.handle, h, [pkcs11js.CKA_LABEL, pkcs11js.CKA_ID]).catch((e: unknown) => {
        if (e instanceof Pkcs11CallError && (e.meaning === 'object-handle-invalid' || UNREADABLE_ATTRIBUTE_RVS.has(e.rv ?? -1))) return undefined;
        throw e;
      });
      if (read === undefined) continue;
      const byType = new Map(read.map((a) => [a.type, a.value]));
      keys.push({ label: byType.get(pkcs11js.CKA_LABEL)?.toString('utf8') ?? '', id: byType.get(pkcs11js.CKA_ID) ?? Buffer.alloc(0) });
    }
    return keys;
  }

  /** Whether the session is still logged in as the user (a C_Logout by another part of the process ends every session's login). */
  userLoggedIn(): Promise<boolean> {
    return this.module.call('userLoggedIn', this.handle);
  }

  async readAttributes(key: Handle): Promise<SecretKeyAttributes> {
    const values = await this.module.call('attributes', this.handle, key, [...BOOLEAN_ATTRIBUTES.map(([, type]) => type), pkcs11js.CKA_VALUE_LEN, pkcs11js.CKA_LABEL]);
    const byType = new Map(values.map((a) => [a.type, a.value]));
    const flags = Object.fromEntries(BOOLEAN_ATTRIBUTES.map(([name, type]) => [name, (byType.get(type)?.[0] ?? 0) !== 0])) as Record<BooleanAttribute, boolean>;
    const length = byType.get(pkcs11js.CKA_VALUE_LEN);
    return {
      ...flags,
      // CK_ULONG in host order, as pkcs11js hands it back (8 bytes on x86-64).
      valueBytes: length && length.length >= 4 ? length.readUInt32LE(0) : 0,
      label: byType.get(pkcs11js.CKA_LABEL)?.toString('utf8') ?? '',
    };
  }

  /** Random bytes from the token's generator (C_GenerateRandom). */
  generateRandom(bytes: number): Promise<Buffer> {
    return this.module.call('generateRandom', this.handle, bytes);
  }

  /** Destroys a per-blob key after use; if that fails, the session is marked broken so that closing it destroys the key. */
  async destroySessionKey(key: Handle): Promise<void> {
    try {
      await this.module.call('destroyObject', this.handle, key);
    } catch {
      this.broken = true;
    }
  }

  destroyObject(object: Handle): Promise<void> {
    return this.module.call('destroyObject', this.handle, object);
  }

  /**
   * Derives a per-blob AES-256 session key from a token key: CKM_AES_CBC_ENCRYPT_DATA with a zero IV
   * over 32 bytes of `data`, i.e. the key is AES-256-CBC(token key, IV = 0, data) — two AES blocks,
   * computed on the token. Refused (Pkcs11CallError 'mechanism-invalid') on a module whose vendor row
   * says it cannot derive. The caller destroys the key when done.
   */
  deriveBlobKey(base: Handle, data: Buffer): Promise<Handle> {
    if (this.module.vendor.blobKeyDerivation !== 'CKM_AES_CBC_ENCRYPT_DATA') return Promise.reject(new Pkcs11CallError('C_DeriveKey', undefined, 'mechanism-invalid'));
    if (data.length !== AES_256_BYTES) return Promise.reject(new RangeError('the blob key derivation takes exactly 32 bytes'));
    const parameter: AesCBC = { type: pkcs11js.CK_PARAMS_AES_CBC, iv: Buffer.alloc(16), data };
    return this.module.call('deriveKey', this.handle, { mechanism: CKM_AES_CBC_ENCRYPT_DATA, parameter }, base, BLOB_KEY_TEMPLATE);
  }

  private gcm(iv: Uint8Array, aad: Uint8Array): { mechanism: number; parameter: GcmParams } {
    if (iv.length !== GCM_IV_BYTES) throw new RangeError(`Kura's GCM IVs are ${GCM_IV_BYTES} bytes`);
    return {
      mechanism: pkcs11js.CKM_AES_GCM,
      parameter: { type: this.module.vendor.gcmParams, iv: Buffer.from(iv), ivBits: GCM_IV_BYTES * 8, tagBits: GCM_TAG_BYTES * 8, aad: Buffer.from(aad) },
    };
  }

  /** AES-GCM on the token, single part: ciphertext || 16-byte tag. */
  async encryptAesGcm(key: Handle, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Buffer> {
    return this.module.call('encrypt', this.handle, this.gcm(iv, aad), key, plaintext, plaintext.length + GCM_TAG_BYTES);
  }

  /**
   * Opens ciphertext || tag on the token. A tag that does not verify is Pkcs11CallError with meaning
   * 'bad-ciphertext', whichever code the vendor reports it with; when that code is ambiguous, the token
   * is probed first, and a token that does not answer is 'token-absent' instead.
   */
  async decryptAesGcm(key: Handle, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Buffer> {
    const vendor = this.module.vendor;
    // Never a zero-length output buffer (pkcs11js would pass NULL: a length query that leaves the operation active).
    const outBytes = Math.max(GCM_TAG_BYTES, vendor.decryptOutputBytes(sealed.length));
    try {
      return await this.module.call('decrypt', this.handle, this.gcm(iv, aad), key, sealed, outBytes);
    } catch (e) {
      if (e instanceof Pkcs11CallError && e.fn === 'C_Decrypt' && e.rv !== undefined && vendor.badTag.codes.includes(e.rv)) {
        if (vendor.badTag.ambiguous && !(await this.token.present())) throw new Pkcs11CallError('C_Decrypt', e.rv, 'token-absent');
        throw new Pkcs11CallError('C_Decrypt', e.rv, 'bad-ciphertext');
      }
      throw e;
    }
  }
}
