// One appliance per data directory, held by the kernel: a lock that a second `kura serve` (or desktop
// app) on the same directory cannot take, however close together the two start, and that goes with its
// holder's process however that ends — a kill -9, a crash, a power cut — so that an appliance restarts
// unattended whatever pid the machine hands out next.
//
// SQLite provides it: a small database of its own (kura.lock) opened in EXCLUSIVE locking mode keeps
// the POSIX advisory lock of its first write transaction for as long as the connection is open (SQLite,
// "PRAGMA locking_mode"), and the kernel drops it when the process exits. Kura's own database is not the
// lock: its reader connection and the read-only CLI commands open it while the appliance runs.
import sqlite3 from 'sqlite3';

export interface DirectoryLock {
  /** Lets the lock go (closing its connection); idempotent. */
  release(): Promise<void>;
}

/** The lock is held by another process (or another connection of this one). */
export class DirectoryLockedError extends Error {
  constructor(readonly file: string) {
    super(`${file} is locked by another process`);
  }
}

const exec = (db: sqlite3.Database, sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (e) => (e ? reject(e) : resolve())));
const close = (db: sqlite3.Database) => new Promise<void>((resolve) => db.close(() => resolve()));
const isBusy = (e: unknown) => ['SQLITE_BUSY', 'SQLITE_LOCKED'].includes((e as { code?: string }).code ?? '');

/** Takes the lock of `file` (created if missing), or throws DirectoryLockedError while another holds it. */
export async function lockDirectory(file: string): Promise<DirectoryLock> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (e) => (e ? reject(e) : resolve(d)));
  });
  try {
    // BEGIN EXCLUSIVE takes the write lock at once or fails busy (no waiting); in EXCLUSIVE locking mode
    // the commit keeps it until the connection closes.
    await exec(db, 'PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE;');
    await exec(db, 'BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at INTEGER NOT NULL); DELETE FROM held; INSERT INTO held VALUES (1); COMMIT;');
  } catch (e) {
    await close(db);
    if (isBusy(e)) throw new DirectoryLockedError(file);
    throw e;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await close(db);
    },
  };
}
