// The key store port (DESIGN.md, "The key store port"): the one way main/kms reaches key material.
// Every key lives in exactly one key store — the standard store (material sealed under the root key in
// SQLite, used in process), an HSM key store (AWS_CLOUDHSM: a PKCS#11 token) or an external key store
// (EXTERNAL_KEY_STORE: an XKS proxy) — and each store owns its material references: what it hands back
// when it makes or imports material (a sealed blob, a token object ID, an external key ID), which the
// KMS domain stores and passes back unread. Plaintext key material never leaves a key store; what comes
// out is ciphertext, signatures, MACs, shared secrets and public keys.
//
// Every implementation says `implements KeyStore` and passes the shared contract suite
// (test/keystores/contract.ts). A KeyStoreRegistry maps a key's custom key store ID (null: the standard
// store) to its store, and tells every store when the appliance seals.
//
// Errors: KmsError with code Sealed while the store cannot reach its material, UnsupportedOperation for
// a spec or an operation the store (or the material's spec) does not support; AeadAuthenticationError
// when a blob payload does not authenticate; AsymmetricInputError (main/crypto/asymmetric) for inputs a
// primitive refuses. The KMS domain maps the last two to AWS's errors in one place.
import { KmsError } from '../common/errors.js';
import type {
  AsymmetricEncryptionAlgorithm,
  KeyAgreementAlgorithm,
  KeySpec,
  MacAlgorithm,
  MessageType,
  SigningAlgorithm,
} from '../crypto/asymmetric/index.js';

/** Every key spec AWS KMS offers: SYMMETRIC_DEFAULT and the asymmetric, HMAC and SM2 specs. */
export type KeyStoreSpec = 'SYMMETRIC_DEFAULT' | KeySpec;

/** What kind of store holds a key: the standard store, or a custom key store of one of AWS's two types. */
export type KeyStoreType = 'STANDARD' | 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE';

/** AWS ConnectionStateType. The standard store is always CONNECTED. */
export type ConnectionState = 'CONNECTED' | 'CONNECTING' | 'FAILED' | 'DISCONNECTED' | 'DISCONNECTING';

declare const materialRefBrand: unique symbol;

/**
 * What a key store keeps to find a material again (its sealed bytes, a token object ID, an external key
 * ID), opaque to everyone else: the KMS domain stores it and hands it back, and never reads it.
 */
export type MaterialRef = Buffer & { readonly [materialRefBrand]: true };

/**
 * A reference as the store layer returns it (its column is a plain BLOB). The one place where bytes
 * become a reference again: reading a material row (main/kms/model).
 */
export const materialRefFromStorage = (bytes: Buffer): MaterialRef => bytes as MaterialRef;

/** A material as a call names it to its store. */
export interface StoredMaterial {
  keyId: string;
  materialId: string;
  keySpec: KeyStoreSpec;
  ref: MaterialRef;
  /** DER SubjectPublicKeyInfo of asymmetric material (public, kept beside the reference); null otherwise. */
  publicKey: Buffer | null;
}

/** What generating or importing material gives: its ID, the store's reference, and the public key of asymmetric material. */
export interface NewMaterial {
  /** 64 lower-case hex characters, the shape of AWS's KeyMaterialId. */
  materialId: string;
  ref: MaterialRef;
  publicKey: Buffer | null;
}

/**
 * The payload of one symmetric ciphertext blob (the blob format is main/kms/ciphertext.ts): AES-256-GCM
 * with this IV and AAD (the blob's header and encryption context). Version 2 is sealed under a key
 * derived for this blob alone (SP 800-108r1, with the blob format's label and context); the standard
 * store derives it from its material, an HSM would run the same on its token. Version 1 (read only)
 * was sealed under the material itself.
 */
export interface BlobPayload {
  version: 1 | 2;
  /** Version 2 only: the per-blob key derivation's inputs. */
  derivation: { label: Uint8Array; context: Uint8Array; length: number } | null;
  iv: Uint8Array;
  aad: Uint8Array;
  /**
   * On whose behalf the blob is sealed or opened: an external key store sends it to its proxy as the
   * XKS requestMetadata (AWS does the same); the other stores ignore it.
   */
  caller?: BlobCaller;
}

/** The KMS call behind a blob operation: principal ARN, the KMS key's ARN, the operation and request ID. */
export interface BlobCaller {
  principal: string;
  keyArn: string;
  operation: string;
  requestId: string;
}

/** Wrapping algorithms of AWS's import workflow (GetParametersForImport). */
export type WrappingAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256';
export type WrappingKeySpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096';

/** Key material as a customer wrapped it for import, with the import token's wrapping key. */
export interface WrappedMaterial {
  /** Binds the wrapping key to its import token (the token's hash, hex). */
  tokenId: string;
  wrappingKeyRef: MaterialRef;
  wrappingKeySpec: WrappingKeySpec;
  wrappingAlgorithm: WrappingAlgorithm;
  encryptedKeyMaterial: Uint8Array;
}

export interface GenerateHints {
  label?: string;
  externalKeyId?: string;
  caller?: BlobCaller;
}

export interface KeyStore {
  readonly type: KeyStoreType;
  /** Whether the store takes imported material (AWS: only the standard store does). */
  readonly importsMaterial: boolean;

  connectionState(): ConnectionState;
  /** Whether the store holds keys of this spec, and (when given) with this key usage. Any string: unknown specs are false. */
  supports(spec: string, usage?: string): boolean;

  /**
   * Fresh material of a spec for a key; `hints.label` names it where the store can (an HSM's CKA_LABEL:
   * the key's ARN); `hints.externalKeyId` is the external key an external key store's material is bound
   * to (AWS's XksKeyId), which that store requires.
   */
  generate(keyId: string, spec: KeyStoreSpec, hints?: GenerateHints): Promise<NewMaterial>;
  /** Unwraps, checks against the key's spec and keeps imported material; its ID is derived from the material. */
  importMaterial(target: { keyId: string; keySpec: KeyStoreSpec }, wrapped: WrappedMaterial): Promise<NewMaterial>;
  /** A wrapping key pair for one import token: the public key for the customer, the private key kept by reference. */
  createWrappingKey(tokenId: string, spec: WrappingKeySpec): Promise<{ publicKey: Buffer; ref: MaterialRef }>;

  /**
   * The nonce of a material's next blob header, for a store whose per-blob key derivation is costly (an
   * HSM): the same nonce for a bounded epoch of blobs, which then share one derived key, each with its own
   * random IV. Without it, each blob gets a fresh random nonce, so a key of its own.
   */
  blobNonce?(m: StoredMaterial, bytes: number): Uint8Array;
  /**
   * Seals the payload of a symmetric blob (version 2 only): ciphertext || tag for the standard and HSM
   * stores; an external key store's payload is that, encrypted again by its proxy, in an envelope of its own.
   */
  encryptBlobPayload(m: StoredMaterial, payload: BlobPayload, plaintext: Uint8Array): Promise<Buffer>;
  /** Opens a payload (ciphertext || tag); AeadAuthenticationError, and nothing else, if it does not authenticate. */
  decryptBlobPayload(m: StoredMaterial, payload: BlobPayload, sealed: Uint8Array): Promise<Buffer>;

  /** RSAES-OAEP or SM2PKE with the material's public key. */
  encryptAsymmetric(m: StoredMaterial, algorithm: AsymmetricEncryptionAlgorithm, plaintext: Uint8Array): Promise<Buffer>;
  decryptAsymmetric(m: StoredMaterial, algorithm: AsymmetricEncryptionAlgorithm, ciphertext: Uint8Array): Promise<Buffer>;
  sign(m: StoredMaterial, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): Promise<Buffer>;
  verify(m: StoredMaterial, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType, signature: Uint8Array): Promise<boolean>;
  generateMac(m: StoredMaterial, algorithm: MacAlgorithm, message: Uint8Array): Promise<Buffer>;
  verifyMac(m: StoredMaterial, algorithm: MacAlgorithm, message: Uint8Array, mac: Uint8Array): Promise<boolean>;
  deriveSharedSecret(m: StoredMaterial, algorithm: KeyAgreementAlgorithm, peerPublicKey: Uint8Array): Promise<Buffer>;

  /** The material is gone (its key deleted, imported material deleted or expired): drop and wipe whatever the store holds of it. */
  destroy(m: Pick<StoredMaterial, 'keyId' | 'materialId' | 'ref'>): Promise<void>;
  /** The appliance sealed: forget every secret held in memory; material is unusable until it is unsealed. */
  forgetAll(): void;
}

/**
 * Maps a key's custom key store ID to its key store: null is the standard store. Custom key stores are
 * registered as they connect and unregistered as they disconnect; the registry also passes the
 * appliance's seal on to every store.
 */
export class KeyStoreRegistry {
  private readonly custom = new Map<string, KeyStore>();

  constructor(private readonly deps: { standard: KeyStore; root: { onSeal(listener: () => void): void } }) {
    deps.root.onSeal(() => this.forgetAll());
  }

  get standard(): KeyStore {
    return this.deps.standard;
  }

  register(customKeyStoreId: string, store: KeyStore): void {
    if (this.custom.has(customKeyStoreId)) throw new KmsError('Internal', `Custom key store ${customKeyStoreId} is registered already.`);
    this.custom.set(customKeyStoreId, store);
  }

  unregister(customKeyStoreId: string): void {
    this.custom.delete(customKeyStoreId);
  }

  /** Whether a custom key store is registered and CONNECTED: its keys are usable. */
  isConnected(customKeyStoreId: string): boolean {
    return this.custom.get(customKeyStoreId)?.connectionState() === 'CONNECTED';
  }

  /** The store of a key; a custom key store that is not registered (unknown, or not connected) is CustomKeyStoreNotFound. */
  storeFor(customKeyStoreId: string | null): KeyStore {
    if (customKeyStoreId === null) return this.deps.standard;
    const store = this.custom.get(customKeyStoreId);
    if (!store) throw new KmsError('CustomKeyStoreNotFound', `Custom key store ${customKeyStoreId} does not exist.`);
    return store;
  }

  all(): KeyStore[] {
    return [this.deps.standard, ...this.custom.values()];
  }

  forgetAll(): void {
    for (const store of this.all()) store.forgetAll();
  }
}
