// SqliteAuditRepository (main/store/sqlite/audit-repository.ts, over the audit_log table) passes the
// contract of AuditRepository (test/store/contract/audit-repository.ts); and, on SQLite, a search by key
// or by approval request reads its indexes (migration 16) instead of walking the log, and a search runs
// on the scanning connection, where a long one holds up none of the reader's queries.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore, type Store } from '../../../main/store/index.js';
import type { SqlValue } from '../../../main/store/sqlite/database.js';
import { tempDir } from '../../support/domain.js';
import { sqliteOf } from '../../support/sqlite.js';
import { auditRepositoryContract } from '../contract/audit-repository.js';
import { openSqliteStore } from './harness.js';

auditRepositoryContract('SQLite', openSqliteStore);

describe('audit searches on SQLite', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = tempDir('kura-audit-');
    store = await openStore(path.join(dir, 'kura.db'));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The plan of every statement a search sends to the scanning connection. */
  async function plansOf(search: () => Promise<unknown>): Promise<string[]> {
    const db = sqliteOf(store);
    const sent: { sql: string; args: SqlValue[] }[] = [];
    const real = db.scan.bind(db);
    const spy = vi.spyOn(db, 'scan').mockImplementation((tx) => {
      const r = real(tx);
      return { get: r.get, all: (sql: string, ...args: SqlValue[]) => (sent.push({ sql, args }), r.all(sql, ...args)) } as ReturnType<typeof real>;
    });
    try {
      await search();
    } finally {
      spy.mockRestore();
    }
    expect(sent.length).toBeGreaterThan(0);
    const plans: string[] = [];
    for (const { sql, args } of sent) plans.push((await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...args)).map((r) => r.detail).join('\n'));
    return plans;
  }

  it('a search by key (either side of a ReEncrypt) or by approval request reads an index, never the whole log', async () => {
    for (const q of [{ keyId: 'k', limit: 20, newest: true }, { keyId: 'k', afterSeq: 10, limit: 50 }, { keyId: 'k', operation: 'Encrypt', limit: 20, newest: true }]) {
      const [plan] = await plansOf(() => store.audit.query(q));
      expect(plan, JSON.stringify(q)).toMatch(/USING INDEX audit_log_key /);
      expect(plan).toMatch(/USING INDEX audit_log_source_key /);
      expect(plan).not.toMatch(/SCAN audit_log\b/);
    }
    const [byRequest] = await plansOf(() => store.audit.query({ approvalRequestId: 'apr-1' }));
    expect(byRequest).toMatch(/USING INDEX audit_log_request /);
    expect(byRequest).not.toMatch(/SCAN audit_log\b/);
  });

  it('a long search on the scanning connection holds up none of the reader\'s queries', async () => {
    const db = sqliteOf(store);
    const order: string[] = [];
    // A query that keeps its connection busy for a while (counting to three million).
    const long = db.scan().get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c').then(() => order.push('scan'));
    // Sent once the long query runs (the connection is opened on first use).
    await new Promise((r) => setTimeout(r, 50));
    const quick = db.get('SELECT 1 AS one').then(() => order.push('reader'));
    await Promise.all([long, quick]);
    expect(order).toEqual(['reader', 'scan']);
  });
});
