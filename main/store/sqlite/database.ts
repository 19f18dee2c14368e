// SQLite on disk: the only module that talks to sqlite3, and the SQLite side of the store's Database
// port (../transaction.ts).
//
// Two connections to one WAL database: a reader that serves queries concurrently, and a writer
// that runs every change inside a transaction. Writes are queued and group-committed: the jobs
// waiting when the writer becomes free run in one BEGIN IMMEDIATE … COMMIT, each inside its own
// SAVEPOINT so one failing job rolls back alone. synchronous=FULL makes COMMIT wait for the WAL to
// reach the disk, so a job's promise resolves only once its change is durable; batching amortizes
// that fsync over concurrent requests. There is no weaker commit: the audit entry of a call that
// changed nothing (a Decrypt, a refused request) is on the disk before that call is answered too.
// A job that writes with one statement ({ singleStatement: true }: the audit log's group commits) runs
// without BEGIN … COMMIT when it is alone in its batch: SQLite makes one statement atomic by itself, so
// such a commit is one round trip to the database thread instead of three.
// Statements that change data are prepared once per connection and kept (up to RUN_CACHE_SIZE), so a
// repeated INSERT or UPDATE is bound and stepped, not parsed and planned again.
// Deleted rows do not linger in the files: secure_delete overwrites what a DELETE frees with zeros, and
// forgetDeleted() — a job of its own between transactions — checkpoints those zeroed pages over the old
// ones in the main file and truncates the WAL, where older images of the pages may still lie.
// A database file deleted or replaced under a running appliance (an operator's rm, a restore gone wrong)
// would take every later commit with it while each still answered success: before each batch the
// writer checks that the path still names the file it opened, and refuses the batch if not, so that no
// write is acknowledged that a restart would not find.
// Reads that may walk a large table (audit searches with no index to use) go to a third, read-only
// connection of their own (scan()), opened on first use: each connection's statements run one at a
// time on the thread pool, and such a search on the reader held up every uncached read of the data
// plane behind it (a DescribeKey waited 0.6 s behind a search of 132,000 entries).
// A job gets an opaque Tx. The repositories of ./ turn it back into the writer's statements with
// sql(tx), which accepts only a Tx this database handed to a job that is still running: a Tx kept past
// its job (its statements would land in some later transaction) or one from another store is refused.
import fs from 'node:fs';
import sqlite3 from 'sqlite3';
import type { Database, Tx, WriteOptions } from '../transaction.js';
import { DatabaseFileGoneError } from './storage-failure.js';

export type SqlValue = string | number | bigint | Buffer | null;
export type Row = Record<string, SqlValue>;

/** Statements on one connection: the writer's, inside a job's open transaction. */
export interface Sql {
  run(sql: string, ...params: SqlValue[]): Promise<{ changes: number; lastID: number }>;
  get<T = Row>(sql: string, ...params: SqlValue[]): Promise<T | undefined>;
  all<T = Row>(sql: string, ...params: SqlValue[]): Promise<T[]>;
}

/** What both the reader connection and a job's transaction offer for reading. */
export type SqlReader = Pick<Sql, 'get' | 'all'>;

interface Job {
  fn: (tx: Tx) => Promise<unknown>;
  /** Runs on the writer outside any transaction, alone (forgetDeleted's checkpoint). */
  outside?: () => Promise<void>;
  singleStatement: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A file's device and inode; undefined if there is none at that path. */
function identity(file: string): { dev: number; ino: number } | undefined {
  try {
    const st = fs.statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

function open(file: string, mode: number): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(db)));
  });
}

/** How many prepared statements of `run` one connection keeps. */
const RUN_CACHE_SIZE = 64;

function wrap(db: sqlite3.Database): Sql & { exec(sql: string): Promise<void>; close(): Promise<void> } {
  // Only `run` reuses statements: a kept SELECT that stopped on a row would hold its read snapshot
  // open (and the WAL with it), while a change steps to its end. Map order is age: the oldest goes first.
  // A statement is kept as the promise of its preparation, so that a statement that fails to prepare
  // rejects its call (and is not kept) instead of emitting an 'error' event nobody listens to.
  const prepared = new Map<string, Promise<sqlite3.Statement>>();
  const statement = (sql: string): Promise<sqlite3.Statement> => {
    let stmt = prepared.get(sql);
    if (stmt === undefined) {
      if (prepared.size >= RUN_CACHE_SIZE) {
        const [oldest, old] = prepared.entries().next().value as [string, Promise<sqlite3.Statement>];
        prepared.delete(oldest);
        old.then((s) => s.finalize(), () => undefined);
      }
      stmt = new Promise<sqlite3.Statement>((resolve, reject) => {
        const s = db.prepare(sql, (err: Error | null) => (err ? reject(err) : resolve(s)));
      });
      const kept = stmt;
      kept.catch(() => {
        if (prepared.get(sql) === kept) prepared.delete(sql);
      });
      prepared.set(sql, stmt);
    }
    return stmt;
  };
  return {
    run: async (sql, ...params) => {
      const stmt = await statement(sql);
      return new Promise((resolve, reject) => {
        stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
          if (err) reject(err);
          else resolve({ changes: this.changes, lastID: this.lastID });
        });
      });
    },
    get: <T>(sql: string, ...params: SqlValue[]) =>
      new Promise<T | undefined>((resolve, reject) => {
        db.get(sql, params, (err: Error | null, row: T | undefined) => (err ? reject(err) : resolve(row)));
      }),
    all: <T>(sql: string, ...params: SqlValue[]) =>
      new Promise<T[]>((resolve, reject) => {
        db.all(sql, params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows)));
      }),
    exec: (sql) => new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve()))),
    close: async () => {
      const kept = await Promise.allSettled(prepared.values());
      prepared.clear();
      for (const k of kept) if (k.status === 'fulfilled') k.value.finalize();
      await new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Runs rollback callbacks newest first, so each restores what was there before its job. */
function undoAll(undos: (() => void)[][]): void {
  for (const list of [...undos].reverse()) for (const undo of [...list].reverse()) undo();
}

export class SqliteDatabase implements Database {
  private queue: Job[] = [];
  /** The Tx of every job running now, and the statements it stands for. */
  private readonly running = new Map<Tx, Sql>();
  private writing = false;
  private closed = false;
  private idle: (() => void)[] = [];
  /** The file opened (device and inode), to notice it deleted or replaced under the appliance. */
  private readonly opened: { dev: number; ino: number } | undefined;
  /** The connection for long reads (scan()), once opened. */
  private scanner: Promise<ReturnType<typeof wrap>> | undefined;

  private constructor(
    private readonly writer: ReturnType<typeof wrap>,
    private readonly reader: ReturnType<typeof wrap>,
    readonly file: string,
  ) {
    this.opened = file === ':memory:' ? undefined : identity(file);
  }

  static async open(file: string, opts: { readonly?: boolean } = {}): Promise<SqliteDatabase> {
    if (opts.readonly) {
      const r = wrap(await open(file, sqlite3.OPEN_READONLY));
      await r.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = 1;');
      return new SqliteDatabase(r, r, file);
    }
    const w = wrap(await open(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE));
    await w.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON;');
    const r = wrap(await open(file, sqlite3.OPEN_READONLY));
    await r.exec('PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    return new SqliteDatabase(w, r, file);
  }

  /** Reads on the reader connection: committed data only. */
  get<T = Row>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return this.reader.get<T>(sql, ...params);
  }

  all<T = Row>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    return this.reader.all<T>(sql, ...params);
  }

  /** Runs fn in a transaction; resolves with its result once the change is durable. */
  write<T>(fn: (tx: Tx) => Promise<T>, opts: WriteOptions = {}): Promise<T> {
    return this.enqueue<T>({ fn, singleStatement: opts.singleStatement ?? false });
  }

  forgetDeleted(): Promise<void> {
    return this.enqueue<void>({ fn: async () => undefined, outside: () => this.writer.exec('PRAGMA wal_checkpoint(TRUNCATE)'), singleStatement: false });
  }

  /** Queues a job for the writer (which starts draining if idle); refused once the database is closed. */
  private enqueue<T>(job: Omit<Job, 'resolve' | 'reject'>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    return new Promise<T>((resolve, reject) => {
      // The caller's literal becomes the queued job (no copy: every audited call writes through here).
      this.queue.push(Object.assign(job, { resolve: resolve as (v: unknown) => void, reject }));
      if (!this.writing) void this.drain();
    });
  }

  /** The writer's statements inside a running job's transaction. */
  sql(tx: Tx): Sql {
    const sql = this.running.get(tx);
    if (!sql) throw new Error('Not an open transaction of this database: a Tx is valid while its write job runs, in the store that made it.');
    return sql;
  }

  /** Where a repository reads: inside the job's transaction when given its Tx, else on the reader connection (through get/all above). */
  read(tx?: Tx): SqlReader {
    return tx ? this.sql(tx) : this;
  }

  /**
   * Where a read that may walk a large table goes: inside the job's transaction when given its Tx, else
   * on the scanning connection (see above), so that it never waits on, nor holds up, the reader.
   */
  scan(tx?: Tx): SqlReader {
    // A read-only or in-memory database has one connection for everything (another would be another database).
    if (tx || this.reader === this.writer || this.file === ':memory:') return this.read(tx);
    return this.scanning;
  }

  /** The scanning connection's reads, made once: each opens the connection on first use. */
  private readonly scanning: SqlReader = {
    get: async <T = Row>(sql: string, ...params: SqlValue[]) => (await this.scannerConnection()).get<T>(sql, ...params),
    all: async <T = Row>(sql: string, ...params: SqlValue[]) => (await this.scannerConnection()).all<T>(sql, ...params),
  };

  private scannerConnection(): Promise<ReturnType<typeof wrap>> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    const opening = (this.scanner ??= open(this.file, sqlite3.OPEN_READONLY).then(async (db) => {
      const c = wrap(db);
      await c.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = 1;');
      return c;
    }));
    // A connection that could not be opened is tried again by the next read, not remembered.
    opening.catch(() => {
      if (this.scanner === opening) this.scanner = undefined;
    });
    return opening;
  }

  /** Schema changes and migrations: run directly on the writer, outside the queue. */
  async execScript(sql: string): Promise<void> {
    await this.writer.exec(sql);
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const gone = this.fileGone();
      if (gone) {
        for (const job of this.queue.splice(0)) job.reject(gone);
        break;
      }
      const first = this.queue[0]!;
      if (first.outside) {
        this.queue.shift();
        await first.outside().then(() => first.resolve(undefined), first.reject);
        continue;
      }
      // A batch ends before the next job that must run outside a transaction.
      const upTo = this.queue.findIndex((j) => j.outside !== undefined);
      const batch = this.queue.splice(0, Math.min(256, upTo === -1 ? this.queue.length : upTo));
      if (batch.length === 1) {
        const job = batch[0]!;
        await (job.singleStatement ? this.runAutocommit(job) : this.runAlone(job));
        continue;
      }
      const outcomes: { ok: boolean; value: unknown }[] = [];
      const undos: (() => void)[][] = [];
      try {
        await this.writer.exec('BEGIN IMMEDIATE');
        for (const job of batch) {
          await this.writer.exec('SAVEPOINT job');
          const tx = this.txFor(undos, job.singleStatement);
          try {
            const value = await job.fn(tx);
            this.running.delete(tx);
            await this.writer.exec('RELEASE job');
            outcomes.push({ ok: true, value });
          } catch (e) {
            this.running.delete(tx);
            await this.writer.exec('ROLLBACK TO job; RELEASE job');
            undoAll([undos.pop()!]);
            undos.push([]);
            outcomes.push({ ok: false, value: e });
          }
        }
        await this.writer.exec('COMMIT');
      } catch (e) {
        // The transaction as a whole failed (disk full, I/O error): nothing in it is acknowledged.
        await this.writer.exec('ROLLBACK').catch(() => undefined);
        undoAll(undos);
        for (const job of batch) job.reject(e);
        continue;
      }
      batch.forEach((job, i) => {
        const o = outcomes[i]!;
        if (o.ok) job.resolve(o.value);
        else job.reject(o.value);
      });
    }
    this.writing = false;
    for (const f of this.idle.splice(0)) f();
  }

  /** Why writes cannot go on (the database file was deleted or replaced since it was opened), or undefined. */
  private fileGone(): Error | undefined {
    if (!this.opened) return undefined;
    const now = identity(this.file);
    if (now && now.dev === this.opened.dev && now.ino === this.opened.ino) return undefined;
    return new DatabaseFileGoneError(`The database file ${this.file} was ${now ? 'replaced' : 'deleted'} while Kura ran: nothing more is written. Restore it and restart Kura.`);
  }

  /**
   * The Tx of one job, open until the job settles; its rollback callbacks go to the end of `undos`.
   * The object holds onRollback only (its SQL stays in `running`), so nothing that receives it can run a
   * statement, even by looking past its type.
   */
  private txFor(undos: (() => void)[][], singleStatement = false): Tx {
    const mine: (() => void)[] = [];
    undos.push(mine);
    // The brand is a type-level fact only (../transaction.ts): this is where a Tx comes into being.
    const tx = Object.freeze({ onRollback: (undo: () => void) => void mine.push(undo) }) as Tx;
    const w = this.writer;
    let run = w.run;
    if (singleStatement) {
      let ran = false;
      run = (sql, ...params) => {
        if (ran) return Promise.reject(new Error('A single-statement write job ran a second statement.'));
        ran = true;
        return w.run(sql, ...params);
      };
    }
    this.running.set(tx, { run, get: w.get, all: w.all });
    return tx;
  }

  /** A batch of one needs no savepoint: the transaction is the job's own. */
  private async runAlone(job: Job): Promise<void> {
    let value: unknown;
    const undos: (() => void)[][] = [];
    try {
      await this.writer.exec('BEGIN IMMEDIATE');
      const tx = this.txFor(undos);
      try {
        value = await job.fn(tx);
      } finally {
        this.running.delete(tx);
      }
      await this.writer.exec('COMMIT');
    } catch (e) {
      await this.writer.exec('ROLLBACK').catch(() => undefined);
      undoAll(undos);
      job.reject(e);
      return;
    }
    job.resolve(value);
  }

  /**
   * A single-statement job alone in its batch: no transaction around it, since its one statement is
   * atomic (a failing statement changes nothing, and the job's rollback callbacks run).
   */
  private async runAutocommit(job: Job): Promise<void> {
    const undos: (() => void)[][] = [];
    const tx = this.txFor(undos, true);
    let value: unknown;
    try {
      value = await job.fn(tx);
    } catch (e) {
      undoAll(undos);
      job.reject(e);
      return;
    } finally {
      this.running.delete(tx);
    }
    job.resolve(value);
  }

  /** Waits for queued writes, then closes both connections (checkpointing the WAL). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.writing) await new Promise<void>((r) => this.idle.push(r));
    if (this.reader !== this.writer) await this.reader.close();
    const scanner = await this.scanner?.catch(() => undefined);
    if (scanner) await scanner.close();
    await this.writer.close();
  }
}
