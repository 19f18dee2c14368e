// Custom key stores of type AWS_CLOUDHSM in the KMS domain, over a real SQLite store, with a fake HSM
// (test/support/fake-hsm.ts): AWS's rules for CreateCustomKeyStore, DescribeCustomKeyStores,
// UpdateCustomKeyStore, Connect/Disconnect and DeleteCustomKeyStore (API reference; the states in which
// each is refused with CustomKeyStoreInvalidStateException), keys created in a store and their
// Unavailable state while it is not connected, a token pulled out mid-use, sealing, the HSM registry,
// and that the store's password (the token PIN) is kept sealed: never in the database, the audit log or
// an error. The same flows against SoftHSM2 and NSS softokn run in test/integration/hsm-key-store.test.ts.
// Why one file past 450 lines: the cases share one appliance, fake HSM and registry set-up, and each
// operation's rules refer to the states the others leave a store in; apart, each file would rebuild
// the same fixture and lose the order of a store's life.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../main/common/clock.js';
import { createLogger } from '../../../main/common/log.js';
import { encodeMarker } from '../../../main/kms/operations/common.js';
import type { HsmRecord } from '../../../main/store/index.js';
import { FakeHsms } from '../../support/fake-hsm.js';
import { kmsCode, kmsError, openDomain, tempDir, type Domain } from '../../support/domain.js';

const PIN = 'kura-pin-7f3a9c';
const OPERATOR = { operator: 'kura:admin', operation: 'RegisterHsm' };
/** What the domain logged at warn and above (the scheduler's word on material left on a token). */
const logLines: string[] = [];
let trustAnchor: string;

beforeAll(() => {
  const dir = tempDir('kura-ta-');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-subj', '/CN=kura-test-ca', '-days', '2'], { stdio: 'ignore' });
    trustAnchor = fs.readFileSync(path.join(dir, 'c.pem'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('custom key stores (AWS_CLOUDHSM)', () => {
  let d: Domain;
  let hsms: FakeHsms;
  let hsm: HsmRecord;

  beforeEach(async () => {
    hsms = new FakeHsms();
    hsms.addToken('kura-token', PIN, 'serial-1');
    logLines.length = 0;
    d = await openDomain({ hsmConnector: hsms, log: createLogger('warn', (l) => logLines.push(l)) });
    ({ hsm } = await d.keys.registerHsm(OPERATOR, { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura-token' }));
  });
  afterEach(() => d.close());

  /** Another token, plugged in and registered as an HSM of its own. */
  const anotherHsm = async (label: string): Promise<HsmRecord> => {
    hsms.addToken(label, PIN);
    return (await d.keys.registerHsm(OPERATOR, { modulePath: hsm.modulePath, tokenLabel: label })).hsm;
  };
  const create = (over: Record<string, unknown> = {}) =>
    d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'hsm-1', cloudHsmClusterId: hsm.id, trustAnchorCertificate: trustAnchor, keyStorePassword: PIN, ...over });
  const describe1 = async (id: string) => (await d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), { customKeyStoreId: id })).items[0]!;
  const connect = (id: string) => d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), id);
  const disconnect = (id: string) => d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), id);
  const createKey = (id: string, over: Record<string, unknown> = {}) => d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: id, origin: 'AWS_CLOUDHSM', ...over });
  /** Seals and unseals, and holds the reconnect that follows at its token login: what a test does meanwhile races it. */
  const reconnectHeld = async () => {
    d.root.seal();
    await d.root.initAndUnsealDev(d.rootKey);
    const held = hsms.holdConnects();
    const reconnecting = d.keys.reconnectCustomKeyStores();
    await held.reached;
    return { held, reconnecting };
  };
  const dataKeyPair = (keyId: string, withPlaintext: boolean) =>
    d.keys.generateDataKeyPair(d.ctx(withPlaintext ? 'GenerateDataKeyPair' : 'GenerateDataKeyPairWithoutPlaintext'), { keyId, keyPairSpec: 'ECC_NIST_P256' }, withPlaintext);
  const roundTrip = async (keyId: string) => {
    const { ciphertextBlob } = await d.keys.encrypt(d.ctx('Encrypt'), { keyId, plaintext: Buffer.from('on the token'), encryptionContext: { purpose: 'test' } });
    const opened = await d.keys.decrypt(d.ctx('Decrypt'), { ciphertextBlob, encryptionContext: { purpose: 'test' } });
    return opened.plaintext.toString();
  };

  it('registers an HSM under an ID of a CloudHSM cluster ID\'s shape, once per module and token; a missing token is refused', async () => {
    expect(hsm.id).toMatch(/^cluster-[2-7a-z]{11}$/);
    expect(hsm.serialNumber).toBe('serial-1');
    expect((await d.keys.listHsms()).map((h) => h.id)).toEqual([hsm.id]);
    expect(await kmsCode(d.keys.registerHsm(OPERATOR, { modulePath: hsm.modulePath, tokenLabel: 'kura-token' }))).toBe('AlreadyExists');
    expect(await kmsCode(d.keys.registerHsm(OPERATOR, { modulePath: hsm.modulePath, tokenLabel: 'not-plugged' }))).toBe('CloudHsmClusterInvalidConfiguration');
    expect((await d.keys.testHsm(hsm.id)).label).toBe('kura-token');
    // Unplugged: the test says why, as the KMS error registering it would have answered (not Internal).
    hsms.tokens.delete('kura-token');
    expect(await kmsError(d.keys.testHsm(hsm.id))).toMatchObject({ code: 'CloudHsmClusterInvalidConfiguration', message: 'The HSM cannot be used: no token labelled kura-token.' });
  });

  it('creates a DISCONNECTED store; refuses what AWS refuses', async () => {
    const id = await create();
    expect(id).toMatch(/^cks-[0-9a-f]{17}$/);
    const view = await describe1(id);
    expect(view).toMatchObject({ id, name: 'hsm-1', type: 'AWS_CLOUDHSM', cloudHsmClusterId: hsm.id, trustAnchorCertificate: trustAnchor, connectionState: 'DISCONNECTED' });
    expect(view.connectionErrorCode).toBeUndefined();
    expect(await kmsCode(create({ customKeyStoreName: 'hsm-2' }))).toBe('CloudHsmClusterInUse');
    const second = await anotherHsm('second');
    expect(await kmsCode(create({ cloudHsmClusterId: second.id }))).toBe('CustomKeyStoreNameInUse');
    expect(await kmsCode(create({ customKeyStoreName: 'x', cloudHsmClusterId: 'cluster-aaaaaaaaaaa' }))).toBe('CloudHsmClusterNotFound');
    expect(await kmsCode(create({ customKeyStoreName: 'x', cloudHsmClusterId: second.id, trustAnchorCertificate: 'not a certificate' }))).toBe('IncorrectTrustAnchor');
    expect(await kmsCode(create({ customKeyStoreName: 'x', cloudHsmClusterId: second.id, keyStorePassword: undefined }))).toBe('Validation');
    expect(await kmsCode(create({ customKeyStoreName: 'x', customKeyStoreType: 'EXTERNAL_KEY_STORE' }))).toBe('Validation');
    expect(await kmsCode(d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), { customKeyStoreId: 'cks-00000000000000000' }))).toBe('CustomKeyStoreNotFound');
    expect(await kmsCode(d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), { customKeyStoreName: 'nobody' }))).toBe('CustomKeyStoreNotFound');
  });

  it('connects with the PIN; a wrong PIN is FAILED with INVALID_CREDENTIALS, and a FAILED store must be disconnected before connecting again', async () => {
    const wrong = await create({ keyStorePassword: 'not-the-pin' });
    await connect(wrong);
    expect(await describe1(wrong)).toMatchObject({ connectionState: 'FAILED', connectionErrorCode: 'INVALID_CREDENTIALS' });
    expect(await kmsCode(connect(wrong))).toBe('CustomKeyStoreInvalidState');
    expect(await kmsCode(d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore'), { customKeyStoreId: wrong, keyStorePassword: PIN }))).toBe('CustomKeyStoreInvalidState');
    await disconnect(wrong);
    expect(await kmsCode(disconnect(wrong))).toBe('CustomKeyStoreInvalidState');
    await d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore'), { customKeyStoreId: wrong, keyStorePassword: PIN, newCustomKeyStoreName: 'renamed' });
    await connect(wrong);
    const view = await describe1(wrong);
    expect(view).toMatchObject({ name: 'renamed', connectionState: 'CONNECTED' });
    expect(view.connectionErrorCode).toBeUndefined();
    // Connecting a connected store succeeds and changes nothing.
    await connect(wrong);
    expect((await describe1(wrong)).connectionState).toBe('CONNECTED');
  });

  it('creates symmetric encryption keys on a connected store, labelled with their ARN, and encrypts with them there', async () => {
    const id = await create();
    expect(await kmsCode(createKey(id))).toBe('CustomKeyStoreInvalidState');
    await connect(id);
    const key = await createKey(id, { description: 'on the HSM' });
    expect(key).toMatchObject({ origin: 'AWS_CLOUDHSM', customKeyStoreId: id, keySpec: 'SYMMETRIC_DEFAULT', state: 'Enabled' });
    expect(hsms.last.labels).toEqual([d.keys.arnOf(key)]);
    expect(await roundTrip(key.keyId)).toBe('on the token');
    const dk = await d.keys.generateDataKey(d.ctx('GenerateDataKey'), { keyId: key.keyId, keySpec: 'AES_256' });
    expect((await d.keys.decrypt(d.ctx('Decrypt'), { ciphertextBlob: dk.ciphertextBlob })).plaintext).toEqual(dk.plaintext);
    expect(await kmsCode(createKey(id, { origin: undefined }))).toBe('Validation');
    // Keys in a custom key store neither rotate nor take imported material, as in AWS.
    expect(await kmsCode(d.keys.enableKeyRotation(d.ctx('EnableKeyRotation'), key.keyId))).toBe('UnsupportedOperation');
    expect(await kmsCode(d.keys.rotateKeyOnDemand(d.ctx('RotateKeyOnDemand'), key.keyId))).toBe('UnsupportedOperation');
    expect(await kmsCode(d.keys.listKeyRotations(d.ctx('ListKeyRotations'), key.keyId, 'ALL_KEY_MATERIAL'))).toBe('UnsupportedOperation');
    expect((await d.keys.listKeyRotations(d.ctx('ListKeyRotations'), key.keyId, undefined)).page.items).toEqual([]);
    expect(await kmsCode(createKey(id, { keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' }))).toBe('UnsupportedOperation');
    expect(await kmsCode(createKey('cks-00000000000000000'))).toBe('CustomKeyStoreNotFound');
    expect(await kmsCode(d.keys.createKey(d.ctx('CreateKey'), { origin: 'AWS_CLOUDHSM' }))).toBe('Validation');
  });

  describe('scheduled deletion of a key in the store', () => {
    const tokenKeys = () => hsms.tokens.get('kura-token')!.keys.size;
    const deleteEntries = async () =>
      (await d.audit.list({})).filter((e) => e.operation === 'DeleteKey' && e.source === 'scheduler').map((e) => e.details);
    const doomedKey = async () => {
      const id = await create();
      await connect(id);
      const key = await createKey(id);
      await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), key.keyId, 7);
      expect(tokenKeys()).toBe(1);
      return { id, key };
    };

    it('destroys the key on its token at the end of the window', async () => {
      const { id, key } = await doomedKey();
      d.clock.advance(8 * DAY_MS);
      expect((await d.jobs.runDue()).deleted).toEqual([key.keyId]);
      expect(tokenKeys()).toBe(0);
      expect(await deleteEntries()).toEqual([{ customKeyStoreId: id, customKeyStoreConnected: true }]);
    });

    it('waits while the appliance is sealed, and destroys it on its token once unsealed (the store connects first)', async () => {
      const { key } = await doomedKey();
      d.root.seal();
      d.clock.advance(8 * DAY_MS);
      // Sealed: no store can reach its token, so the key is not deleted yet (its material would stay there).
      expect((await d.jobs.runDue()).deleted).toEqual([]);
      expect((await d.store.keys.find(key.keyId))?.state).toBe('PendingDeletion');
      await d.root.initAndUnsealDev(d.rootKey);
      // A run of the timer between the unseal and the stores' reconnect waits too.
      expect((await d.jobs.runDue()).deleted).toEqual([]);
      expect(tokenKeys()).toBe(1);
      await d.afterUnseal();
      expect(await d.store.keys.find(key.keyId)).toBeUndefined();
      expect(tokenKeys()).toBe(0);
    });

    it('deletes it as AWS does when its store is disconnected, and says what stays on the token, by its label', async () => {
      const { id, key } = await doomedKey();
      await disconnect(id);
      d.clock.advance(8 * DAY_MS);
      expect((await d.jobs.runDue()).deleted).toEqual([key.keyId]);
      // "A best effort to delete the key material": the operator removes what stays, found by its label.
      expect(tokenKeys()).toBe(1);
      expect(await deleteEntries()).toEqual([{ customKeyStoreId: id, customKeyStoreConnected: false }]);
      expect(logLines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
        expect.objectContaining({ msg: 'a deleted key left its material on its custom key store', keyId: key.keyId, customKeyStoreId: id, label: d.keys.arnOf(key) }),
      );
    });
  });

  it('a key in the store cannot protect a data key pair: GenerateDataKeyPair(WithoutPlaintext) is UnsupportedOperation, as in AWS', async () => {
    const id = await create();
    await connect(id);
    const { keyId } = await createKey(id);
    const pair = (withPlaintext: boolean) => dataKeyPair(keyId, withPlaintext);
    expect(await kmsCode(pair(true))).toBe('UnsupportedOperation');
    expect(await kmsCode(pair(false))).toBe('UnsupportedOperation');
    // The same key still makes symmetric data keys: only the pair is refused.
    expect((await d.keys.generateDataKey(d.ctx('GenerateDataKey'), { keyId, keySpec: 'AES_256' })).plaintext).toHaveLength(32);
  });

  it('GenerateDataKeyPair(WithoutPlaintext) on a key of a store that is not connected is UnsupportedOperation too, not the Unavailable state', async () => {
    const id = await create();
    await connect(id);
    const { keyId } = await createKey(id);
    const pair = (withPlaintext: boolean) => dataKeyPair(keyId, withPlaintext);
    await disconnect(id);
    expect((await d.keys.describeKey(d.ctx('DescribeKey'), keyId)).state).toBe('Unavailable');
    // Unsupported on this key whether or not its store is connected: reconnecting would not help.
    const refused = await kmsError(pair(true));
    expect(refused.code).toBe('UnsupportedOperation');
    expect(refused.message).toContain(id);
    expect(await kmsCode(pair(false))).toBe('UnsupportedOperation');
    // Nor does the key's own state change the answer.
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), keyId, 7);
    expect(await kmsCode(pair(true))).toBe('UnsupportedOperation');
    // Any other operation on the key still answers its state.
    expect(await kmsCode(d.keys.generateDataKey(d.ctx('GenerateDataKey'), { keyId, keySpec: 'AES_256' }))).toBe('InvalidState');
  });

  it("a store is its account's and Region's: another account's or Region's caller gets CustomKeyStoreNotFound from every operation, and may reuse its name", async () => {
    const id = await create();
    await connect(id);
    const keyId = (await createKey(id)).keyId;
    const otherAccount = { accountId: '222233334444', principal: 'arn:aws:iam::222233334444:user/other' };
    const otherRegion = { region: 'eu-west-1' };
    const refusedTo = async (over: Record<string, string>) => {
      const as = (operation: string) => d.ctx(operation, over);
      return [
        await kmsCode(d.keys.describeCustomKeyStores(as('DescribeCustomKeyStores'), { customKeyStoreId: id })),
        await kmsCode(d.keys.describeCustomKeyStores(as('DescribeCustomKeyStores'), { customKeyStoreName: 'hsm-1' })),
        await kmsCode(d.keys.createKey(as('CreateKey'), { customKeyStoreId: id, origin: 'AWS_CLOUDHSM' })),
        await kmsCode(d.keys.generateRandom(as('GenerateRandom'), { numberOfBytes: 16, customKeyStoreId: id })),
        await kmsCode(d.keys.updateCustomKeyStore(as('UpdateCustomKeyStore'), { customKeyStoreId: id, newCustomKeyStoreName: 'taken', keyStorePassword: 'not-the-pin' })),
        await kmsCode(d.keys.connectCustomKeyStore(as('ConnectCustomKeyStore'), id)),
        await kmsCode(d.keys.disconnectCustomKeyStore(as('DisconnectCustomKeyStore'), id)),
        await kmsCode(d.keys.deleteCustomKeyStore(as('DeleteCustomKeyStore'), id)),
      ];
    };
    const notFound = Array(8).fill('CustomKeyStoreNotFound');
    for (const over of [otherAccount, otherRegion]) {
      expect(await refusedTo(over)).toEqual(notFound);
      expect((await d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores', over), {})).items).toEqual([]);
    }
    // Nothing changed for its owner: still connected, named as it was, its key in use.
    expect(await describe1(id)).toMatchObject({ name: 'hsm-1', connectionState: 'CONNECTED' });
    expect(await roundTrip(keyId)).toBe('on the token');
    expect(hsms.last.randomCalls).toBe(0);
    // Disconnected (where Update and Delete would be allowed), the same: and its PIN is the one it had.
    await disconnect(id);
    for (const over of [otherAccount, otherRegion]) expect(await refusedTo(over)).toEqual(notFound);
    await connect(id);
    expect(await describe1(id)).toMatchObject({ name: 'hsm-1', connectionState: 'CONNECTED' });
    // Names are unique per account and Region only.
    const second = await anotherHsm('second');
    const theirs = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore', otherAccount), { customKeyStoreName: 'hsm-1', cloudHsmClusterId: second.id, trustAnchorCertificate: trustAnchor, keyStorePassword: PIN });
    expect((await d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores', otherAccount), { customKeyStoreName: 'hsm-1' })).items.map((c) => c.id)).toEqual([theirs]);
    expect((await d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), {})).items.map((c) => c.id)).toEqual([id]);
    const third = await anotherHsm('third');
    expect(await kmsCode(d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore', otherAccount), { customKeyStoreName: 'hsm-1', cloudHsmClusterId: third.id, trustAnchorCertificate: trustAnchor, keyStorePassword: PIN }))).toBe('CustomKeyStoreNameInUse');
    await d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore', otherRegion), { customKeyStoreId: await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore', otherRegion), { customKeyStoreName: 'hsm-3', cloudHsmClusterId: third.id, trustAnchorCertificate: trustAnchor, keyStorePassword: PIN }), newCustomKeyStoreName: 'hsm-1' });
  });

  it('GenerateRandom with a CustomKeyStoreId takes the bytes from the HSM, only while connected', async () => {
    const id = await create();
    const random = (customKeyStoreId: string) => d.keys.generateRandom(d.ctx('GenerateRandom'), { numberOfBytes: 48, customKeyStoreId });
    expect(await kmsCode(random(id))).toBe('CustomKeyStoreInvalidState');
    expect(await kmsCode(random('cks-00000000000000000'))).toBe('CustomKeyStoreNotFound');
    await connect(id);
    expect(await random(id)).toHaveLength(48);
    expect(hsms.last.randomCalls).toBe(1);
  });

  it('makes its keys Unavailable while disconnected (KMSInvalidStateException for use), keeping their stored state', async () => {
    const id = await create();
    await connect(id);
    const key = await createKey(id);
    await disconnect(id);
    expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('Unavailable');
    const e = await kmsError(d.keys.encrypt(d.ctx('Encrypt'), { keyId: key.keyId, plaintext: Buffer.from('x') }));
    expect(e.code).toBe('InvalidState');
    expect(e.message).toMatch(/Unavailable/);
    // A change that AWS allows while Unavailable does not store Unavailable.
    await d.keys.updateKeyDescription(d.ctx('UpdateKeyDescription'), key.keyId, 'changed while away');
    await connect(id);
    const back = await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId);
    expect(back).toMatchObject({ state: 'Enabled', description: 'changed while away' });
    expect(await roundTrip(key.keyId)).toBe('on the token');
  });

  it('a Disabled key shows Unavailable too while its store is disconnected, and Disabled again once it connects', async () => {
    const id = await create();
    await connect(id);
    const key = await createKey(id);
    await d.keys.disableKey(d.ctx('DisableKey'), key.keyId);
    await disconnect(id);
    // AWS: a key in a disconnected store is Unavailable whether it was Enabled or Disabled.
    expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('Unavailable');
    await connect(id);
    expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('Disabled');
  });

  it('a token pulled out mid-use makes its store FAILED with the code, its keys Unavailable; disconnect and connect resume', async () => {
    const id = await create();
    await connect(id);
    const key = await createKey(id);
    hsms.last.pull('NETWORK_ERRORS');
    await expect.poll(async () => (await describe1(id)).connectionState).toBe('FAILED');
    expect((await describe1(id)).connectionErrorCode).toBe('NETWORK_ERRORS');
    expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('Unavailable');
    expect(await kmsCode(d.keys.encrypt(d.ctx('Encrypt'), { keyId: key.keyId, plaintext: Buffer.from('x') }))).toBe('InvalidState');
    await disconnect(id);
    await connect(id);
    expect(await roundTrip(key.keyId)).toBe('on the token');
  });

  it('closes its connections when the appliance seals, and reconnects the connected ones after unsealing', async () => {
    const id = await create();
    await connect(id);
    const key = await createKey(id);
    d.root.seal();
    expect(hsms.last.connectionState()).toBe('DISCONNECTED');
    await d.root.initAndUnsealDev(d.rootKey);
    expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('Unavailable');
    await d.keys.reconnectCustomKeyStores();
    expect(await roundTrip(key.keyId)).toBe('on the token');
    expect((await describe1(id)).connectionState).toBe('CONNECTED');
  });

  it('closes a connection that completes after the appliance sealed, and leaves the other stores CONNECTED for the next unseal', async () => {
    const first = await create();
    const second = await anotherHsm('second');
    const other = await create({ customKeyStoreName: 'hsm-2', cloudHsmClusterId: second.id });
    await connect(first);
    await connect(other);
    const key = await createKey(first);
    // The reconnect after unsealing is slow to log in, and the appliance is sealed meanwhile.
    const { held, reconnecting } = await reconnectHeld();
    const connections = hsms.connections.length;
    d.root.seal();
    held.release();
    await reconnecting;
    expect(hsms.connections).toHaveLength(connections + 1);
    // The connection made across the seal is closed, not registered; no store is recorded FAILED.
    expect(hsms.last.connectionState()).toBe('DISCONNECTED');
    await d.root.initAndUnsealDev(d.rootKey);
    expect((await describe1(first)).connectionState).not.toBe('FAILED');
    expect((await describe1(other)).connectionState).not.toBe('FAILED');
    await d.keys.reconnectCustomKeyStores();
    expect(await roundTrip(key.keyId)).toBe('on the token');
    expect([(await describe1(first)).connectionState, (await describe1(other)).connectionState]).toEqual(['CONNECTED', 'CONNECTED']);
  });

  it('a key whose store was disconnected after the key was read is Unavailable (KMSInvalidStateException), not a missing store', async () => {
    const id = await create();
    await connect(id);
    const key = await createKey(id);
    const read = await d.store.keys.find(key.keyId);
    expect(d.directory.usableStoreOf(read!)).toBeDefined();
    await disconnect(id);
    expect(await kmsCode(() => d.directory.usableStoreOf(read!))).toBe('InvalidState');
  });

  it('a token that fails while its store is being disconnected leaves the store DISCONNECTED, not FAILED', async () => {
    const id = await create();
    await connect(id);
    const disconnecting = disconnect(id);
    hsms.last.pull('INSUFFICIENT_CLOUDHSM_HSMS');
    await disconnecting;
    // The failure's record ran after the disconnect, in its turn.
    await expect.poll(async () => (await d.audit.list({ operation: 'CustomKeyStoreFailed' })).length).toBe(1);
    expect((await describe1(id)).connectionState).toBe('DISCONNECTED');
  });

  it("two creates at once that clash answer AWS's exceptions, not Internal", async () => {
    const second = await anotherHsm('second');
    const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as { code?: string }).code ?? String(e));
    const sameName = await Promise.all([create(), create({ cloudHsmClusterId: second.id })].map(outcome));
    expect(sameName.sort()).toEqual(['CustomKeyStoreNameInUse', 'ok']);
    const third = await anotherHsm('third');
    const sameHsm = await Promise.all([create({ customKeyStoreName: 'a', cloudHsmClusterId: third.id }), create({ customKeyStoreName: 'b', cloudHsmClusterId: third.id })].map(outcome));
    expect(sameHsm.sort()).toEqual(['CloudHsmClusterInUse', 'ok']);
  });

  it('two connects at once make one connection, and both succeed; a disconnect closes it', async () => {
    const id = await create();
    const held = hsms.holdConnects();
    const first = connect(id);
    const second = connect(id);
    await held.reached;
    held.release();
    await Promise.all([first, second]);
    expect(hsms.connections).toHaveLength(1);
    expect((await describe1(id)).connectionState).toBe('CONNECTED');
    await disconnect(id);
    expect(hsms.last.connectionState()).toBe('DISCONNECTED');
  });

  it('a connect of a connected store whose commit fails leaves the connection that serves it open', async () => {
    const id = await create();
    await connect(id);
    const key = await createKey(id);
    const repo = d.store.customKeyStores;
    const update = repo.update.bind(repo);
    repo.update = async () => {
      throw new Error('disk full');
    };
    try {
      await expect(connect(id)).rejects.toThrow();
    } finally {
      repo.update = update;
    }
    expect(hsms.connections).toHaveLength(1);
    expect(hsms.last.connectionState()).toBe('CONNECTED');
    expect((await describe1(id)).connectionState).toBe('CONNECTED');
    expect(await roundTrip(key.keyId)).toBe('on the token');
  });

  it('a disconnect during the reconnect after unsealing wins: the store ends DISCONNECTED with no live connection', async () => {
    const id = await create();
    await connect(id);
    const key = await createKey(id);
    const { held, reconnecting } = await reconnectHeld();
    const disconnecting = disconnect(id);
    // Time for the disconnect to finish first, if nothing held it back behind the reconnect.
    await Promise.race([disconnecting, new Promise((resolve) => setTimeout(resolve, 100))]);
    held.release();
    await reconnecting;
    await disconnecting;
    expect((await describe1(id)).connectionState).toBe('DISCONNECTED');
    expect(hsms.last.connectionState()).toBe('DISCONNECTED');
    expect(await kmsCode(roundTrip(key.keyId))).toBe('InvalidState');
  });

  it('deletes only a DISCONNECTED store without keys; an HSM in use cannot be removed', async () => {
    const id = await create();
    await connect(id);
    await createKey(id);
    expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), id))).toBe('CustomKeyStoreInvalidState');
    await disconnect(id);
    expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), id))).toBe('CustomKeyStoreHasCMKs');
    expect(await kmsCode(d.keys.removeHsm(OPERATOR, hsm.id))).toBe('CloudHsmClusterInUse');
    hsms.addToken('empty', PIN);
    const { hsm: other } = await d.keys.registerHsm(OPERATOR, { modulePath: hsm.modulePath, tokenLabel: 'empty' });
    const empty = await create({ customKeyStoreName: 'empty', cloudHsmClusterId: other.id });
    await d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), empty);
    expect(await kmsCode(d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), empty))).toBe('CustomKeyStoreNotFound');
    await d.keys.removeHsm(OPERATOR, other.id);
    expect((await d.keys.listHsms()).map((h) => h.id)).toEqual([hsm.id]);
  });

  it('pages DescribeCustomKeyStores on after a marker whose store was deleted meanwhile; a marker that is no position is InvalidMarker', async () => {
    const ids = [await create()];
    for (const name of ['hsm-2', 'hsm-3']) {
      d.clock.advance(1000);
      ids.push(await create({ customKeyStoreName: name, cloudHsmClusterId: (await anotherHsm(`token-${name}`)).id }));
    }
    const page = (marker?: string) => d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), { limit: 1, marker });
    const first = await page();
    expect(first.items.map((c) => c.id)).toEqual([ids[0]]);
    const second = await page(first.nextMarker);
    expect(second.items.map((c) => c.id)).toEqual([ids[1]]);
    await d.keys.deleteCustomKeyStore(d.ctx('DeleteCustomKeyStore'), ids[1]!);
    const third = await page(second.nextMarker);
    expect(third.items.map((c) => c.id)).toEqual([ids[2]]);
    expect(third.nextMarker).toBeUndefined();

    const cks = (position: string) => encodeMarker('cks', position);
    for (const marker of [cks(ids[0]!), cks(''), cks('-1 cks-0'), cks('01 cks-0'), cks('1.5 cks-0'), cks('1 '), cks('1 cks 0'), encodeMarker('keys', '1 cks-0')]) {
      expect(await kmsCode(page(marker)), marker).toBe('InvalidMarker');
    }
  });

  it('an HSM removed while an XKS proxy store is made on it answers AWS errors, not the database constraint', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const h = await anotherHsm(`race-${i}`);
      const outcomes = await Promise.allSettled([d.keys.xks.createStore(OPERATOR, { uriPathPrefix: `race-${i}`, hsmId: h.id, pin: PIN }), d.keys.removeHsm(OPERATOR, h.id)]);
      for (const o of outcomes) codes.add(o.status === 'fulfilled' ? 'ok' : await kmsCode(Promise.reject(o.reason)));
    }
    expect([...codes].every((c) => ['ok', 'CloudHsmClusterInUse', 'CloudHsmClusterNotFound'].includes(c)), [...codes].join(',')).toBe(true);
  });

  it('moves a store only to a related HSM (the same token by serial number)', async () => {
    const id = await create();
    hsms.addToken('other-token', PIN, 'serial-2');
    const { hsm: unrelated } = await d.keys.registerHsm(OPERATOR, { modulePath: hsm.modulePath, tokenLabel: 'other-token' });
    expect(await kmsCode(d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore'), { customKeyStoreId: id, cloudHsmClusterId: unrelated.id }))).toBe('CloudHsmClusterNotRelated');
    hsms.addToken('same-token-again', PIN, 'serial-1');
    const { hsm: related } = await d.keys.registerHsm(OPERATOR, { modulePath: '/usr/lib/other/libpkcs11.so', tokenLabel: 'same-token-again' });
    // The same token registered twice backs one store, not two.
    expect(await kmsCode(create({ customKeyStoreName: 'hsm-2', cloudHsmClusterId: related.id }))).toBe('CloudHsmClusterInUse');
    await d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore'), { customKeyStoreId: id, cloudHsmClusterId: related.id });
    expect((await describe1(id)).cloudHsmClusterId).toBe(related.id);
    expect(await kmsCode(create({ customKeyStoreName: 'hsm-2' }))).toBe('CloudHsmClusterInUse');
    // A label padded with spaces names the same token (tokens are looked up trimmed): not registered again.
    expect(await kmsCode(d.keys.registerHsm(OPERATOR, { modulePath: hsm.modulePath, tokenLabel: 'kura-token  ' }))).toBe('AlreadyExists');
  });

  it('tells tokens whose serial numbers name none (NSS softokn: zeros for every database) apart by label and library parameters', async () => {
    const nss = async (label: string, configdir: string) => {
      hsms.addToken(label, PIN, '0000000000000000');
      return (await d.keys.registerHsm(OPERATOR, { modulePath: '/usr/lib/x86_64-linux-gnu/libsoftokn3.so', tokenLabel: label, libraryParameters: `configdir='sql:${configdir}'` })).hsm;
    };
    const a = await nss('nss-a', '/var/lib/kura/nss-a');
    const b = await nss('nss-b', '/var/lib/kura/nss-b');
    const onA = await create({ cloudHsmClusterId: a.id });
    // Another database is another token: it backs a store of its own, and a store does not move to it.
    await create({ customKeyStoreName: 'hsm-b', cloudHsmClusterId: b.id });
    const c = await nss('nss-c', '/var/lib/kura/nss-c');
    expect(await kmsCode(d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore'), { customKeyStoreId: onA, cloudHsmClusterId: c.id }))).toBe('CloudHsmClusterNotRelated');
    // The same database through another module path is the same token.
    const again = (await d.keys.registerHsm(OPERATOR, { modulePath: '/usr/lib/nss/libsoftokn3.so', tokenLabel: 'nss-a', libraryParameters: a.libraryParameters! })).hsm;
    expect(await kmsCode(create({ customKeyStoreName: 'hsm-a2', cloudHsmClusterId: again.id }))).toBe('CloudHsmClusterInUse');
    await d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore'), { customKeyStoreId: onA, cloudHsmClusterId: again.id });
  });

  it('keeps the PIN sealed: not in the database files, the audit log or an error message', async () => {
    const id = await create();
    await connect(id);
    await d.keys.updateCustomKeyStore(d.ctx('UpdateCustomKeyStore'), { customKeyStoreId: id, keyStorePassword: 'x' }).catch((e: Error) => expect(e.message).not.toContain(PIN));
    const audit = JSON.stringify(await d.audit.list({}));
    expect(audit).toContain('CreateCustomKeyStore');
    expect(audit).not.toContain(PIN);
    await d.store.close();
    for (const f of fs.readdirSync(d.dir).filter((n) => n.startsWith('kura.db'))) {
      expect(fs.readFileSync(path.join(d.dir, f)).includes(Buffer.from(PIN))).toBe(false);
    }
  });
});
