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
}

export interface MaterialRecord {
  keyId: string;
  materialId: string;
  createdAt: number;
  /** null for the key's first material; AUTOMATIC or ON_DEMAND for rotations. */
  rotationType: string | null;
  /** The material encrypted under the root key; never the plaintext. */
  materialSealed: Buffer;
  /** DER SubjectPublicKeyInfo of asymmetric material; null for symmetric and HMAC material. */
  publicKey: Buffer | null;
  /** Imported material only: IMPORTED, or PENDING_IMPORT once deleted or expired (materialSealed is then empty). */
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
  /** The wrapping RSA private key (PKCS#8) sealed under the root key. */
  privateKeySealed: Buffer;
  createdAt: number;
  expiresAt: number;
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

export interface SealConfigRecord {
  mode: 'shamir' | 'dev';
  threshold: number;
  shareCount: number;
  shareSetId: string;
  checkValue: Buffer;
  createdAt: number;
}

export interface AuditRecord {
  seq: number;
  at: number;
  entry: string;
  prevHash: Buffer;
  hash: Buffer;
}
