// The contract of ImportTokenRepository (main/store/repositories.ts), which any implementation passes:
// a token found by its hash, with its wrapping key's reference byte for byte; used tokens deleted one
// by one, expired ones in bulk (counted, the boundary included); a token of an unknown key refused.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ImportTokenRecord } from '../../../main/store/index.js';
import { freshStore, insertKeys, keyRecord, type OpenStore } from './harness.js';

const token = (keyId: string, expiresAt: number): ImportTokenRecord => ({
  tokenHash: randomBytes(32),
  keyId,
  wrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256',
  wrappingKeySpec: 'RSA_4096',
  wrappingKeyRef: randomBytes(300),
  createdAt: expiresAt - 86_400_000,
  expiresAt,
});

export function importTokenRepositoryContract(name: string, open: OpenStore): void {
  describe(`ImportTokenRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('finds a token by its hash, as it was inserted; inside its transaction before the commit, outside after', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord({ origin: 'EXTERNAL', state: 'PendingImport' }));
      const t = token(k!.keyId, 100_000_000);
      const seen = await s.db.write(async (tx) => {
        await s.importTokens.insert(tx, t);
        return { inside: await s.importTokens.find(t.tokenHash, tx), outside: await s.importTokens.find(t.tokenHash) };
      });
      expect(seen).toEqual({ inside: t, outside: undefined });
      expect(await s.importTokens.find(Buffer.from(t.tokenHash))).toEqual(t);
      expect(await s.importTokens.find(randomBytes(32))).toBeUndefined();
    });

    it('deletes a used token, and only that one', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord({ origin: 'EXTERNAL' }));
      const [used, other] = [token(k!.keyId, 100_000_000), token(k!.keyId, 100_000_000)];
      await s.db.write(async (tx) => {
        await s.importTokens.insert(tx, used);
        await s.importTokens.insert(tx, other);
      });
      await s.db.write((tx) => s.importTokens.delete(tx, used.tokenHash));
      expect(await s.importTokens.find(used.tokenHash)).toBeUndefined();
      expect(await s.importTokens.find(other.tokenHash)).toEqual(other);
    });

    it('deletes the tokens expired by a time (at that time included) and says how many', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord({ origin: 'EXTERNAL' }));
      const tokens = [token(k!.keyId, 100_000_000), token(k!.keyId, 200_000_000), token(k!.keyId, 200_000_001)];
      await s.db.write(async (tx) => {
        for (const t of tokens) await s.importTokens.insert(tx, t);
      });
      expect(await s.db.write((tx) => s.importTokens.deleteExpired(tx, 200_000_000))).toBe(2);
      expect(await s.db.write((tx) => s.importTokens.deleteExpired(tx, 200_000_000))).toBe(0);
      expect(await s.importTokens.find(tokens[2]!.tokenHash)).toEqual(tokens[2]);
      expect(await s.importTokens.find(tokens[0]!.tokenHash)).toBeUndefined();
    });

    it('refuses a token of a key that does not exist, and a hash that is taken', async () => {
      const s = store();
      const [k] = await insertKeys(s, keyRecord({ origin: 'EXTERNAL' }));
      const t = token(k!.keyId, 100_000_000);
      await s.db.write((tx) => s.importTokens.insert(tx, t));
      await expect(s.db.write((tx) => s.importTokens.insert(tx, token('00000000-0000-0000-0000-000000000000', 100_000_000)))).rejects.toThrow();
      await expect(s.db.write((tx) => s.importTokens.insert(tx, { ...token(k!.keyId, 5), tokenHash: t.tokenHash }))).rejects.toThrow();
      expect(await s.importTokens.find(t.tokenHash)).toEqual(t);
    });
  });
}
