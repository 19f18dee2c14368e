// The contract of KeyRepository (main/store/repositories.ts), which any implementation passes: keys
// read back as written, field for field; an update never changes what CreateKey fixed; lists and due
// lists in their stated order; materials (an absent reference included) and tags as parts of their key;
// and a key's deletion taking its materials, tags, aliases and import tokens with it.
import { describe, expect, it } from 'vitest';
import type { DerivedKeyState } from '../../../main/store/index.js';
import { ACCOUNT, REGION, customKeyStoreRecord, freshStore, insertKeys, keyRecord, materialRecord, type OpenStore } from './harness.js';

export function keyRepositoryContract(name: string, open: OpenStore): void {
  describe(`KeyRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('finds a key as it was inserted, every field, and nothing for an unknown key ID', async () => {
      const s = store();
      const cks = customKeyStoreRecord();
      await s.db.write((tx) => s.customKeyStores.insert(tx, cks));
      const plain = keyRecord();
      const full = keyRecord({
        description: 'every field set',
        keyUsage: 'SIGN_VERIFY',
        keySpec: 'ECC_NIST_P256',
        origin: 'AWS_CLOUDHSM',
        state: 'PendingDeletion',
        deletionAt: 9_000,
        pendingWindowDays: 7,
        rotationEnabled: true,
        rotationPeriodDays: 90,
        nextRotationAt: 8_000,
        onDemandRotationStartedAt: 7_000,
        currentMaterialId: 'ab'.repeat(32),
        expirationModel: 'KEY_MATERIAL_EXPIRES',
        validTo: 6_000,
        customKeyStoreId: cks.id,
        xksKeyId: 'external-key-1',
      });
      await insertKeys(s, plain, full);
      expect(await s.keys.find(plain.keyId)).toEqual(plain);
      expect(await s.keys.find(full.keyId)).toEqual(full);
      expect(await s.keys.find('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    });

    it('finds the key bound to an external key in its store; one external key binds one key per store', async () => {
      const s = store();
      const cks = customKeyStoreRecord();
      const other = customKeyStoreRecord();
      await s.db.write(async (tx) => {
        await s.customKeyStores.insert(tx, cks);
        await s.customKeyStores.insert(tx, other);
      });
      const [bound] = await insertKeys(s, keyRecord({ customKeyStoreId: cks.id, xksKeyId: 'ext-a' }), keyRecord({ customKeyStoreId: other.id, xksKeyId: 'ext-a' }));
      expect(await s.keys.findByXksKeyId(cks.id, 'ext-a')).toEqual(bound);
      expect(await s.keys.findByXksKeyId(cks.id, 'ext-b')).toBeUndefined();
      await expect(s.db.write((tx) => s.keys.insert(tx, keyRecord({ customKeyStoreId: cks.id, xksKeyId: 'ext-a' })))).rejects.toThrow();
    });

    it('refuses a key ID that is taken, and a custom key store that does not exist', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord());
      await expect(s.db.write((tx) => s.keys.insert(tx, keyRecord({ keyId: k!.keyId })))).rejects.toThrow();
      await expect(s.db.write((tx) => s.keys.insert(tx, keyRecord({ customKeyStoreId: 'cks-00000000000000000' })))).rejects.toThrow();
      expect(await s.keys.find(k!.keyId)).toEqual(k);
    });

    it('update writes every mutable field and keeps what CreateKey fixed', async () => {
      const s = store();
      const cks = customKeyStoreRecord();
      await s.db.write((tx) => s.customKeyStores.insert(tx, cks));
      const [k] = await insertKeys(s, keyRecord());
      const changed = keyRecord({
        keyId: k!.keyId,
        // fixed at creation: these must not change
        accountId: '444455556666',
        region: 'eu-west-1',
        keyUsage: 'GENERATE_VERIFY_MAC',
        keySpec: 'HMAC_256',
        origin: 'EXTERNAL',
        createdAt: 5,
        customKeyStoreId: cks.id,
        xksKeyId: 'moved',
        // mutable
        description: 'changed',
        state: 'Disabled',
        deletionAt: 1,
        pendingWindowDays: 30,
        rotationEnabled: true,
        rotationPeriodDays: 365,
        nextRotationAt: 2,
        onDemandRotationStartedAt: 3,
        policy: '{}',
        currentMaterialId: 'cd'.repeat(32),
        expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        validTo: 4,
      });
      await s.db.write((tx) => s.keys.update(tx, changed));
      expect(await s.keys.find(k!.keyId)).toEqual({
        ...changed,
        accountId: k!.accountId,
        region: k!.region,
        keyUsage: k!.keyUsage,
        keySpec: k!.keySpec,
        origin: k!.origin,
        createdAt: k!.createdAt,
        customKeyStoreId: null,
        xksKeyId: null,
      });
    });

    it('lists the keys of one account and region in key ID order, after a key ID, at most a limit', async () => {
      const s = store();
      const ids = ['10000000-0000-4000-8000-000000000000', '20000000-0000-4000-8000-000000000000', '30000000-0000-4000-8000-000000000000'];
      await insertKeys(s, keyRecord({ keyId: ids[2] }), keyRecord({ keyId: ids[0] }), keyRecord({ keyId: ids[1] }));
      await insertKeys(s, keyRecord({ accountId: '444455556666' }), keyRecord({ region: 'eu-west-1' }));
      const idsOf = (rows: { keyId: string }[]) => rows.map((r) => r.keyId);
      expect(idsOf(await s.keys.list(ACCOUNT, REGION, '', 10))).toEqual(ids);
      expect(idsOf(await s.keys.list(ACCOUNT, REGION, '', 2))).toEqual(ids.slice(0, 2));
      expect(idsOf(await s.keys.list(ACCOUNT, REGION, ids[0]!, 10))).toEqual(ids.slice(1));
      expect(await s.keys.list(ACCOUNT, REGION, ids[2]!, 10)).toEqual([]);
    });

    it('searches one account and region by state, origin and text, in key ID order, with counts and a tally', async () => {
      const s = store();
      const ids = ['10000000-0000-4000-8000-000000000000', '20000000-0000-4000-8000-000000000000', '30000000-0000-4000-8000-000000000000', '40000000-0000-4000-8000-000000000000'];
      await insertKeys(
        s,
        keyRecord({ keyId: ids[0], description: 'Payroll 100% "quoted"', state: 'Enabled', origin: 'AWS_KMS' }),
        keyRecord({ keyId: ids[1], description: 'payroll archive', state: 'Disabled', origin: 'EXTERNAL' }),
        keyRecord({ keyId: ids[2], description: 'backups_2026', state: 'Enabled', origin: 'EXTERNAL' }),
        keyRecord({ keyId: ids[3], description: 'x', state: 'PendingDeletion', origin: 'AWS_KMS' }),
      );
      await insertKeys(s, keyRecord({ accountId: '444455556666', description: 'payroll elsewhere' }), keyRecord({ region: 'eu-west-1', description: 'payroll' }));
      const found = async (filter: Parameters<typeof s.keys.search>[2], after = '', limit = 10) => (await s.keys.search(ACCOUNT, REGION, filter, after, limit)).map((k) => k.keyId);
      expect(await found({})).toEqual(ids);
      expect(await found({}, ids[0], 2)).toEqual(ids.slice(1, 3));
      expect(await found({ state: 'Enabled' })).toEqual([ids[0], ids[2]]);
      expect(await found({ origin: 'EXTERNAL' })).toEqual([ids[1], ids[2]]);
      expect(await found({ state: 'Enabled', origin: 'EXTERNAL' })).toEqual([ids[2]]);
      // Text: case-insensitive substrings of the description or key ID; nothing in it is syntax.
      expect(await found({ text: 'PAYROLL' })).toEqual([ids[0], ids[1]]);
      expect(await found({ text: 'roll arch' })).toEqual([ids[1]]);
      expect(await found({ text: '100%' })).toEqual([ids[0]]);
      expect(await found({ text: '"quoted"' })).toEqual([ids[0]]);
      expect(await found({ text: 's_2' })).toEqual([ids[2]]);
      expect(await found({ text: '_' })).toEqual([ids[2]]);
      expect(await found({ text: '%' })).toEqual([ids[0]]);
      expect(await found({ text: '3000' })).toEqual([ids[2]]);
      expect(await found({ text: 'OR payroll' })).toEqual([]);
      expect(await s.keys.countMatching(ACCOUNT, REGION, { text: 'payroll' })).toBe(2);
      expect(await s.keys.countMatching(ACCOUNT, REGION, {})).toBe(4);
      expect(await s.keys.tally(ACCOUNT, REGION)).toEqual({ byState: { Enabled: 2, Disabled: 1, PendingDeletion: 1 }, byOrigin: { AWS_KMS: 2, EXTERNAL: 2 } });
      // A new description is found by its new text only; a deleted key is found no more.
      const k = (await s.keys.find(ids[1]!))!;
      await s.db.write((tx) => s.keys.update(tx, { ...k, description: 'ledger' }));
      expect(await found({ text: 'payroll' })).toEqual([ids[0]]);
      expect(await found({ text: 'ledger' })).toEqual([ids[1]]);
      await s.db.write((tx) => s.keys.delete(tx, ids[0]!));
      expect(await found({ text: 'payroll' })).toEqual([]);
      expect(await s.keys.countMatching(ACCOUNT, REGION, {})).toBe(3);
    });

    describe('a derived state: the state filter, the count and the tally read a key as the first derived state that selects it gives it', () => {
      /** The IDs the state filter finds, and how many countMatching counts, for each state. */
      const byFilter = async (s: ReturnType<typeof store>, derived: DerivedKeyState[], states: string[]) => {
        const out: Record<string, { ids: string[]; n: number }> = {};
        for (const state of states) {
          const ids = (await s.keys.search(ACCOUNT, REGION, { state, derived }, '', 50)).map((k) => k.keyId);
          out[state] = { ids, n: await s.keys.countMatching(ACCOUNT, REGION, { state, derived }) };
        }
        return out;
      };
      const sorted = (...ids: string[]) => ({ ids: [...ids].sort(), n: ids.length });

      it('of the keys of custom key stores named; a standard key (no store: NULL) keeps its stored state', async () => {
        const s = store();
        const [down, up] = [customKeyStoreRecord(), customKeyStoreRecord()];
        await s.db.write(async (tx) => {
          await s.customKeyStores.insert(tx, down);
          await s.customKeyStores.insert(tx, up);
        });
        const [enabled, disabled, pending, connected, standard] = await insertKeys(
          s,
          keyRecord({ customKeyStoreId: down.id, origin: 'AWS_CLOUDHSM' }),
          keyRecord({ customKeyStoreId: down.id, origin: 'AWS_CLOUDHSM', state: 'Disabled' }),
          keyRecord({ customKeyStoreId: down.id, origin: 'AWS_CLOUDHSM', state: 'PendingDeletion' }),
          keyRecord({ customKeyStoreId: up.id, origin: 'AWS_CLOUDHSM' }),
          keyRecord({ customKeyStoreId: null }),
        );
        const derived: DerivedKeyState[] = [{ state: 'Unavailable', from: ['Enabled', 'Disabled'], stores: [down.id] }];
        expect(await byFilter(s, derived, ['Unavailable', 'Enabled', 'Disabled', 'PendingDeletion'])).toEqual({
          Unavailable: sorted(enabled!.keyId, disabled!.keyId),
          // The standard key is found: its NULL store must not make "not derived" unknown.
          Enabled: sorted(connected!.keyId, standard!.keyId),
          Disabled: sorted(),
          PendingDeletion: sorted(pending!.keyId),
        });
        expect(await s.keys.countMatching(ACCOUNT, REGION, { state: 'Enabled', origin: 'AWS_KMS', derived })).toBe(1);
        expect((await s.keys.tally(ACCOUNT, REGION, derived)).byState).toEqual({ Unavailable: 2, Enabled: 2, PendingDeletion: 1 });
        // No store named, or no state to take keys from: every key in its stored state.
        for (const none of [[{ ...derived[0]!, stores: [] }], [{ ...derived[0]!, from: [] }], []]) {
          expect((await s.keys.tally(ACCOUNT, REGION, none)).byState).toEqual({ Enabled: 3, Disabled: 1, PendingDeletion: 1 });
          expect(await byFilter(s, none, ['Unavailable', 'Disabled'])).toEqual({ Unavailable: sorted(), Disabled: sorted(disabled!.keyId) });
        }
      });

      it('of the keys of an origin with a material of their own expired at a time (IMPORTED, ValidTo at or before it)', async () => {
        const s = store();
        const at = 500;
        const key = (over: Parameters<typeof keyRecord>[0] = {}) => keyRecord({ origin: 'EXTERNAL', ...over });
        const keys = {
          expired: key(),
          expiredDisabled: key({ state: 'Disabled' }),
          notYet: key(),
          forever: key(),
          emptied: key(),
          rotationOnly: key(),
          oneOfTwo: key(),
          pendingDeletion: key({ state: 'PendingDeletion' }),
          storedPendingImport: key({ state: 'PendingImport' }),
          otherOrigin: key({ origin: 'AWS_KMS' }),
        };
        await insertKeys(s, ...Object.values(keys));
        const imported = (k: { keyId: string }, validTo: number | null, over: Parameters<typeof materialRecord>[1] = {}) =>
          materialRecord(k.keyId, { importState: 'IMPORTED', validTo, expirationModel: validTo === null ? 'KEY_MATERIAL_DOES_NOT_EXPIRE' : 'KEY_MATERIAL_EXPIRES', ...over });
        await s.db.write(async (tx) => {
          for (const m of [
            imported(keys.expired, at),
            imported(keys.expiredDisabled, at - 100),
            imported(keys.notYet, at + 1),
            imported(keys.forever, null),
            imported(keys.emptied, at - 100, { importState: 'PENDING_IMPORT', materialRef: null }),
            imported(keys.rotationOnly, at + 1),
            imported(keys.rotationOnly, at - 100, { pendingRotation: true }),
            imported(keys.oneOfTwo, at + 1000),
            imported(keys.oneOfTwo, at),
            imported(keys.pendingDeletion, at),
            imported(keys.storedPendingImport, at),
            imported(keys.otherOrigin, at),
          ])
            await s.keys.insertMaterial(tx, m);
        });
        const derived: DerivedKeyState[] = [{ state: 'PendingImport', from: ['Enabled', 'Disabled'], origin: 'EXTERNAL', materialExpiredAt: at }];
        expect(await byFilter(s, derived, ['PendingImport', 'Enabled', 'Disabled', 'PendingDeletion'])).toEqual({
          PendingImport: sorted(keys.expired.keyId, keys.expiredDisabled.keyId, keys.oneOfTwo.keyId, keys.storedPendingImport.keyId),
          Enabled: sorted(keys.notYet.keyId, keys.forever.keyId, keys.emptied.keyId, keys.rotationOnly.keyId, keys.otherOrigin.keyId),
          Disabled: sorted(),
          PendingDeletion: sorted(keys.pendingDeletion.keyId),
        });
        expect(await s.keys.tally(ACCOUNT, REGION, derived)).toEqual({ byState: { PendingImport: 4, Enabled: 5, PendingDeletion: 1 }, byOrigin: { EXTERNAL: 9, AWS_KMS: 1 } });
        // A moment earlier, only what had expired by then.
        const earlier: DerivedKeyState[] = [{ ...derived[0]!, materialExpiredAt: at - 1 } as DerivedKeyState];
        expect((await byFilter(s, earlier, ['PendingImport'])).PendingImport).toEqual(sorted(keys.expiredDisabled.keyId, keys.storedPendingImport.keyId));
      });

      it('the first derived state that selects a key gives its state; the next does not take it from there', async () => {
        const s = store();
        const cks = customKeyStoreRecord();
        await s.db.write((tx) => s.customKeyStores.insert(tx, cks));
        const [both, storeOnly, standard] = await insertKeys(s, keyRecord({ origin: 'EXTERNAL', customKeyStoreId: cks.id }), keyRecord({ customKeyStoreId: cks.id }), keyRecord({ origin: 'EXTERNAL' }));
        await s.db.write(async (tx) => {
          for (const k of [both!, standard!]) await s.keys.insertMaterial(tx, materialRecord(k.keyId, { importState: 'IMPORTED', validTo: 100, expirationModel: 'KEY_MATERIAL_EXPIRES' }));
        });
        const expiry: DerivedKeyState = { state: 'PendingImport', from: ['Enabled', 'Disabled'], origin: 'EXTERNAL', materialExpiredAt: 100 };
        const unavailable: DerivedKeyState = { state: 'Unavailable', from: ['Enabled', 'Disabled', 'PendingImport'], stores: [cks.id] };
        expect(await byFilter(s, [expiry, unavailable], ['PendingImport', 'Unavailable', 'Enabled'])).toEqual({
          PendingImport: sorted(both!.keyId, standard!.keyId),
          Unavailable: sorted(storeOnly!.keyId),
          Enabled: sorted(),
        });
        expect((await s.keys.tally(ACCOUNT, REGION, [expiry, unavailable])).byState).toEqual({ PendingImport: 2, Unavailable: 1 });
        expect(await byFilter(s, [unavailable, expiry], ['PendingImport', 'Unavailable'])).toEqual({
          PendingImport: sorted(standard!.keyId),
          Unavailable: sorted(both!.keyId, storeOnly!.keyId),
        });
        expect((await s.keys.tally(ACCOUNT, REGION, [unavailable, expiry])).byState).toEqual({ PendingImport: 1, Unavailable: 2 });
      });
    });

    it('lists keys due for deletion and for rotation, earliest first', async () => {
      const s = store();
      const late = keyRecord({ state: 'PendingDeletion', deletionAt: 300 });
      const early = keyRecord({ state: 'PendingDeletion', deletionAt: 100 });
      const notYet = keyRecord({ state: 'PendingDeletion', deletionAt: 301 });
      const rotateLate = keyRecord({ rotationEnabled: true, nextRotationAt: 250 });
      const rotateEarly = keyRecord({ rotationEnabled: true, nextRotationAt: 50 });
      const rotationOff = keyRecord({ rotationEnabled: false, nextRotationAt: 50 });
      const disabled = keyRecord({ state: 'Disabled', rotationEnabled: true, nextRotationAt: 50 });
      await insertKeys(s, late, early, notYet, rotateLate, rotateEarly, rotationOff, disabled);
      expect((await s.keys.dueForDeletion(300)).map((k) => k.keyId)).toEqual([early.keyId, late.keyId]);
      expect((await s.keys.dueForRotation(300)).map((k) => k.keyId)).toEqual([rotateEarly.keyId, rotateLate.keyId]);
      expect(await s.keys.dueForDeletion(99)).toEqual([]);
    });

    it('keeps a key’s materials: oldest first, found by ID, updated, counted by rotation type; no reference reads back as null', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord());
      const first = materialRecord(k!.keyId, { createdAt: 100 });
      const rotated = materialRecord(k!.keyId, { createdAt: 200, rotationType: 'AUTOMATIC', rotatedAt: 200, publicKey: Buffer.from('spki') });
      // Made in the same millisecond as `rotated`: insertion order breaks the tie.
      const sameTime = materialRecord(k!.keyId, { createdAt: 200, rotationType: 'ON_DEMAND' });
      const imported = materialRecord(k!.keyId, {
        createdAt: 50,
        materialRef: null,
        importState: 'PENDING_IMPORT',
        validTo: 900,
        expirationModel: 'KEY_MATERIAL_EXPIRES',
        description: 'emptied',
        pendingRotation: true,
      });
      await s.db.write(async (tx) => {
        for (const m of [first, rotated, sameTime, imported]) await s.keys.insertMaterial(tx, m);
      });
      expect(await s.keys.listMaterials(k!.keyId)).toEqual([imported, first, rotated, sameTime]);
      expect(await s.keys.findMaterial(k!.keyId, rotated.materialId)).toEqual(rotated);
      expect(await s.keys.findMaterial(k!.keyId, 'ff'.repeat(32))).toBeUndefined();
      expect(await s.keys.countMaterials(k!.keyId, 'ON_DEMAND')).toBe(1);
      expect(await s.keys.countMaterials(k!.keyId, 'AUTOMATIC')).toBe(1);

      const reimported = { ...imported, materialRef: Buffer.from('back again'), importState: 'IMPORTED', pendingRotation: false, description: null, createdAt: 60 };
      await s.db.write((tx) => s.keys.updateMaterial(tx, reimported));
      expect(await s.keys.findMaterial(k!.keyId, imported.materialId)).toEqual(reimported);
      await s.db.write((tx) => s.keys.updateMaterial(tx, { ...reimported, materialRef: null }));
      expect((await s.keys.findMaterial(k!.keyId, imported.materialId))!.materialRef).toBeNull();

      const counted = await s.db.write(async (tx) => {
        await s.keys.insertMaterial(tx, materialRecord(k!.keyId, { createdAt: 300, rotationType: 'ON_DEMAND' }));
        return { inside: await s.keys.countMaterials(k!.keyId, 'ON_DEMAND', tx), listed: (await s.keys.listMaterials(k!.keyId, tx)).length };
      });
      expect(counted).toEqual({ inside: 2, listed: 5 });
    });

    it('refuses a material of an unknown key, and a material ID the key already has', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord());
      const m = materialRecord(k!.keyId);
      await s.db.write((tx) => s.keys.insertMaterial(tx, m));
      await expect(s.db.write((tx) => s.keys.insertMaterial(tx, { ...m, materialRef: Buffer.from('other') }))).rejects.toThrow();
      await expect(s.db.write((tx) => s.keys.insertMaterial(tx, materialRecord('00000000-0000-0000-0000-000000000000')))).rejects.toThrow();
      expect(await s.keys.listMaterials(k!.keyId)).toEqual([m]);
    });

    it('lists imported materials still present whose ValidTo has come, earliest first', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord({ origin: 'EXTERNAL' }));
      const imported = (validTo: number | null, importState: string) => materialRecord(k!.keyId, { importState, validTo, expirationModel: validTo === null ? 'KEY_MATERIAL_DOES_NOT_EXPIRE' : 'KEY_MATERIAL_EXPIRES' });
      const later = imported(500, 'IMPORTED');
      const sooner = imported(400, 'IMPORTED');
      const future = imported(501, 'IMPORTED');
      const emptied = imported(100, 'PENDING_IMPORT');
      const forever = imported(null, 'IMPORTED');
      await s.db.write(async (tx) => {
        for (const m of [later, sooner, future, emptied, forever]) await s.keys.insertMaterial(tx, m);
      });
      expect((await s.keys.expiredMaterials(500)).map((m) => m.materialId)).toEqual([sooner.materialId, later.materialId]);
    });

    it('keeps a key’s tags: put adds or replaces, listed in tag key order, counted, deleted', async () => {
      const s = store();
      const [k, other] = await insertKeys(s, keyRecord(), keyRecord());
      await s.db.write(async (tx) => {
        await s.keys.putTag(tx, k!.keyId, { tagKey: 'team', tagValue: 'pay' });
        await s.keys.putTag(tx, k!.keyId, { tagKey: 'env', tagValue: 'prod' });
        await s.keys.putTag(tx, other!.keyId, { tagKey: 'team', tagValue: 'other' });
      });
      expect(await s.keys.listTags(k!.keyId)).toEqual([
        { tagKey: 'env', tagValue: 'prod' },
        { tagKey: 'team', tagValue: 'pay' },
      ]);
      const inside = await s.db.write(async (tx) => {
        await s.keys.putTag(tx, k!.keyId, { tagKey: 'team', tagValue: 'payments' });
        await s.keys.putTag(tx, k!.keyId, { tagKey: 'cost', tagValue: '42' });
        return s.keys.countTags(k!.keyId, tx);
      });
      expect(inside).toBe(3);
      expect(await s.keys.listTags(k!.keyId)).toEqual([
        { tagKey: 'cost', tagValue: '42' },
        { tagKey: 'env', tagValue: 'prod' },
        { tagKey: 'team', tagValue: 'payments' },
      ]);
      await s.db.write(async (tx) => {
        await s.keys.deleteTag(tx, k!.keyId, 'env');
        await s.keys.deleteTag(tx, k!.keyId, 'never-there');
      });
      expect((await s.keys.listTags(k!.keyId)).map((t) => t.tagKey)).toEqual(['cost', 'team']);
      expect(await s.keys.countTags(k!.keyId)).toBe(2);
      expect(await s.keys.listTags(other!.keyId)).toEqual([{ tagKey: 'team', tagValue: 'other' }]);
    });

    it('lists a key’s tags after a tag key, in code point order whatever the UTF-16 order', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord());
      const keys = ['b', '\uFF21', '\u{20000}', '\uE000'];
      await s.db.write(async (tx) => {
        for (const tagKey of keys) await s.keys.putTag(tx, k!.keyId, { tagKey, tagValue: 'v' });
      });
      const names = async (after?: string) => (await s.keys.listTags(k!.keyId, after)).map((t) => t.tagKey);
      expect(await names()).toEqual(['b', '\uE000', '\uFF21', '\u{20000}']);
      expect(await names('b')).toEqual(['\uE000', '\uFF21', '\u{20000}']);
      expect(await names('\uFF21')).toEqual(['\u{20000}']);
      expect(await names('\u{20000}')).toEqual([]);
    });

    it('deletes a key with its materials and tags, and the aliases and import tokens that name it; other keys keep theirs', async () => {
      const s = store();
      const [doomed, kept] = await insertKeys(s, keyRecord(), keyRecord());
      const token = (keyId: string, fill: number) => ({
        tokenHash: Buffer.alloc(32, fill),
        keyId,
        wrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        wrappingKeySpec: 'RSA_2048',
        wrappingKeyRef: Buffer.from('wrapping key'),
        createdAt: 1,
        expiresAt: 2,
      });
      const alias = (aliasName: string, keyId: string) => ({ accountId: ACCOUNT, region: REGION, aliasName, keyId, createdAt: 1, updatedAt: 1 });
      await s.db.write(async (tx) => {
        for (const k of [doomed!, kept!]) {
          await s.keys.insertMaterial(tx, materialRecord(k.keyId));
          await s.keys.putTag(tx, k.keyId, { tagKey: 'team', tagValue: 'pay' });
        }
        await s.aliases.insert(tx, alias('alias/doomed', doomed!.keyId));
        await s.aliases.insert(tx, alias('alias/kept', kept!.keyId));
        await s.importTokens.insert(tx, token(doomed!.keyId, 1));
        await s.importTokens.insert(tx, token(kept!.keyId, 2));
      });
      await s.db.write((tx) => s.keys.delete(tx, doomed!.keyId));
      expect(await s.keys.find(doomed!.keyId)).toBeUndefined();
      expect(await s.keys.listMaterials(doomed!.keyId)).toEqual([]);
      expect(await s.keys.listTags(doomed!.keyId)).toEqual([]);
      expect(await s.aliases.find(ACCOUNT, REGION, 'alias/doomed')).toBeUndefined();
      expect(await s.importTokens.find(Buffer.alloc(32, 1))).toBeUndefined();
      expect(await s.keys.find(kept!.keyId)).toEqual(kept);
      expect(await s.keys.listMaterials(kept!.keyId)).toHaveLength(1);
      expect(await s.keys.listTags(kept!.keyId)).toHaveLength(1);
      expect(await s.aliases.find(ACCOUNT, REGION, 'alias/kept')).toMatchObject({ keyId: kept!.keyId });
      expect(await s.importTokens.find(Buffer.alloc(32, 2))).toMatchObject({ keyId: kept!.keyId });
    });
  });
}
