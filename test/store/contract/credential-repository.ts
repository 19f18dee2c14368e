// The contract of CredentialRepository (main/store/repositories.ts), which any implementation passes:
// a credential found by access key ID with its sealed secret byte for byte; listed oldest first (ties
// by access key ID); deleted, with false when there was none; an access key ID that is taken refused.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CredentialRecord } from '../../../main/store/index.js';
import { freshStore, type OpenStore } from './harness.js';

const credential = (accessKeyId: string, createdAt: number): CredentialRecord => ({
  accessKeyId,
  secretSealed: randomBytes(68),
  accountId: '111122223333',
  principalArn: `arn:aws:iam::111122223333:user/${accessKeyId.toLowerCase()}`,
  description: `credential ${accessKeyId}`,
  createdAt,
});

export function credentialRepositoryContract(name: string, open: OpenStore): void {
  describe(`CredentialRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('finds a credential as it was inserted, and lists them oldest first, ties by access key ID', async () => {
      const s = store();
      const [b, a, old] = [credential('AKIABBBBBBBBBBBBBBBB', 20), credential('AKIAAAAAAAAAAAAAAAAA', 20), credential('AKIAZZZZZZZZZZZZZZZZ', 10)];
      const seen = await s.db.write(async (tx) => {
        for (const c of [b, a, old]) await s.credentials.insert(tx, c);
        return { inside: await s.credentials.find(b.accessKeyId, tx), outside: await s.credentials.find(b.accessKeyId) };
      });
      expect(seen).toEqual({ inside: b, outside: undefined });
      expect(await s.credentials.find(a.accessKeyId)).toEqual(a);
      expect(await s.credentials.find('AKIANOTHEREEEEEEEEEE')).toBeUndefined();
      expect(await s.credentials.list()).toEqual([old, a, b]);
    });

    it('deletes a credential, false when there is none', async () => {
      const s = store();
      const [gone, stays] = [credential('AKIAGONEGONEGONEGONE', 1), credential('AKIASTAYSSTAYSSTAYSS', 2)];
      await s.db.write(async (tx) => {
        await s.credentials.insert(tx, gone);
        await s.credentials.insert(tx, stays);
      });
      expect(await s.db.write((tx) => s.credentials.delete(tx, gone.accessKeyId))).toBe(true);
      expect(await s.db.write((tx) => s.credentials.delete(tx, gone.accessKeyId))).toBe(false);
      expect(await s.credentials.list()).toEqual([stays]);
    });

    it('refuses an access key ID that is taken', async () => {
      const s = store();
      const c = credential('AKIATAKENTAKENTAKENT', 1);
      await s.db.write((tx) => s.credentials.insert(tx, c));
      await expect(s.db.write((tx) => s.credentials.insert(tx, credential(c.accessKeyId, 2)))).rejects.toThrow();
      expect(await s.credentials.list()).toEqual([c]);
    });
  });
}
