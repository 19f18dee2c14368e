// What the operator commands answer (./commands.ts): the JSON the admin API sends and the desktop's IPC
// will pass, the same shapes for both. Types only — the renderer imports these, and nothing here may
// carry key material, shares, PINs or a passphrase. Times are ISO 8601 strings, never epoch
// milliseconds; binary values (a statement to sign) are base64.

/** An enrolled custodian as lists show them. */
export interface OperatorView {
  name: string;
  algorithm: 'ed25519' | 'ecdsa-p256' | string;
  /** SHA-256 of the key's SubjectPublicKeyInfo, in groups of four hex digits, for reading aloud. */
  fingerprint: string;
  /** Whether a console passphrase is set (the console's sign-in needs one). */
  hasPassphrase: boolean;
  createdAt: string;
}

/** One operator with their public key, PEM SubjectPublicKeyInfo as `openssl pkey -pubout` writes it. */
export interface OperatorDetailView extends OperatorView {
  publicKey: string;
}

export interface PolicyView {
  actionClass: string;
  threshold: number;
  operators: string[];
  expiryMinutes: number;
  updatedAt: string;
}

export type ApprovalStatus = 'PENDING' | 'EXECUTING' | 'EXECUTED' | 'FAILED' | 'CANCELLED';

/** An approval request in a list: what `kura approvals list --json` prints (issue 13 keeps these names). */
export interface ApprovalSummaryView {
  id: string;
  action: string;
  status: ApprovalStatus;
  approvals: number;
  threshold: number;
  expiresAt: string;
}

export interface ApprovalView {
  id: string;
  action: string;
  actionClass: string;
  status: ApprovalStatus;
  /** The action's parameters as canonical JSON: what the digest is over. */
  parameters: string;
  parametersDigest: string;
  requester: string;
  createdAt: string;
  expiresAt: string;
  executedAt: string | null;
  outcome: string | null;
  threshold: number;
  operators: string[];
  approvals: { operator: string; fingerprint: string; createdAt: string }[];
  /** The exact bytes each approver signs (ceremony/statement.ts), base64. */
  statement: string;
  /** Whether an executed command's answer waits for its requester (approvals.result). */
  hasResult: boolean;
}

/**
 * What a change that a quorum policy may gate answers: it took effect (`applied: true` and the change's
 * own fields), or it became an approval request that runs once approved.
 */
export type ChangeView<T extends object> = ({ applied: true } & T) | { applied: false; approvalRequest: ApprovalView };

/** An operator's console session: the token goes in `Authorization: Bearer …` until it expires. */
export interface SessionView {
  token: string;
  operator: string;
  expiresAt: string;
}

export interface SessionInfoView {
  /** The operator signed in, or `kura:admin` for the admin token's holder. */
  operator: string;
  /** Null for the admin token, which does not expire. */
  expiresAt: string | null;
  /**
   * How long until the session's cap (8 hours from sign-in) ends it however it is used, in ms as of this
   * answer — a duration, so that a console whose clock is not the appliance's counts it on its own. Null
   * for the admin token.
   */
  endsInMs: number | null;
}

export interface CredentialView {
  accessKeyId: string;
  accountId: string;
  principalArn: string;
  description: string;
  createdAt: string;
}

/** A new credential: its secret is in this answer only. */
export interface NewCredentialView extends CredentialView {
  secretAccessKey: string;
}

/** What a token says of itself (C_GetTokenInfo), and what Kura found it can do. */
export interface HsmTokenView {
  label: string;
  manufacturerId: string;
  model: string;
  serialNumber: string;
  /** The vendor table's name for the module (SoftHSM, NSS, default). */
  vendor: string;
  loginRequired: boolean;
  aesGcm: boolean;
}

export interface HsmView {
  hsmId: string;
  modulePath: string;
  tokenLabel: string;
  libraryParameters?: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
  createdAt: string;
}

/**
 * A secret key on an HSM's token (never its value) and what uses it: a KMS key (keyId), an XKS
 * proxy key (xksStoreId, externalKeyId), an XKS store's health check (xksStoreId), nothing though Kura's
 * label says it is Kura's (orphan), or nothing of Kura's (not-kura: another application's).
 */
export interface HsmTokenKeyView {
  label: string;
  /** CKA_ID, hex. */
  ckaId: string;
  materialId: string;
  use: 'kms-key' | 'xks-key' | 'xks-health-check' | 'orphan' | 'not-kura';
  keyId?: string;
  xksStoreId?: string;
  externalKeyId?: string;
}

export interface HsmTokenKeysView {
  /** The custom key store whose login listed the token; null when an XKS proxy store's did (hsms.tokenKeys). */
  customKeyStoreId: string | null;
  hsmId: string;
  tokenLabel: string;
  /** The XKS proxy stores on the same HSM, which share the token's login: their keys are listed as theirs. */
  sharedWith: string[];
  keys: HsmTokenKeyView[];
  /** The token holds more keys than one listing reads: these are the first. */
  truncated: boolean;
}

export interface XksStoreView {
  storeId: string;
  uriPathPrefix: string;
  uriPath: string;
  hsmId: string | null;
  credentials: number;
  keys: number;
  createdAt: string;
}

/** A new XKS store or credential: the secret access key AWS KMS signs with is in this answer only. */
export interface XksSecretView {
  storeId: string;
  uriPath?: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface XksCredentialView {
  accessKeyId: string;
  storeId: string;
  createdAt: string;
}

export interface XksKeyView {
  externalKeyId: string;
  storeId: string;
  keyUsage: ('ENCRYPT' | 'DECRYPT')[];
  keyStatus: 'ENABLED' | 'DISABLED';
  createdAt: string;
}

export interface AuditVerificationView {
  ok: boolean;
  entries: number;
  head: string | null;
  firstBad?: { seq: number; reason: string };
}

export interface TranscriptVerificationView {
  ok: boolean;
  problems: string[];
}

/** A ceremony transcript (ceremony/transcript.ts documents its fields): JSON an auditor keeps. */
export type TranscriptView = Record<string, unknown>;

/** Whether the appliance is initialized, sealed or unsealed, and how it unseals. */
export interface StatusView {
  state: 'uninitialized' | 'sealed' | 'unsealed';
  mode: 'shamir' | 'pkcs11' | 'dev' | null;
  /** Shares needed and made (Shamir and dev); null for PKCS#11, which a PIN unseals. */
  threshold: number | null;
  shares: number | null;
  /** Shares given so far towards the threshold while sealed. */
  progress: number;
  applianceId: string;
  version: string;
}

/** A key as KMS's DescribeKey answers its KeyMetadata (AWS's field names; dates in epoch seconds). */
export interface KeyMetadataView {
  KeyId: string;
  Arn: string;
  AWSAccountId: string;
  KeyState: string;
  Origin: string;
  KeySpec: string;
  KeyUsage: string;
  Description: string;
  CreationDate: number;
  Enabled: boolean;
  DeletionDate?: number;
  PendingDeletionWindowInDays?: number;
  ValidTo?: number;
  ExpirationModel?: string;
  CustomKeyStoreId?: string;
  [field: string]: unknown;
}

/** A key in the console's list (one row). */
export interface KeySummaryView {
  keyId: string;
  arn: string;
  /** The state DescribeKey answers (Unavailable while the key's custom key store is not connected, PendingImport once its imported material has expired), not the one stored. */
  state: string;
  origin: string;
  keySpec: string;
  keyUsage: string;
  description: string;
  createdAt: string;
}

/** One page of keys: `next` is the `after` of the next page, null on the last. */
export interface KeyPageView {
  accountId: string;
  region: string;
  keys: KeySummaryView[];
  next: string | null;
  /** How many keys match the filters (all pages). */
  total: number;
}

export interface AuditEntryView {
  seq: number;
  time: string;
  principal: string;
  source: string;
  operation: string;
  outcome: 'ok' | 'error';
  keyId?: string;
  errorCode?: string;
  details?: Record<string, string | number | boolean>;
  /** The entry's chain hash (hex). */
  hash: string;
}

export interface KeyDetailView {
  metadata: KeyMetadataView;
  aliases: string[];
  tags: { TagKey: string; TagValue: string }[];
  policy: string;
  rotationEnabled: boolean;
  /** Its materials' rotations, oldest first (KMS's ListKeyRotations). */
  rotations: Record<string, unknown>[];
  /** The newest audit entries that name the key. */
  recentAudit: AuditEntryView[];
}

/** What GetParametersForImport gives, for the BYOK ceremony (files to carry to the wrapping machine). */
export interface ImportParametersView {
  keyId: string;
  /** The wrapping public key: DER SubjectPublicKeyInfo in base64, and as PEM. */
  publicKey: string;
  publicKeyPem: string;
  importToken: string;
  parametersValidTo: string;
  /** SHA-256 of the public key's DER and of the token's bytes, hex in groups of four, to read aloud. */
  publicKeyFingerprint: string;
  importTokenFingerprint: string;
}

export interface DashboardView {
  status: StatusView;
  /** Where clients reach the appliance (null when this transport does not know its listener). */
  endpoints: { kms: string | null; console: string | null };
  /** byState counts each key in the state DescribeKey answers for it, as KeySummaryView.state. */
  keys: { accountId: string; region: string; total: number; byState: Record<string, number>; byOrigin: Record<string, number> } | null;
  customKeyStores: { id: string; name: string; type: string; connectionState: string }[];
  pendingApprovals: number;
  audit: { entries: number; head: string | null };
}

export interface NetworkStatusView {
  /** Non-loopback interfaces that are up, with an address: a ceremony should run with none. */
  interfaces: { name: string; address: string; family: string }[];
  offline: boolean;
}
