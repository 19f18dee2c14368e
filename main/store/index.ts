// The store's public face: open a data directory's database, migrated to the current schema.
import { Database } from './database.js';
import { SqliteCustomKeyStoreRepository } from './custom-key-stores.js';
import { migrate } from './migrations.js';
import { SqliteApplianceRepository, SqliteAuditRepository, SqliteCredentialRepository, SqliteKeyRepository } from './repositories.js';

export type { WriteTx } from './database.js';
export { Database } from './database.js';
export * from './records.js';
export * from './repositories.js';
export * from './custom-key-stores.js';

export interface Store {
  db: Database;
  keys: SqliteKeyRepository;
  customKeyStores: SqliteCustomKeyStoreRepository;
  credentials: SqliteCredentialRepository;
  appliance: SqliteApplianceRepository;
  audit: SqliteAuditRepository;
  close(): Promise<void>;
}

/** `schemaUpTo` (tests only) leaves the database at an older schema version, as an older Kura made it. */
export async function openStore(file: string, opts: { readonly?: boolean; schemaUpTo?: number } = {}): Promise<Store> {
  const db = await Database.open(file, opts);
  if (!opts.readonly) {
    try {
      await migrate(db, { upTo: opts.schemaUpTo });
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
  }
  return {
    db,
    keys: new SqliteKeyRepository(db),
    customKeyStores: new SqliteCustomKeyStoreRepository(db),
    credentials: new SqliteCredentialRepository(db),
    appliance: new SqliteApplianceRepository(db),
    audit: new SqliteAuditRepository(db),
    close: () => db.close(),
  };
}

/** For `kura` tools that inspect a database file directly (integrity checks in tests and support). */
export async function integrityCheck(file: string): Promise<string> {
  const db = await Database.open(file, { readonly: true });
  try {
    const r = await db.get<{ integrity_check: string }>('PRAGMA integrity_check');
    return r?.integrity_check ?? 'unknown';
  } finally {
    await db.close();
  }
}
