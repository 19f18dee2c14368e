// The contract of AliasRepository (main/store/repositories.ts), which any implementation passes: an
// alias found by account, region and name; listed in name order, by key when asked; retargeted with a
// new update time; deleted; a name taken in its account and region, or a key that does not exist,
// refused.
import { describe, expect, it } from 'vitest';
import type { AliasRecord } from '../../../main/store/index.js';
import { ACCOUNT, REGION, freshStore, insertKeys, keyRecord, type OpenStore } from './harness.js';

const alias = (aliasName: string, keyId: string, over: Partial<AliasRecord> = {}): AliasRecord => ({
  accountId: ACCOUNT,
  region: REGION,
  aliasName,
  keyId,
  createdAt: 10,
  updatedAt: 10,
  ...over,
});

export function aliasRepositoryContract(name: string, open: OpenStore): void {
  describe(`AliasRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('finds an alias by account, region and name; the same name elsewhere is another alias', async () => {
      const s = store();
      const [a, b] = await insertKeys(s, keyRecord(), keyRecord());
      const here = alias('alias/app', a!.keyId);
      const otherRegion = alias('alias/app', b!.keyId, { region: 'eu-west-1' });
      const otherAccount = alias('alias/app', b!.keyId, { accountId: '444455556666' });
      await s.db.write(async (tx) => {
        for (const x of [here, otherRegion, otherAccount]) await s.aliases.insert(tx, x);
      });
      expect(await s.aliases.find(ACCOUNT, REGION, 'alias/app')).toEqual(here);
      expect(await s.aliases.find(ACCOUNT, 'eu-west-1', 'alias/app')).toEqual(otherRegion);
      expect(await s.aliases.find('444455556666', REGION, 'alias/app')).toEqual(otherAccount);
      expect(await s.aliases.find(ACCOUNT, REGION, 'alias/none')).toBeUndefined();
    });

    it('sees an alias inside the transaction that made it, and outside only once committed', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord());
      const seen = await s.db.write(async (tx) => {
        await s.aliases.insert(tx, alias('alias/new', k!.keyId));
        return { inside: await s.aliases.find(ACCOUNT, REGION, 'alias/new', tx), outside: await s.aliases.find(ACCOUNT, REGION, 'alias/new') };
      });
      expect(seen).toEqual({ inside: alias('alias/new', k!.keyId), outside: undefined });
      expect(await s.aliases.find(ACCOUNT, REGION, 'alias/new')).toEqual(alias('alias/new', k!.keyId));
    });

    it('lists aliases in name order after a name, at most a limit, all of them or one key’s', async () => {
      const s = store();
      const [a, b] = await insertKeys(s, keyRecord(), keyRecord());
      await s.db.write(async (tx) => {
        await s.aliases.insert(tx, alias('alias/c', a!.keyId));
        await s.aliases.insert(tx, alias('alias/a', b!.keyId));
        await s.aliases.insert(tx, alias('alias/b', a!.keyId));
        await s.aliases.insert(tx, alias('alias/a', a!.keyId, { region: 'eu-west-1' }));
      });
      const names = (rows: AliasRecord[]) => rows.map((r) => r.aliasName);
      expect(names(await s.aliases.list(ACCOUNT, REGION, null, '', 10))).toEqual(['alias/a', 'alias/b', 'alias/c']);
      expect(names(await s.aliases.list(ACCOUNT, REGION, null, '', 2))).toEqual(['alias/a', 'alias/b']);
      expect(names(await s.aliases.list(ACCOUNT, REGION, null, 'alias/a', 10))).toEqual(['alias/b', 'alias/c']);
      expect(names(await s.aliases.list(ACCOUNT, REGION, a!.keyId, '', 10))).toEqual(['alias/b', 'alias/c']);
      expect(names(await s.aliases.list(ACCOUNT, REGION, b!.keyId, 'alias/a', 10))).toEqual([]);
    });

    it('retargets an alias to another key with a new update time, keeping its creation time', async () => {
      const s = store();
      const [a, b] = await insertKeys(s, keyRecord(), keyRecord());
      const x = alias('alias/moving', a!.keyId);
      await s.db.write((tx) => s.aliases.insert(tx, x));
      await s.db.write((tx) => s.aliases.retarget(tx, x, b!.keyId, 99));
      expect(await s.aliases.find(ACCOUNT, REGION, 'alias/moving')).toEqual({ ...x, keyId: b!.keyId, createdAt: 10, updatedAt: 99 });
    });

    it('deletes an alias, and only that one', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord());
      await s.db.write(async (tx) => {
        await s.aliases.insert(tx, alias('alias/gone', k!.keyId));
        await s.aliases.insert(tx, alias('alias/stays', k!.keyId));
      });
      await s.db.write((tx) => s.aliases.delete(tx, alias('alias/gone', k!.keyId)));
      expect(await s.aliases.find(ACCOUNT, REGION, 'alias/gone')).toBeUndefined();
      expect((await s.aliases.list(ACCOUNT, REGION, null, '', 10)).map((r) => r.aliasName)).toEqual(['alias/stays']);
    });

    it('refuses a name taken in the account and region, and a key that does not exist', async () => {
      const s = store();
      const [a, b] = await insertKeys(s, keyRecord(), keyRecord());
      await s.db.write((tx) => s.aliases.insert(tx, alias('alias/taken', a!.keyId)));
      await expect(s.db.write((tx) => s.aliases.insert(tx, alias('alias/taken', b!.keyId)))).rejects.toThrow();
      await expect(s.db.write((tx) => s.aliases.insert(tx, alias('alias/orphan', '00000000-0000-0000-0000-000000000000')))).rejects.toThrow();
      expect(await s.aliases.list(ACCOUNT, REGION, null, '', 10)).toEqual([alias('alias/taken', a!.keyId)]);
    });
  });
}
