// The XKS proxy's backend in the KMS domain (main/kms/xks-proxy.ts), in process over a real SQLite store
// with a FixedClock: stores found by prefix with their sealed credentials, AES-256-GCM under each key with
// exactly the AAD the routes give (refused under another), the per-store rate limit (ThrottlingException
// beyond it, refilled as time passes), the deep health check and its one-minute cache, and what a sealed
// appliance answers. Then stores on an HSM, with a fake token (test/support/fake-hsm.ts): created only
// on a registered HSM with a PIN that logs in (nothing stored otherwise; the PIN kept sealed), keys
// generated on the token, one connection per store opened on first use, a token that fails answered with
// DependencyTimeout and connected again on the next call, a PIN the token refuses tried once (not once a
// call) until the store is given one or the appliance is sealed, a health report per store naming the
// HSM, and connections closed on seal and on deletion. The routes' own rules are
// test/api/xks/conformance.test.ts; end to end, test/integration/xks-proxy.test.ts and, on SoftHSM2,
// test/integration/xks-hsm.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';
import { HEALTH_CACHE_MS } from '../../main/kms/xks-health.js';
import type { HsmRecord } from '../../main/store/index.js';
import { kmsCode, kmsError, openDomain, type Domain } from '../support/domain.js';
import { FakeHsms } from '../support/fake-hsm.js';
import type { XksHsmTokens } from '../../main/kms/xks-hsm-tokens.js';

const OP = { operator: 'kura:admin', operation: 'XksTest' };

describe('XKS proxy backend', () => {
  let d: Domain;
  let storeId: string;
  let accessKeyId: string;
  let secretAccessKey: string;
  let key: string;

  beforeEach(async () => {
    d = await openDomain({ xksRequestsPerSecond: 5 });
    ({ storeId, accessKeyId, secretAccessKey } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'unit' }));
    ({ externalKeyId: key } = await d.keys.xks.createKey(OP, storeId, ['ENCRYPT', 'DECRYPT']));
  });
  afterEach(() => d.close());

  it('finds a store by its prefix and opens the secret of its own credentials only', async () => {
    const access = (await d.keys.xks.resolveStore('unit'))!;
    expect(access.storeId).toBe(storeId);
    expect(await access.secretFor(accessKeyId)).toBe(secretAccessKey);
    const other = await d.keys.xks.createStore(OP, { uriPathPrefix: 'other' });
    expect(await access.secretFor(other.accessKeyId)).toBeUndefined();
    expect(await d.keys.xks.resolveStore('nope')).toBeUndefined();
  });

  it('seals and opens with the AAD it is given, and refuses another', async () => {
    const aad = Buffer.from('aad');
    const enc = await d.keys.xks.encrypt(storeId, key, { plaintext: Buffer.from('secret'), aad });
    if (!enc.ok) throw new Error(enc.message);
    expect(enc.value.iv).toHaveLength(12);
    expect(enc.value.tag).toHaveLength(16);
    const dec = await d.keys.xks.decrypt(storeId, key, { ...enc.value, aad });
    expect(dec.ok && dec.value.toString()).toBe('secret');
    const wrong = await d.keys.xks.decrypt(storeId, key, { ...enc.value, aad: Buffer.from('other') });
    expect(wrong.ok ? 'ok' : wrong.failure).toBe('InvalidCiphertext');
    const missing = await d.keys.xks.metadata(storeId, 'kura-xks-none');
    expect(missing.ok ? 'ok' : missing.failure).toBe('KeyNotFound');
  });

  it('takes at most the configured calls per second per store; the bucket refills with time', async () => {
    const outcomes = [];
    for (let i = 0; i < 7; i++) outcomes.push(await d.keys.xks.metadata(storeId, key));
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.failure))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'Throttling', 'Throttling']);
    d.clock.advance(400);
    const after = [await d.keys.xks.metadata(storeId, key), await d.keys.xks.metadata(storeId, key), await d.keys.xks.metadata(storeId, key)];
    expect(after.map((o) => (o.ok ? 'ok' : o.failure))).toEqual(['ok', 'ok', 'Throttling']);
    // A call is counted once, where the routes start it (metadata, health): the cipher calls after it are not.
    const sealed = await d.keys.xks.encrypt(storeId, key, { plaintext: Buffer.from('x'), aad: Buffer.alloc(0) });
    expect(sealed.ok).toBe(true);
    // Another store has its own bucket.
    const other = await d.keys.xks.createStore(OP, { uriPathPrefix: 'other' });
    expect((await d.keys.xks.health(other.storeId)).ok).toBe(true);
  });

  it('does not bank idle time: after 10 s idle a store still takes only a burst of the rate, then throttles', async () => {
    // The first call makes the store's bucket; idle time then refills it, but only up to the rate.
    expect((await d.keys.xks.metadata(storeId, key)).ok).toBe(true);
    d.clock.advance(10_000);
    const outcomes = [];
    for (let i = 0; i < 7; i++) outcomes.push(await d.keys.xks.metadata(storeId, key));
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.failure))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'Throttling', 'Throttling']);
  });

  it('keeps the tokens a store has when the wall clock steps back, and refills from then on', async () => {
    for (let i = 0; i < 3; i++) expect((await d.keys.xks.metadata(storeId, key)).ok).toBe(true);
    d.clock.set(d.clock.nowMs() - 60_000);
    const after = [];
    for (let i = 0; i < 3; i++) after.push(await d.keys.xks.metadata(storeId, key));
    expect(after.map((o) => (o.ok ? 'ok' : o.failure))).toEqual(['ok', 'ok', 'Throttling']);
    d.clock.advance(1_000);
    expect((await d.keys.xks.metadata(storeId, key)).ok).toBe(true);
  });

  it("a key made while its store is deleted answers AWS-shaped errors, not the database's constraint", async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: `race-${i}` });
      const outcomes = await Promise.allSettled([d.keys.xks.createKey(OP, storeId, ['ENCRYPT']), d.keys.xks.deleteStore(OP, storeId)]);
      for (const o of outcomes) codes.add(o.status === 'fulfilled' ? 'ok' : await kmsCode(Promise.reject(o.reason)));
    }
    expect([...codes].every((c) => ['ok', 'NotFound', 'InvalidState'].includes(c)), [...codes].join(',')).toBe(true);
  });

  it('refuses a URI path prefix that could never be called: under admin or console, or ending in /kms/xks/v1', async () => {
    for (const uriPathPrefix of ['admin', 'console/x', 'tenant/kms/xks/v1', 'kms/xks/v1']) {
      expect([uriPathPrefix, await kmsCode(d.keys.xks.createStore(OP, { uriPathPrefix }))]).toEqual([uriPathPrefix, 'Validation']);
    }
    expect((await d.keys.xks.createStore(OP, { uriPathPrefix: 'administration/kms' })).uriPath).toBe('/administration/kms/kms/xks/v1');
  });

  it('reports health from a deep check, cached for a minute; sealed, it is UNAVAILABLE and keys cannot be used', async () => {
    const first = await d.keys.xks.health(storeId);
    expect(first.ok && first.value.ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
    d.root.seal();
    d.clock.advance(1_000);
    const sealed = await d.keys.xks.health(storeId);
    expect(sealed.ok && sealed.value.ekmFleetDetails[0]!.healthStatus).toBe('UNAVAILABLE');
    const enc = await d.keys.xks.encrypt(storeId, key, { plaintext: Buffer.from('x'), aad: Buffer.alloc(0) });
    expect(enc.ok ? 'ok' : enc.failure).toBe('DependencyTimeout');
    expect(await (await d.keys.xks.resolveStore('unit'))!.secretFor(accessKeyId)).toBeUndefined();
    expect((await d.keys.xks.resolveStore('unit'))!.sealed).toBe(true);
    await d.root.initAndUnsealDev(d.rootKey);
    d.clock.advance(1_000);
    // Still the cached (sealed) report until the minute has passed.
    const cached = await d.keys.xks.health(storeId);
    expect(cached.ok && cached.value.ekmFleetDetails[0]!.healthStatus).toBe('UNAVAILABLE');
    d.clock.advance(HEALTH_CACHE_MS);
    const fresh = await d.keys.xks.health(storeId);
    expect(fresh.ok && fresh.value.ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
  });
});

describe('XKS proxy stores on an HSM (a fake token)', () => {
  const PIN = 'xks-pin-51c0de';
  let d: Domain;
  let hsms: FakeHsms;
  let hsm: HsmRecord;
  let logLines: string[];
  const token = () => hsms.tokens.get('xks-token')!;
  const health = async (storeId: string) => {
    const h = await d.keys.xks.health(storeId);
    if (!h.ok) throw new Error(h.message);
    return h.value;
  };
  const roundTrip = async (storeId: string, key: string, text: string) => {
    const aad = Buffer.from('aad');
    const enc = await d.keys.xks.encrypt(storeId, key, { plaintext: Buffer.from(text), aad });
    if (!enc.ok) return enc.failure;
    const dec = await d.keys.xks.decrypt(storeId, key, { ...enc.value, aad });
    return dec.ok ? dec.value.toString() : dec.failure;
  };

  beforeEach(async () => {
    hsms = new FakeHsms();
    hsms.addToken('xks-token', PIN, 'serial-xks');
    logLines = [];
    d = await openDomain({ hsmConnector: hsms, log: createLogger('warn', (line) => logLines.push(line)) });
    ({ hsm } = await d.keys.registerHsm({ operator: 'kura:admin', operation: 'RegisterHsm' }, { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'xks-token' }));
  });
  afterEach(() => d.close());

  it('makes a store only on a registered HSM with a PIN that logs in; nothing is stored otherwise, and the PIN is kept sealed', async () => {
    const unknown = await kmsError(d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: 'cluster-aaaaaaaaaaa', pin: PIN }));
    expect(unknown.code).toBe('CloudHsmClusterNotFound');
    expect(unknown.message).toMatch(/kura hsm list/);
    const wrong = await kmsError(d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: 'not-the-pin' }));
    expect(wrong.code).toBe('CloudHsmClusterInvalidConfiguration');
    expect(wrong.message).toMatch(/INVALID_CREDENTIALS/);
    expect(wrong.message).not.toContain('not-the-pin');
    expect(await kmsCode(d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id }))).toBe('Validation');
    expect(await kmsCode(d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', pin: PIN }))).toBe('Validation');
    expect(await d.keys.xks.listStores()).toEqual([]);
    expect(token().keys.size).toBe(0);

    const made = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    expect(made.uriPath).toBe('/hsm/kms/xks/v1');
    expect(await d.keys.xks.listStores()).toEqual([expect.objectContaining({ storeId: made.storeId, hsmId: hsm.id, credentials: 1, keys: 0 })]);
    // Its health check key is on the token; the login that checked the PIN is given back.
    expect(token().keys.size).toBe(1);
    expect(hsms.last.labels).toEqual([`kura-xks-health-${made.storeId}`]);
    expect(hsms.connections.map((c) => c.connectionState())).toEqual(['DISCONNECTED']);
    // A taken prefix is refused before the token is touched.
    expect(await kmsCode(d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN }))).toBe('AlreadyExists');
    expect(hsms.connections).toHaveLength(1);

    const audit = JSON.stringify(await d.audit.list({}));
    expect(audit).toContain(made.storeId);
    expect(audit).not.toContain(PIN);
    await d.store.close();
    for (const f of fs.readdirSync(d.dir).filter((n) => n.startsWith('kura.db'))) {
      expect(fs.readFileSync(path.join(d.dir, f)).includes(Buffer.from(PIN))).toBe(false);
    }
  });

  it('keeps the HSM registered while a proxy store keeps its keys there: kura hsm remove is refused with CloudHsmClusterInUse', async () => {
    const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const refused = await kmsError(d.keys.removeHsm({ operator: 'kura:admin', operation: 'RemoveHsm' }, hsm.id));
    expect(refused.code).toBe('CloudHsmClusterInUse');
    expect(refused.message).toContain(storeId);
    expect((await d.keys.listHsms()).map((h) => h.id)).toEqual([hsm.id]);
    await d.keys.xks.deleteStore(OP, storeId);
    await d.keys.removeHsm({ operator: 'kura:admin', operation: 'RemoveHsm' }, hsm.id);
    expect(await d.keys.listHsms()).toEqual([]);
  });

  it('generates keys on the token, and encrypts and decrypts there over one connection, opened on first use', async () => {
    const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const { externalKeyId: key } = await d.keys.xks.createKey(OP, storeId, ['ENCRYPT', 'DECRYPT']);
    expect(token().keys.size).toBe(2);
    expect(hsms.last.labels).toEqual([key]);
    expect(hsms.connections).toHaveLength(2);
    expect(await roundTrip(storeId, key, 'on the token')).toBe('on the token');
    const calls = await Promise.all(Array.from({ length: 10 }, (_, i) => roundTrip(storeId, key, `call ${i}`)));
    expect(calls).toEqual(Array.from({ length: 10 }, (_, i) => `call ${i}`));
    expect(hsms.connections).toHaveLength(2);
    const enc = await d.keys.xks.encrypt(storeId, key, { plaintext: Buffer.from('x'), aad: Buffer.from('aad') });
    if (!enc.ok) throw new Error(enc.message);
    const wrong = await d.keys.xks.decrypt(storeId, key, { ...enc.value, aad: Buffer.from('other') });
    expect(wrong.ok ? 'ok' : wrong.failure).toBe('InvalidCiphertext');
    // The key is the token's: a store in the standard key store does not have it.
    const standard = await d.keys.xks.createStore(OP, { uriPathPrefix: 'standard' });
    expect(await roundTrip(standard.storeId, key, 'x')).toBe('KeyNotFound');
  });

  it('answers DependencyTimeout while the token fails or cannot be found, and connects again on a later call', async () => {
    const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const { externalKeyId: key } = await d.keys.xks.createKey(OP, storeId, ['ENCRYPT', 'DECRYPT']);
    expect(await roundTrip(storeId, key, 'before')).toBe('before');
    expect((await health(storeId)).ekmFleetDetails).toEqual([{ id: hsm.id, model: 'Kura tests fake', healthStatus: 'ACTIVE' }]);

    // The token fails mid-use, and is gone meanwhile: no connection can be made.
    const pulled = token();
    hsms.tokens.delete('xks-token');
    hsms.last.pull('INSUFFICIENT_CLOUDHSM_HSMS');
    const enc = await d.keys.xks.encrypt(storeId, key, { plaintext: Buffer.from('x'), aad: Buffer.alloc(0) });
    expect(enc.ok ? 'ok' : [enc.failure, enc.message]).toEqual([
      'DependencyTimeout',
      expect.stringMatching(new RegExp(`HSM ${hsm.id} .*not available.*INSUFFICIENT_CLOUDHSM_HSMS.*connects to it again on the next call`)),
    ]);
    // The health report is a minute old at most: the next one names the HSM UNAVAILABLE.
    expect((await health(storeId)).ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
    d.clock.advance(HEALTH_CACHE_MS);
    expect((await health(storeId)).ekmFleetDetails[0]!.healthStatus).toBe('UNAVAILABLE');

    hsms.tokens.set('xks-token', pulled);
    expect(await roundTrip(storeId, key, 'after')).toBe('after');
    d.clock.advance(HEALTH_CACHE_MS);
    expect((await health(storeId)).ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
  });

  it('tries a PIN the token refuses once, across calls and health checks, until the store is given one or Kura is sealed', async () => {
    const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const { externalKeyId: key } = await d.keys.xks.createKey(OP, storeId, ['ENCRYPT', 'DECRYPT']);
    expect(await roundTrip(storeId, key, 'before')).toBe('before');

    // The PIN changed on the token while the store's connection was down (as after a restart).
    token().pin = 'changed-1';
    hsms.last.pull('INSUFFICIENT_CLOUDHSM_HSMS');
    const logins = hsms.logins.length;
    const calls = [];
    for (let i = 0; i < 5; i++) {
      calls.push(await roundTrip(storeId, key, 'x'));
      d.clock.advance(HEALTH_CACHE_MS);
      calls.push((await health(storeId)).ekmFleetDetails[0]!.healthStatus);
    }
    calls.push(...(await Promise.all(Array.from({ length: 5 }, () => roundTrip(storeId, key, 'x')))));
    expect(calls).toEqual([...Array.from({ length: 5 }, () => ['DependencyTimeout', 'UNAVAILABLE']).flat(), ...Array(5).fill('DependencyTimeout')]);
    expect(hsms.logins.slice(logins)).toEqual(['refused']);
    const refused = await d.keys.xks.encrypt(storeId, key, { plaintext: Buffer.from('x'), aad: Buffer.alloc(0) });
    expect(refused.ok ? 'ok' : refused.message).toMatch(new RegExp(`refused the PIN of XKS proxy store ${storeId} \\(INVALID_CREDENTIALS\\).*kura xks stores update --store ${storeId}`));
    expect(refused.ok ? 'ok' : refused.message).not.toMatch(/connects to it again/);
    expect(logLines.filter((l) => l.includes('refused the PIN'))).toHaveLength(1);
    // Deleting a key needs the token too: refused as well, without a login.
    expect(await kmsCode(d.keys.xks.deleteKey(OP, storeId, key))).toBe('KeyUnavailable');
    expect(hsms.logins.slice(logins)).toEqual(['refused']);

    // Sealed and unsealed: one more try.
    d.root.seal();
    await d.root.initAndUnsealDev(d.rootKey);
    expect(await roundTrip(storeId, key, 'x')).toBe('DependencyTimeout');
    expect(await roundTrip(storeId, key, 'x')).toBe('DependencyTimeout');
    expect(hsms.logins.slice(logins)).toEqual(['refused', 'refused']);

    // A wrong PIN given to the store changes nothing.
    const wrong = await kmsError(d.keys.xks.updateStorePin(OP, storeId, 'not-the-pin'));
    expect([wrong.code, wrong.message]).toEqual(['CloudHsmClusterInvalidConfiguration', expect.stringContaining('INVALID_CREDENTIALS')]);
    expect(wrong.message).not.toContain('not-the-pin');
    expect(await roundTrip(storeId, key, 'x')).toBe('DependencyTimeout');
    expect(hsms.logins.slice(logins)).toEqual(['refused', 'refused', 'refused']);

    // The PIN the token takes: calls work at once, and the health check is made afresh.
    await d.keys.xks.updateStorePin(OP, storeId, 'changed-1');
    expect(hsms.logins.slice(logins)).toEqual(['refused', 'refused', 'refused', 'ok']);
    expect(await roundTrip(storeId, key, 'after')).toBe('after');
    expect((await health(storeId)).ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
    const entries = await d.audit.list({});
    expect(entries.slice(-2).map((e) => [e.outcome, e.errorCode ?? e.details])).toEqual([
      ['error', 'CloudHsmClusterInvalidConfiguration'],
      ['ok', { xksStoreId: storeId, hsmId: hsm.id }],
    ]);
    const audit = JSON.stringify(entries);
    expect(audit).not.toContain('changed-1');
    expect(audit).not.toContain('not-the-pin');
    // Sealed under the root key, as at create: a restart connects with it.
    const row = (await d.store.xks.findStore(storeId))!;
    expect(row.pinSealed!.includes(Buffer.from('changed-1'))).toBe(false);
    d.root.seal();
    await d.root.initAndUnsealDev(d.rootKey);
    expect(await roundTrip(storeId, key, 'unsealed')).toBe('unsealed');
  });

  it('gives a new PIN only to a store on an HSM that exists, and only while unsealed', async () => {
    const standard = await d.keys.xks.createStore(OP, { uriPathPrefix: 'standard' });
    const onHsm = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    expect(await kmsCode(d.keys.xks.updateStorePin(OP, standard.storeId, PIN))).toBe('Validation');
    expect(await kmsCode(d.keys.xks.updateStorePin(OP, 'xks-nosuch', PIN))).toBe('NotFound');
    expect(await kmsCode(d.keys.xks.updateStorePin(OP, onHsm.storeId, ''))).toBe('Validation');
    d.root.seal();
    expect(await kmsCode(d.keys.xks.updateStorePin(OP, onHsm.storeId, PIN))).toBe('Sealed');
    expect((await d.store.xks.findStore(standard.storeId))!.pinSealed).toBeNull();
  });

  it('refuses to delete a key or a store while its token cannot be reached, so nothing is left on the token that no row names', async () => {
    const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const { externalKeyId: key } = await d.keys.xks.createKey(OP, storeId, ['ENCRYPT', 'DECRYPT']);
    expect(await roundTrip(storeId, key, 'x')).toBe('x');
    const held = token();
    hsms.tokens.delete('xks-token');
    hsms.last.pull('INSUFFICIENT_CLOUDHSM_HSMS');
    expect(await kmsCode(d.keys.xks.deleteKey(OP, storeId, key))).toBe('KeyUnavailable');
    expect((await d.keys.xks.listKeys(storeId)).map((k) => k.externalKeyId)).toEqual([key]);
    expect(held.keys.size).toBe(2);
    hsms.tokens.set('xks-token', held);
    await d.keys.xks.deleteKey(OP, storeId, key);
    expect(token().keys.size).toBe(1);

    hsms.tokens.delete('xks-token');
    hsms.last.pull('INSUFFICIENT_CLOUDHSM_HSMS');
    expect(await kmsCode(d.keys.xks.deleteStore(OP, storeId))).toBe('KeyUnavailable');
    expect((await d.keys.xks.listStores()).map((s) => s.storeId)).toEqual([storeId]);
    hsms.tokens.set('xks-token', held);
    await d.keys.xks.deleteStore(OP, storeId);
    expect(token().keys.size).toBe(0);
  });

  it('a call that read a store before its deletion does not connect its token again afterwards', async () => {
    const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const stale = (await d.store.xks.findStore(storeId))!;
    await d.keys.xks.deleteStore(OP, storeId);
    // As a deep health check that read the store just before would: through the store's token connections.
    const tokens = (d.keys.xks as unknown as { tokens: XksHsmTokens }).tokens;
    expect(await kmsCode(tokens.connection(stale))).toBe('KeyUnavailable');
    expect(hsms.connections.every((c) => c.connectionState() === 'DISCONNECTED')).toBe(true);
  });

  it('keeps a health report per store; a token that answers but fails the test is DEGRADED', async () => {
    const onHsm = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const standard = await d.keys.xks.createStore(OP, { uriPathPrefix: 'standard' });
    expect((await health(standard.storeId)).ekmFleetDetails).toEqual([{ id: 'standard', model: expect.stringContaining('standard key store'), healthStatus: 'ACTIVE' }]);
    expect((await health(onHsm.storeId)).ekmFleetDetails).toEqual([{ id: hsm.id, model: 'Kura tests fake', healthStatus: 'ACTIVE' }]);
    // The health check key removed from the token behind Kura's back.
    token().keys.clear();
    d.clock.advance(HEALTH_CACHE_MS);
    expect((await health(onHsm.storeId)).ekmFleetDetails[0]!.healthStatus).toBe('DEGRADED');
    expect((await health(standard.storeId)).ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
  });

  it('closes its connection when the appliance seals and connects again once unsealed; deleting keys and the store empties the token', async () => {
    const { storeId } = await d.keys.xks.createStore(OP, { uriPathPrefix: 'hsm', hsmId: hsm.id, pin: PIN });
    const { externalKeyId: key } = await d.keys.xks.createKey(OP, storeId, ['ENCRYPT', 'DECRYPT']);
    expect(await roundTrip(storeId, key, 'x')).toBe('x');
    const live = hsms.last;
    d.root.seal();
    await expect.poll(() => live.connectionState()).toBe('DISCONNECTED');
    expect(await roundTrip(storeId, key, 'x')).toBe('DependencyTimeout');
    // A key on the token is not deleted while the PIN is sealed (it would be left on the token).
    expect(await kmsCode(d.keys.xks.deleteKey(OP, storeId, key))).toBe('Sealed');
    await d.root.initAndUnsealDev(d.rootKey);
    expect(await roundTrip(storeId, key, 'unsealed')).toBe('unsealed');
    expect(hsms.last).not.toBe(live);

    await d.keys.xks.deleteKey(OP, storeId, key);
    expect(token().keys.size).toBe(1);
    const open = hsms.last;
    await d.keys.xks.deleteStore(OP, storeId);
    expect(token().keys.size).toBe(0);
    expect(open.connectionState()).toBe('DISCONNECTED');
    expect(hsms.connections.every((c) => c.connectionState() === 'DISCONNECTED')).toBe(true);
  });
});
