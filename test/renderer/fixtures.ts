// Answers the fake appliance gives in the console's component tests, in the contract's shapes
// (main/console/views.ts), with real fingerprints and a real signable statement; and the HSMs and XKS
// proxy stores, credentials and keys the key store ceremony lists.
import { createHash, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { ApprovalView, HsmTokenView, HsmView, ImportParametersView, KeyDetailView, KeySummaryView, XksCredentialView, XksKeyView, XksStoreView } from '../../main/console/index.js';

export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const REQUEST_ID = 'apr-0123456789abcdef01234567';

export const grouped = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').match(/.{4}/g)!.join(' ');

export function keySummary(over: Partial<KeySummaryView> = {}): KeySummaryView {
  return {
    keyId: KEY_ID,
    arn: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`,
    state: 'PendingImport',
    origin: 'EXTERNAL',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    description: 'byok test key',
    createdAt: '2025-05-01T12:00:00.000Z',
    ...over,
  };
}

export function keyDetail(state = 'Enabled', over: Partial<KeyDetailView['metadata']> = {}): KeyDetailView {
  return {
    metadata: {
      KeyId: KEY_ID,
      Arn: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`,
      AWSAccountId: '111122223333',
      KeyState: state,
      Origin: 'EXTERNAL',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Description: 'byok test key',
      CreationDate: 1_746_100_800,
      Enabled: state === 'Enabled',
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      ...over,
    },
    aliases: ['alias/byok'],
    tags: [{ TagKey: 'team', TagValue: 'custody' }],
    policy: '{"Version":"2012-10-17","Statement":[]}',
    rotationEnabled: false,
    rotations: [],
    recentAudit: [],
  };
}

/** Import parameters with fingerprints of their own bytes (or `wrongFingerprint` for the token's). */
export function importParameters(opts: { wrongFingerprint?: boolean } = {}): ImportParametersView {
  const publicKey = randomBytes(294);
  const token = randomBytes(180);
  return {
    keyId: KEY_ID,
    publicKey: publicKey.toString('base64'),
    publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${publicKey.toString('base64')}\n-----END PUBLIC KEY-----\n`,
    importToken: token.toString('base64'),
    parametersValidTo: '2030-01-02T00:00:00.000Z',
    publicKeyFingerprint: grouped(publicKey),
    importTokenFingerprint: opts.wrongFingerprint ? grouped(randomBytes(8)) : grouped(token),
  };
}

export const STATEMENT = Buffer.from(`{"action":"kms:ImportKeyMaterial","applianceId":"app-1","parametersDigest":"00","request":"${REQUEST_ID}"}\n`);

export function approval(over: Partial<ApprovalView> = {}): ApprovalView {
  return {
    id: REQUEST_ID,
    action: 'kms:ImportKeyMaterial',
    actionClass: 'key-import',
    status: 'PENDING',
    parameters: `{"input":{"KeyId":"${KEY_ID}"}}`,
    parametersDigest: createHash('sha256').update(`{"input":{"KeyId":"${KEY_ID}"}}`).digest('hex'),
    requester: 'alice',
    createdAt: '2025-05-01T12:00:00.000Z',
    expiresAt: '2030-05-01T12:30:00.000Z',
    executedAt: null,
    outcome: null,
    threshold: 2,
    operators: ['alice', 'bob', 'carol'],
    approvals: [],
    statement: STATEMENT.toString('base64'),
    hasResult: false,
    ...over,
  };
}

/** A custodian with an Ed25519 key: its PEM (as a key file holds it) and a verifier of signatures. */
export function custodianKey(): { pem: string; publicKey: KeyObject; verifies(sig: Buffer): boolean } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey, verifies: (sig) => verify(null, STATEMENT, publicKey, sig) };
}

export const HSM_ID = 'cluster-abcdefghijk23';
export const STORE_ID = 'xks-5b0c1f9e-8a8e-4a43-9d55-0e6f4f1c2a77';
export const XKS_ACCESS_KEY_ID = 'KURAXKSABCDEFGHIJKLMNOPQ';
export const EXTERNAL_KEY_ID = 'kura-xks-0f1e2d3c4b5a69788796a5b4c3d2e1f0';

export function hsmView(over: Partial<HsmView> = {}): HsmView {
  return {
    hsmId: HSM_ID,
    modulePath: '/usr/lib/softhsm/libsofthsm2.so',
    tokenLabel: 'kura',
    manufacturer: 'SoftHSM project',
    model: 'SoftHSM v2',
    serialNumber: '0b9c4f5e1d2a3b4c',
    createdAt: '2025-05-01T12:00:00.000Z',
    ...over,
  };
}

export const hsmToken = (over: Partial<HsmTokenView> = {}): HsmTokenView => ({
  label: 'kura',
  manufacturerId: 'SoftHSM project',
  model: 'SoftHSM v2',
  serialNumber: '0b9c4f5e1d2a3b4c',
  vendor: 'SoftHSM',
  loginRequired: true,
  aesGcm: true,
  ...over,
});

export function xksStore(over: Partial<XksStoreView> = {}): XksStoreView {
  return { storeId: STORE_ID, uriPathPrefix: 'example', uriPath: '/example/kms/xks/v1', hsmId: null, credentials: 1, keys: 1, createdAt: '2025-05-01T12:00:00.000Z', ...over };
}

export const xksCredential = (over: Partial<XksCredentialView> = {}): XksCredentialView => ({ accessKeyId: XKS_ACCESS_KEY_ID, storeId: STORE_ID, createdAt: '2025-05-01T12:00:00.000Z', ...over });

export const xksKey = (over: Partial<XksKeyView> = {}): XksKeyView => ({
  externalKeyId: EXTERNAL_KEY_ID,
  storeId: STORE_ID,
  keyUsage: ['ENCRYPT', 'DECRYPT'],
  keyStatus: 'ENABLED',
  createdAt: '2025-05-01T12:00:00.000Z',
  ...over,
});
