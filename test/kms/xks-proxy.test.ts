// The XKS proxy's backend in the KMS domain (main/kms/xks-proxy.ts), in process over a real SQLite store
// with a FixedClock: stores found by prefix with their sealed credentials, AES-256-GCM under each key with
// exactly the AAD the routes give (refused under another), the per-store rate limit (ThrottlingException
// beyond it, refilled as time passes), the deep health check and its one-minute cache, and what a sealed
// appliance answers. The routes' own rules are test/api/xks/conformance.test.ts; end to end,
// test/integration/xks-proxy.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HEALTH_CACHE_MS } from '../../main/kms/xks-proxy.js';
import { openDomain, type Domain } from '../support/domain.js';

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
