// The console's key search and tally apply DescribeKey's rules in SQL (KeyDirectory.derivedStates, the
// store's DerivedKeyState), while DescribeKey applies them in TypeScript (asOfNow → keyAsOf, materialExpired).
// This ties the two together over every branch of the expiry rule: keys written straight to the store in
// each stored state and origin, with materials expired, not yet, never, emptied, pending rotation; for
// every key, the state filter finds it under the state DescribeKey answers and no other, and the tally
// counts it there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyRecord, materialRecord } from '../store/contract/harness.js';
import { openDomain, TEST_ACCOUNT, TEST_REGION, type Domain } from '../support/domain.js';

const STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'Unavailable'];

describe("the console's state filter and tally agree with DescribeKey on imported material's expiry", () => {
  let d: Domain;
  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('for every stored state, origin and kind of material, at, before and after ValidTo', async () => {
    const now = d.clock.nowMs();
    type M = Parameters<typeof materialRecord>[1];
    const imported = (validTo: number | null, over: M = {}): M => ({ importState: 'IMPORTED', validTo, expirationModel: validTo === null ? 'KEY_MATERIAL_DOES_NOT_EXPIRE' : 'KEY_MATERIAL_EXPIRES', ...over });
    const materials: Record<string, M[]> = {
      none: [],
      generated: [{}],
      forever: [imported(null)],
      expiredAtNow: [imported(now)],
      expiredBefore: [imported(now - 1)],
      notYet: [imported(now + 1)],
      emptied: [imported(now - 1, { importState: 'PENDING_IMPORT', materialRef: null })],
      pendingRotationExpired: [imported(now + 1), imported(now - 1, { pendingRotation: true })],
      oneOfTwoExpired: [imported(now + 1000), imported(now)],
    };
    const written: string[] = [];
    const stored: Record<string, string> = {};
    await d.store.db.write(async (tx) => {
      for (const origin of ['EXTERNAL', 'AWS_KMS'])
        for (const state of ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'])
          for (const ms of Object.values(materials)) {
            const k = keyRecord({ accountId: TEST_ACCOUNT, region: TEST_REGION, origin, state, ...(state === 'PendingDeletion' ? { deletionAt: now + 7 * 86_400_000, pendingWindowDays: 7 } : {}) });
            await d.store.keys.insert(tx, k);
            for (const m of ms) await d.store.keys.insertMaterial(tx, materialRecord(k.keyId, m));
            written.push(k.keyId);
            stored[k.keyId] = state;
          }
    });

    const described: Record<string, string> = {};
    for (const keyId of written) described[keyId] = (await d.keys.describeKey(d.ctx('DescribeKey'), keyId)).state;
    const filtered: Record<string, string> = {};
    const counts: Record<string, number> = {};
    for (const state of STATES) {
      const page = await d.keys.searchKeys(d.ctx('ListKeys'), { state }, '', 1000);
      for (const k of page.keys) {
        expect(filtered[k.keyId], `${k.keyId} found under two states`).toBeUndefined();
        filtered[k.keyId] = state;
        expect(k.state).toBe(state);
      }
      if (page.total > 0) counts[state] = page.total;
    }
    expect(filtered).toEqual(described);
    expect((await d.keys.keyTally(d.ctx('ListKeys'))).byState).toEqual(counts);
    // Keys stored Enabled or Disabled read PendingImport: of origin EXTERNAL, with one of three expired materials.
    const derived = Object.entries(described).filter(([keyId, s]) => s !== stored[keyId]);
    expect(derived.map(([, s]) => s)).toEqual(Array(2 * 3).fill('PendingImport'));
  });
});
