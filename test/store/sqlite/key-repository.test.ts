// SqliteKeyRepository (main/store/sqlite/key-repository.ts, over the keys, key_materials and tags
// tables) passes the contract of KeyRepository (test/store/contract/key-repository.ts); and what the
// SQLite rows add: a material without a reference is kept as an empty value, since the column (named
// material_sealed until migration 4) is NOT NULL.
import { describe, expect, it } from 'vitest';
import { sqliteOf } from '../../support/sqlite.js';
import { insertKeys, keyRecord, materialRecord } from '../contract/harness.js';
import { keyRepositoryContract } from '../contract/key-repository.js';
import { openSqliteStore } from './harness.js';

keyRepositoryContract('SQLite', openSqliteStore);

describe('SqliteKeyRepository rows', () => {
  it('keeps a material without a reference as an empty value, and reads it back as null', async () => {
    const h = await openSqliteStore();
    try {
      const s = h.store;
      const [k] = await insertKeys(s, keyRecord({ origin: 'EXTERNAL' }));
      const m = materialRecord(k!.keyId, { materialRef: null, importState: 'PENDING_IMPORT' });
      await s.db.write((tx) => s.keys.insertMaterial(tx, m));
      const row = await sqliteOf(s).get<{ ref: Buffer; n: number }>('SELECT material_ref AS ref, length(material_ref) AS n FROM key_materials WHERE material_id = ?', m.materialId);
      expect(row!.n).toBe(0);
      expect((await s.keys.findMaterial(k!.keyId, m.materialId))!.materialRef).toBeNull();
    } finally {
      await h.close();
    }
  });
});
