// Which errors are failures of the storage under the database (main/store/sqlite/storage-failure.ts):
// SQLite's full disk, I/O errors (extended codes too), read-only and cannot-open, and the database file
// deleted under a running store; not a constraint, a bug, or an error with no SQLite code.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseFileGoneError, openStore, storageFailureOf, type Store } from '../../../main/store/index.js';
import { tempDir } from '../../support/domain.js';

const sqliteError = (code: string) => Object.assign(new Error(`${code}: something`), { code });

let store: Store | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.close().catch(() => undefined);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  store = undefined;
  dir = undefined;
});

describe('storageFailureOf', () => {
  it.each([
    ['SQLITE_FULL', 'disk-full'],
    ['SQLITE_IOERR', 'io-error'],
    ['SQLITE_IOERR_WRITE', 'io-error'],
    ['SQLITE_READONLY', 'read-only'],
    ['SQLITE_READONLY_DBMOVED', 'read-only'],
    ['SQLITE_CANTOPEN', 'cannot-open'],
  ])('%s is a storage failure (%s), logged by its code', (code, kind) => {
    expect(storageFailureOf(sqliteError(code))).toEqual({ kind, code });
  });

  it.each(['SQLITE_CONSTRAINT', 'SQLITE_BUSY', 'SQLITE_FULLISH', 'ENOSPC', 'SQLITE_FULL and more'])('%s is not', (code) => {
    expect(storageFailureOf(sqliteError(code))).toBeUndefined();
  });

  it('nor is an error without a code, or something not an error', () => {
    expect(storageFailureOf(new Error('SQLITE_FULL: database or disk is full'))).toBeUndefined();
    expect(storageFailureOf({ code: 'SQLITE_FULL' })).toBeUndefined();
    expect(storageFailureOf(undefined)).toBeUndefined();
  });

  it('a write after the database file was deleted under the store fails as file-gone', async () => {
    dir = tempDir('kura-storage-');
    const file = path.join(dir, 'kura.db');
    store = await openStore(file);
    for (const f of ['kura.db', 'kura.db-wal', 'kura.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    const failed = await store.db.write(async () => undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(DatabaseFileGoneError);
    expect(storageFailureOf(failed)).toEqual({ kind: 'file-gone', code: 'KURA_DATABASE_FILE_GONE' });
  });
});
