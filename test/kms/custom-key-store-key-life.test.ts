// The life of a KMS key in a custom key store, operation by operation, against what AWS KMS does with
// one: keys in an AWS_CLOUDHSM key store (a fake HSM, test/support/fake-hsm.ts) and in an
// EXTERNAL_KEY_STORE key store (its store and key rows written as Kura keeps them: no proxy is reached
// here, the store stays DISCONNECTED). AWS: such keys do not rotate, and GetKeyRotationStatus on one is
// UnsupportedOperationException ("origin is AWS_CLOUDHSM which is not valid for this operation"), in
// any key state and whether or not the store is connected. At the end of its waiting period such a key
// is deleted whatever its store's connection: a key on a token leaves its material there when the store
// is not connected (AWS's "best effort"), which the log names for the operator; a key of an external
// key store leaves its external key alone, as AWS does, and nothing to warn about. The console's key
// search and tally show such a key as DescribeKey does (Unavailable while its store is not connected);
// DeleteCustomKeyStore counts the store's keys in the transaction that deletes it. Over the wire, with
// SoftHSM2: test/integration/custom-key-store-key-life.test.ts.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../main/common/clock.js';
import { createLogger } from '../../main/common/log.js';
import { ApprovalPendingError, type ApprovalRequest } from '../../main/kms/approval-gate.js';
import type { AccessRequest } from '../../main/kms/authorization.js';
import { generatedMaterialFields, Origin, type Key } from '../../main/kms/model/index.js';
import { FakeHsms } from '../support/fake-hsm.js';
import { kmsCode, kmsError, openDomain, TEST_ACCOUNT, TEST_REGION, type Domain } from '../support/domain.js';
import { trustAnchorPem } from '../support/tokens.js';

const PIN = 'kura-pin-5e1d0c';
const OPERATOR = { operator: 'kura:admin', operation: 'RegisterHsm' };
let trustAnchor: string;
/** What the domain logged (the scheduler's word on a deleted key's material). */
const logLines: string[] = [];
const logged = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(() => {
  trustAnchor = trustAnchorPem();
});

describe('a key in a custom key store', () => {
  let d: Domain;
  let hsms: FakeHsms;
  /** Runs while a call is authorized: after its checks, before its key store is asked for anything. */
  let beforeAuthorizing: ((action: string) => Promise<void>) | undefined;
  /** The actions the approval gate was asked to admit; `gated` ones become approval requests (a `key-store` quorum policy). */
  let admitted: string[];
  let gated: Set<string>;

  beforeEach(async () => {
    hsms = new FakeHsms();
    hsms.addToken('kura-token', PIN, 'serial-1');
    logLines.length = 0;
    beforeAuthorizing = undefined;
    admitted = [];
    gated = new Set();
    const authorizer = { authorize: async (request: AccessRequest) => beforeAuthorizing?.(request.action) };
    const gate = {
      admit: async (request: ApprovalRequest) => {
        admitted.push(request.action);
        if (gated.has(request.action)) throw new ApprovalPendingError(`${request.action} needs approval.`, 'apr-000000000000000000000001');
      },
    };
    d = await openDomain({ hsmConnector: hsms, authorizer, gate, log: createLogger('info', (l) => logLines.push(l)) });
  });
  afterEach(() => d.close());

  /** A CONNECTED AWS_CLOUDHSM store, without keys. */
  const hsmStore = async (): Promise<string> => {
    const { hsm } = await d.keys.registerHsm(OPERATOR, { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura-token' });
    const storeId = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'hsm', cloudHsmClusterId: hsm.id, trustAnchorCertificate: trustAnchor, keyStorePassword: PIN });
    await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
    return storeId;
  };
  /** A CONNECTED AWS_CLOUDHSM store and an Enabled key in it. */
  const hsmKey = async (): Promise<{ storeId: string; key: Key }> => {
    const storeId = await hsmStore();
    return { storeId, key: await d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' }) };
  };

  /** A DISCONNECTED EXTERNAL_KEY_STORE store and a key bound to an external key in it, as Kura stores them. */
  const externalKey = async (): Promise<{ storeId: string; key: Key }> => {
    const storeId = 'cks-0123456789abcdef0';
    // A standard key's row, moved into the store and bound to an external key.
    const standard = await d.keys.createKey(d.ctx('CreateKey'), {});
    const key: Key = { ...standard, keyId: '0f1e2d3c-4b5a-4697-8879-a0b1c2d3e4f5', origin: Origin.ExternalKeyStore, currentMaterialId: 'material-1', customKeyStoreId: storeId, xksKeyId: 'external-key-1' };
    await d.store.db.write(async (tx) => {
      await d.store.customKeyStores.insert(tx, {
        id: storeId,
        accountId: TEST_ACCOUNT,
        region: TEST_REGION,
        name: 'xks',
        type: 'EXTERNAL_KEY_STORE',
        connectionState: 'DISCONNECTED',
        createdAt: 0,
        hsmId: null,
        config: { uriEndpoint: 'https://xks.kura.test', uriPath: '/kms/xks/v1', connectivity: 'PUBLIC_ENDPOINT', accessKeyId: 'XKSAAAAAAAAAAAAAAAAAAAAA', secretSealed: 'not opened here', region: TEST_REGION },
      });
      await d.store.keys.insert(tx, key);
      await d.store.keys.insertMaterial(tx, { ...generatedMaterialFields(), keyId: key.keyId, materialId: 'material-1', createdAt: key.createdAt, rotationType: null, materialRef: Buffer.from('opaque'), publicKey: null });
    });
    return { storeId, key };
  };

  const rotationStatus = (keyId: string) => d.keys.getKeyRotationStatus(d.ctx('GetKeyRotationStatus'), keyId);

  it('GetKeyRotationStatus of a key in an AWS_CLOUDHSM key store is UnsupportedOperation, connected or not, in any state', async () => {
    const { storeId, key } = await hsmKey();
    const refused = await kmsError(rotationStatus(key.keyId));
    expect(refused.code).toBe('UnsupportedOperation');
    expect(refused.message).toContain(`${d.keys.arnOf(key)} origin is AWS_CLOUDHSM which is not valid for this operation`);
    await d.keys.disableKey(d.ctx('DisableKey'), key.keyId);
    expect(await kmsCode(rotationStatus(key.keyId))).toBe('UnsupportedOperation');
    await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
    expect(await kmsCode(rotationStatus(key.keyId))).toBe('UnsupportedOperation');
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), key.keyId, 7);
    expect(await kmsCode(rotationStatus(key.keyId))).toBe('UnsupportedOperation');
    // The other rotation operations say the same, as before.
    expect(await kmsCode(d.keys.enableKeyRotation(d.ctx('EnableKeyRotation'), key.keyId))).toBe('UnsupportedOperation');
    expect(await kmsCode(d.keys.disableKeyRotation(d.ctx('DisableKeyRotation'), key.keyId))).toBe('UnsupportedOperation');
    expect(await kmsCode(d.keys.rotateKeyOnDemand(d.ctx('RotateKeyOnDemand'), key.keyId))).toBe('UnsupportedOperation');
    // A key that is not there is still NotFound, not UnsupportedOperation.
    expect(await kmsCode(rotationStatus('00000000-0000-4000-8000-000000000000'))).toBe('NotFound');
  });

  it('GetKeyRotationStatus of a key in an external key store is UnsupportedOperation too', async () => {
    const { key } = await externalKey();
    const refused = await kmsError(rotationStatus(key.keyId));
    expect(refused.code).toBe('UnsupportedOperation');
    expect(refused.message).toContain('origin is EXTERNAL_KEY_STORE which is not valid for this operation');
  });

  it('keys of the standard key store still report their rotation status, asymmetric ones as off', async () => {
    const standard = await d.keys.createKey(d.ctx('CreateKey'), {});
    await d.keys.enableKeyRotation(d.ctx('EnableKeyRotation'), standard.keyId, 90);
    expect((await rotationStatus(standard.keyId)).rotationEnabled).toBe(true);
    const signing = await d.keys.createKey(d.ctx('CreateKey'), { keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' });
    expect((await rotationStatus(signing.keyId)).rotationEnabled).toBe(false);
  });

  it('CreateKey in a store disconnected after its checks is CustomKeyStoreInvalidState, not CustomKeyStoreNotFound', async () => {
    const { storeId } = await hsmKey();
    beforeAuthorizing = async (action) => {
      if (action === 'kms:CreateKey') await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
    };
    const refused = await kmsError(d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' }));
    expect(refused.code).toBe('CustomKeyStoreInvalidState');
    expect(refused.message).toContain(storeId);
    beforeAuthorizing = undefined;
    // Nothing was made on the token, and the store still holds only its first key.
    expect(hsms.tokens.get('kura-token')!.keys.size).toBe(1);
  });

  /** Makes `during` run when the store's token has made a key's material, before CreateKey commits the key. */
  const onceMade = (during: () => Promise<void>) => {
    const conn = hsms.last as unknown as { generate: (...a: unknown[]) => Promise<unknown> };
    const generate = conn.generate.bind(conn);
    conn.generate = async (...a) => {
      const made = await generate(...a);
      conn.generate = generate;
      await during();
      return made;
    };
  };

  it('CreateKey whose store is disconnected and deleted while the token makes the material is CustomKeyStoreNotFound, not an internal error', async () => {
    const storeId = await hsmStore();
    let deleted = false;
    onceMade(async () => {
      await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
      await d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId);
      deleted = true;
    });
    const refused = await kmsError(d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' }));
    expect(deleted).toBe(true);
    expect(refused.code).toBe('CustomKeyStoreNotFound');
    expect((await d.keys.listKeys(d.ctx('ListKeys'))).items.filter((k) => k.customKeyStoreId === storeId)).toEqual([]);
  });

  it('CreateKey whose store is disconnected while the token makes the material is CustomKeyStoreInvalidState; the store is then deleted cleanly', async () => {
    const { storeId, key } = await hsmKey();
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), key.keyId, 7);
    onceMade(() => d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId));
    expect(await kmsCode(d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' }))).toBe('CustomKeyStoreInvalidState');
    // The store holds only the key pending deletion: refused until that one is deleted, then deleted.
    expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId))).toBe('CustomKeyStoreHasCMKs');
    d.clock.advance(8 * DAY_MS);
    expect((await d.jobs.runDue()).deleted).toEqual([key.keyId]);
    await d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId);
  });

  it('DeleteCustomKeyStore counts the keys in the transaction that deletes the store: a CreateKey committed after the call was prepared makes it CustomKeyStoreHasCMKs', async () => {
    const storeId = await hsmStore();
    await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
    // A CreateKey whose checks passed commits its key while the delete is authorized (after the delete
    // found the store DISCONNECTED, before its transaction): the key row as CreateKey's transaction writes it.
    const standard = await d.keys.createKey(d.ctx('CreateKey'), {});
    const raced: Key = { ...standard, keyId: '1a2b3c4d-5e6f-4708-9a1b-2c3d4e5f6a7b', origin: Origin.AwsCloudHsm, customKeyStoreId: storeId };
    beforeAuthorizing = async (action) => {
      if (action !== 'kms:DeleteCustomKeyStore') return;
      beforeAuthorizing = undefined;
      await d.store.db.write((tx) => d.store.keys.insert(tx, raced));
    };
    const refused = await kmsError(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId));
    expect(beforeAuthorizing).toBeUndefined();
    expect(refused.code).toBe('CustomKeyStoreHasCMKs');
    expect(refused.message).toContain('1 KMS key');
    // The store and its key are both still there, the key in its store.
    expect((await d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), { customKeyStoreId: storeId })).items).toHaveLength(1);
    expect((await d.keys.describeKey(d.ctx('DescribeKey'), raced.keyId)).customKeyStoreId).toBe(storeId);
    // Pending deletion, the key still holds the store.
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), raced.keyId, 7);
    expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId))).toBe('CustomKeyStoreHasCMKs');
  });

  it('DeleteCustomKeyStore of a store that holds keys is CustomKeyStoreHasCMKs before the approval gate: no approval request that could only fail', async () => {
    const { storeId, key } = await hsmKey();
    await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), key.keyId, 7);
    gated.add('kms:DeleteCustomKeyStore');
    admitted = [];
    expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId))).toBe('CustomKeyStoreHasCMKs');
    expect(admitted).toEqual([]);
    // Once its key is deleted, the delete is the gate's to admit.
    d.clock.advance(8 * DAY_MS);
    expect((await d.jobs.runDue()).deleted).toEqual([key.keyId]);
    admitted = [];
    expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId))).toBe('AccessDenied');
    expect(admitted).toEqual(['kms:DeleteCustomKeyStore']);
  });

  describe("the console's key search and tally read a key as DescribeKey does", () => {
    const search = async (filter: { state?: string; origin?: string; text?: string } = {}) => {
      const page = await d.keys.searchKeys(d.ctx('ListKeys'), filter, '', 50);
      return { total: page.total, states: Object.fromEntries(page.keys.map((k) => [k.keyId, k.state])) };
    };
    const tally = async () => (await d.keys.keyTally(d.ctx('ListKeys'))).byState;
    const described = async (keyId: string) => (await d.keys.describeKey(d.ctx('DescribeKey'), keyId)).state;

    it('a key of a store that is not connected is Unavailable in the list, the state filter and the tally; its stored state is not', async () => {
      const { storeId, key } = await hsmKey();
      const disabled = await d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' });
      await d.keys.disableKey(d.ctx('DisableKey'), disabled.keyId);
      const pending = await d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' });
      await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), pending.keyId, 7);
      const standard = await d.keys.createKey(d.ctx('CreateKey'), {});
      // Connected: each key in its stored state.
      expect((await search({ state: 'Enabled' })).states).toEqual({ [key.keyId]: 'Enabled', [standard.keyId]: 'Enabled' });
      expect(await tally()).toEqual({ Enabled: 2, Disabled: 1, PendingDeletion: 1 });

      await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
      const all = await search();
      expect(all.total).toBe(4);
      // Every row says what DescribeKey says of its key.
      for (const [keyId, state] of Object.entries(all.states)) expect(state).toBe(await described(keyId));
      expect(all.states).toEqual({ [key.keyId]: 'Unavailable', [disabled.keyId]: 'Unavailable', [pending.keyId]: 'PendingDeletion', [standard.keyId]: 'Enabled' });
      expect(await search({ state: 'Unavailable' })).toEqual({ total: 2, states: { [key.keyId]: 'Unavailable', [disabled.keyId]: 'Unavailable' } });
      expect(await search({ state: 'Enabled' })).toEqual({ total: 1, states: { [standard.keyId]: 'Enabled' } });
      expect(await search({ state: 'Disabled' })).toEqual({ total: 0, states: {} });
      expect(await search({ state: 'PendingDeletion' })).toEqual({ total: 1, states: { [pending.keyId]: 'PendingDeletion' } });
      expect(await search({ state: 'Unavailable', origin: 'AWS_KMS' })).toEqual({ total: 0, states: {} });
      expect(await tally()).toEqual({ Enabled: 1, Unavailable: 2, PendingDeletion: 1 });

      // Connected again: back in their stored states, which the disconnect left as they were.
      await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
      expect((await search()).states).toEqual({ [key.keyId]: 'Enabled', [disabled.keyId]: 'Disabled', [pending.keyId]: 'PendingDeletion', [standard.keyId]: 'Enabled' });
      expect(await search({ state: 'Unavailable' })).toEqual({ total: 0, states: {} });
      expect(await tally()).toEqual({ Enabled: 2, Disabled: 1, PendingDeletion: 1 });
    });

    it('a key of a FAILED store, and of an external key store never connected, is Unavailable there too', async () => {
      const { key } = await hsmKey();
      const external = await externalKey();
      hsms.last.pull();
      expect(await described(key.keyId)).toBe('Unavailable');
      expect(await described(external.key.keyId)).toBe('Unavailable');
      const unavailable = await search({ state: 'Unavailable' });
      expect(unavailable).toEqual({ total: 2, states: { [key.keyId]: 'Unavailable', [external.key.keyId]: 'Unavailable' } });
      expect((await tally()).Unavailable).toBe(2);
    });
  });

  describe('deletion at the end of the waiting period', () => {
    const tokenKeys = () => hsms.tokens.get('kura-token')!.keys.size;
    const deleteEntries = async () => (await d.audit.list({})).filter((e) => e.operation === 'DeleteKey' && e.source === 'scheduler').map((e) => e.details);

    it('a key whose AWS_CLOUDHSM store is FAILED is deleted, its material left on the token for the operator, by its label', async () => {
      const { storeId, key } = await hsmKey();
      await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), key.keyId, 7);
      hsms.last.pull('NETWORK_ERRORS');
      await expect.poll(async () => (await d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), { customKeyStoreId: storeId })).items[0]!.connectionState).toBe('FAILED');
      // PendingDeletion stays PendingDeletion (not Unavailable) while its store is not connected.
      expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('PendingDeletion');
      d.clock.advance(8 * DAY_MS);
      expect((await d.jobs.runDue()).deleted).toEqual([key.keyId]);
      expect(await kmsCode(d.keys.describeKey(d.ctx('DescribeKey'), key.keyId))).toBe('NotFound');
      expect(tokenKeys()).toBe(1);
      expect(await deleteEntries()).toEqual([{ customKeyStoreId: storeId, customKeyStoreConnected: false }]);
      expect(logged()).toContainEqual(expect.objectContaining({ msg: 'a deleted key left its material on its custom key store', keyId: key.keyId, label: d.keys.arnOf(key) }));
      // Now the store holds no KMS key: once disconnected, it can be deleted.
      await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
      await d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId);
    });

    it('a key in a disconnected external key store is deleted; its external key is not touched', async () => {
      const { storeId, key } = await externalKey();
      await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), key.keyId, 7);
      expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('PendingDeletion');
      expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId))).toBe('CustomKeyStoreHasCMKs');
      d.clock.advance(8 * DAY_MS);
      expect((await d.jobs.runDue()).deleted).toEqual([key.keyId]);
      // The audit entry names the external key the deleted KMS key used, which stays where it is (AWS:
      // deleting the KMS key "has no effect on the associated external key"); no warning says that
      // material was left on the store for the operator to remove, as for a key on a token.
      expect(await deleteEntries()).toEqual([{ customKeyStoreId: storeId, customKeyStoreConnected: false, xksKeyId: 'external-key-1' }]);
      expect(logged().filter((l) => l.level === 'warn')).toEqual([]);
      await d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), storeId);
    });
  });
});
