// Row shapes as the store keeps them. The domain (main/kms) maps these to AWS shapes; AWS PascalCase
// never reaches this layer. Times are epoch milliseconds.

export interface KeyRecord {
  keyId: string;
  accountId: string;
  region: string;
  description: string;
  keyUsage: string;
  keySpec: string;
  origin: string;
  state: string;
  createdAt: number;
  deletionAt: number | null;
  pendingWindowDays: number | null;
  rotationEnabled: boolean;
  rotationPeriodDays: number | null;
  nextRotationAt: number | null;
  onDemandRotationStartedAt: number | null;
  policy: string;
  currentMaterialId: string | null;
  /** Imported keys: KEY_MATERIAL_EXPIRES or KEY_MATERIAL_DOES_NOT_EXPIRE, and when the current material expires. */
  expirationModel: string | null;
  validTo: number | null;
  /** The custom key store the key lives in; null for the standard key store. */
  customKeyStoreId: string | null;
  /** A key in an external key store: the external key it is bound to (AWS's XksKeyId); null otherwise. */
  xksKeyId: string | null;
}

export interface MaterialRecord {
  keyId: string;
  materialId: string;
  createdAt: number;
  /** null for the key's first material; AUTOMATIC or ON_DEMAND for rotations. */
  rotationType: string | null;
  /**
   * When a rotation made this material current (createdAt is when it was made or imported, which never
   * changes afterwards); null for the first material and material pending rotation, and for rotations
   * stored before schema version 15, whose createdAt is the rotation's time.
   */
  rotatedAt: number | null;
  /**
   * What the key's key store keeps to find this material again, opaque outside that store (the
   * standard store's material sealed under the root key; a token object; an external key ID); never
   * the plaintext. null once imported material was deleted or expired (stored as an empty value).
   */
  materialRef: Buffer | null;
  /** DER SubjectPublicKeyInfo of asymmetric material; null for symmetric and HMAC material. */
  publicKey: Buffer | null;
  /** Imported material only: IMPORTED, or PENDING_IMPORT once deleted or expired (materialRef is then null). */
  importState: string | null;
  validTo: number | null;
  expirationModel: string | null;
  description: string | null;
  /** Imported with ImportType NEW_KEY_MATERIAL and not yet made current by RotateKeyOnDemand. */
  pendingRotation: boolean;
}

export interface ImportTokenRecord {
  tokenHash: Buffer;
  keyId: string;
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  /** The key store's reference to the wrapping RSA private key (the standard store: sealed under the root key). */
  wrappingKeyRef: Buffer;
  createdAt: number;
  expiresAt: number;
}

/** A custom key store (AWS CreateCustomKeyStore): an HSM token or an external key store proxy. */
export interface CustomKeyStoreRecord {
  id: string;
  /** The account and Region the store belongs to (AWS: a custom key store is a resource of both). */
  accountId: string;
  region: string;
  /** Unique within the store's account and Region. */
  name: string;
  type: 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE';
  /** AWS ConnectionStateType. */
  connectionState: 'CONNECTED' | 'CONNECTING' | 'FAILED' | 'DISCONNECTED' | 'DISCONNECTING';
  createdAt: number;
  /** AWS_CLOUDHSM: the registered HSM (HsmRecord) behind the store; null for other types. */
  hsmId: string | null;
  /** The type's own settings (the sealed PIN and trust anchor; proxy URI and path …), kept as JSON. */
  config: Record<string, unknown>;
}

/** An HSM registered with the appliance (`kura hsm add`): a PKCS#11 module and one of its tokens. */
export interface HsmRecord {
  /** `cluster-` and 11 characters of [2-7a-z]: the shape of a CloudHSM cluster ID. */
  id: string;
  modulePath: string;
  tokenLabel: string;
  /** NSS softokn's C_Initialize parameters (its database directory); null for other modules. */
  libraryParameters: string | null;
  /** What the token said of itself when it was registered. */
  manufacturer: string;
  model: string;
  serialNumber: string;
  createdAt: number;
}

export interface AliasRecord {
  accountId: string;
  region: string;
  aliasName: string;
  keyId: string;
  createdAt: number;
  updatedAt: number;
}

export interface TagRecord {
  tagKey: string;
  tagValue: string;
}

export interface CredentialRecord {
  accessKeyId: string;
  /** The secret access key encrypted under the root key. */
  secretSealed: Buffer;
  accountId: string;
  principalArn: string;
  description: string;
  createdAt: number;
}

/**
 * How a pkcs11-sealed root key is found again: the token (module, label, NSS library parameters), the
 * CKA_ID of the non-extractable AES key on it, and the root key sealed under that key by the token
 * (AES-256-GCM: ciphertext || 16-byte tag, with Kura's 12-byte IV). The PIN is never stored.
 */
export interface Pkcs11SealRecord {
  modulePath: string;
  tokenLabel: string;
  libraryParameters?: string;
  /** The token's serial number at init (absent in appliances initialised before Kura recorded it). */
  serialNumber?: string;
  /** CKA_ID of the wrapping key (16 random bytes). */
  keyId: Buffer;
  /** Its CKA_LABEL, kura-root-wrap:<applianceId>. */
  keyLabel: string;
  iv: Buffer;
  sealedRootKey: Buffer;
}

export interface SealConfigRecord {
  mode: 'shamir' | 'dev' | 'pkcs11';
  /** Shamir: M; dev and pkcs11: 1. */
  threshold: number;
  /** Shamir: N; dev and pkcs11: 1. */
  shareCount: number;
  shareSetId: string;
  checkValue: Buffer;
  createdAt: number;
  /** pkcs11 mode only (and always there in it). */
  pkcs11?: Pkcs11SealRecord;
}

export interface AuditRecord {
  seq: number;
  at: number;
  entry: string;
  prevHash: Buffer;
  hash: Buffer;
}

/** A store Kura serves as an XKS proxy (`kura xks stores create`). */
export interface XksStoreRecord {
  id: string;
  /** '' for none; 'a/b' for /a/b/kms/xks/v1. */
  uriPathPrefix: string;
  /** The HSM its keys live on; null: Kura's standard key store. */
  hsmId: string | null;
  /** On an HSM: the token's user PIN, sealed under the root key; null otherwise. */
  pinSealed: Buffer | null;
  /** On an HSM: the key store's reference to the token key its deep health check uses (opaque); null otherwise. */
  healthKeyRef: Buffer | null;
  createdAt: number;
}

/** A SigV4 credential of an XKS proxy store; its secret sealed under the root key. */
export interface XksCredentialRecord {
  accessKeyId: string;
  storeId: string;
  secretSealed: Buffer;
  createdAt: number;
}

/** A key of an XKS proxy store. */
export interface XksKeyRecord {
  externalKeyId: string;
  storeId: string;
  usage: ('ENCRYPT' | 'DECRYPT')[];
  status: 'ENABLED' | 'DISABLED';
  materialId: string;
  /** The key store's reference to the material (opaque). */
  materialRef: Buffer;
  createdAt: number;
}

/** A custodian enrolled to approve quorum actions (issue 13): their public key and console passphrase. */
export interface OperatorRecord {
  name: string;
  /** 'ed25519' or 'ecdsa-p256'. */
  algorithm: string;
  /** DER SubjectPublicKeyInfo. */
  publicKey: Buffer;
  /** SHA-256 of the SPKI, hex in groups of four (main/ceremony/operator-keys.ts). */
  fingerprint: string;
  /** The console passphrase's scrypt record as JSON (main/ceremony/passphrase.ts); null: none set. */
  passphrase: string | null;
  createdAt: number;
}

/** How many of which operators must approve an action class (key-import, key-deletion, …). */
export interface QuorumPolicyRecord {
  actionClass: string;
  threshold: number;
  /** Operator names allowed to approve, in the order given. */
  operators: string[];
  /** How long a request of this class waits for its approvals. */
  expiryMs: number;
  updatedAt: number;
}

export type ApprovalRequestStatus = 'PENDING' | 'EXECUTING' | 'EXECUTED' | 'FAILED' | 'CANCELLED';

/** A gated action waiting for (or done with) its approvals. */
export interface ApprovalRequestRecord {
  id: string;
  actionClass: string;
  /** What runs: `kms:ScheduleKeyDeletion`, `kura:OperatorAdd`, … */
  action: string;
  /** The action's parameters as canonical JSON (docs/canonical-json.md). */
  parameters: string;
  /** SHA-256 of `parameters`, hex. */
  digest: string;
  /** Who asked: a principal ARN or an operator. */
  requester: string;
  /** What the executor needs to run the call again as it was asked (JSON; never a secret). */
  caller: string;
  /**
   * The call's secret inputs (a token PIN …), which its parameters leave out, sealed under the root key
   * (base64; main/api/admin/commands.ts); null when it has none. Cleared once the request has ended.
   */
  sealedSecrets: string | null;
  /** An executed command's answer sealed under the root key (base64), until its requester takes it once; null: none (left). */
  sealedResult: string | null;
  createdAt: number;
  expiresAt: number;
  status: ApprovalRequestStatus;
  /** The outcome of its execution (an error name and message, or a short result), once run. */
  outcome: string | null;
  executedAt: number | null;
  /** The policy's threshold and operators when the request was made; null: made before Kura kept them. */
  threshold: number | null;
  approvers: string[] | null;
}

/** One operator's signature over a request's statement. */
export interface ApprovalRecord {
  requestId: string;
  operator: string;
  fingerprint: string;
  signature: Buffer;
  createdAt: number;
}
