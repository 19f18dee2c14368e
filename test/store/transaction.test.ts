// The store's Tx is opaque outside main/store (main/store/transaction.ts): at the type level, code that
// holds a Tx or a Store cannot run SQL through them (each `@ts-expect-error` below fails `npm run
// typecheck` the day a Tx or the Database port offers run/get/all again, or a Tx can be forged from a
// plain object); at run time, the object a job receives carries nothing but onRollback, and the store
// refuses anything it did not hand out.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store, type Tx } from '../../main/store/index.js';
import { tempDir } from '../support/domain.js';

describe('Tx: opaque outside main/store', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = tempDir('kura-tx-');
    store = await openStore(path.join(dir, 'kura.db'));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('offers no SQL, by type or at run time: only onRollback', async () => {
    await store.db.write(async (tx) => {
      // @ts-expect-error a Tx runs no statements outside main/store
      expect(tx.run).toBeUndefined();
      // @ts-expect-error a Tx reads nothing by itself
      expect(tx.get).toBeUndefined();
      // @ts-expect-error a Tx reads nothing by itself
      expect(tx.all).toBeUndefined();
      expect(Object.keys(tx)).toEqual(['onRollback']);
      expect(Object.isFrozen(tx)).toBe(true);
    });
  });

  it('the Store’s Database only runs write jobs: it has no query methods by type', () => {
    // @ts-expect-error no SQL through the store's Database port
    const read: unknown = store.db.all;
    // @ts-expect-error no SQL through the store's Database port
    const get: unknown = store.db.get;
    // (The SQLite object behind it has them, for main/store alone: test/support/sqlite.ts reaches them for tests.)
    expect([typeof read, typeof get]).toEqual(['function', 'function']);
  });

  it('cannot be forged from a plain object: refused by type, and by the store', async () => {
    // @ts-expect-error a Tx carries a brand that only main/store gives it
    const forged: Tx = { onRollback: () => undefined };
    await expect(store.keys.find('00000000-0000-0000-0000-000000000000', forged)).rejects.toThrow(/Not an open transaction/);
    await expect(store.db.write((tx) => store.credentials.delete({ ...tx }, 'AKIAFORGEDFORGEDFORG'))).rejects.toThrow(/Not an open transaction/);
  });
});
