// decodeStrictBase64 checks what node:buffer's decoder produced instead of every character; these tests
// hold it to a character-by-character definition of strict standard base64 (RFC 4648 section 4: the
// standard alphabet, '=' padding only at the end and only to a multiple of 4, nothing else).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeStrictBase64 } from '../../../../main/api/kms/model/validate.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The definition, one character at a time: the oracle. */
function strictByDefinition(s: string): Buffer | undefined {
  let end = s.length;
  if (s.endsWith('=')) {
    if (s.length % 4 !== 0) return undefined;
    end -= s.endsWith('==') ? 2 : 1;
  }
  if (end % 4 === 1) return undefined;
  for (let i = 0; i < end; i++) if (!ALPHABET.includes(s[i]!)) return undefined;
  return Buffer.from(s, 'base64');
}

/** A deterministic generator, so a failure names a string that can be reproduced. */
function* randomStrings(seed: number, count: number): Generator<string> {
  let x = seed >>> 0;
  const next = (n: number) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % n;
  };
  // Mostly alphabet characters, sometimes the ones a lenient decoder would take or skip.
  const odd = ['=', '-', '_', ' ', '\n', '\t', '\0', '.', 'é', 'Ł', 'Ł'.normalize('NFD'), '\u0141', '\uD83D\uDE00', '\u00FF', '\u0100'];
  for (let i = 0; i < count; i++) {
    const length = next(14);
    let s = '';
    for (let j = 0; j < length; j++) s += next(100) < 85 ? ALPHABET[next(64)] : odd[next(odd.length)];
    yield s;
  }
}

describe('decodeStrictBase64', () => {
  it('agrees with the character-by-character definition on 200,000 random strings', () => {
    const mismatches: string[] = [];
    for (const s of randomStrings(0x4b757261, 200_000)) {
      const expected = strictByDefinition(s);
      const actual = decodeStrictBase64(s);
      const same = expected === undefined ? actual === undefined : actual !== undefined && actual.equals(expected);
      if (!same && mismatches.length < 5) mismatches.push(JSON.stringify(s));
    }
    expect(mismatches).toEqual([]);
  });

  it('decodes every length of real data, padded and unpadded', () => {
    for (let n = 0; n <= 70; n++) {
      const bytes = randomBytes(n);
      const padded = bytes.toString('base64');
      expect(decodeStrictBase64(padded)).toEqual(bytes);
      expect(decodeStrictBase64(padded.replace(/=+$/, ''))).toEqual(bytes);
    }
  });

  it.each([
    ['a character above U+00FF that node:buffer reads by its low byte', 'Q\u0141JD'],
    ["base64url's '-'", 'QUJ-'],
    ["base64url's '_'", 'QUJ_'],
    ['whitespace inside', 'QU JDREVG'],
    ['a newline inside', 'QUJD\nREVG'],
    ['padding in the middle', 'AB=C'],
    ['padding that leaves a length of 1 mod 4', 'A==='],
    ['padding at the start', '=QUJ'],
    ['a length of 1 mod 4', 'QUJDR'],
    ['padding to a length that is not a multiple of 4', 'QQ='],
    ['two padded groups', 'QQ==QQ=='],
  ])('refuses %s', (_why, s) => {
    expect(decodeStrictBase64(s)).toBeUndefined();
  });
});
