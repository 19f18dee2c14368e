// The listing of an HSM's token keys by HSM (main/kms/hsm-token-keys.ts listOnHsm, what `kura hsm keys --hsm`
// shows), on a real SoftHSM2 token and real SQLite: an HSM that backs XKS proxy stores only has no custom
// key store to list through, so the listing goes through the login an XKS store on it keeps (made by its
// first call), or a connected custom key store's, whichever is live, and never logs in itself. An
// XKS-labelled key that no row holds (an XKS CreateKey cut off between the token and the database) is an
// orphan there too. With no live login the listing is refused, naming what to connect (`kura xks stores
// update` for a store whose token refused its PIN); every listing is audited like the listing by store.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';
import { connectHsmKeyStore, probeHsmToken } from '../../main/keystores/hsm/index.js';
import { auditEntriesAfter, kmsError, openDomain, type Domain } from '../support/domain.js';
import { secretKeysOn, softHsm, trustAnchorPem } from '../support/tokens.js';

const env = softHsm();
afterAll(() => env.cleanup());
const admin = { operator: 'kura:admin', operation: 'ListHsmTokenKeys' };
const asAdmin = (operation: string) => ({ operator: 'kura:admin', operation });

let d: Domain;
let hsmId: string;
let token: ReturnType<typeof env.makeToken>;

beforeEach(async () => {
  token = env.makeToken(`kura-by-hsm-${randomUUID().slice(0, 8)}`, '7654321');
  const log = createLogger('error', () => undefined);
  d = await openDomain({ log, hsmConnector: { probe: probeHsmToken, connect: (c) => connectHsmKeyStore(c, { log }) } });
  hsmId = (await d.keys.registerHsm(asAdmin('RegisterHsm'), { modulePath: env.modulePath, tokenLabel: token.label })).hsm.id;
});
afterEach(() => d.close());

const tool = (...args: string[]) => execFileSync('pkcs11-tool', ['--module', env.modulePath, '--token-label', token.label, '--login', '--pin', token.pin, ...args], { env: env.env, stdio: 'pipe' }).toString();
const xksStore = () => d.keys.xks.createStore(asAdmin('CreateXksStore'), { uriPathPrefix: `p${randomUUID().slice(0, 8)}`, hsmId, pin: token.pin });

it('lists an HSM that backs an XKS store only through the login the store keeps: its keys, its health check key, and XKS-labelled orphans (one under its health check label)', async () => {
  const xks = await xksStore();
  // Its first key change connects the store's token, and the store keeps that login.
  const a = (await d.keys.xks.createKey(asAdmin('CreateXksKey'), xks.storeId, ['ENCRYPT', 'DECRYPT'])).externalKeyId;
  const b = (await d.keys.xks.createKey(asAdmin('CreateXksKey'), xks.storeId, ['ENCRYPT', 'DECRYPT'])).externalKeyId;
  // What an XKS CreateKey killed before its commit leaves.
  const lost = `kura-xks-${randomUUID()}`;
  tool('--keygen', '--key-type', 'AES:32', '--label', lost, '--id', '2a2b');
  // A key under the store's health check label that is not the one its row holds: matched by material ID, an orphan.
  tool('--keygen', '--key-type', 'AES:32', '--label', `kura-xks-health-${xks.storeId}`, '--id', '2c2d');
  const before = await d.store.audit.count();
  const listed = await d.keys.listHsmTokenKeysOnHsm(admin, hsmId);
  expect(listed).toMatchObject({ customKeyStoreId: null, hsmId, tokenLabel: token.label, sharedWith: [xks.storeId], truncated: false });
  const uses = listed.keys.map((k) => [k.label, k.ckaId, k.usedBy]);
  expect(uses).toHaveLength(5);
  const onToken = secretKeysOn(env, token);
  expect(uses).toContainEqual([a, onToken.get(a), { kind: 'xks-key', xksStoreId: xks.storeId, externalKeyId: a }]);
  expect(uses).toContainEqual([b, onToken.get(b), { kind: 'xks-key', xksStoreId: xks.storeId, externalKeyId: b }]);
  expect(uses).toContainEqual([`kura-xks-health-${xks.storeId}`, expect.any(String), { kind: 'xks-health-check', xksStoreId: xks.storeId }]);
  expect(uses).toContainEqual([lost, '2a2b', { kind: 'orphan' }]);
  expect(uses).toContainEqual([`kura-xks-health-${xks.storeId}`, '2c2d', { kind: 'orphan' }]);
  expect(uses.filter(([, , use]) => (use as { kind: string }).kind === 'xks-health-check')).toHaveLength(1);
  expect((await auditEntriesAfter(d, before)).filter((e) => e.operation === 'ListHsmTokenKeys')).toEqual([
    expect.objectContaining({ principal: 'kura:admin', source: 'admin', outcome: 'ok', details: { hsmId } }),
  ]);
});

it('lists through a connected custom key store on the HSM, naming it; through an XKS store once that store is disconnected', async () => {
  const cks = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'by-hsm', cloudHsmClusterId: hsmId, trustAnchorCertificate: trustAnchorPem(), keyStorePassword: token.pin });
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), cks);
  const key = await d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: cks, origin: 'AWS_CLOUDHSM' });
  const xks = await xksStore();
  const external = (await d.keys.xks.createKey(asAdmin('CreateXksKey'), xks.storeId, ['ENCRYPT'])).externalKeyId;
  const viaCustom = await d.keys.listHsmTokenKeysOnHsm(admin, hsmId);
  expect(viaCustom).toMatchObject({ customKeyStoreId: cks, sharedWith: [xks.storeId] });
  expect(viaCustom.keys.map((k) => k.usedBy)).toEqual(expect.arrayContaining([{ kind: 'kms-key', keyId: key.keyId }, { kind: 'xks-key', xksStoreId: xks.storeId, externalKeyId: external }]));
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), cks);
  const viaXks = await d.keys.listHsmTokenKeysOnHsm(admin, hsmId);
  expect(viaXks).toMatchObject({ customKeyStoreId: null, sharedWith: [xks.storeId] });
  expect(viaXks.keys.map((k) => k.usedBy)).toEqual(expect.arrayContaining([{ kind: 'kms-key', keyId: key.keyId }, { kind: 'xks-key', xksStoreId: xks.storeId, externalKeyId: external }]));
});

it('refuses (audited) an HSM no login of Kura is live on, naming what to connect, and does not log in itself', async () => {
  const before = await d.store.audit.count();
  // No store on it at all.
  expect(await kmsError(d.keys.listHsmTokenKeysOnHsm(admin, hsmId))).toMatchObject({ code: 'InvalidState', message: expect.stringContaining('No key store of Kura') });
  // An XKS store whose creation's login was given back, and which has had no call since.
  const xks = await xksStore();
  const cks = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'idle', cloudHsmClusterId: hsmId, trustAnchorCertificate: trustAnchorPem(), keyStorePassword: token.pin });
  for (let i = 0; i < 2; i++) {
    const refused = await kmsError(d.keys.listHsmTokenKeysOnHsm(admin, hsmId));
    expect(refused.code).toBe('InvalidState');
    expect(refused.message).toContain(`No login of Kura's to the token "${token.label}" of HSM ${hsmId} is live`);
    expect(refused.message).toContain(`connect custom key store ${cks} (aws kms connect-custom-key-store --custom-key-store-id ${cks})`);
    expect(refused.message).toContain(`XKS proxy store ${xks.storeId} connect its token: it does on its first call`);
  }
  expect(await kmsError(d.keys.listHsmTokenKeysOnHsm(admin, 'cluster-abcdefghijk'))).toMatchObject({ code: 'CloudHsmClusterNotFound' });
  const entries = (await auditEntriesAfter(d, before)).filter((e) => e.operation === 'ListHsmTokenKeys');
  expect(entries.map((e) => [e.outcome, e.errorCode, e.details])).toEqual([
    ['error', 'InvalidState', { hsmId }],
    ['error', 'InvalidState', { hsmId }],
    ['error', 'InvalidState', { hsmId }],
    ['error', 'CloudHsmClusterNotFound', { hsmId: 'cluster-abcdefghijk' }],
  ]);
});

it('names `kura xks stores update` for an XKS store whose token refused its PIN, which listing does not offer again', async () => {
  const xks = await xksStore();
  // The PIN changed on the token behind Kura's back: the store's next call is refused, and remembered.
  tool('--change-pin', '--new-pin', '7777777');
  expect(await kmsError(d.keys.xks.createKey(asAdmin('CreateXksKey'), xks.storeId, ['ENCRYPT']))).toMatchObject({ code: 'KeyUnavailable' });
  const refused = await kmsError(d.keys.listHsmTokenKeysOnHsm(admin, hsmId));
  expect(refused.code).toBe('InvalidState');
  expect(refused.message).toContain(`give XKS proxy store ${xks.storeId} a PIN its token takes (kura xks stores update --store ${xks.storeId} --pin-file FILE`);
});
