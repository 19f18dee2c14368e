// The contract of CustomKeyStoreRepository (main/store/repositories.ts), which any implementation
// passes: a store found by ID with its type's settings as they were given; listed oldest first; its
// connection state changed; deleted (and false when there was none); an ID or name that is taken
// refused (a name only within the store's account and Region), and so is deleting a store that still
// holds a key; a list of one account's and Region's stores.
import { describe, expect, it } from 'vitest';
import { customKeyStoreRecord, freshStore, hsmRecord, insertKeys, keyRecord, type OpenStore } from './harness.js';

export function customKeyStoreRepositoryContract(name: string, open: OpenStore): void {
  describe(`CustomKeyStoreRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('finds a custom key store as it was inserted, settings included, and lists them oldest first', async () => {
      const s = store();
      const hsm = customKeyStoreRecord({ createdAt: 20 });
      const xks = customKeyStoreRecord({ type: 'EXTERNAL_KEY_STORE', createdAt: 10, config: { proxyUri: 'https://xks.example', path: '/kms/xks/v1', nested: { a: [1, 'b', null] } } });
      const seen = await s.db.write(async (tx) => {
        await s.customKeyStores.insert(tx, hsm);
        await s.customKeyStores.insert(tx, xks);
        return { inside: await s.customKeyStores.find(hsm.id, tx), outside: await s.customKeyStores.find(hsm.id) };
      });
      expect(seen).toEqual({ inside: hsm, outside: undefined });
      expect(await s.customKeyStores.find(xks.id)).toEqual(xks);
      expect(await s.customKeyStores.find('cks-00000000000000000')).toBeUndefined();
      expect(await s.customKeyStores.list()).toEqual([xks, hsm]);
    });

    it('changes a store’s connection state', async () => {
      const s = store();
      const c = customKeyStoreRecord();
      await s.db.write((tx) => s.customKeyStores.insert(tx, c));
      await s.db.write((tx) => s.customKeyStores.setConnectionState(tx, c.id, 'CONNECTED'));
      expect(await s.customKeyStores.find(c.id)).toEqual({ ...c, connectionState: 'CONNECTED' });
    });

    it('deletes a store (false when there is none), but not while a key lives in it', async () => {
      const s = store();
      const [empty, holding] = [customKeyStoreRecord(), customKeyStoreRecord()];
      await s.db.write(async (tx) => {
        await s.customKeyStores.insert(tx, empty);
        await s.customKeyStores.insert(tx, holding);
      });
      await insertKeys(s, keyRecord({ origin: 'AWS_CLOUDHSM', customKeyStoreId: holding.id }));
      expect(await s.db.write((tx) => s.customKeyStores.delete(tx, empty.id))).toBe(true);
      expect(await s.db.write((tx) => s.customKeyStores.delete(tx, empty.id))).toBe(false);
      await expect(s.db.write((tx) => s.customKeyStores.delete(tx, holding.id))).rejects.toThrow();
      expect(await s.customKeyStores.list()).toEqual([holding]);
    });

    it('updates a store’s name, HSM and settings, and counts the keys that live in it', async () => {
      const s = store();
      const [h1, h2] = [hsmRecord(), hsmRecord()];
      const c = customKeyStoreRecord({ hsmId: h1.id });
      await s.db.write(async (tx) => {
        await s.hsms.insert(tx, h1);
        await s.hsms.insert(tx, h2);
        await s.customKeyStores.insert(tx, c);
      });
      const changed = { ...c, name: 'renamed', hsmId: h2.id, config: { pinSealed: 'AAAA' } };
      await s.db.write((tx) => s.customKeyStores.update(tx, changed));
      expect(await s.customKeyStores.find(c.id)).toEqual(changed);
      expect(await s.customKeyStores.countKeys(c.id)).toBe(0);
      await insertKeys(s, keyRecord({ origin: 'AWS_CLOUDHSM', customKeyStoreId: c.id }), keyRecord({ origin: 'AWS_CLOUDHSM', customKeyStoreId: c.id }));
      expect(await s.customKeyStores.countKeys(c.id)).toBe(2);
    });

    it('refuses a second store on an HSM, and removing an HSM that a store uses', async () => {
      const s = store();
      const h = hsmRecord();
      const c = customKeyStoreRecord({ hsmId: h.id });
      await s.db.write(async (tx) => {
        await s.hsms.insert(tx, h);
        await s.customKeyStores.insert(tx, c);
      });
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, customKeyStoreRecord({ hsmId: h.id })))).rejects.toThrow();
      await expect(s.db.write((tx) => s.hsms.delete(tx, h.id))).rejects.toThrow();
      expect(await s.db.write((tx) => s.customKeyStores.delete(tx, c.id))).toBe(true);
      expect(await s.db.write((tx) => s.hsms.delete(tx, h.id))).toBe(true);
      expect(await s.db.write((tx) => s.hsms.delete(tx, h.id))).toBe(false);
    });

    it('finds and lists registered HSMs; a module and token label are registered once', async () => {
      const s = store();
      const [a, b] = [hsmRecord({ createdAt: 5, libraryParameters: "configdir='sql:/tmp/x' " }), hsmRecord({ createdAt: 1 })];
      await s.db.write(async (tx) => {
        await s.hsms.insert(tx, a);
        await s.hsms.insert(tx, b);
      });
      expect(await s.hsms.find(a.id)).toEqual(a);
      expect(await s.hsms.find('cluster-aaaaaaaaaaa')).toBeUndefined();
      expect(await s.hsms.list()).toEqual([b, a]);
      await expect(s.db.write((tx) => s.hsms.insert(tx, hsmRecord({ modulePath: a.modulePath, tokenLabel: a.tokenLabel })))).rejects.toThrow();
    });

    it('refuses an ID or a name that is taken', async () => {
      const s = store();
      const c = customKeyStoreRecord();
      await s.db.write((tx) => s.customKeyStores.insert(tx, c));
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, customKeyStoreRecord({ name: c.name })))).rejects.toThrow();
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, customKeyStoreRecord({ id: c.id })))).rejects.toThrow();
      expect(await s.customKeyStores.list()).toEqual([c]);
    });

    it('keeps a store in its account and Region: a name is taken only there, and listIn lists only their stores', async () => {
      const s = store();
      const c = customKeyStoreRecord({ createdAt: 1 });
      const otherAccount = customKeyStoreRecord({ name: c.name, accountId: '222233334444', createdAt: 2 });
      const otherRegion = customKeyStoreRecord({ name: c.name, region: 'eu-west-1', createdAt: 3 });
      await s.db.write(async (tx) => {
        await s.customKeyStores.insert(tx, c);
        await s.customKeyStores.insert(tx, otherAccount);
        await s.customKeyStores.insert(tx, otherRegion);
      });
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, customKeyStoreRecord({ name: c.name, accountId: '222233334444' })))).rejects.toThrow();
      // An update changes no store's account or Region, and a name taken in the store's own account and Region is refused.
      const renamed = customKeyStoreRecord({ accountId: '222233334444', createdAt: 4 });
      await s.db.write((tx) => s.customKeyStores.insert(tx, renamed));
      await expect(s.db.write((tx) => s.customKeyStores.update(tx, { ...renamed, name: c.name }))).rejects.toThrow();
      await s.db.write((tx) => s.customKeyStores.update(tx, { ...renamed, accountId: c.accountId, name: 'moved?' } as typeof renamed));
      expect(await s.customKeyStores.find(renamed.id)).toEqual({ ...renamed, name: 'moved?' });
      expect(await s.customKeyStores.listIn({ accountId: c.accountId, region: c.region })).toEqual([c]);
      expect(await s.customKeyStores.listIn({ accountId: '222233334444', region: c.region })).toEqual([otherAccount, { ...renamed, name: 'moved?' }]);
      expect(await s.customKeyStores.listIn({ accountId: c.accountId, region: 'eu-west-1' })).toEqual([otherRegion]);
      expect(await s.customKeyStores.listIn({ accountId: '999988887777', region: c.region })).toEqual([]);
      expect(await s.customKeyStores.list()).toHaveLength(4);
    });
  });
}
