// Shamir secret sharing over GF(2^8) and Kura's share text format (DESIGN.md, "Root key and sealing").
//
// splitSecret makes, for every byte of the secret, a random polynomial of degree m-1 whose constant
// term is that byte, and gives custodian i the values at x = i; combineShares interpolates them back at
// x = 0 (Lagrange). Arithmetic is in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b,
// FIPS-197 section 4), so addition and subtraction are both XOR.
//
// What this file can and cannot detect:
// - Plain Shamir cannot tell a wrong share: `threshold` shares always interpolate to *some* secret, and
//   one altered share silently yields a different one. The caller must keep a check value of the secret
//   and compare (Kura's seal stores one for the root key); this file does not.
// - Typos made copying a share by hand are caught by the checksum of the text form ('checksum'), before
//   any share reaches combineShares.
// - When more than `threshold` shares are given, every extra share must lie on the polynomial the first
//   `threshold` shares define; otherwise 'mixed-sets'. That detects any wrong shares as long as at least
//   `threshold` of the given shares are genuine (two degree < threshold polynomials that agree on
//   `threshold` points are the same polynomial). Which share is wrong cannot be told.
//
// Constant time (as far as JavaScript allows): secret bytes are only ever combined with the branch-free
// gfMul below, which runs eight fixed rounds and selects with all-ones/all-zeros masks instead of `if`s
// or log/exp tables indexed by secret values (cache timing). Inversion is a^254 by a fixed
// square-and-multiply chain, so zero needs no special case (0^254 = 0) and there is no branch on a.
// Loops and branches depend only on public values: lengths, thresholds and x coordinates. The text codec
// maps base32 symbols with masks too, but lower-casing and splitting text uses the engine's string code,
// which makes no timing promises; a share's text is handled once, at ceremony time.
//
// Intermediate buffers that held secret bytes (polynomial coefficients, interpolated check values, a
// result that is discarded on error) are overwritten before they are dropped.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type ShareErrorReason = 'malformed' | 'checksum' | 'mixed-sets' | 'duplicate' | 'too-few' | 'threshold-mismatch';

/** Why a share or a set of shares was refused. Messages name indexes and set IDs, never share data. */
export class ShareError extends Error {
  readonly reason: ShareErrorReason;

  constructor(reason: ShareErrorReason, message: string) {
    super(message);
    this.name = 'ShareError';
    this.reason = reason;
  }
}

export interface Share {
  /** 8 lower-case hex characters, random per split, identifying the shares that belong together. */
  setId: string;
  /** How many shares recover the secret (m). */
  threshold: number;
  /** The x coordinate, 1..255. Never 0: the value at 0 is the secret. */
  index: number;
  /** The polynomial values at x = index, one byte per secret byte. */
  data: Buffer;
}

export const MAX_SHARES = 255;

// ---------------------------------------------------------------------------------------------------
// GF(2^8) arithmetic

/** Multiplies in GF(2^8) mod 0x11b, in time independent of both operands. */
export function gfMul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 8; i++) {
    // -(bit) is all ones when the bit is set, all zeros otherwise: select without branching.
    product ^= -(b & 1) & a;
    const carry = -((a >> 7) & 1);
    a = ((a << 1) ^ (carry & 0x1b)) & 0xff;
    b >>= 1;
  }
  return product & 0xff;
}

/** Multiplicative inverse in GF(2^8) as a^254 (a^255 = 1 for a != 0); maps 0 to 0. */
export function gfInverse(a: number): number {
  // a^254 = a^2 · a^4 · a^8 · … · a^128: seven squarings, seven multiplications, always.
  let power = a & 0xff;
  let result = 1;
  for (let i = 0; i < 7; i++) {
    power = gfMul(power, power);
    result = gfMul(result, power);
  }
  return result;
}

/**
 * Lagrange basis coefficients ℓ_j(at) for the points xs: Σ ℓ_j(at)·y_j is the value at `at` of the
 * unique polynomial of degree < xs.length through (xs[j], y_j). Depends only on public x coordinates.
 */
function lagrangeCoefficients(xs: readonly number[], at: number): number[] {
  return xs.map((xj, j) => {
    let numerator = 1;
    let denominator = 1;
    xs.forEach((xm, m) => {
      if (m === j) return;
      numerator = gfMul(numerator, at ^ xm);
      denominator = gfMul(denominator, xj ^ xm);
    });
    return gfMul(numerator, gfInverse(denominator));
  });
}

/** Σ coefficient_j · ys[j], byte by byte, into a new buffer. */
function weightedSum(coefficients: readonly number[], ys: readonly Uint8Array[], length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let k = 0; k < length; k++) {
    let acc = 0;
    for (let j = 0; j < ys.length; j++) acc ^= gfMul(coefficients[j] as number, (ys[j] as Uint8Array)[k] as number);
    out[k] = acc;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Split and combine

/** Splits secret into n shares, any m of which recover it. 1 <= m <= n <= 255; m = 1 makes n copies. */
export function splitSecret(secret: Uint8Array, m: number, n: number): Share[] {
  if (!(secret instanceof Uint8Array) || secret.length === 0) throw new RangeError('The secret must be a non-empty byte array.');
  if (!Number.isInteger(n) || n < 1 || n > MAX_SHARES) throw new RangeError(`The number of shares must be 1..${MAX_SHARES}, not ${n}.`);
  if (!Number.isInteger(m) || m < 1 || m > n) throw new RangeError(`The threshold must be 1..${n}, not ${m}.`);

  const setId = randomBytes(4).toString('hex');
  const length = secret.length;
  // Coefficients of x^1 .. x^(m-1) for every byte, uniformly random (zero included: excluding it
  // would bias the polynomial and leak).
  const coefficients = randomBytes((m - 1) * length);
  try {
    const shares: Share[] = [];
    for (let x = 1; x <= n; x++) {
      const data = Buffer.alloc(length);
      for (let k = 0; k < length; k++) {
        // Horner from the highest coefficient down to the secret byte.
        let y = 0;
        for (let d = m - 2; d >= 0; d--) y = gfMul(y, x) ^ (coefficients[d * length + k] as number);
        data[k] = gfMul(y, x) ^ (secret[k] as number);
      }
      shares.push({ setId, threshold: m, index: x, data });
    }
    return shares;
  } finally {
    coefficients.fill(0);
  }
}

/**
 * Recombines shares into the secret. Interpolates with the first `threshold` shares; every further
 * share must agree with them, else 'mixed-sets'. Throws ShareError for malformed shares, different
 * sets ('mixed-sets'), different thresholds ('threshold-mismatch'), a repeated index ('duplicate') and
 * fewer than `threshold` shares ('too-few'). A wrong share among exactly `threshold` shares is NOT
 * detected: compare the result with a check value.
 */
export function combineShares(shares: Share[]): Buffer {
  if (!Array.isArray(shares) || shares.length === 0) throw new ShareError('too-few', 'No shares were given.');
  shares.forEach(assertWellFormed);

  const first = shares[0] as Share;
  for (const share of shares) {
    if (share.setId !== first.setId) {
      throw new ShareError('mixed-sets', `The shares come from different splits (sets ${first.setId} and ${share.setId}).`);
    }
  }
  for (const share of shares) {
    if (share.threshold !== first.threshold) {
      throw new ShareError('threshold-mismatch', `The shares of set ${first.setId} disagree on the threshold (${first.threshold} and ${share.threshold}).`);
    }
  }
  for (const share of shares) {
    if (share.data.length !== first.data.length) {
      throw new ShareError('mixed-sets', `The shares of set ${first.setId} have different lengths; they cannot come from one split.`);
    }
  }
  const seen = new Set<number>();
  for (const share of shares) {
    if (seen.has(share.index)) throw new ShareError('duplicate', `Share ${share.index} of set ${first.setId} was given more than once.`);
    seen.add(share.index);
  }
  const threshold = first.threshold;
  if (shares.length < threshold) {
    throw new ShareError('too-few', `Set ${first.setId} needs ${threshold} shares; ${shares.length} were given.`);
  }

  const base = shares.slice(0, threshold);
  const xs = base.map((s) => s.index);
  const ys = base.map((s) => s.data);
  const length = first.data.length;
  const secret = weightedSum(lagrangeCoefficients(xs, 0), ys, length);

  for (const extra of shares.slice(threshold)) {
    const expected = weightedSum(lagrangeCoefficients(xs, extra.index), ys, length);
    const consistent = timingSafeEqual(expected, extra.data);
    expected.fill(0);
    if (!consistent) {
      secret.fill(0);
      throw new ShareError(
        'mixed-sets',
        `The ${shares.length} shares of set ${first.setId} are not consistent: at least one share is wrong or from another split.`,
      );
    }
  }
  return secret;
}

function assertWellFormed(share: Share): void {
  const where = typeof share?.index === 'number' ? `Share ${share.index}` : 'A share';
  if (typeof share !== 'object' || share === null) throw new ShareError('malformed', 'A share is not an object.');
  if (typeof share.setId !== 'string' || !/^[0-9a-f]{8}$/.test(share.setId)) throw new ShareError('malformed', `${where} has an invalid set ID.`);
  if (!Number.isInteger(share.threshold) || share.threshold < 1 || share.threshold > MAX_SHARES) {
    throw new ShareError('malformed', `${where} has an invalid threshold.`);
  }
  if (!Number.isInteger(share.index) || share.index < 1 || share.index > MAX_SHARES) throw new ShareError('malformed', 'A share has an invalid index.');
  if (!(share.data instanceof Uint8Array) || share.data.length === 0) throw new ShareError('malformed', `${where} has no data.`);
}

// ---------------------------------------------------------------------------------------------------
// Text form
//
//   kura-share-1-<setId>-<threshold>-<index>-<data in groups of 4>-<checksum>
//   e.g. kura-share-1-5c0e91aa-3-2-mfrg-gzdf-…-q4-0b6e1f2d
//
// setId is 8 hex characters; threshold and index are decimal; data is RFC 4648 base32 (alphabet a–z,
// 2–7, which has no 0/O or 1/l look-alikes), lower case, unpadded, in groups of 4 for reading off
// paper. The checksum is the first 4 bytes, in hex, of SHA-256 over the ungrouped canonical form
// `kura-share-1-<setId>-<threshold>-<index>-<data>`, so regrouping does not change it but any typo in
// the fields does. Reading ignores surrounding whitespace and case, and treats runs of whitespace
// and '-' alike as separators, so line breaks and spaces between groups are fine.

const PREFIX = ['kura', 'share', '1'] as const;
const GROUP = 4;
const CHECKSUM_CHARS = 8;

export function encodeShare(share: Share): string {
  assertWellFormed(share);
  const data = base32Encode(share.data);
  const body = `${PREFIX.join('-')}-${share.setId}-${share.threshold}-${share.index}`;
  const groups: string[] = [];
  for (let i = 0; i < data.length; i += GROUP) groups.push(data.slice(i, i + GROUP));
  return `${body}-${groups.join('-')}-${checksum(`${body}-${data}`)}`;
}

export function decodeShare(text: string): Share {
  if (typeof text !== 'string') throw new ShareError('malformed', 'A share must be text.');
  const tokens = text.trim().toLowerCase().split(/[\s-]+/);
  if (tokens[0] !== PREFIX[0] || tokens[1] !== PREFIX[1]) throw new ShareError('malformed', 'This is not a Kura share (it must start with "kura-share-").');
  if (tokens[2] !== PREFIX[2]) throw new ShareError('malformed', `Unsupported share format version "${tokens[2] ?? ''}".`);
  if (tokens.length < 7) throw new ShareError('malformed', 'The share is incomplete.');
  const [, , , setId, threshold, index] = tokens as [string, string, string, string, string, string];
  // Data groups and the checksum may be split anywhere by line breaks: join them, the last 8 characters
  // are the checksum.
  const tail = tokens.slice(6).join('');
  if (tail.length <= CHECKSUM_CHARS) throw new ShareError('malformed', 'The share has no data.');
  const data = tail.slice(0, -CHECKSUM_CHARS);
  const given = tail.slice(-CHECKSUM_CHARS);

  // The checksum comes before any field is parsed, so that a typo reads as a typo, not as a bad field.
  const body = `${PREFIX.join('-')}-${setId}-${threshold}-${index}`;
  if (checksum(`${body}-${data}`) !== given) {
    throw new ShareError('checksum', 'The share does not match its checksum: check it for a typo.');
  }

  if (!/^[0-9a-f]{8}$/.test(setId)) throw new ShareError('malformed', 'The share has an invalid set ID.');
  const share: Share = {
    setId,
    threshold: parseSmallInteger(threshold, 'threshold'),
    index: parseSmallInteger(index, 'index'),
    data: base32Decode(data),
  };
  assertWellFormed(share);
  return share;
}

function parseSmallInteger(token: string, what: string): number {
  if (!/^[1-9][0-9]{0,2}$/.test(token)) throw new ShareError('malformed', `The share has an invalid ${what}.`);
  const value = Number(token);
  if (value > MAX_SHARES) throw new ShareError('malformed', `The share has an invalid ${what}.`);
  return value;
}

function checksum(canonical: string): string {
  return createHash('sha256').update(canonical, 'ascii').digest('hex').slice(0, CHECKSUM_CHARS);
}

// RFC 4648 section 6 base32, written out with masks instead of alphabet lookups: 0..25 → 'a'..'z',
// 26..31 → '2'..'7'.

function base32Symbol(value: number): number {
  const isDigit = (25 - value) >> 31; // all ones when value > 25
  return 97 + value + (isDigit & (50 - 26 - 97));
}

function base32Encode(bytes: Uint8Array): string {
  const codes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      codes.push(base32Symbol((buffer >> bits) & 31));
    }
  }
  if (bits > 0) codes.push(base32Symbol((buffer << (5 - bits)) & 31));
  const text = String.fromCharCode(...codes);
  codes.fill(0);
  return text;
}

function base32Decode(text: string): Buffer {
  // Unpadded base32 of whole bytes has 0, 2, 4, 5 or 7 characters in its last block of 8.
  const remainder = text.length % 8;
  if (remainder === 1 || remainder === 3 || remainder === 6) throw new ShareError('malformed', 'The share data has an impossible length.');
  const out = Buffer.alloc(Math.floor((text.length * 5) / 8));
  let invalid = 0;
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isLetter = ((96 - c) & (c - 123)) >> 31; // all ones for 'a'..'z'
    const isDigit = ((49 - c) & (c - 56)) >> 31; // all ones for '2'..'7'
    invalid |= ~(isLetter | isDigit);
    const value = (isLetter & (c - 97)) | (isDigit & (c - 24));
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, so that every byte string has exactly one text form.
  invalid |= buffer & ((1 << bits) - 1);
  if (invalid !== 0) {
    out.fill(0);
    throw new ShareError('malformed', 'The share data is not valid base32.');
  }
  return out;
}
