// SqliteDatabase (main/store/sqlite/database.ts) passes the contract of the store's transactions
// (test/store/contract/database.ts); and, on disk, what SQLite adds to it: group commit with per-job
// savepoints, durability of acknowledged writes across reopen, close, read-only stores, and no write
// acknowledged once the file was deleted or replaced under it.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../main/store/index.js';
import { tempDir } from '../../support/domain.js';
import { sqliteOf, writeSql } from '../../support/sqlite.js';
import { databaseContract } from '../contract/database.js';
import { openSqliteStore } from './harness.js';

databaseContract('SQLite', openSqliteStore);

describe('Database', () => {
  let dir: string;
  let file: string;
  let store: Store | undefined;

  beforeEach(async () => {
    dir = tempDir('kura-db-');
    file = path.join(dir, 'kura.db');
    store = await openStore(file);
    await sqliteOf(store).execScript('CREATE TABLE scratch (id INTEGER PRIMARY KEY, job TEXT NOT NULL, n INTEGER NOT NULL)');
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const db = () => sqliteOf(store!);
  const rows = () => db().all<{ id: number; job: string; n: number }>('SELECT * FROM scratch ORDER BY id');

  it('group-commits 200 concurrent writes: every one resolves with its result and every row exists', async () => {
    const committedSeen: number[] = [];
    const jobs = Array.from({ length: 200 }, (_, i) =>
      db().write(async (tx) => {
        // What the reader connection sees committed while this job runs inside the open transaction.
        committedSeen.push((await db().get<{ c: number }>('SELECT COUNT(*) AS c FROM scratch'))!.c);
        const r = await db().sql(tx).run('INSERT INTO scratch (id, job, n) VALUES (?, ?, ?)', i + 1, `job-${i}`, i);
        return r.changes * 1000 + i;
      }),
    );
    const results = await Promise.all(jobs);
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => 1000 + i));
    const r = await rows();
    expect(r).toHaveLength(200);
    expect(r.map((x) => x.n)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // Jobs that queued together ran in one transaction: they all saw the same committed state.
    expect(new Set(committedSeen).size).toBeLessThanOrEqual(3);
  });

  it('rolls back only the job that throws; the others in the same batch commit', async () => {
    const blocker = db().write((tx) => db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('blocker', 0)"));
    const a = db().write(async (tx) => {
      await db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('a', 1)");
      return 'a done';
    });
    const b = db().write(async (tx) => {
      await db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('b', 1)");
      await db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('b', 2)");
      throw new Error('job b failed');
    });
    let sameBatch: { writerSeesA: number; readerSeesA: number; writerSeesB: number } | undefined;
    const c = db().write(async (tx) => {
      await db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('c', 1)");
      sameBatch = {
        writerSeesA: (await db().sql(tx).get<{ c: number }>("SELECT COUNT(*) AS c FROM scratch WHERE job = 'a'"))!.c,
        readerSeesA: (await db().get<{ c: number }>("SELECT COUNT(*) AS c FROM scratch WHERE job = 'a'"))!.c,
        writerSeesB: (await db().sql(tx).get<{ c: number }>("SELECT COUNT(*) AS c FROM scratch WHERE job = 'b'"))!.c,
      };
      return 'c done';
    });
    const dup = db().write(async (tx) => {
      await db().sql(tx).run("INSERT INTO scratch (id, job, n) VALUES (1000, 'd', 1)");
      await db().sql(tx).run("INSERT INTO scratch (id, job, n) VALUES (1000, 'd', 2)"); // primary key violation
    });
    const e = db().write(async (tx) => {
      await db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('e', 1)");
      return 'e done';
    });

    const settled = await Promise.allSettled([blocker, a, b, c, dup, e]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toEqual(new Error('job b failed'));
    expect(String((settled[4] as PromiseRejectedResult).reason)).toMatch(/UNIQUE|constraint/i);
    expect(await Promise.all([a, c, e])).toEqual(['a done', 'c done', 'e done']);
    // a, b and c shared one open transaction: c saw a's row through the writer, not yet through the reader.
    expect(sameBatch).toEqual({ writerSeesA: 1, readerSeesA: 0, writerSeesB: 0 });
    expect((await rows()).map((x) => `${x.job}${x.n}`)).toEqual(['blocker0', 'a1', 'c1', 'e1']);
  });

  it('a job that throws synchronously is rolled back like any other', async () => {
    const bad = db().write(() => {
      throw new Error('sync throw');
    });
    const good = db().write((tx) => db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('ok', 1)"));
    await expect(bad).rejects.toThrow('sync throw');
    await good;
    expect((await rows()).map((x) => x.job)).toEqual(['ok']);
  });

  it('close() waits for queued writes, and writes after close are refused', async () => {
    const pending = Array.from({ length: 20 }, (_, i) => db().write((tx) => db().sql(tx).run('INSERT INTO scratch (job, n) VALUES (?, ?)', 'queued', i)));
    const closing = store!.close();
    await expect(db().write((tx) => db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('late', 0)"))).rejects.toThrow(/closed/);
    await Promise.all(pending);
    await closing;
    store = await openStore(file);
    const r = await rows();
    expect(r).toHaveLength(20);
    expect(r.every((x) => x.job === 'queued')).toBe(true);
  });

  it('keeps prepared statements of changes: 150 distinct ones (past the 64 it keeps) run, repeat, and close cleanly', async () => {
    const distinct = (i: number) => `INSERT INTO scratch (job, n) VALUES ('stmt${i}', ?)`;
    for (let round = 0; round < 2; round++) {
      await db().write(async (tx) => {
        for (let i = 0; i < 150; i++) await db().sql(tx).run(distinct(i), round);
      });
    }
    // A failed run of a kept statement leaves it usable.
    await expect(db().write((tx) => db().sql(tx).run('INSERT INTO scratch (id, job, n) VALUES (?, ?, ?)', 1, 'dup', 0))).rejects.toThrow(/UNIQUE/);
    await db().write((tx) => db().sql(tx).run('INSERT INTO scratch (id, job, n) VALUES (?, ?, ?)', 1_000, 'after', 0));
    expect(await rows()).toHaveLength(301);
    await store!.close();
    store = await openStore(file);
    expect(await rows()).toHaveLength(301);
  });

  it('a statement that fails to prepare rejects its write (the process goes on), and is not kept', async () => {
    for (let i = 0; i < 2; i++) {
      await expect(db().write((tx) => db().sql(tx).run('INSERT INTO no_such_table (x) VALUES (?)', i))).rejects.toThrow(/no such table/);
      await expect(db().write((tx) => db().sql(tx).run('INSERT INTO no_such_table (x) VALUES (?)', i), { singleStatement: true })).rejects.toThrow(/no such table/);
    }
    await db().write((tx) => db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('after', 1)"));
    expect((await rows()).map((r) => r.job)).toEqual(['after']);
  });

  it('refuses every write once its file is deleted or replaced under it, rather than acknowledge what a restart would not find', async () => {
    const insert = (job: string) => db().write((tx) => db().sql(tx).run('INSERT INTO scratch (job, n) VALUES (?, 1)', job));
    await insert('before');
    for (const f of ['kura.db', 'kura.db-wal', 'kura.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    await expect(insert('after the rm')).rejects.toThrow(`The database file ${file} was deleted while Kura ran`);
    // Something else put at the same path is not the file opened either.
    fs.writeFileSync(file, '');
    await expect(insert('after a new file')).rejects.toThrow(`The database file ${file} was replaced while Kura ran`);
    await expect(db().forgetDeleted()).rejects.toThrow('was replaced');
  });

  it('acknowledged writes survive a reopen', async () => {
    await db().write((tx) => db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('durable', 42)"));
    await store!.close();
    store = await openStore(file);
    expect(await rows()).toEqual([{ id: 1, job: 'durable', n: 42 }]);
  });

  it('a read-only store reads but refuses writes', async () => {
    await db().write((tx) => db().sql(tx).run("INSERT INTO scratch (job, n) VALUES ('ro', 1)"));
    const ro = await openStore(file, { readonly: true });
    try {
      expect((await sqliteOf(ro).all('SELECT job FROM scratch')).map((r) => r.job)).toEqual(['ro']);
      await expect(writeSql(ro, (sql) => sql.run("INSERT INTO scratch (job, n) VALUES ('no', 1)"))).rejects.toThrow();
    } finally {
      await ro.close();
    }
    expect(await rows()).toHaveLength(1);
  });
});

