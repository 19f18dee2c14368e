// The domain's records as the operator command contract shows them (main/console/views.ts): ISO 8601
// times, base64 bytes, and nothing secret — no PIN, passphrase record or sealed value leaves through here.
import type { CredentialSummary } from '../../auth/credentials.js';
import { operatorKeyFromSpki } from '../../ceremony/operator-keys.js';
import type { Quorum, RequestView } from '../../ceremony/quorum.js';
import type {
  ApprovalSummaryView,
  ApprovalView,
  ApprovalStatus,
  CredentialView,
  HsmTokenKeysView,
  HsmTokenView,
  HsmView,
  OperatorDetailView,
  OperatorView,
  PolicyView,
  XksCredentialView,
  XksKeyView,
  XksStoreView,
} from '../../console/index.js';
import type { HsmRecord, HsmTokenInfo, TokenKeysListing, XksCredentialView as XksCredential, XksKeyView as XksKey, XksStoreView as XksStore } from '../../kms/index.js';

// The service's records, by way of its own signatures (main/api does not import main/store).
type OperatorRecord = Awaited<ReturnType<Quorum['showOperator']>>;
type QuorumPolicyRecord = Awaited<ReturnType<Quorum['listPolicies']>>[number];
type RequestSummary = Awaited<ReturnType<Quorum['listRequestSummaries']>>[number];

export const iso = (ms: number): string => new Date(ms).toISOString();

export const operatorJson = (o: OperatorRecord): OperatorView => ({
  name: o.name,
  algorithm: o.algorithm,
  fingerprint: o.fingerprint,
  hasPassphrase: o.passphrase !== null,
  createdAt: iso(o.createdAt),
});

/** One operator with their public key as the PEM SubjectPublicKeyInfo `openssl pkey -pubout` writes. */
export const operatorDetailJson = (o: OperatorRecord): OperatorDetailView => ({
  ...operatorJson(o),
  publicKey: operatorKeyFromSpki(o.publicKey).keyObject.export({ format: 'pem', type: 'spki' }).toString(),
});

export const policyJson = (p: QuorumPolicyRecord): PolicyView => ({
  actionClass: p.actionClass,
  threshold: p.threshold,
  operators: [...p.operators],
  expiryMinutes: p.expiryMs / 60_000,
  updatedAt: iso(p.updatedAt),
});

/** A request in a list: what `kura approvals list --json` prints (issue 13 keeps these names). */
export const requestSummaryJson = (s: RequestSummary): ApprovalSummaryView => ({
  id: s.request.id,
  action: s.request.action,
  status: s.request.status as ApprovalStatus,
  approvals: s.approvals,
  threshold: s.threshold,
  expiresAt: iso(s.request.expiresAt),
});

export const requestViewJson = (v: RequestView): ApprovalView => {
  const r = v.request;
  return {
    id: r.id,
    action: r.action,
    actionClass: r.actionClass,
    status: r.status as ApprovalStatus,
    parameters: r.parameters,
    parametersDigest: r.digest,
    requester: r.requester,
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
    executedAt: r.executedAt === null ? null : iso(r.executedAt),
    outcome: r.outcome,
    threshold: v.threshold,
    operators: [...v.operators],
    approvals: v.approvals.map((a) => ({ operator: a.operator, fingerprint: a.fingerprint, createdAt: iso(a.createdAt) })),
    statement: v.statement.toString('base64'),
    hasResult: r.sealedResult !== null,
  };
};

/** A credential as the API shows it: createdAt in ISO 8601. */
export const credentialJson = <T extends CredentialSummary>(c: T): Omit<T, 'createdAt'> & CredentialView => ({ ...c, createdAt: iso(c.createdAt) });

export const hsmJson = (h: HsmRecord): HsmView => ({
  hsmId: h.id,
  modulePath: h.modulePath,
  tokenLabel: h.tokenLabel,
  ...(h.libraryParameters !== null ? { libraryParameters: h.libraryParameters } : {}),
  manufacturer: h.manufacturer,
  model: h.model,
  serialNumber: h.serialNumber,
  createdAt: iso(h.createdAt),
});

export const tokenJson = (t: HsmTokenInfo): HsmTokenView => ({ ...t });

/** A token's keys: each one's use flattened (`use` and the IDs it names), for scripts to filter. */
export const tokenKeysJson = (l: TokenKeysListing): HsmTokenKeysView => ({
  ...l,
  keys: l.keys.map(({ usedBy: { kind, ...ids }, ...k }) => ({ label: k.label, ckaId: k.ckaId, materialId: k.materialId, use: kind, ...ids })),
});

export const xksStoreJson = (s: XksStore): XksStoreView => ({
  storeId: s.storeId,
  uriPathPrefix: s.uriPathPrefix,
  uriPath: s.uriPath,
  hsmId: s.hsmId,
  credentials: s.credentials,
  keys: s.keys,
  createdAt: iso(s.createdAt),
});

export const xksCredentialJson = (c: XksCredential): XksCredentialView => ({ accessKeyId: c.accessKeyId, storeId: c.storeId, createdAt: iso(c.createdAt) });

export const xksKeyJson = (k: XksKey): XksKeyView => ({
  externalKeyId: k.externalKeyId,
  storeId: k.storeId,
  keyUsage: [...k.keyUsage],
  keyStatus: k.keyStatus,
  createdAt: iso(k.createdAt),
});
