// Operators' console passphrases, kept as scrypt hashes (RFC 7914) with their parameters beside them,
// so that the cost can be raised for new passphrases while older hashes still verify under their own.
//
// New hashes use N = 2^15, r = 8, p = 1 (RFC 7914 section 2's interactive-login order of cost; about
// 32 MiB and a tenth of a second per attempt), a fresh 16-byte salt and a 32-byte output. A passphrase
// is normalized to Unicode NFKC first (NIST SP 800-63B section 5.1.1.2), so that "é" typed as one code
// point or as e + combining accent is the same passphrase on every keyboard and operating system, and
// must have at least 12 characters (code points, after normalization).
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { kmsErrors } from '../common/errors.js';
import { zeroize } from '../crypto/bytes.js';

export const MIN_PASSPHRASE_CHARACTERS = 12;

/** What a repository keeps for an operator's passphrase: field names are stored, keep them. */
export interface PassphraseHash {
  readonly scheme: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** base64 */
  readonly salt: string;
  /** base64 */
  readonly hash: string;
}

const NEW_HASH = { N: 2 ** 15, r: 8, p: 1, saltBytes: 16, hashBytes: 32 } as const;

// Bounds on stored parameters, so that an altered record can neither make verification trivially weak
// nor make one login attempt take the appliance's memory or minutes of CPU.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MIN_SALT_BYTES = 16;
const MIN_HASH_BYTES = 16;
const MAX_HASH_BYTES = 64;

/** Hashes a new passphrase with Kura's current parameters; refuses one shorter than 12 characters. */
export async function hashPassphrase(passphrase: string): Promise<PassphraseHash> {
  const normalized = passphrase.normalize('NFKC');
  const characters = [...normalized].length;
  if (characters < MIN_PASSPHRASE_CHARACTERS) {
    throw kmsErrors.validation(`A console passphrase needs at least ${MIN_PASSPHRASE_CHARACTERS} characters; this one has ${characters}.`);
  }
  const { N, r, p } = NEW_HASH;
  const salt = randomBytes(NEW_HASH.saltBytes);
  const hash = await derive(normalized, salt, NEW_HASH.hashBytes, { N, r, p });
  const stored: PassphraseHash = { scheme: 'scrypt', N, r, p, salt: salt.toString('base64'), hash: hash.toString('base64') };
  zeroize(hash);
  return stored;
}

/**
 * Whether `passphrase` is the one `stored` was made from, under the parameters stored with it. A record
 * that is not a valid scrypt record (unknown scheme, parameters out of bounds) is an error, not a "no".
 */
export async function verifyPassphrase(passphrase: string, stored: PassphraseHash): Promise<boolean> {
  const { N, r, p } = checkedParameters(stored);
  const salt = Buffer.from(stored.salt, 'base64');
  const expected = Buffer.from(stored.hash, 'base64');
  if (salt.length < MIN_SALT_BYTES || expected.length < MIN_HASH_BYTES || expected.length > MAX_HASH_BYTES) {
    throw kmsErrors.internal('A stored passphrase hash has a salt or hash of an impossible length.');
  }
  const actual = await derive(passphrase.normalize('NFKC'), salt, expected.length, { N, r, p });
  const same = timingSafeEqual(actual, expected);
  zeroize(actual);
  return same;
}

function checkedParameters(stored: PassphraseHash): { N: number; r: number; p: number } {
  const { scheme, N, r, p } = stored;
  const isPowerOfTwo = Number.isSafeInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  if (scheme !== 'scrypt' || !isPowerOfTwo || N > MAX_N || !inRange(r, 1, MAX_R) || !inRange(p, 1, MAX_P)) {
    throw kmsErrors.internal('A stored passphrase hash is not a valid scrypt record (scheme or parameters out of bounds).');
  }
  return { N, r, p };
}

const inRange = (n: number, lo: number, hi: number) => Number.isSafeInteger(n) && n >= lo && n <= hi;

function derive(passphrase: string, salt: Buffer, keyLength: number, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  // OpenSSL needs 128·r·(N + p + 2) bytes (EVP_PBE_scrypt); Node's default limit of 32 MiB is just
  // under what N = 2^15, r = 8 needs, so the limit is set from the parameters themselves.
  const options: ScryptOptions = { ...cost, maxmem: 128 * cost.r * (cost.N + cost.p + 2) + 1024 * 1024 };
  const secret = Buffer.from(passphrase, 'utf8');
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (error, key) => {
      zeroize(secret);
      if (error) reject(kmsErrors.internal('scrypt failed while hashing a passphrase.'));
      else resolve(key);
    });
  });
}
