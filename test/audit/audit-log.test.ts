// The hash-chained audit log (main/audit/audit-log.ts) over a real SQLite store: the chain links,
// verify() finds a changed, removed or reordered entry at its sequence number (and a time column
// changed apart from its entry, or a row numbered below 1 that the chain's walk never reaches), against
// a head written down also the head entry deleted and a head 0 that is not the genesis hash, and
// entries never hold plaintext.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalEntry, chainHash, type AuditEvent } from '../../main/audit/audit-log.js';
import { openDomain, type Domain } from '../support/domain.js';
import type { Sql } from '../../main/store/sqlite/database.js';
import { sqliteOf, writeSql } from '../support/sqlite.js';

interface Row {
  seq: number;
  at: number;
  entry: string;
  prev_hash: Buffer;
  hash: Buffer;
}

const event = (i: number): AuditEvent => ({
  principal: 'arn:aws:iam::111122223333:user/auditor',
  source: 'admin',
  operation: `Op${i}`,
  outcome: 'ok',
  details: { i },
});

describe('AuditLog', () => {
  let d: Domain;
  const rows = () => sqliteOf(d.store).all<Row>('SELECT * FROM audit_log ORDER BY seq');
  const appendMany = async (n: number) => {
    for (let i = 1; i <= n; i++) {
      d.clock.advance(1000);
      await d.audit.append(event(i));
    }
  };

  beforeEach(async () => {
    d = await openDomain({ unseal: 'none' });
  });
  afterEach(async () => {
    await d.close();
  });

  it('keeps the chain whole when a transaction that appended is rolled back, alone or within a batch', async () => {
    await appendMany(2);
    const failed = new Error('the change failed after its audit entry');
    // Alone: the job's transaction rolls back with its entry.
    await expect(
      d.store.db.write(async (tx) => {
        await d.audit.appendIn(tx, event(90));
        throw failed;
      }),
    ).rejects.toBe(failed);
    // Within one group commit: a failing job between two good ones rolls back to its savepoint.
    const good1 = d.store.db.write((tx) => d.audit.appendIn(tx, event(91)));
    const bad = d.store.db.write(async (tx) => {
      await d.audit.appendIn(tx, event(92));
      throw failed;
    });
    const good2 = d.store.db.write((tx) => d.audit.appendIn(tx, event(93)));
    const batched = d.audit.append(event(94));
    await Promise.all([good1, expect(bad).rejects.toBe(failed), good2, batched]);
    await appendMany(1);
    const all = await rows();
    expect(all.map((r) => JSON.parse(r.entry).operation)).toEqual(['Op1', 'Op2', 'Op91', 'Op93', 'Op94', 'Op1']);
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await d.audit.verify()).toMatchObject({ ok: true, entries: 6 });
  });

  it('verifies an empty log', async () => {
    expect(await d.audit.verify()).toEqual({ ok: true, entries: 0, head: null });
  });

  it('chains appends: seq 1..n, each prev_hash is the previous hash, the first links to 32 zero bytes', async () => {
    await appendMany(5);
    const r = await rows();
    expect(r.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(r[0]!.prev_hash.equals(Buffer.alloc(32))).toBe(true);
    for (let i = 1; i < r.length; i++) expect(r[i]!.prev_hash.equals(r[i - 1]!.hash), `link ${i + 1}`).toBe(true);
    for (const x of r) expect(x.hash.equals(chainHash(x.seq, x.prev_hash, x.entry))).toBe(true);
    expect(new Set(r.map((x) => x.hash.toString('hex'))).size).toBe(5);

    const third = JSON.parse(r[2]!.entry) as Record<string, unknown>;
    expect(third).toEqual({ ...event(3), at: r[2]!.at });
    // Canonical JSON: keys sorted.
    expect(Object.keys(third)).toEqual([...Object.keys(third)].sort());

    const v = await d.audit.verify();
    expect(v).toEqual({ ok: true, entries: 5, head: r[4]!.hash.toString('hex') });
  });

  it('keeps the chain intact under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => d.audit.append(event(i))));
    const v = await d.audit.verify();
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(40);
    expect(await d.store.audit.count()).toBe(40);
  });

  it('reports a changed entry at its sequence number', async () => {
    await appendMany(5);
    const r = await rows();
    const forged = r[2]!.entry.replace('"outcome":"ok"', '"outcome":"error"');
    expect(forged).not.toBe(r[2]!.entry);
    await writeSql(d.store, (sql) => sql.run('UPDATE audit_log SET entry = ? WHERE seq = 3', forged));
    const v = await d.audit.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(3);
    expect(v.entries).toBe(2);
  });

  it('verifies up to an entry (a later change does not matter there); reads entries and heads as stored', async () => {
    await appendMany(5);
    const r = await rows();
    await writeSql(d.store, (sql) => sql.run('UPDATE audit_log SET entry = ? WHERE seq = 4', r[3]!.entry.replace('Op4', 'Op9')));
    expect(await d.audit.verify(undefined, { upTo: 3 })).toEqual({ ok: true, entries: 3, head: r[2]!.hash.toString('hex') });
    expect(await d.audit.verify(undefined, { upTo: 4 })).toMatchObject({ ok: false, firstBad: { seq: 4 } });
    expect(await d.audit.entryAt(2)).toEqual({ seq: 2, hash: r[1]!.hash.toString('hex'), entry: r[1]!.entry });
    expect(await d.audit.entryAt(6)).toBeUndefined();
    expect(await d.audit.entryAt(0)).toBeUndefined();
    expect(await d.audit.headAt(5)).toEqual({ seq: 5, hash: r[4]!.hash.toString('hex') });
    expect(await d.audit.headAt(0)).toEqual({ seq: 0, hash: '0'.repeat(64) });
    expect(await d.audit.headAt(6)).toBeUndefined();
    expect(await d.audit.stored({ afterSeq: 3 })).toEqual(r.slice(3).map((x) => ({ seq: x.seq, hash: x.hash.toString('hex'), entry: x.seq === 4 ? x.entry.replace('Op4', 'Op9') : x.entry })));
  });

  it('reports a changed entry whose hash was recomputed, at the next entry', async () => {
    await appendMany(5);
    const r = await rows();
    const forged = r[2]!.entry.replace('"outcome":"ok"', '"outcome":"error"');
    await writeSql(d.store, (sql) => sql.run('UPDATE audit_log SET entry = ?, hash = ? WHERE seq = 3', forged, chainHash(3, r[2]!.prev_hash, forged)));
    const v = await d.audit.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(4);
  });

  it('reports a removed middle entry', async () => {
    await appendMany(5);
    await writeSql(d.store, (sql) => sql.run('DELETE FROM audit_log WHERE seq = 3'));
    const v = await d.audit.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(3);
    expect(v.firstBad?.reason).toMatch(/missing/);
  });

  it('reports a removed entry whose successors were renumbered', async () => {
    await appendMany(5);
    await writeSql(d.store, async (sql) => {
      await sql.run('DELETE FROM audit_log WHERE seq = 3');
      await sql.run('UPDATE audit_log SET seq = seq - 1 WHERE seq > 3');
    });
    const v = await d.audit.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(3);
  });

  it('reports reordered entries (entry and hash of 2 and 3 swapped)', async () => {
    await appendMany(5);
    const r = await rows();
    const [two, three] = [r[1]!, r[2]!];
    await writeSql(d.store, async (sql) => {
      await sql.run('UPDATE audit_log SET entry = ?, hash = ? WHERE seq = 2', three.entry, three.hash);
      await sql.run('UPDATE audit_log SET entry = ?, hash = ? WHERE seq = 3', two.entry, two.hash);
    });
    const v = await d.audit.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(2);
  });

  it('shows and filters on the time its hash covers; reports a time column changed apart from it', async () => {
    await appendMany(3);
    const shown = (await d.audit.list({})).map((e) => e.at);
    await writeSql(d.store, (sql) => sql.run('UPDATE audit_log SET at = 0 WHERE seq = 2'));
    expect((await d.audit.list({})).map((e) => e.at)).toEqual(shown);
    expect((await d.audit.list({ sinceMs: shown[1]! })).map((e) => e.seq)).toEqual([2, 3]);
    const v = await d.audit.verify();
    expect(v).toMatchObject({ ok: false, entries: 1, firstBad: { seq: 2 } });
    expect(v.firstBad?.reason).toMatch(/time column/);
  });

  it('a wall clock stepped back (a day, to 2001) and forward (a year) between entries is not tampering: verify passes, filters read each entry\'s own time', async () => {
    await appendMany(2);
    const t2 = d.clock.nowMs();
    d.clock.step(-86_400_000);
    await appendMany(1);
    d.clock.set(Date.UTC(2001, 0, 1));
    await appendMany(1);
    d.clock.set(t2 + 365 * 86_400_000);
    await appendMany(1);
    const all = await d.audit.list({});
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all[2]!.at).toBeLessThan(all[1]!.at);
    expect(all[3]!.at).toBe(Date.UTC(2001, 0, 1) + 1000);
    expect(await d.audit.verify()).toMatchObject({ ok: true, entries: 5 });
    // --since keeps each entry whose own time is on or after it, in the log's order, wherever it sits.
    expect((await d.audit.list({ sinceMs: t2 - 86_400_000 })).map((e) => e.seq)).toEqual([1, 2, 3, 5]);
    expect((await d.audit.list({ sinceMs: t2 })).map((e) => e.seq)).toEqual([2, 5]);
    expect((await d.audit.list({ sinceMs: Date.UTC(2000, 0, 1) })).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    // The newest are the last written, not the latest times; the head is the last entry's.
    expect((await d.audit.list({ limit: 2, newest: true })).map((e) => e.seq)).toEqual([4, 5]);
    expect((await d.audit.list({ afterSeq: 3 })).map((e) => e.seq)).toEqual([4, 5]);
    expect((await d.audit.currentHead()).seq).toBe(5);
    expect((await d.audit.currentHead()).at).toBe(all[4]!.at);
  });

  it('refuses to store an entry numbered below 1, and reports one written past that refusal', async () => {
    await appendMany(2);
    const head = await d.audit.currentHead();
    const entry = canonicalEntry(event(0), 1);
    const forge = (sql: Sql) =>
      sql.run('INSERT INTO audit_log (seq, at, entry, prev_hash, hash) VALUES (0, 1, ?, ?, ?)', entry, Buffer.alloc(32), chainHash(0, Buffer.alloc(32), entry));
    await expect(writeSql(d.store, forge)).rejects.toThrow(/numbered from 1/);
    await writeSql(d.store, async (sql) => {
      await sql.run('DROP TRIGGER audit_log_seq_insert');
      await forge(sql);
    });
    const v = await d.audit.verify(undefined, { expectHead: head });
    expect(v).toMatchObject({ ok: false, firstBad: { seq: 0 } });
    expect(v.firstBad?.reason).toMatch(/numbered 0, outside the chain/);
  });

  it('reports the head entry deleted against the head written down: the chain left is intact, but ends one short', async () => {
    await appendMany(5);
    const head = await d.audit.currentHead();
    expect(await d.audit.verify(undefined, { expectHead: head })).toEqual({ ok: true, entries: 5, head: head.hash });
    await writeSql(d.store, (sql) => sql.run('DELETE FROM audit_log WHERE seq = 5'));
    // Without the head written down nothing is wrong: four intact entries.
    expect(await d.audit.verify()).toMatchObject({ ok: true, entries: 4 });
    const v = await d.audit.verify(undefined, { expectHead: { seq: head.seq, hash: head.hash } });
    expect(v).toMatchObject({ ok: false, entries: 4, firstBad: { seq: 5 } });
    expect(v.firstBad?.reason).toBe(`the log ends at entry 4, before the expected head 5:${head.hash} (entries were removed from its end)`);
  });

  it('takes only the genesis hash (64 zeros) as head 0, whatever the log holds', async () => {
    const forged = { seq: 0, hash: 'ff'.repeat(32) };
    const genesis = { seq: 0, hash: '0'.repeat(64) };
    expect(await d.audit.verify(undefined, { expectHead: forged })).toMatchObject({ ok: false, entries: 0, firstBad: { seq: 0, reason: expect.stringMatching(/^head 0 is always the genesis hash/) } });
    expect(await d.audit.verify(undefined, { expectHead: genesis })).toEqual({ ok: true, entries: 0, head: null });
    await appendMany(3);
    expect(await d.audit.verify(undefined, { expectHead: forged })).toMatchObject({ ok: false, entries: 3, firstBad: { seq: 0 } });
    expect(await d.audit.verify(undefined, { expectHead: genesis })).toMatchObject({ ok: true, entries: 3 });
  });

  it('reports a changed prev_hash link', async () => {
    await appendMany(4);
    await writeSql(d.store, (sql) => sql.run('UPDATE audit_log SET prev_hash = ? WHERE seq = 2', Buffer.alloc(32, 1)));
    const v = await d.audit.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(2);
  });

  it('verifies across pages (more than 1000 entries) and reports progress', async () => {
    await d.store.db.write(async (tx) => {
      for (let i = 1; i <= 1203; i++) await d.audit.appendIn(tx, event(i));
    });
    const progress: [number, number][] = [];
    const v = await d.audit.verify((done, total) => progress.push([done, total]));
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(1203);
    expect(progress).toEqual([
      [1000, 1203],
      [1203, 1203],
    ]);
    await writeSql(d.store, (sql) => sql.run("UPDATE audit_log SET entry = replace(entry, 'Op1100', 'OpX') WHERE seq = 1100"));
    expect((await d.audit.verify()).firstBad?.seq).toBe(1100);
  });

  it('an entry appended inside a failed transaction is not kept', async () => {
    await appendMany(2);
    await expect(
      d.store.db.write(async (tx) => {
        await d.audit.appendIn(tx, event(99));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await d.store.audit.count()).toBe(2);
    await d.audit.append(event(3));
    expect((await rows()).map((x) => x.seq)).toEqual([1, 2, 3]);
    expect((await d.audit.verify()).ok).toBe(true);
  });

  it('never holds the plaintext, data key or ciphertext of operations done through the service', async () => {
    await d.root.initAndUnsealDev(d.rootKey);
    const c = (op: string) => d.ctx(op);
    const k = await d.keys.createKey(c('CreateKey'), { description: 'audited key' });
    await d.keys.createAlias(c('CreateAlias'), 'alias/audit-plaintext', k.keyId);
    const plaintext = Buffer.from('the launch code is 0000 — do not log me', 'utf8');
    const enc = await d.keys.encrypt(c('Encrypt'), { keyId: 'alias/audit-plaintext', plaintext, encryptionContext: { purpose: 'audit-test' } });
    const dec = await d.keys.decrypt(c('Decrypt'), { ciphertextBlob: enc.ciphertextBlob, encryptionContext: { purpose: 'audit-test' } });
    expect(dec.plaintext.equals(plaintext)).toBe(true);
    const dk = await d.keys.generateDataKey(c('GenerateDataKey'), { keyId: k.keyId, keySpec: 'AES_256' });
    await d.keys.reEncrypt(c('ReEncrypt'), { ciphertextBlob: enc.ciphertextBlob, sourceEncryptionContext: { purpose: 'audit-test' }, destinationKeyId: k.keyId });
    await d.keys.rotateKeyOnDemand(c('RotateKeyOnDemand'), k.keyId);
    await d.keys.tagResource(c('TagResource'), k.keyId, [{ tagKey: 'a', tagValue: 'b' }]);
    await d.credentials.create({ accountId: '111122223333' });
    // What the transport appends for calls that did not audit themselves.
    await d.audit.append({ principal: 'arn:aws:iam::111122223333:user/test', source: 'kms', operation: 'Encrypt', keyId: k.keyId, outcome: 'ok' });

    const entries = (await rows()).map((r) => r.entry);
    expect(entries.length).toBeGreaterThanOrEqual(6);
    const all = entries.join('\n');
    const forbidden: [string, Buffer][] = [
      ['plaintext', plaintext],
      ['data key', dk.plaintext],
      ['ciphertext', enc.ciphertextBlob],
    ];
    for (const [what, bytes] of forbidden) {
      for (const enc of ['base64', 'base64url', 'hex'] as const) {
        expect(all.includes(bytes.toString(enc)), `${what} as ${enc}`).toBe(false);
      }
      expect(all.includes(bytes.toString('utf8')), `${what} as text`).toBe(false);
    }
    expect(all.includes('launch code')).toBe(false);
    expect((await d.audit.verify()).ok).toBe(true);
  });
});

describe('entry encoding', () => {
  /** Canonical JSON by definition: every object's members sorted by key, undefined members left out. */
  const sortedJson = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

  it('writes an entry as canonical JSON, with every member present or absent, and with members the type does not have', () => {
    const full: AuditEvent = {
      principal: 'arn:aws:iam::111122223333:user/a "quoted" \\ name',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      source: 'kms',
      operation: 'Encrypt',
      keyId: 'alias/ünïcödé',
      outcome: 'error',
      errorCode: 'NotFound',
      requestId: '7d0b0c43-9a1c-4b4b-8f0e-0d3c8a1b9e11',
      details: { zeta: 1, alpha: 'two', mid: true },
    };
    const members = Object.keys(full) as (keyof AuditEvent)[];
    // Every subset of the optional members, by bit mask.
    const optional = members.filter((m) => !['principal', 'source', 'operation', 'outcome'].includes(m));
    for (let mask = 0; mask < 1 << optional.length; mask++) {
      const e = { ...full } as Record<string, unknown>;
      optional.forEach((m, i) => {
        if (!(mask & (1 << i))) delete e[m];
        else if (mask & 1) e[m] = undefined;
      });
      expect(canonicalEntry(e as unknown as AuditEvent, 1_700_000_000_123)).toBe(sortedJson({ ...e, at: 1_700_000_000_123 }));
    }
    const extra = { ...full, aardvark: 1, zz: [3, { b: 1, a: 2 }] } as unknown as AuditEvent;
    expect(canonicalEntry(extra, 5)).toBe(sortedJson({ ...extra, at: 5 }));
    // Keys that sort by UTF-16 code unit (upper case before lower, accents and astral characters last), and
    // an undefined member inside details, which is left out like one at the top.
    const mixed = { ...full, details: { zeta: 1, Zeta: 2, 'é': 'e', '😀': 'smile', '\uffff': 'last', a_b: 'x', gone: undefined } } as unknown as AuditEvent;
    expect(canonicalEntry(mixed, 6)).toBe(sortedJson({ ...mixed, at: 6 }));
    expect(canonicalEntry(mixed, 6)).toContain('"details":{"Zeta":2,"a_b":"x","zeta":1,"é":"e","😀":"smile","\uffff":"last"}');
  });

  it('hashes SHA-256("kura-audit-v1" || u64be(seq) || prev_hash || entry)', () => {
    const prev = createHash('sha256').update('previous').digest();
    for (const [seq, entry] of [[1, '{}'], [2 ** 40 + 7, '{"keyId":"ünïcödé"}'], [Number.MAX_SAFE_INTEGER, 'x'.repeat(5000)]] as const) {
      const seqBytes = Buffer.alloc(8);
      seqBytes.writeBigUInt64BE(BigInt(seq));
      const expected = createHash('sha256').update('kura-audit-v1').update(seqBytes).update(prev).update(entry, 'utf8').digest();
      expect(chainHash(seq, prev, entry)).toEqual(expected);
    }
  });
});
