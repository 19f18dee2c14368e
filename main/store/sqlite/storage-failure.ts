// Failures of the storage under the database, told apart from every other error: the disk is full, an
// I/O error, the file is read-only, cannot be opened, or was deleted or replaced under the appliance.
// Callers answer them honestly (nothing was written; what to do about it) and log the SQLite result code
// (https://www.sqlite.org/rescode.html), which says what happened and never carries data.
// node-sqlite3 names the primary result code in `code` (SQLITE_FULL, SQLITE_IOERR, …); an extended
// name (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED) counts as its primary code.

export type StorageFailureKind = 'disk-full' | 'io-error' | 'read-only' | 'cannot-open' | 'file-gone';

export interface StorageFailure {
  kind: StorageFailureKind;
  /** The SQLite result code's name, or DatabaseFileGoneError's own: safe to log. */
  code: string;
}

/** The database file was deleted or replaced since it was opened (database.ts checks before each batch). */
export class DatabaseFileGoneError extends Error {
  override readonly name = 'DatabaseFileGoneError';
  readonly code = 'KURA_DATABASE_FILE_GONE';
}

const KIND_OF_PRIMARY_CODE: Readonly<Record<string, StorageFailureKind>> = {
  SQLITE_FULL: 'disk-full',
  SQLITE_IOERR: 'io-error',
  SQLITE_READONLY: 'read-only',
  SQLITE_CANTOPEN: 'cannot-open',
};

/** What storage failure `e` is, or undefined if it is none (a constraint, a bug, a domain error). */
export function storageFailureOf(e: unknown): StorageFailure | undefined {
  if (e instanceof DatabaseFileGoneError) return { kind: 'file-gone', code: e.code };
  if (!(e instanceof Error)) return undefined;
  const code: unknown = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  const primary = /^(SQLITE_[A-Z]+)(?:_[A-Z0-9]+)*$/.exec(code)?.[1];
  const kind = primary === undefined ? undefined : KIND_OF_PRIMARY_CODE[primary];
  return kind ? { kind, code } : undefined;
}
