import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ShareError,
  combineShares,
  decodeShare,
  encodeShare,
  gfInverse,
  gfMul,
  splitSecret,
  type Share,
  type ShareErrorReason,
} from '../../main/crypto/shamir.js';

function expectShareError(fn: () => unknown, reason: ShareErrorReason): ShareError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ShareError);
    expect((error as ShareError).reason).toBe(reason);
    return error as ShareError;
  }
  throw new Error(`expected ShareError '${reason}', nothing was thrown`);
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [head, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, size - 1).map((s) => [head, ...s]), ...subsets(rest, size)];
}

/** A copy of the share with one data byte changed, passed through the text form so its checksum is valid. */
function tamper(share: Share, at = 0): Share {
  const data = Buffer.from(share.data);
  data[at] = (data[at] as number) ^ 0x01;
  return decodeShare(encodeShare({ ...share, data }));
}

/** Replaces the character at i with a different character of the same kind. */
function typo(text: string, i: number): string {
  const c = text[i] as string;
  const replacement = /[0-9]/.test(c) ? (c === '2' ? '3' : '2') : c === 'a' ? 'b' : 'a';
  return text.slice(0, i) + replacement + text.slice(i + 1);
}

describe('GF(2^8) arithmetic', () => {
  it('matches the FIPS-197 multiplication examples', () => {
    // FIPS-197 section 4.2: {57} • {83} = {c1}, {57} • {13} = {fe}.
    expect(gfMul(0x57, 0x83)).toBe(0xc1);
    expect(gfMul(0x57, 0x13)).toBe(0xfe);
    expect(gfMul(0x57, 0x02)).toBe(0xae);
  });

  it('multiplies every non-zero element by its inverse to 1, and maps 0 to 0', () => {
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInverse(a))).toBe(1);
    expect(gfInverse(0)).toBe(0);
    expect(gfInverse(1)).toBe(1);
  });

  it('is commutative, associative and distributive over XOR on random values, with 1 as identity and 0 absorbing', () => {
    const r = randomBytes(3 * 500);
    for (let i = 0; i < 500; i++) {
      const a = r[3 * i] as number;
      const b = r[3 * i + 1] as number;
      const c = r[3 * i + 2] as number;
      expect(gfMul(a, b)).toBe(gfMul(b, a));
      expect(gfMul(gfMul(a, b), c)).toBe(gfMul(a, gfMul(b, c)));
      expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
      expect(gfMul(a, 1)).toBe(a);
      expect(gfMul(a, 0)).toBe(0);
    }
  });
});

describe('splitSecret / combineShares', () => {
  for (const [m, n] of [
    [1, 1],
    [2, 3],
    [3, 5],
    [5, 5],
  ] as const) {
    it(`recovers a 32-byte secret from ${m} of ${n} shares`, () => {
      const secret = randomBytes(32);
      const shares = splitSecret(secret, m, n);
      expect(shares).toHaveLength(n);
      const setId = shares[0]?.setId;
      expect(setId).toMatch(/^[0-9a-f]{8}$/);
      for (const [i, s] of shares.entries()) {
        expect(s).toMatchObject({ setId, threshold: m, index: i + 1 });
        expect(s.data).toHaveLength(32);
      }
      expect(combineShares(shares.slice(0, m)).equals(secret)).toBe(true);
      expect(combineShares(shares.slice(n - m).reverse()).equals(secret)).toBe(true);
      // All n shares together are consistent too.
      expect(combineShares(shares).equals(secret)).toBe(true);
    });
  }

  it('recovers the secret from every subset of size 3 of a 3-of-5 split, and from every subset of size 4', () => {
    const secret = randomBytes(32);
    const shares = splitSecret(secret, 3, 5);
    const threes = subsets(shares, 3);
    expect(threes).toHaveLength(10);
    for (const subset of threes) expect(combineShares(subset).equals(secret)).toBe(true);
    for (const subset of subsets(shares, 4)) expect(combineShares(subset).equals(secret)).toBe(true);
  });

  it('makes threshold-1 shares that each hold the secret on their own', () => {
    const secret = randomBytes(32);
    const shares = splitSecret(secret, 1, 4);
    for (const s of shares) expect(combineShares([s]).equals(secret)).toBe(true);
    expect(combineShares(shares).equals(secret)).toBe(true);
  });

  it('handles secrets of other lengths and a split into 255 shares', () => {
    const one = Buffer.from([0xa5]);
    expect(combineShares(splitSecret(one, 2, 2)).equals(one)).toBe(true);
    const secret = randomBytes(17);
    const shares = splitSecret(secret, 4, 255);
    expect(shares.at(-1)?.index).toBe(255);
    expect(combineShares([shares[254], shares[100], shares[7], shares[0]] as Share[]).equals(secret)).toBe(true);
  });

  it('makes a fresh set ID and fresh shares on every split', () => {
    const secret = randomBytes(32);
    const a = splitSecret(secret, 2, 3);
    const b = splitSecret(secret, 2, 3);
    expect(a[0]?.setId).not.toBe(b[0]?.setId);
    expect(a[0]?.data.equals(b[0]?.data as Buffer)).toBe(false);
  });

  it('refuses invalid parameters', () => {
    const secret = randomBytes(32);
    expect(() => splitSecret(secret, 0, 3)).toThrow(RangeError);
    expect(() => splitSecret(secret, 4, 3)).toThrow(RangeError);
    expect(() => splitSecret(secret, 2, 256)).toThrow(RangeError);
    expect(() => splitSecret(secret, 1.5, 3)).toThrow(RangeError);
    expect(() => splitSecret(new Uint8Array(0), 2, 3)).toThrow(RangeError);
  });

  it("refuses fewer than threshold shares with 'too-few'", () => {
    const shares = splitSecret(randomBytes(32), 3, 5);
    const error = expectShareError(() => combineShares(shares.slice(0, 2)), 'too-few');
    expect(error.message).toContain('needs 3');
    expectShareError(() => combineShares([]), 'too-few');
  });

  it("refuses shares of two different splits with 'mixed-sets', even of the same secret", () => {
    const secret = randomBytes(32);
    const a = splitSecret(secret, 2, 3);
    const b = splitSecret(secret, 2, 3);
    expectShareError(() => combineShares([a[0], b[1]] as Share[]), 'mixed-sets');
    const c = splitSecret(randomBytes(16), 2, 3);
    expectShareError(() => combineShares([a[0], { ...(c[1] as Share), setId: a[0]?.setId as string }] as Share[]), 'mixed-sets');
  });

  it("refuses a repeated share or index with 'duplicate'", () => {
    const shares = splitSecret(randomBytes(32), 2, 3);
    expectShareError(() => combineShares([shares[0], shares[0]] as Share[]), 'duplicate');
    expectShareError(() => combineShares([shares[1], shares[2], { ...(shares[1] as Share) }] as Share[]), 'duplicate');
  });

  it("refuses shares that disagree on the threshold with 'threshold-mismatch'", () => {
    const shares = splitSecret(randomBytes(32), 2, 3);
    expectShareError(() => combineShares([shares[0], { ...(shares[1] as Share), threshold: 3 }, shares[2]] as Share[]), 'threshold-mismatch');
  });

  it("refuses structurally invalid shares with 'malformed'", () => {
    const [s] = splitSecret(randomBytes(32), 1, 1) as [Share];
    expectShareError(() => combineShares([{ ...s, index: 0 }]), 'malformed');
    expectShareError(() => combineShares([{ ...s, setId: 'XYZ' }]), 'malformed');
    expectShareError(() => combineShares([{ ...s, data: Buffer.alloc(0) }]), 'malformed');
  });

  it('returns a WRONG secret, without error, from exactly threshold shares when one was altered: the caller needs a check value', () => {
    const secret = randomBytes(32);
    const shares = splitSecret(secret, 3, 5) as [Share, Share, Share, Share, Share];
    const bad = tamper(shares[1], 5);
    // Plain Shamir interpolates whatever it is given: the result differs from the secret in the altered
    // byte and nothing in the shares can tell. Kura's seal compares the result with a stored check value.
    const wrong = combineShares([shares[0], bad, shares[2]]);
    expect(wrong.equals(secret)).toBe(false);
    expect(wrong.subarray(0, 5).equals(secret.subarray(0, 5))).toBe(true);
  });

  it("detects an altered share among threshold + 1 shares, wherever it is, with 'mixed-sets'", () => {
    const secret = randomBytes(32);
    const shares = splitSecret(secret, 3, 5) as [Share, Share, Share, Share, Share];
    for (let position = 0; position < 4; position++) {
      const set = shares.slice(0, 4);
      set[position] = tamper(set[position] as Share, 31);
      const error = expectShareError(() => combineShares(set), 'mixed-sets');
      expect(error.message).toMatch(/share is wrong/);
    }
    // With all five, two altered shares are still caught (three genuine shares remain).
    expectShareError(() => combineShares([tamper(shares[0]), shares[1], shares[2], tamper(shares[3]), shares[4]]), 'mixed-sets');
  });
});

describe('encodeShare / decodeShare', () => {
  it('round-trips every share of a split, in the documented format', () => {
    const secret = randomBytes(32);
    const shares = splitSecret(secret, 3, 5);
    for (const share of shares) {
      const text = encodeShare(share);
      expect(text).toMatch(
        new RegExp(`^kura-share-1-${share.setId}-3-${share.index}-([a-z2-7]{4}-){13}[0-9a-f]{8}$`),
      );
      const decoded = decodeShare(text);
      expect(decoded).toEqual(share);
      expect(Buffer.isBuffer(decoded.data)).toBe(true);
    }
    expect(combineShares(shares.slice(2).map((s) => decodeShare(encodeShare(s)))).equals(secret)).toBe(true);
  });

  it('round-trips data of every length 1..40 (all base32 tail lengths)', () => {
    for (let length = 1; length <= 40; length++) {
      const share: Share = { setId: '0123abcd', threshold: 2, index: 255, data: randomBytes(length) };
      expect(decodeShare(encodeShare(share))).toEqual(share);
    }
  });

  it('reads upper case, surrounding whitespace, spaces, line breaks and regrouping', () => {
    const share = splitSecret(randomBytes(32), 2, 3)[1] as Share;
    const text = encodeShare(share);
    expect(decodeShare(`  \n${text.toUpperCase()}\t\n`)).toEqual(share);
    expect(decodeShare(text.replaceAll('-', ' '))).toEqual(share);
    // Wrapped on paper: a line break inside the data and inside the checksum.
    const wrapped = `${text.slice(0, 40)}\n${text.slice(40, text.length - 3)}\r\n${text.slice(text.length - 3)}`;
    expect(decodeShare(wrapped)).toEqual(share);
    // Data regrouped in eights, with doubled separators.
    const tokens = text.split('-');
    const regrouped = tokens.slice(6, -1).join('').replace(/(.{8})/g, '$1 - ');
    expect(decodeShare(`${tokens.slice(0, 6).join('-')}- ${regrouped}--${tokens.at(-1)}`)).toEqual(share);
  });

  it("reports any one-character typo in set ID, threshold, index, data or checksum as 'checksum'", () => {
    const share: Share = { setId: '5c0e91aa', threshold: 3, index: 2, data: randomBytes(32) };
    const text = encodeShare(share);
    const prefixLength = 'kura-share-1-'.length;
    for (let i = prefixLength; i < text.length; i++) {
      if (text[i] === '-') continue;
      expectShareError(() => decodeShare(typo(text, i)), 'checksum');
    }
    // A character outside the base32 alphabet in the data is a typo too.
    const i = text.length - 12;
    expectShareError(() => decodeShare(`${text.slice(0, i)}1${text.slice(i + 1)}`), 'checksum');
  });

  it("refuses garbage and unknown formats with 'malformed'", () => {
    for (const garbage of ['', '   ', 'hello world', 'kura-share', 'kura-share-1-5c0e91aa-3-2', 'kura-key-1-5c0e91aa-3-2-aaaa-00000000', 'kura-share-2-5c0e91aa-3-2-aaaa-00000000']) {
      expectShareError(() => decodeShare(garbage), 'malformed');
    }
  });

  it("refuses texts whose checksum is valid but whose fields are not, with 'malformed'", () => {
    const forge = (setId: string, threshold: string, index: string, data: string): string => {
      const body = `kura-share-1-${setId}-${threshold}-${index}`;
      return `${body}-${data}-${createChecksum(`${body}-${data}`)}`;
    };
    expect(decodeShare(forge('5c0e91aa', '3', '2', 'ae'))).toMatchObject({ threshold: 3, index: 2, data: Buffer.from([0x01]) });
    expectShareError(() => decodeShare(forge('5c0e91zz', '3', '2', 'ae')), 'malformed');
    expectShareError(() => decodeShare(forge('5c0e91aa', '0', '2', 'ae')), 'malformed');
    expectShareError(() => decodeShare(forge('5c0e91aa', '3', '256', 'ae')), 'malformed');
    expectShareError(() => decodeShare(forge('5c0e91aa', '3', '02', 'ae')), 'malformed');
    expectShareError(() => decodeShare(forge('5c0e91aa', '3', '2', 'a')), 'malformed'); // impossible length
    expectShareError(() => decodeShare(forge('5c0e91aa', '3', '2', 'af')), 'malformed'); // non-zero leftover bits
    expectShareError(() => decodeShare(forge('5c0e91aa', '3', '2', 'a1')), 'malformed'); // not base32
  });
});

function createChecksum(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8);
}
