// The contract of AuditRepository (main/store/repositories.ts), which any implementation passes: rows
// come back in sequence order, page by page, byte for byte; the newest entry inside a transaction
// includes what it appended; a sequence number is never taken twice (what serializes the chain when
// several nodes write); queries filter by sequence, time, key, operation and approval request, the oldest or the newest
// matches.
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../main/store/index.js';
import { auditRecord, freshStore, type OpenStore } from './harness.js';

const seqs = (rows: AuditRecord[]) => rows.map((r) => r.seq);

export function auditRepositoryContract(name: string, open: OpenStore): void {
  describe(`AuditRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('an empty log has no last entry and counts 0', async () => {
      const s = store();
      expect(await s.audit.last()).toBeUndefined();
      expect(await s.audit.count()).toBe(0);
      expect(await s.audit.page(0, 10)).toEqual([]);
    });

    it('keeps entries inserted one by one and many at once (more than one statement’s worth), in sequence order, page by page', async () => {
      const s = store();
      const rows = Array.from({ length: 251 }, (_, i) => auditRecord(i + 1));
      await s.db.write((tx) => s.audit.insert(tx, rows[0]!));
      await s.db.write((tx) => s.audit.insertMany(tx, rows.slice(1)));
      expect(await s.audit.count()).toBe(251);
      expect(await s.audit.page(0, 1000)).toEqual(rows);
      expect(await s.audit.page(100, 50)).toEqual(rows.slice(100, 150));
      expect(await s.audit.page(251, 10)).toEqual([]);
      expect(await s.audit.last()).toEqual(rows[250]);
    });

    it('inside a transaction, the last entry and the count include what it appended', async () => {
      const s = store();
      await s.db.write((tx) => s.audit.insertMany(tx, [auditRecord(1), auditRecord(2)]));
      const third = auditRecord(3);
      const seen = await s.db.write(async (tx) => {
        await s.audit.insert(tx, third);
        return { inside: await s.audit.last(tx), count: await s.audit.count(tx), outside: (await s.audit.last())!.seq };
      });
      expect(seen).toEqual({ inside: third, count: 3, outside: 2 });
    });

    it('refuses a sequence number that is taken, one at a time or many at once', async () => {
      const s = store();
      const rows = [auditRecord(1), auditRecord(2)];
      await s.db.write((tx) => s.audit.insertMany(tx, rows));
      await expect(s.db.write((tx) => s.audit.insert(tx, auditRecord(2)))).rejects.toThrow();
      await expect(s.db.write((tx) => s.audit.insertMany(tx, [auditRecord(3), auditRecord(1)]))).rejects.toThrow();
      expect(await s.audit.page(0, 10)).toEqual(rows);
    });

    it('queries by sequence, time, key (a ReEncrypt source too), operation and approval request, the oldest or the newest matches', async () => {
      const s = store();
      const rows = [
        auditRecord(1, { operation: 'CreateKey', keyId: 'k1' }, 100),
        auditRecord(2, { operation: 'Encrypt', keyId: 'k1' }, 200),
        auditRecord(3, { operation: 'Encrypt', keyId: 'k2' }, 300),
        auditRecord(4, { operation: 'Decrypt', keyId: 'k1' }, 400),
        auditRecord(5, { operation: 'Encrypt', keyId: 'k1' }, 500),
        auditRecord(6, { operation: 'Unseal' }, 600),
        auditRecord(7, { operation: 'ApprovalRequested', details: { approvalRequestId: 'apr-1' } }, 700),
        auditRecord(8, { operation: 'ApprovalRequested', details: { approvalRequestId: 'apr-2' } }, 800),
        auditRecord(9, { operation: 'ImportKeyMaterial', keyId: 'k1', details: { approvalRequestId: 'apr-1', x: 'apr-2' } }, 900),
      ];
      await s.db.write((tx) => s.audit.insertMany(tx, rows));
      expect(await s.audit.query({})).toEqual(rows);
      expect(seqs(await s.audit.query({ afterSeq: 4, limit: 2 }))).toEqual([5, 6]);
      expect(seqs(await s.audit.query({ sinceMs: 300, limit: 4 }))).toEqual([3, 4, 5, 6]);
      expect(seqs(await s.audit.query({ keyId: 'k1' }))).toEqual([1, 2, 4, 5, 9]);
      expect(seqs(await s.audit.query({ approvalRequestId: 'apr-1' }))).toEqual([7, 9]);
      expect(seqs(await s.audit.query({ approvalRequestId: 'apr-2', operation: 'ApprovalRequested' }))).toEqual([8]);
      expect(seqs(await s.audit.query({ operation: 'Encrypt' }))).toEqual([2, 3, 5]);
      expect(seqs(await s.audit.query({ keyId: 'k1', operation: 'Encrypt', sinceMs: 250 }))).toEqual([5]);
      expect(seqs(await s.audit.query({ keyId: 'k1', limit: 2 }))).toEqual([1, 2]);
      expect(seqs(await s.audit.query({ keyId: 'k1', limit: 2, newest: true }))).toEqual([5, 9]);
      expect(seqs(await s.audit.query({ newest: true, limit: 6 }))).toEqual([4, 5, 6, 7, 8, 9]);
      expect(await s.audit.query({ operation: 'ScheduleKeyDeletion' })).toEqual([]);
      // ReEncrypt names its destination as keyId and its source as details.sourceKeyId: a key query finds it by either.
      await s.db.write((tx) => s.audit.insertMany(tx, [auditRecord(10, { operation: 'ReEncrypt', keyId: 'k2', details: { sourceKeyId: 'k1' } }, 1000)]));
      expect(seqs(await s.audit.query({ keyId: 'k1' }))).toEqual([1, 2, 4, 5, 9, 10]);
      expect(seqs(await s.audit.query({ keyId: 'k2' }))).toEqual([3, 10]);
      expect(seqs(await s.audit.query({ keyId: 'k1', operation: 'Encrypt' }))).toEqual([2, 5]);
    });
  });
}
