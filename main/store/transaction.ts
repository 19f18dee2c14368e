// The store's transactions as the rest of Kura sees them. A Database runs a job in one transaction and
// hands it a Tx; repositories take that Tx to write (and, optionally, to read) inside the transaction,
// so a service composes several changes and its audit entry into one commit. Outside main/store a Tx
// is opaque: it has no SQL to run, only `onRollback`, and a Database has no query methods. That keeps
// kms/, audit/, auth/ and seal/ working through the repository interfaces (./repositories.ts) alone,
// so another database behind them (PostgreSQL for several Kura nodes, DESIGN.md "Past one machine")
// needs no change there. The SQLite implementation turns a Tx back into its connection's statements
// (./sqlite/database.ts) and refuses a Tx it did not make, or one whose job has ended.

/** A type-level brand only: no value carries it, so nothing outside main/store can make a Tx. */
declare const TX_BRAND: unique symbol;

/** One job's transaction, valid while the job runs, in the store that made it. */
export interface Tx {
  readonly [TX_BRAND]: true;
  /**
   * Called if this job's changes are rolled back (the job failed, or the whole commit did), newest
   * first: for in-memory state that mirrors what the job wrote (the audit chain's head).
   */
  onRollback(undo: () => void): void;
}

export interface WriteOptions {
  /**
   * The job changes the database with one statement at most, as its last step (reads before it are
   * free). Alone in its batch it then runs without BEGIN … COMMIT, because the database makes a single
   * statement atomic by itself: a group commit of audit entries costs one round trip to the database
   * instead of three. A second statement is refused. What the job does after its statement cannot undo
   * it, so nothing may follow that can fail. Default false.
   */
  singleStatement?: boolean;
}

/** Runs write jobs, each in a transaction of its own. */
export interface Database {
  /**
   * Runs fn in a transaction and resolves with its result once the change is committed durably (on the
   * disk, not only in the operating system's cache). If fn throws, or the commit fails, nothing it wrote is kept, its `onRollback`
   * callbacks run, and the promise rejects; other jobs are not affected by one job's failure (see
   * `singleStatement` for the one exception: a failure after a single-statement job's statement).
   */
  write<T>(fn: (tx: Tx) => Promise<T>, opts?: WriteOptions): Promise<T>;
  /**
   * Makes what deleted rows held unrecoverable from the database's own files, once the jobs queued
   * before it have committed: for deletions that must really delete (a key at the end of its waiting
   * period, DESIGN.md "Keys"). Not needed after every delete; the database may do it lazily otherwise.
   */
  forgetDeleted(): Promise<void>;
}
