// The port the XKS proxy routes reach keys through. The routes do all of the spec's logic (paths,
// SigV4, body validation, key status and usage checks, the cipher AAD encoding, the ciphertext data
// integrity value and the verifying decrypt, response shapes, errors); a backend only finds stores and
// keys and runs AES-256-GCM with the AAD it is given, on whatever holds the key (an HSM through PKCS#11,
// or a standard-store key marked for XKS). It is implemented by the KMS domain, which may not import
// main/api/: everything here is plain data, failures included, so an implementation needs no class of
// this layer.

/** The spec's key usages a route checks (GetKeyMetadata's keyUsage). */
export type XksKeyUsage = 'ENCRYPT' | 'DECRYPT';
export type XksKeyStatus = 'ENABLED' | 'DISABLED';
export type XksEkmHealth = 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE';

/** A proxy store, found by its URI path prefix. */
export interface XksStoreAccess {
  storeId: string;
  /** The secret access key of one of the store's live credentials (two or more for rotation), or undefined. */
  secretFor(accessKeyId: string): Promise<string | undefined> | string | undefined;
  /** The regions a request's credential scope may name; undefined: every AWS region. */
  regions?: ReadonlySet<string>;
  /**
   * The key manager is sealed: no secret can be opened, so no call can be authenticated or served. Calls
   * answer DependencyTimeoutException (AWS KMS retries it), not AuthenticationFailedException, which
   * would tell AWS KMS the credential is wrong.
   */
  sealed?: boolean;
}

export interface XksKeyDescription {
  keySpec: 'AES_256';
  /** At most ten values (spec); a key with neither usage is allowed and refused by every crypto route. */
  keyUsage: readonly XksKeyUsage[];
  keyStatus: XksKeyStatus;
  /**
   * Bytes (at most 20) returned as ciphertextMetadata by Encrypt and bound into the cipher AAD, e.g.
   * a key-material version; undefined for none.
   */
  ciphertextMetadata?: Uint8Array;
}

export interface XksSealed {
  ciphertext: Buffer;
  /** 12 or 16 bytes, chosen by the backend (the key manager generates the IV). */
  iv: Buffer;
  /** 16 bytes. */
  tag: Buffer;
}

export interface XksHealthReport {
  ekmVendor: string;
  /** One to ten external key managers (HSMs) behind the store. */
  ekmFleetDetails: readonly { id: string; model: string; healthStatus: XksEkmHealth }[];
}

/** The failures a backend reports, named after the spec's errors (errors.ts maps them). */
export type XksBackendFailure =
  | 'KeyNotFound'
  | 'InvalidState'
  | 'InvalidKeyUsage'
  | 'InvalidCiphertext'
  | 'AccessDenied'
  | 'UnsupportedOperation'
  | 'Throttling'
  | 'DependencyTimeout'
  | 'Internal';

export type XksOutcome<T> = { ok: true; value: T } | { ok: false; failure: XksBackendFailure; message: string };

export interface XksBackend {
  /** The store served under this prefix ('' for none, 'a/b' for /a/b/kms/xks/v1), or undefined. */
  resolveStore(uriPathPrefix: string): Promise<XksStoreAccess | undefined>;
  /** KeyNotFound for a key the store does not have. */
  metadata(storeId: string, externalKeyId: string): Promise<XksOutcome<XksKeyDescription>>;
  /**
   * AES-256-GCM under the key with exactly this AAD; no usage or status checks (the routes make them).
   * ciphertextMetadata is what metadata() gave for this call (already bound into aad), for backends that
   * select key material by it.
   */
  encrypt(storeId: string, externalKeyId: string, input: { plaintext: Buffer; aad: Buffer; ciphertextMetadata?: Buffer }): Promise<XksOutcome<XksSealed>>;
  /**
   * AES-256-GCM decryption with exactly this AAD; InvalidCiphertext when the tag does not verify.
   * ciphertextMetadata is already bound into aad; it is passed for backends that select key material by it.
   */
  decrypt(
    storeId: string,
    externalKeyId: string,
    input: { ciphertext: Buffer; iv: Buffer; tag: Buffer; aad: Buffer; ciphertextMetadata?: Buffer },
  ): Promise<XksOutcome<Buffer>>;
  /** A deep check of the store's key managers (the backend caches it, at most one minute old). */
  health(storeId: string): Promise<XksOutcome<XksHealthReport>>;
}
