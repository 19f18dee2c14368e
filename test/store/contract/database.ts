// The contract of the store's transactions (main/store/transaction.ts: Database and Tx) and of the
// conventions every repository keeps (main/store/repositories.ts), which any implementation passes:
// a job's result comes back once committed; a job that throws leaves nothing behind, runs its rollback
// callbacks newest first, and does not disturb the jobs beside it; reads without a Tx see committed
// data only, reads with one see what the transaction wrote; a Tx is good only while its job runs and
// only in the store that made it.
import { describe, expect, it } from 'vitest';
import type { CredentialRecord, Tx } from '../../../main/store/index.js';
import { auditRecord, freshStore, insertKeys, keyRecord, type OpenStore, type StoreHarness } from './harness.js';

const credential = (accessKeyId: string): CredentialRecord => ({
  accessKeyId,
  secretSealed: Buffer.from('sealed elsewhere'),
  accountId: '111122223333',
  principalArn: 'arn:aws:iam::111122223333:user/contract',
  description: '',
  createdAt: 1,
});

export function databaseContract(name: string, open: OpenStore): void {
  describe(`Database and Tx contract: ${name}`, () => {
    const store = freshStore(open);

    it('resolves with the job’s result once committed; what it wrote is then read without a Tx', async () => {
      const s = store();
      const k = keyRecord();
      const result = await s.db.write(async (tx) => {
        await s.keys.insert(tx, k);
        return 'written';
      });
      expect(result).toBe('written');
      expect(await s.keys.find(k.keyId)).toEqual(k);
    });

    it('forgetDeleted runs after the writes queued before it, before those after it, and changes no data', async () => {
      const s = store();
      const [a, b] = [keyRecord(), keyRecord()];
      const order: string[] = [];
      const first = s.db.write((tx) => s.keys.insert(tx, a)).then(() => void order.push('a'));
      const forgot = s.db.forgetDeleted().then(() => void order.push('forgot'));
      const second = s.db.write((tx) => s.keys.insert(tx, b)).then(() => void order.push('b'));
      await Promise.all([first, forgot, second]);
      expect(order).toEqual(['a', 'forgot', 'b']);
      expect(await s.keys.find(a.keyId)).toEqual(a);
      expect(await s.keys.find(b.keyId)).toEqual(b);
    });

    it('reads without a Tx see committed data only; with the Tx, what the transaction wrote so far', async () => {
      const s = store();
      const k = keyRecord();
      const seen = await s.db.write(async (tx) => {
        await s.keys.insert(tx, k);
        return { outside: await s.keys.find(k.keyId), inside: await s.keys.find(k.keyId, tx) };
      });
      expect(seen).toEqual({ outside: undefined, inside: k });
    });

    it('a job that throws keeps nothing, runs its rollback callbacks newest first, and leaves the jobs beside it alone', async () => {
      const s = store();
      const [before, failing, after] = [keyRecord(), keyRecord(), keyRecord()];
      const undone: string[] = [];
      const failure = new Error('the change failed after writing');
      const jobs = [
        s.db.write(async (tx) => {
          tx.onRollback(() => undone.push('before'));
          await s.keys.insert(tx, before);
        }),
        s.db.write(async (tx) => {
          tx.onRollback(() => undone.push('first'));
          await s.keys.insert(tx, failing);
          tx.onRollback(() => undone.push('second'));
          throw failure;
        }),
        s.db.write(async (tx) => {
          tx.onRollback(() => undone.push('after'));
          await s.keys.insert(tx, after);
        }),
      ];
      const settled = await Promise.allSettled(jobs);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((settled[1] as PromiseRejectedResult).reason).toBe(failure);
      expect(undone).toEqual(['second', 'first']);
      expect(await s.keys.find(failing.keyId)).toBeUndefined();
      expect(await s.keys.find(before.keyId)).toEqual(before);
      expect(await s.keys.find(after.keyId)).toEqual(after);
    });

    it('a write the database refuses fails the job, and the job’s earlier writes go with it', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord());
      const other = keyRecord();
      await expect(
        s.db.write(async (tx) => {
          await s.keys.insert(tx, other);
          await s.keys.insert(tx, k!);
        }),
      ).rejects.toThrow();
      expect(await s.keys.find(other.keyId)).toBeUndefined();
    });

    it('a single-statement job (the audit log’s batches) commits alone and beside ordinary jobs', async () => {
      const s = store();
      const [k] = [keyRecord()];
      const alone = await s.db.write(async (tx) => {
        await s.audit.insertMany(tx, [auditRecord(1), auditRecord(2)]);
        return 'alone';
      }, { singleStatement: true });
      expect(alone).toBe('alone');
      const together = await Promise.all([
        s.db.write((tx) => s.audit.insertMany(tx, [auditRecord(3)]), { singleStatement: true }),
        s.db.write((tx) => s.keys.insert(tx, k!)),
        s.db.write((tx) => s.audit.insertMany(tx, [auditRecord(4), auditRecord(5)]), { singleStatement: true }),
      ]);
      expect(together).toHaveLength(3);
      expect((await s.audit.page(0, 10)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(await s.keys.find(k!.keyId)).toEqual(k);
    });

    it('a single-statement job whose statement is refused keeps nothing and runs its rollback callbacks', async () => {
      const s = store();
      await s.db.write((tx) => s.audit.insertMany(tx, [auditRecord(2)]), { singleStatement: true });
      const undone: string[] = [];
      await expect(
        s.db.write(async (tx) => {
          tx.onRollback(() => undone.push('undone'));
          // Entry 1 is new, entry 2 exists: the one statement fails as a whole.
          await s.audit.insertMany(tx, [auditRecord(1), auditRecord(2)]);
        }, { singleStatement: true }),
      ).rejects.toThrow();
      expect(undone).toEqual(['undone']);
      expect((await s.audit.page(0, 10)).map((r) => r.seq)).toEqual([2]);
    });

    it('refuses a second statement in a single-statement job', async () => {
      const s = store();
      await expect(
        s.db.write(async (tx) => {
          await s.audit.insertMany(tx, [auditRecord(1)]);
          await s.audit.insertMany(tx, [auditRecord(2)]);
        }, { singleStatement: true }),
      ).rejects.toThrow(/second statement/);
      expect((await s.audit.page(0, 10)).map((r) => r.seq)).not.toContain(2);
    });

    it('refuses a Tx once its job has ended, for writes and for reads', async () => {
      const s = store();
      let kept: Tx | undefined;
      await s.db.write(async (tx) => {
        kept = tx;
      });
      await expect(s.credentials.insert(kept!, credential('AKIAKEPTPASTITSJOB01'))).rejects.toThrow();
      await expect(s.credentials.find('AKIAKEPTPASTITSJOB01', kept)).rejects.toThrow();
      expect(await s.credentials.list()).toEqual([]);
    });

    it('refuses a Tx of another store', async () => {
      const s = store();
      const other: StoreHarness = await open();
      try {
        await expect(other.store.db.write((tx) => s.credentials.insert(tx, credential('AKIAFROMANOTHERSTORE')))).rejects.toThrow();
        expect(await s.credentials.list()).toEqual([]);
        expect(await other.store.credentials.list()).toEqual([]);
      } finally {
        await other.close();
      }
    });
  });
}
