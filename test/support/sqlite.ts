// Raw SQL on the SQLite database behind a Store, for tests only: to look at rows the repositories do
// not show (sealed columns, row counts), and to change rows behind Kura's back (tampering with the
// audit log, writing as an older schema did). Kura's own code cannot do this: outside main/store a
// Store offers repositories and an opaque Tx, never SQL.
import type { Store } from '../../main/store/index.js';
import { SqliteDatabase, type Sql } from '../../main/store/sqlite/database.js';

/** The SQLite database of a store that openStore opened; its get/all read committed rows. */
export function sqliteOf(store: Pick<Store, 'db'>): SqliteDatabase {
  if (!(store.db instanceof SqliteDatabase)) throw new Error('not a store that openStore opened: no SQLite database behind it');
  return store.db;
}

/** Runs statements in one write job of the store (group-committed like any other). */
export function writeSql<T>(store: Pick<Store, 'db'>, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const db = sqliteOf(store);
  return db.write((tx) => fn(db.sql(tx)));
}
