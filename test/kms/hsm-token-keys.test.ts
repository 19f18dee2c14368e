// The listing of a connected AWS_CLOUDHSM store's token keys (main/kms/hsm-token-keys.ts, what `kura hsm
// keys` shows), on a real SoftHSM2 token and real SQLite: each key's user is found by its material ID
// (a KMS key's materials, an XKS proxy key's row, an XKS store's health check key by its store), so a
// key labelled as Kura labels keys that nothing holds is an orphan — one a killed CreateKey, of a KMS key
// or of an XKS key, leaves — and a key labelled otherwise is another application's. An XKS store on the
// same HSM shares the token's login: it is named, and its keys are its own. The listing is audited (the
// admin source, the store named), refused while the store is not connected, and the connect's log
// names the same orphans.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';
import { connectHsmKeyStore, probeHsmToken } from '../../main/keystores/hsm/index.js';
import { auditEntriesAfter, kmsError, openDomain, type Domain } from '../support/domain.js';
import { secretKeysOn, softHsm, trustAnchorPem } from '../support/tokens.js';

const env = softHsm();
afterAll(() => env.cleanup());
const trustAnchor = trustAnchorPem();
const admin = { operator: 'kura:admin', operation: 'ListHsmTokenKeys' };

let d: Domain;
let storeId: string;
let hsmId: string;
let token: ReturnType<typeof env.makeToken>;
const logLines: string[] = [];

beforeEach(async () => {
  // A random label per test (a token label is at most 32 characters): one made from the time can repeat
  // within one SoftHSM2 directory, and the test would meet another test's token.
  token = env.makeToken(`kura-tk-${randomUUID().slice(0, 18)}`, '7654321');
  logLines.length = 0;
  const log = createLogger('info', (l) => logLines.push(l));
  d = await openDomain({ log, hsmConnector: { probe: probeHsmToken, connect: (c) => connectHsmKeyStore(c, { log }) } });
  hsmId = (await d.keys.registerHsm({ operator: 'kura:admin', operation: 'RegisterHsm' }, { modulePath: env.modulePath, tokenLabel: token.label })).hsm.id;
  storeId = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'token-keys', cloudHsmClusterId: hsmId, trustAnchorCertificate: trustAnchor, keyStorePassword: token.pin });
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
});
afterEach(() => d.close());

const tool = (...args: string[]) => execFileSync('pkcs11-tool', ['--module', env.modulePath, '--token-label', token.label, '--login', '--pin', token.pin, ...args], { env: env.env, stdio: 'pipe' }).toString();
const createKey = () => d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' });
const useOf = async (label: string) => (await d.keys.listHsmTokenKeys(admin, storeId)).keys.find((k) => k.label === label)?.usedBy;

it('names the KMS key each token key is the material of, and calls a key labelled with an ARN that no key holds an orphan', async () => {
  const [a, b] = [await createKey(), await createKey()];
  const orphanArn = `arn:aws:kms:us-east-1:111122223333:key/${randomUUID()}`;
  tool('--keygen', '--key-type', 'AES:32', '--label', orphanArn, '--id', '0a0b');
  tool('--keygen', '--key-type', 'AES:32', '--label', 'another-application', '--id', '0c0d');
  // A key's own ARN on another key object (relabelled, or a second try) is not its material: an orphan too.
  tool('--keygen', '--key-type', 'AES:32', '--label', d.keys.arnOf(a), '--id', '0e0f');
  const listed = await d.keys.listHsmTokenKeys(admin, storeId);
  expect(listed).toMatchObject({ customKeyStoreId: storeId, hsmId, tokenLabel: token.label, sharedWith: [], truncated: false });
  const onToken = secretKeysOn(env, token);
  const uses = listed.keys.map((k) => [k.label, k.ckaId, k.usedBy]);
  expect(uses).toHaveLength(5);
  expect(uses).toContainEqual([d.keys.arnOf(a), expect.stringMatching(/^[0-9a-f]{32}$/), { kind: 'kms-key', keyId: a.keyId }]);
  expect(uses).toContainEqual([d.keys.arnOf(b), onToken.get(d.keys.arnOf(b)), { kind: 'kms-key', keyId: b.keyId }]);
  expect(uses).toContainEqual([orphanArn, '0a0b', { kind: 'orphan' }]);
  expect(uses).toContainEqual([d.keys.arnOf(a), '0e0f', { kind: 'orphan' }]);
  expect(uses).toContainEqual(['another-application', '0c0d', { kind: 'not-kura' }]);
  expect(listed.keys.every((k) => /^[0-9a-f]{64}$/.test(k.materialId))).toBe(true);
});

it('gives an XKS store on the same HSM its keys and health check key, names it as sharing the token, and calls an XKS-labelled key nothing holds an orphan', async () => {
  const xks = await d.keys.xks.createStore({ operator: 'kura:admin', operation: 'CreateXksStore' }, { uriPathPrefix: 'shared', hsmId, pin: token.pin });
  const { externalKeyId } = await d.keys.xks.createKey({ operator: 'kura:admin', operation: 'CreateXksKey' }, xks.storeId, ['ENCRYPT', 'DECRYPT']);
  // What an XKS CreateKey (or store) killed before its commit leaves.
  const lostKey = `kura-xks-${randomUUID()}`;
  const lostHealth = `kura-xks-health-xks-${randomUUID()}`;
  tool('--keygen', '--key-type', 'AES:32', '--label', lostKey, '--id', '1a1b');
  tool('--keygen', '--key-type', 'AES:32', '--label', lostHealth, '--id', '1c1d');
  const listed = await d.keys.listHsmTokenKeys(admin, storeId);
  expect(listed.sharedWith).toEqual([xks.storeId]);
  expect(await useOf(externalKeyId)).toEqual({ kind: 'xks-key', xksStoreId: xks.storeId, externalKeyId });
  expect(await useOf(`kura-xks-health-${xks.storeId}`)).toEqual({ kind: 'xks-health-check', xksStoreId: xks.storeId });
  expect(await useOf(lostKey)).toEqual({ kind: 'orphan' });
  expect(await useOf(lostHealth)).toEqual({ kind: 'orphan' });
  // The connect's log names the same orphans, and none of the XKS store's keys.
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
  const named = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'HSM token key that no KMS key of this appliance uses').map((l) => l.label);
  expect(named.sort()).toEqual([lostHealth, lostKey].sort());
});

it('is audited as an admin read naming the store, refusals too; a store not connected is refused, saying to connect it', async () => {
  const before = await d.store.audit.count();
  await d.keys.listHsmTokenKeys(admin, storeId);
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
  expect(await kmsError(d.keys.listHsmTokenKeys(admin, storeId))).toMatchObject({
    code: 'CustomKeyStoreInvalidState',
    message: expect.stringContaining(`${storeId} is not connected: connect it first (aws kms connect-custom-key-store`),
  });
  expect(await kmsError(d.keys.listHsmTokenKeys(admin, 'cks-0123456789abcdef0'))).toMatchObject({ code: 'CustomKeyStoreNotFound' });
  const entries = (await auditEntriesAfter(d, before)).filter((e) => e.operation === 'ListHsmTokenKeys');
  expect(entries).toEqual([
    expect.objectContaining({ principal: 'kura:admin', source: 'admin', outcome: 'ok', details: { customKeyStoreId: storeId } }),
    expect.objectContaining({ outcome: 'error', errorCode: 'CustomKeyStoreInvalidState', details: { customKeyStoreId: storeId } }),
    expect.objectContaining({ outcome: 'error', errorCode: 'CustomKeyStoreNotFound', details: { customKeyStoreId: 'cks-0123456789abcdef0' } }),
  ]);
});
