import { createHash, getHashes, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sm3 } from '../../../main/crypto/asymmetric/sm3.js';

describe('SM3 (GB/T 32905-2016)', () => {
  it('gives the standard example values (appendix A)', () => {
    expect(sm3(Buffer.from('abc')).toString('hex')).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    expect(sm3(Buffer.from('abcd'.repeat(16))).toString('hex')).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
  });

  it('agrees with OpenSSL’s SM3 on every length across block and padding boundaries', () => {
    expect(getHashes()).toContain('sm3');
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length);
      expect(sm3(data).toString('hex'), `length ${length}`).toBe(createHash('sm3').update(data).digest('hex'));
    }
    const big = randomBytes(100_000);
    expect(sm3(big)).toEqual(createHash('sm3').update(big).digest());
  });

  it('hashes the concatenation of its parts and leaves the parts alone', () => {
    const a = randomBytes(70);
    const b = randomBytes(5);
    const before = Buffer.concat([a, b]);
    expect(sm3(a, b)).toEqual(createHash('sm3').update(before).digest());
    expect(Buffer.concat([a, b])).toEqual(before);
  });
});
