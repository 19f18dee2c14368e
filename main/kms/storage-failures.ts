// What a caller is told when the storage under the database fails (store/sqlite/storage-failure.ts):
// still KMSInternalException, 500 (AWS's name for a failure on the service's side, which the SDKs
// retry), but with a message that says what happened, that nothing was changed, and what frees it,
// where a bare "internal error" would send an operator to the log for a full disk. Every transport
// (the KMS endpoint, the admin API, the console) answers these the same way.
import { KmsError } from '../common/errors.js';
import { storageFailureOf, type StorageFailureKind } from '../store/index.js';

const MESSAGES: Readonly<Record<StorageFailureKind, string>> = {
  'disk-full': 'Kura could not write to its database (disk full): nothing was changed; retry once space is freed.',
  'io-error': "Kura could not read or write its database (I/O error): nothing was changed; retry, and if it persists, check the data directory's disk.",
  'read-only': 'Kura could not write to its database (it is read-only): nothing was changed; retry once it is writable again.',
  'cannot-open': 'Kura could not open its database file: nothing was changed; check the data directory.',
  'file-gone': 'Kura could not write to its database (its file was deleted or replaced while Kura ran): nothing was changed; restore it and restart Kura.',
};

/**
 * The answer to a storage failure and the code to log with it (a SQLite result code: never data), or
 * undefined if `e` is not one.
 */
export function storageFailureAnswer(e: unknown): { error: KmsError; code: string } | undefined {
  const failure = storageFailureOf(e);
  return failure && { error: new KmsError('Internal', MESSAGES[failure.kind]), code: failure.code };
}

/** What the log may say of an unexpected error: its type, and a storage failure's code. */
export function loggedError(e: unknown): { error: string; code?: string } {
  const code = storageFailureOf(e)?.code;
  return { error: e instanceof Error ? e.name : typeof e, ...(code !== undefined ? { code } : {}) };
}
