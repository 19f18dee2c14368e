// The external key store (EXTERNAL_KEY_STORE, DESIGN.md "XKS (both directions)"): Kura's counterpart of
// an AWS KMS external key store. A KMS key in it is bound to an external key (AWS's XksKeyId) that an
// XKS proxy holds — another Kura, or any vendor's proxy — and its ciphertexts are encrypted twice, as
// AWS does: first under key material of Kura's own (made for the key in the standard key store and
// sealed there under the root key), then, through the proxy, under the external key. Neither alone
// can decrypt: the proxy never sees the plaintext, and Kura cannot decrypt without the proxy.
//
// A material reference is the external key's ID and the inner material's reference. The sealed payload
// of a blob is what the proxy returned, in a small envelope of this store's own:
//
//   u8 version (1) | u8 IV length | IV | u8 ciphertextMetadata length | ciphertextMetadata | tag (16) | ciphertext
//
// The AAD the proxy binds is SHA-256 of the blob's AAD (header and encryption context): bounded, and a
// blob moved to another key, material or context fails at the proxy as well as inside.
//
// Errors, as AWS KMS answers them: every failure of the proxy or of its connection in a cryptographic
// operation is KMSInvalidStateException (its message says which); a ciphertext the proxy says is
// invalid is InvalidCiphertextException. Generating checks the external key's metadata first
// (XksKeyNotFoundException, XksKeyInvalidConfigurationException: AES_256, ENABLED, ENCRYPT and DECRYPT,
// and a proxy's InvalidStateException or InvalidKeyUsageException).
import { createHash, randomUUID } from 'node:crypto';
import { KmsError, kmsErrors } from '../../common/errors.js';
import { AeadAuthenticationError } from '../../crypto/aead.js';
import type { BlobCaller, BlobPayload, ConnectionState, GenerateHints, KeyStore, KeyStoreSpec, MaterialRef, NewMaterial, StoredMaterial } from '../key-store.js';
import { materialRefFromStorage } from '../key-store.js';
import { CustomKeyStoreBase, SYMMETRIC_DEFAULT } from '../custom-key-store-base.js';
import { XksProxyError, type XksClient, type XksRequestMetadata } from './xks-client.js';

const ENVELOPE_V1 = 1;
const TAG_BYTES = 16;
const REF_V1 = 1;
/** An XksKeyId is 1-128 characters of A-Z a-z 0-9 - _ . (the KMS API model's XksKeyIdType). */
const XKS_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** What a reference of this store holds. */
interface ExternalRef {
  externalKeyId: string;
  inner: MaterialRef;
}

export function encodeExternalRef(r: ExternalRef): MaterialRef {
  // Its length is one byte of the reference: generate() and the API refuse other IDs before this.
  if (!XKS_KEY_ID.test(r.externalKeyId)) throw new KmsError('Internal', 'An XksKeyId does not fit an external key store reference.');
  const id = Buffer.from(r.externalKeyId, 'utf8');
  return materialRefFromStorage(Buffer.concat([Buffer.from([REF_V1, id.length]), id, r.inner]));
}

export function decodeExternalRef(ref: MaterialRef): ExternalRef {
  if (ref.length < 3 || ref[0] !== REF_V1 || ref.length < 2 + ref[1]!) throw new KmsError('Internal', 'This material reference is not an external key store\'s.');
  const len = ref[1]!;
  return { externalKeyId: ref.subarray(2, 2 + len).toString('utf8'), inner: materialRefFromStorage(Buffer.from(ref.subarray(2 + len))) };
}

/** The sealed payload's envelope (above); AeadAuthenticationError for anything that is not one. */
function openEnvelope(sealed: Uint8Array): { iv: Buffer; ciphertextMetadata: Buffer | undefined; tag: Buffer; ciphertext: Buffer } {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  let at = 0;
  const take = (n: number): Buffer => {
    if (at + n > b.length) throw new AeadAuthenticationError();
    const out = b.subarray(at, at + n);
    at += n;
    return out;
  };
  if (take(1)[0] !== ENVELOPE_V1) throw new AeadAuthenticationError();
  const ivLen = take(1)[0]!;
  if (ivLen !== 12 && ivLen !== 16) throw new AeadAuthenticationError();
  const iv = take(ivLen);
  const cmLen = take(1)[0]!;
  if (cmLen > 20) throw new AeadAuthenticationError();
  const cm = take(cmLen);
  const tag = take(TAG_BYTES);
  return { iv, ciphertextMetadata: cmLen > 0 ? cm : undefined, tag, ciphertext: b.subarray(at) };
}

const proxyAad = (aad: Uint8Array): Buffer => createHash('sha256').update(aad).digest();

export interface ExternalKeyStoreParts {
  /** This store's custom key store ID (for messages). */
  customKeyStoreId: string;
  client: XksClient;
  /** Where the inner material lives: the standard key store, which forgets a material's cache on request. */
  inner: KeyStore & { forgetMaterial(keyId: string, materialId: string): void };
}

/**
 * What the stores of one custom key store share, by inner store: kept across a retire (new proxy settings
 * on a connected store), so that the disconnect that follows forgets what the retired store used too, not
 * only what its successor did (`used`), and refuses the retired store's calls still in progress as its
 * successor's (`closes`, counted: a store made before the last close is closed), and closes the retired
 * stores' connections with its own (`retiredClients`: those still serving calls in progress).
 */
interface Lineage {
  used: Map<string, { keyId: string; materialId: string }>;
  closes: number;
  retiredClients: Set<XksClient>;
}
const lineages = new WeakMap<object, Map<string, Lineage>>();

export class ExternalKeyStore extends CustomKeyStoreBase implements KeyStore {
  readonly type = 'EXTERNAL_KEY_STORE' as const;
  private state: ConnectionState = 'CONNECTED';
  /**
   * Its custom key store's stores, this one and those it replaced or that replace it (lineages): the inner
   * materials they used (`keyId/materialId`), forgotten by the standard store at close(), and how many
   * times one of them was closed.
   */
  private readonly lineage: Lineage;
  /** lineage.closes when this store was made: once it has grown, this store is closed too (disconnected or sealed, not retired). */
  private readonly madeAfterCloses: number;

  constructor(private readonly parts: ExternalKeyStoreParts) {
    super('An external key store');
    let byStore = lineages.get(parts.inner);
    if (!byStore) lineages.set(parts.inner, (byStore = new Map()));
    let lineage = byStore.get(parts.customKeyStoreId);
    if (!lineage) byStore.set(parts.customKeyStoreId, (lineage = { used: new Map(), closes: 0, retiredClients: new Set() }));
    this.lineage = lineage;
    this.madeAfterCloses = lineage.closes;
  }

  /** Replaced by a store with new proxy settings (retire()). */
  private retired = false;
  private closedItself = false;

  /** Closed: no call reaches the inner material any more. A store retired, then closed with its successor, is. */
  private get closed(): boolean {
    return this.closedItself || this.lineage.closes !== this.madeAfterCloses;
  }

  connectionState(): ConnectionState {
    return this.state;
  }

  /**
   * The requestMetadata of a call: the KMS call's, or (a store used on its own) Kura and the key's ID.
   * A GetKeyMetadata made by CreateKey carries no kmsKeyArn: the spec has KMS leave it out there, as the
   * key it would name is made only once the external key has been checked.
   */
  private metadata(caller: BlobCaller | undefined, keyId: string, fallbackOperation: string): XksRequestMetadata {
    const kmsOperation = caller?.operation ?? fallbackOperation;
    return {
      awsPrincipalArn: caller?.principal ?? 'kura',
      ...(kmsOperation === 'CreateKey' ? {} : { kmsKeyArn: caller?.keyArn ?? keyId }),
      kmsOperation,
      kmsRequestId: caller?.requestId ?? randomUUID(),
    };
  }

  /** A failure of the proxy in a cryptographic operation, as AWS answers it (KMSInvalidStateException). */
  private proxyFailure(e: unknown): KmsError {
    if (e instanceof XksProxyError) {
      return kmsErrors.invalidState(`The external key store ${this.parts.customKeyStoreId} could not use its XKS proxy: ${e.message}`);
    }
    throw e;
  }

  /** Checks the external key (AWS: AES_256, ENABLED, ENCRYPT and DECRYPT), then makes the inner material. */
  async generate(keyId: string, spec: KeyStoreSpec, hints?: GenerateHints): Promise<NewMaterial> {
    if (!this.supports(spec)) throw this.unsupported(`hold keys of key spec ${spec}`);
    const externalKeyId = hints?.externalKeyId;
    if (externalKeyId === undefined) throw kmsErrors.validation('A key in an external key store needs an XksKeyId.');
    if (!XKS_KEY_ID.test(externalKeyId)) throw kmsErrors.validation('An XksKeyId is 1 to 128 characters of A-Z, a-z, 0-9, hyphen, underscore or period.');
    let meta;
    try {
      meta = await this.parts.client.metadata(externalKeyId, this.metadata(hints?.caller, keyId, 'CreateKey'));
    } catch (e) {
      if (e instanceof XksProxyError && e.errorName === 'KeyNotFoundException') {
        throw new KmsError('XksKeyNotFound', `The XKS proxy of ${this.parts.customKeyStoreId} has no external key ${externalKeyId}.`);
      }
      // The spec's table: a disabled external key at CreateKey is a key not configured for use, and so is
      // one that does not support the requested operation (InvalidKeyUsageException).
      if (e instanceof XksProxyError && e.errorName === 'InvalidStateException') {
        throw new KmsError('XksKeyInvalidConfiguration', `The external key ${externalKeyId} is not enabled in the external key manager of ${this.parts.customKeyStoreId}.`);
      }
      if (e instanceof XksProxyError && e.errorName === 'InvalidKeyUsageException') {
        throw new KmsError('XksKeyInvalidConfiguration', `The external key ${externalKeyId} does not support the requested operation in the external key manager of ${this.parts.customKeyStoreId}.`);
      }
      if (e instanceof XksProxyError) throw new KmsError('CustomKeyStoreInvalidState', `The external key store ${this.parts.customKeyStoreId} could not use its XKS proxy: ${e.message}`);
      throw e;
    }
    const usage = new Set(meta.keyUsage);
    if (meta.keySpec !== 'AES_256' || meta.keyStatus !== 'ENABLED' || !usage.has('ENCRYPT') || !usage.has('DECRYPT')) {
      throw new KmsError(
        'XksKeyInvalidConfiguration',
        `External key ${externalKeyId} is ${meta.keySpec}, ${meta.keyStatus}, usage [${meta.keyUsage.join(', ')}]: a KMS key needs an AES_256 external key that is ENABLED for ENCRYPT and DECRYPT.`,
      );
    }
    const made = await this.parts.inner.generate(keyId, SYMMETRIC_DEFAULT);
    return { materialId: made.materialId, ref: encodeExternalRef({ externalKeyId, inner: made.ref }), publicKey: null };
  }

  private innerMaterial(m: StoredMaterial): { externalKeyId: string; inner: StoredMaterial } {
    if (m.keySpec !== SYMMETRIC_DEFAULT) throw this.unsupported(`use keys of key spec ${m.keySpec}`);
    this.requireOpen();
    const r = decodeExternalRef(m.ref);
    const id = `${m.keyId}/${m.materialId}`;
    if (!this.lineage.used.has(id)) this.lineage.used.set(id, { keyId: m.keyId, materialId: m.materialId });
    return { externalKeyId: r.externalKeyId, inner: { ...m, ref: r.inner } };
  }

  /**
   * A call that held this store (or the store it replaced) from before its close: refused before it unseals
   * the inner material again, which close() has just wiped (AWS: a key of a disconnected store is
   * KMSInvalidStateException).
   */
  private requireOpen(): void {
    if (this.closed) throw kmsErrors.invalidState(`The external key store ${this.parts.customKeyStoreId} is disconnected.`);
  }

  async encryptBlobPayload(m: StoredMaterial, payload: BlobPayload, plaintext: Uint8Array): Promise<Buffer> {
    const { externalKeyId, inner } = this.innerMaterial(m);
    const once = await this.parts.inner.encryptBlobPayload(inner, payload, plaintext);
    let outer;
    try {
      outer = await this.parts.client.encrypt(externalKeyId, { plaintext: once, aad: proxyAad(payload.aad) }, this.metadata(payload.caller, m.keyId, 'Encrypt'));
    } catch (e) {
      throw this.proxyFailure(e);
    }
    const cm = outer.ciphertextMetadata ?? Buffer.alloc(0);
    return Buffer.concat([Buffer.from([ENVELOPE_V1, outer.iv.length]), outer.iv, Buffer.from([cm.length]), cm, outer.tag, outer.ciphertext]);
  }

  async decryptBlobPayload(m: StoredMaterial, payload: BlobPayload, sealed: Uint8Array): Promise<Buffer> {
    const { externalKeyId, inner } = this.innerMaterial(m);
    const env = openEnvelope(sealed);
    let once: Buffer;
    try {
      once = await this.parts.client.decrypt(externalKeyId, { ...env, aad: proxyAad(payload.aad) }, this.metadata(payload.caller, m.keyId, 'Decrypt'));
    } catch (e) {
      if (e instanceof XksProxyError && e.errorName === 'InvalidCiphertextException') throw new AeadAuthenticationError();
      throw this.proxyFailure(e);
    }
    try {
      // Disconnected while the proxy answered: its inner material is forgotten, and stays so.
      this.requireOpen();
      return await this.parts.inner.decryptBlobPayload(inner, payload, once);
    } finally {
      once.fill(0);
    }
  }

  /** Destroys the inner material; the external key is the proxy's and stays (AWS never deletes it). */
  async destroy(m: Pick<StoredMaterial, 'keyId' | 'materialId' | 'ref'>): Promise<void> {
    await this.parts.inner.destroy({ ...m, ref: decodeExternalRef(m.ref).inner });
  }

  /**
   * The appliance sealed: the inner material is the standard store's, which forgets it; the proxy
   * credential goes with this store, which the KMS domain closes and unregisters on seal.
   */
  forgetAll(): void {}

  /**
   * Closes the proxy connections and forgets the inner materials the store used: the store is
   * disconnected, and no call can use them until it connects again (a new store, which unseals them anew).
   * The stores it replaced (retired, their calls perhaps still at the proxy) are closed to them too.
   */
  close(): void {
    this.state = 'DISCONNECTED';
    this.parts.client.close();
    // A retired store closes alone: its successor goes on with the materials.
    if (this.retired) {
      this.closedItself = true;
      return;
    }
    if (!this.closed) this.lineage.closes++;
    this.closedItself = true;
    // A disconnect (or a seal) ends the calls still on older settings' connections too, not after their deadline.
    for (const c of this.lineage.retiredClients) c.close();
    this.lineage.retiredClients.clear();
    for (const m of this.lineage.used.values()) this.parts.inner.forgetMaterial(m.keyId, m.materialId);
    this.lineage.used.clear();
  }

  /** Replaced by a store with new proxy settings: the calls in progress end on the old connections, which then close. */
  retire(): void {
    this.state = 'DISCONNECTED';
    this.retired = true;
    this.parts.client.retire();
    for (const c of this.lineage.retiredClients) if (c.finished) this.lineage.retiredClients.delete(c);
    if (!this.parts.client.finished) this.lineage.retiredClients.add(this.parts.client);
  }
}
