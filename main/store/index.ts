// The store's public face, where other folders import it from (lint keeps them out of ./sqlite/): the
// ports (transactions, repositories, records) and `openStore`, which opens a data directory's SQLite
// database, migrated to the current schema, behind them. Nothing exported here can run SQL.
import { SqliteAliasRepository } from './sqlite/alias-repository.js';
import { SqliteApplianceRepository } from './sqlite/appliance-repository.js';
import { SqliteAuditRepository } from './sqlite/audit-repository.js';
import { SqliteCeremonyRepository } from './sqlite/ceremony-repository.js';
import { SqliteCredentialRepository } from './sqlite/credential-repository.js';
import { SqliteCustomKeyStoreRepository } from './sqlite/custom-key-store-repository.js';
import { SqliteDatabase } from './sqlite/database.js';
import { SqliteHsmRepository } from './sqlite/hsm-repository.js';
import { SqliteImportTokenRepository } from './sqlite/import-token-repository.js';
import { SqliteKeyRepository } from './sqlite/key-repository.js';
import { migrate } from './sqlite/migrations.js';
import { SqliteXksRepository } from './sqlite/xks-repository.js';
import type { Store } from './repositories.js';

export type * from './records.js';
export type * from './repositories.js';
export type { Database, Tx, WriteOptions } from './transaction.js';
export { DirectoryLockedError, lockDirectory, type DirectoryLock } from './sqlite/directory-lock.js';
export { DatabaseFileGoneError, storageFailureOf, type StorageFailure, type StorageFailureKind } from './sqlite/storage-failure.js';

/** `schemaUpTo` (tests only) leaves the database at an older schema version, as an older Kura made it. */
export async function openStore(file: string, opts: { readonly?: boolean; schemaUpTo?: number } = {}): Promise<Store> {
  const db = await SqliteDatabase.open(file, opts);
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
    aliases: new SqliteAliasRepository(db),
    importTokens: new SqliteImportTokenRepository(db),
    customKeyStores: new SqliteCustomKeyStoreRepository(db),
    hsms: new SqliteHsmRepository(db),
    xks: new SqliteXksRepository(db),
    ceremony: new SqliteCeremonyRepository(db),
    credentials: new SqliteCredentialRepository(db),
    appliance: new SqliteApplianceRepository(db),
    audit: new SqliteAuditRepository(db),
    close: () => db.close(),
  };
}

/** For `kura` tools that inspect a database file directly (integrity checks in tests and support). */
export async function integrityCheck(file: string): Promise<string> {
  const db = await SqliteDatabase.open(file, { readonly: true });
  try {
    const r = await db.get<{ integrity_check: string }>('PRAGMA integrity_check');
    return r?.integrity_check ?? 'unknown';
  } finally {
    await db.close();
  }
}
