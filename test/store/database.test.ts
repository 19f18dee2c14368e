// SQLite store (main/store/database.ts, migrations.ts) on disk: group commit with per-job savepoints,
// durability of acknowledged writes across reopen, and versioned migrations.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Database, openStore, type Store } from '../../main/store/index.js';
import { SCHEMA_VERSION } from '../../main/store/migrations.js';

/** Every migration leaves its row: versions 1..SCHEMA_VERSION. */
const allVersions = Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 }));
import { tempDir } from '../support/domain.js';

/** File descriptors of this process that point at `file` (Linux /proc). */
function openHandlesTo(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // the descriptor closed while we looked
    }
  }
  return n;
}

describe('Database', () => {
  let dir: string;
  let file: string;
  let store: Store | undefined;

  beforeEach(async () => {
    dir = tempDir('kura-db-');
    file = path.join(dir, 'kura.db');
    store = await openStore(file);
    await store.db.execScript('CREATE TABLE scratch (id INTEGER PRIMARY KEY, job TEXT NOT NULL, n INTEGER NOT NULL)');
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const db = () => store!.db;
  const rows = () => db().all<{ id: number; job: string; n: number }>('SELECT * FROM scratch ORDER BY id');

  it('group-commits 200 concurrent writes: every one resolves with its result and every row exists', async () => {
    const committedSeen: number[] = [];
    const jobs = Array.from({ length: 200 }, (_, i) =>
      db().write(async (tx) => {
        // What the reader connection sees committed while this job runs inside the open transaction.
        committedSeen.push((await db().get<{ c: number }>('SELECT COUNT(*) AS c FROM scratch'))!.c);
        const r = await tx.run('INSERT INTO scratch (id, job, n) VALUES (?, ?, ?)', i + 1, `job-${i}`, i);
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
    const blocker = db().write((tx) => tx.run("INSERT INTO scratch (job, n) VALUES ('blocker', 0)"));
    const a = db().write(async (tx) => {
      await tx.run("INSERT INTO scratch (job, n) VALUES ('a', 1)");
      return 'a done';
    });
    const b = db().write(async (tx) => {
      await tx.run("INSERT INTO scratch (job, n) VALUES ('b', 1)");
      await tx.run("INSERT INTO scratch (job, n) VALUES ('b', 2)");
      throw new Error('job b failed');
    });
    let sameBatch: { writerSeesA: number; readerSeesA: number; writerSeesB: number } | undefined;
    const c = db().write(async (tx) => {
      await tx.run("INSERT INTO scratch (job, n) VALUES ('c', 1)");
      sameBatch = {
        writerSeesA: (await tx.get<{ c: number }>("SELECT COUNT(*) AS c FROM scratch WHERE job = 'a'"))!.c,
        readerSeesA: (await db().get<{ c: number }>("SELECT COUNT(*) AS c FROM scratch WHERE job = 'a'"))!.c,
        writerSeesB: (await tx.get<{ c: number }>("SELECT COUNT(*) AS c FROM scratch WHERE job = 'b'"))!.c,
      };
      return 'c done';
    });
    const dup = db().write(async (tx) => {
      await tx.run("INSERT INTO scratch (id, job, n) VALUES (1000, 'd', 1)");
      await tx.run("INSERT INTO scratch (id, job, n) VALUES (1000, 'd', 2)"); // primary key violation
    });
    const e = db().write(async (tx) => {
      await tx.run("INSERT INTO scratch (job, n) VALUES ('e', 1)");
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
    const good = db().write((tx) => tx.run("INSERT INTO scratch (job, n) VALUES ('ok', 1)"));
    await expect(bad).rejects.toThrow('sync throw');
    await good;
    expect((await rows()).map((x) => x.job)).toEqual(['ok']);
  });

  it('close() waits for queued writes, and writes after close are refused', async () => {
    const pending = Array.from({ length: 20 }, (_, i) => db().write((tx) => tx.run('INSERT INTO scratch (job, n) VALUES (?, ?)', 'queued', i)));
    const closing = store!.close();
    await expect(db().write((tx) => tx.run("INSERT INTO scratch (job, n) VALUES ('late', 0)"))).rejects.toThrow(/closed/);
    await Promise.all(pending);
    await closing;
    store = await openStore(file);
    const r = await rows();
    expect(r).toHaveLength(20);
    expect(r.every((x) => x.job === 'queued')).toBe(true);
  });

  it('acknowledged writes survive a reopen', async () => {
    await db().write((tx) => tx.run("INSERT INTO scratch (job, n) VALUES ('durable', 42)"));
    await store!.close();
    store = await openStore(file);
    expect(await rows()).toEqual([{ id: 1, job: 'durable', n: 42 }]);
  });

  it('a read-only store reads but refuses writes', async () => {
    await db().write((tx) => tx.run("INSERT INTO scratch (job, n) VALUES ('ro', 1)"));
    const ro = await openStore(file, { readonly: true });
    try {
      expect((await ro.db.all('SELECT job FROM scratch')).map((r) => r.job)).toEqual(['ro']);
      await expect(ro.db.write((tx) => tx.run("INSERT INTO scratch (job, n) VALUES ('no', 1)"))).rejects.toThrow();
    } finally {
      await ro.close();
    }
    expect(await rows()).toHaveLength(1);
  });
});

describe('migrations', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('kura-migrate-');
    file = path.join(dir, 'kura.db');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const tables = async (s: Store) =>
    (await s.db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map((r) => r.name);

  it('creates the schema once; opening again changes nothing and keeps the data', async () => {
    const first = await openStore(file);
    const schema = await tables(first);
    expect(schema).toEqual(expect.arrayContaining(['appliance', 'seal_config', 'credentials', 'keys', 'key_materials', 'aliases', 'tags', 'audit_log', 'schema_version']));
    const id = await first.appliance.ensureApplianceId('appliance-1', 1);
    await first.close();

    for (let i = 0; i < 2; i++) {
      const again = await openStore(file);
      try {
        expect(await tables(again)).toEqual(schema);
        expect(await again.db.all('SELECT version FROM schema_version ORDER BY version')).toEqual(allVersions);
        expect(await again.appliance.ensureApplianceId('appliance-2', 2)).toBe(id);
      } finally {
        await again.close();
      }
    }
    expect(id).toBe('appliance-1');
  });

  it('refuses a database from a newer Kura with a clear error, and leaves it as it was', async () => {
    const s = await openStore(file);
    await s.db.write((tx) => tx.run('INSERT INTO schema_version (version) VALUES (?)', SCHEMA_VERSION + 98));
    expect(openHandlesTo(file)).toBeGreaterThan(0);
    await s.close();
    expect(openHandlesTo(file)).toBe(0);
    const before = fs.readFileSync(file);

    await expect(openStore(file)).rejects.toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 98}.*newer than this Kura.*upgrade Kura`));
    expect(fs.readFileSync(file).equals(before)).toBe(true);

    const ro = await Database.open(file, { readonly: true });
    try {
      expect(await ro.all('SELECT version FROM schema_version ORDER BY version')).toEqual([...allVersions, { version: SCHEMA_VERSION + 98 }]);
    } finally {
      await ro.close();
    }
  });

  it('a refused open does not leave the database open', async () => {
    const s = await openStore(file);
    await s.db.write((tx) => tx.run('INSERT INTO schema_version (version) VALUES (?)', SCHEMA_VERSION + 1));
    await s.close();
    await expect(openStore(file)).rejects.toThrow(/newer than this Kura/);
    // Fail closed: both connections of the refused open are closed again, not leaked.
    expect(openHandlesTo(file)).toBe(0);
  });
});
