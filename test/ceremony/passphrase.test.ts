// Operators' console passphrases (main/ceremony/passphrase.ts): scrypt with its parameters stored, an
// independent recomputation with node:crypto's scryptSync, the right and wrong passphrase, altered
// records, and the length rule.
import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassphrase, MIN_PASSPHRASE_CHARACTERS, verifyPassphrase, type PassphraseHash } from '../../main/ceremony/passphrase.js';
import { isKmsError } from '../../main/common/errors.js';

const PASSPHRASE = 'correct horse battery staple';

describe('hashPassphrase', () => {
  it('stores scrypt N=2^15, r=8, p=1 with a 16-byte salt and a 32-byte hash that scrypt recomputes', async () => {
    const stored = await hashPassphrase(PASSPHRASE);
    expect(stored).toMatchObject({ scheme: 'scrypt', N: 32768, r: 8, p: 1 });
    const salt = Buffer.from(stored.salt, 'base64');
    expect(salt).toHaveLength(16);
    expect(Buffer.from(stored.hash, 'base64')).toHaveLength(32);
    const again = scryptSync(PASSPHRASE, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    expect(again.toString('base64')).toBe(stored.hash);
  });

  it('salts every hash afresh', async () => {
    const [a, b] = await Promise.all([hashPassphrase(PASSPHRASE), hashPassphrase(PASSPHRASE)]);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
  });

  it(`refuses passphrases shorter than ${MIN_PASSPHRASE_CHARACTERS} characters, counting code points`, async () => {
    const error = await hashPassphrase('short phrase'.slice(0, 11)).catch((e: unknown) => e);
    expect(isKmsError(error) && error.code === 'Validation').toBe(true);
    expect((error as Error).message).toBe('A console passphrase needs at least 12 characters; this one has 11.');
    expect((error as Error).message).not.toContain('short');
    // Eleven emoji are 22 UTF-16 units but 11 characters.
    await expect(hashPassphrase('😀'.repeat(11))).rejects.toThrow(/this one has 11/);
    await expect(hashPassphrase('😀'.repeat(12))).resolves.toMatchObject({ scheme: 'scrypt' });
  });
});

describe('verifyPassphrase', () => {
  it('accepts the passphrase and refuses any other', async () => {
    const stored = await hashPassphrase(PASSPHRASE);
    expect(await verifyPassphrase(PASSPHRASE, stored)).toBe(true);
    for (const other of ['correct horse battery stapl', 'Correct horse battery staple', `${PASSPHRASE} `, '']) {
      expect(await verifyPassphrase(other, stored), JSON.stringify(other)).toBe(false);
    }
  });

  it('treats canonically equivalent spellings as one passphrase (NFKC)', async () => {
    const composed = 'caf\u00e9 au lait, s\u2019il vous pla\u00eet';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(await verifyPassphrase(decomposed, await hashPassphrase(composed))).toBe(true);
  });

  it('uses the parameters stored with the hash, so that they can be raised later', async () => {
    const salt = Buffer.alloc(16, 7);
    const stored: PassphraseHash = {
      scheme: 'scrypt',
      N: 2 ** 14,
      r: 8,
      p: 2,
      salt: salt.toString('base64'),
      hash: scryptSync(PASSPHRASE, salt, 48, { N: 2 ** 14, r: 8, p: 2, maxmem: 64 * 1024 * 1024 }).toString('base64'),
    };
    expect(await verifyPassphrase(PASSPHRASE, stored)).toBe(true);
  });

  it('refuses the right passphrase against a record whose parameters, salt or hash were altered', async () => {
    const stored = await hashPassphrase(PASSPHRASE);
    const flipFirstBit = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0]! ^= 1;
      return bytes.toString('base64');
    };
    const altered: Partial<PassphraseHash>[] = [{ N: 2 ** 14 }, { N: 2 ** 16 }, { r: 7 }, { p: 2 }, { salt: flipFirstBit(stored.salt) }, { hash: flipFirstBit(stored.hash) }];
    for (const change of altered) expect(await verifyPassphrase(PASSPHRASE, { ...stored, ...change }), JSON.stringify(change)).toBe(false);
  });

  it('throws, rather than answering, on a record that is not a valid scrypt record', async () => {
    const stored = await hashPassphrase(PASSPHRASE);
    const invalid: Partial<Record<keyof PassphraseHash, unknown>>[] = [
      { scheme: 'pbkdf2' },
      { N: 3 },
      { N: 1 },
      { N: 2 ** 21 },
      { N: 2 ** 15 + 0.5 },
      { r: 0 },
      { r: 33 },
      { p: 0 },
      { p: 17 },
      { salt: Buffer.alloc(8).toString('base64') },
      { hash: Buffer.alloc(8).toString('base64') },
      { hash: Buffer.alloc(65).toString('base64') },
    ];
    for (const change of invalid) {
      const error = await verifyPassphrase(PASSPHRASE, { ...stored, ...change } as PassphraseHash).catch((e: unknown) => e);
      expect(isKmsError(error) && error.code === 'Internal', JSON.stringify(change)).toBe(true);
    }
  });
});
