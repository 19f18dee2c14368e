// What the store's contract suites (./*.ts) run against: a harness that opens an empty, migrated Store
// of one implementation (SQLite now: test/store/sqlite/harness.ts), and records to fill it with. A
// suite sees only the ports of main/store/index.ts, never SQL, so the same suites can run on any
// implementation of them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import type { ApprovalRecord, ApprovalRequestRecord, AuditRecord, CustomKeyStoreRecord, HsmRecord, KeyRecord, MaterialRecord, OperatorRecord, QuorumPolicyRecord, Store } from '../../../main/store/index.js';

export interface StoreHarness {
  store: Store;
  /** Closes the store and removes what it kept. */
  close(): Promise<void>;
}

/** Opens a new, empty store of the implementation under test. */
export type OpenStore = () => Promise<StoreHarness>;

/** A fresh store for every test of the suite; the store of the running test. */
export function freshStore(open: OpenStore): () => Store {
  let h: StoreHarness | undefined;
  beforeEach(async () => {
    h = await open();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  return () => h!.store;
}

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

/** A key record with every field set, nulls where a new symmetric key has them; `over` changes any. */
export function keyRecord(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: randomUUID(),
    accountId: ACCOUNT,
    region: REGION,
    description: 'a key',
    keyUsage: 'ENCRYPT_DECRYPT',
    keySpec: 'SYMMETRIC_DEFAULT',
    origin: 'AWS_KMS',
    state: 'Enabled',
    createdAt: 1_000,
    deletionAt: null,
    pendingWindowDays: null,
    rotationEnabled: false,
    rotationPeriodDays: null,
    nextRotationAt: null,
    onDemandRotationStartedAt: null,
    policy: '{"Version":"2012-10-17","Statement":[]}',
    currentMaterialId: null,
    expirationModel: null,
    validTo: null,
    customKeyStoreId: null,
    xksKeyId: null,
    ...over,
  };
}

/** A generated material of a key (a random reference, no public key); `over` changes any field. */
export function materialRecord(keyId: string, over: Partial<MaterialRecord> = {}): MaterialRecord {
  return {
    keyId,
    materialId: randomBytes(32).toString('hex'),
    createdAt: 1_000,
    rotationType: null,
    rotatedAt: null,
    materialRef: randomBytes(61),
    publicKey: null,
    importState: null,
    validTo: null,
    expirationModel: null,
    description: null,
    pendingRotation: false,
    ...over,
  };
}

export function customKeyStoreRecord(over: Partial<CustomKeyStoreRecord> = {}): CustomKeyStoreRecord {
  const id = `cks-${randomBytes(9).toString('hex').slice(0, 17)}`;
  return { id, accountId: ACCOUNT, region: REGION, name: `store ${id}`, type: 'AWS_CLOUDHSM', connectionState: 'DISCONNECTED', createdAt: 1_000, hsmId: null, config: { tokenLabel: 'kura', slots: [1, 2] }, ...over };
}

export function hsmRecord(over: Partial<HsmRecord> = {}): HsmRecord {
  const id = `cluster-${randomBytes(16).toString('hex').replace(/[^2-7a-f]/g, '').padEnd(11, 'a').slice(0, 11)}`;
  return { id, modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: `token ${id}`, libraryParameters: null, manufacturer: 'SoftHSM project', model: 'SoftHSM v2', serialNumber: randomBytes(8).toString('hex'), createdAt: 1_000, ...over };
}

/** An audit row, its time in the entry as in the column; the store does not check the chain, so any bytes do as hashes. */
export function auditRecord(seq: number, event: Record<string, unknown> = {}, at = 1_000 * seq): AuditRecord {
  return { seq, at, entry: JSON.stringify({ at, operation: `Op${seq}`, ...event }), prevHash: randomBytes(32), hash: randomBytes(32) };
}

/** An Ed25519 operator with no passphrase; the store does not parse keys, so random bytes do as the SPKI. */
export function operatorRecord(over: Partial<OperatorRecord> = {}): OperatorRecord {
  const publicKey = randomBytes(44);
  const fingerprint = createHash('sha256').update(publicKey).digest('hex').match(/.{4}/g)!.join(' ');
  return { name: `operator-${randomBytes(4).toString('hex')}`, algorithm: 'ed25519', publicKey, fingerprint, passphrase: null, createdAt: 1_000, ...over };
}

export function quorumPolicyRecord(over: Partial<QuorumPolicyRecord> = {}): QuorumPolicyRecord {
  return { actionClass: 'key-deletion', threshold: 2, operators: ['alice', 'bob', 'carol'], expiryMs: 86_400_000, updatedAt: 1_000, ...over };
}

/** A PENDING request to schedule a key's deletion, not yet run. */
export function approvalRequestRecord(over: Partial<ApprovalRequestRecord> = {}): ApprovalRequestRecord {
  const parameters = JSON.stringify({ KeyId: randomUUID(), PendingWindowInDays: 7 });
  return {
    id: randomUUID(),
    actionClass: 'key-deletion',
    action: 'kms:ScheduleKeyDeletion',
    parameters,
    digest: createHash('sha256').update(parameters).digest('hex'),
    requester: `arn:aws:iam::${ACCOUNT}:user/requester`,
    caller: JSON.stringify({ accountId: ACCOUNT, region: REGION }),
    createdAt: 1_000,
    expiresAt: 86_401_000,
    status: 'PENDING',
    outcome: null,
    executedAt: null,
    threshold: 2,
    approvers: ['alice', 'bob', 'carol'],
    sealedSecrets: null,
    sealedResult: null,
    ...over,
  };
}

/** An operator's approval of a request; the store does not verify signatures, so any bytes do. */
export function approvalRecord(requestId: string, operator: OperatorRecord, over: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return { requestId, operator: operator.name, fingerprint: operator.fingerprint, signature: randomBytes(64), createdAt: 2_000, ...over };
}

/** Inserts keys in one transaction and returns them. */
export async function insertKeys(store: Store, ...keys: KeyRecord[]): Promise<KeyRecord[]> {
  await store.db.write(async (tx) => {
    for (const k of keys) await store.keys.insert(tx, k);
  });
  return keys;
}
