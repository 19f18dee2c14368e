// The SP 800-108r1 counter-mode KDF with HMAC-SHA256 (main/crypto/kdf.ts): NIST CAVP's KBKDF vectors
// for the core (counter before the fixed input, 32-bit counter), an independent implementation written
// here for the fixed-input layout, known answers for the inputs Kura's version-2 blobs use, and the
// limits of a 32-bit length field.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveKey, kbkdfCounterHmacSha256, sp800108FixedInput } from '../../main/crypto/kdf.js';

interface CavpVector {
  count: number;
  L: number;
  KI: string;
  FixedInputData: string;
  KO: string;
}

// Read from test/vectors (see its README for their source and licence).
const VECTORS = JSON.parse(readFileSync(new URL('../vectors/nist-cavp/kbkdf_ctr_hmac_sha256_before_fixed_rlen32.json', import.meta.url), 'utf8')) as {
  section: string;
  tests: CavpVector[];
};

const hex = (s: string) => Buffer.from(s, 'hex');
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/**
 * An independent reference: HMAC built from SHA-256 as RFC 2104 defines it (not node:crypto's
 * createHmac), and SP 800-108r1 section 4.1 written out as the standard states it.
 */
function referenceHmacSha256(key: Buffer, message: Buffer): Buffer {
  const block = Buffer.alloc(64);
  (key.length > 64 ? createHash('sha256').update(key).digest() : key).copy(block);
  const ipad = Buffer.from(block.map((b) => b ^ 0x36));
  const opad = Buffer.from(block.map((b) => b ^ 0x5c));
  const inner = createHash('sha256').update(ipad).update(message).digest();
  return createHash('sha256').update(opad).update(inner).digest();
}

function referenceKdf(key: Buffer, label: Buffer, context: Buffer, outputBytes: number): Buffer {
  const L = outputBytes * 8;
  const n = Math.ceil(L / 256);
  const fixed = Buffer.concat([label, Buffer.of(0), context, u32(L)]);
  const blocks: Buffer[] = [];
  for (let i = 1; i <= n; i++) blocks.push(referenceHmacSha256(key, Buffer.concat([u32(i), fixed])));
  return Buffer.concat(blocks).subarray(0, outputBytes);
}

describe('SP 800-108r1 KDF in counter mode, HMAC-SHA256', () => {
  describe(`NIST CAVP KBKDF vectors ${VECTORS.section}`, () => {
    it('has the vectors of several output lengths (one block, truncated, several blocks)', () => {
      expect(new Set(VECTORS.tests.map((t) => t.L))).toEqual(new Set([128, 160, 256, 320]));
    });
    for (const t of VECTORS.tests) {
      it(`COUNT=${t.count}, L=${t.L}`, () => {
        expect(t.L % 8).toBe(0);
        const out = kbkdfCounterHmacSha256(hex(t.KI), hex(t.FixedInputData), t.L / 8);
        expect(out.toString('hex')).toBe(t.KO);
      });
    }
    it('the reference HMAC of this test agrees with the vectors too (so it can serve as an oracle below)', () => {
      for (const t of VECTORS.tests) {
        const blocks = Math.ceil(t.L / 256);
        const out = Buffer.concat(Array.from({ length: blocks }, (_, i) => referenceHmacSha256(hex(t.KI), Buffer.concat([u32(i + 1), hex(t.FixedInputData)]))));
        expect(out.subarray(0, t.L / 8).toString('hex')).toBe(t.KO);
      }
    });
  });

  describe('fixed input Label || 0x00 || Context || [L]_32', () => {
    it('is laid out byte by byte as SP 800-108r1 section 4 describes, with L in bits', () => {
      const fixed = sp800108FixedInput(Buffer.from('kura/blob/v2'), Buffer.from([0xaa, 0xbb]), 32);
      expect(fixed.toString('hex')).toBe(Buffer.from('kura/blob/v2').toString('hex') + '00' + 'aabb' + '00000100');
    });

    it('deriveKey agrees with the reference for lengths around the 32-byte block size', () => {
      for (const n of [1, 16, 31, 32, 33, 64, 65, 100]) {
        const key = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + n) & 0xff));
        const label = Buffer.from(`label-${n}`);
        const context = Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));
        expect(deriveKey(key, label, context, n).toString('hex'), `${n} bytes`).toBe(referenceKdf(key, label, context, n).toString('hex'));
      }
    });

    // Known answers computed independently (Python's hmac module, the same formula) for the inputs of
    // a version-2 ciphertext blob: K_IN = 00 01 … 1f, Label "kura/blob/v2", Context = an 82-byte v2
    // header (version 02, flags 00, key ID 1b4e28ba-2fa1-11d2-883f-0016d3cca427, material ID 20 … 3f,
    // nonce 40 … 5f), L = 256.
    it('gives the known answers for a version-2 blob header and for a two-block output', () => {
      const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
      const header = hex(
        '02001b4e28ba2fa111d2883f0016d3cca427202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f',
      );
      expect(deriveKey(key, Buffer.from('kura/blob/v2'), header, 32).toString('hex')).toBe('6780fad2a9dd0fed694ebe8166049cd7c5ab1dd3d5c0ea4b58605e57252ef8a6');
      expect(deriveKey(key, Buffer.from('kura/test'), Buffer.from('ctx'), 64).toString('hex')).toBe(
        'd749d5fffe60559a2b7edb3e2c3cf83fb233467f1d8cddc27b90ae33c6f0a2a6b3d4247d3c7e797876ac9e42bbe24eedcc626c825f5a007f00611ac8af23b639',
      );
      // [L]_32 is part of the input: a shorter key is not a prefix of a longer one.
      const short = deriveKey(key, Buffer.from('kura/test'), Buffer.from('ctx'), 16);
      expect(short.toString('hex')).toBe('8aa0132ee0e4e9cc27880294027215fa');
      expect(short.toString('hex')).not.toBe('d749d5fffe60559a2b7edb3e2c3cf83f');
    });

    it('separates labels and contexts: each changes the output', () => {
      const key = Buffer.alloc(32, 0x11);
      const base = deriveKey(key, Buffer.from('a'), Buffer.from('b'), 32);
      expect(deriveKey(key, Buffer.from('a'), Buffer.from('c'), 32).equals(base)).toBe(false);
      expect(deriveKey(key, Buffer.from('x'), Buffer.from('b'), 32).equals(base)).toBe(false);
      expect(deriveKey(Buffer.alloc(32, 0x12), Buffer.from('a'), Buffer.from('b'), 32).equals(base)).toBe(false);
    });

    it('does not change its inputs', () => {
      const key = Buffer.alloc(32, 0x5a);
      const label = Buffer.from('kura/blob/v2');
      const context = Buffer.alloc(82, 0x33);
      deriveKey(key, label, context, 32);
      expect(key.equals(Buffer.alloc(32, 0x5a))).toBe(true);
      expect(label.toString()).toBe('kura/blob/v2');
      expect(context.equals(Buffer.alloc(82, 0x33))).toBe(true);
    });
  });

  describe('limits', () => {
    it('refuses an empty key and lengths that are not 1 to 2^32/8 − 1 whole bytes', () => {
      expect(() => kbkdfCounterHmacSha256(Buffer.alloc(0), Buffer.alloc(1), 32)).toThrow(RangeError);
      for (const n of [0, -1, 1.5, Number.NaN, 2 ** 29]) {
        expect(() => deriveKey(Buffer.alloc(32, 1), Buffer.from('l'), Buffer.from('c'), n), String(n)).toThrow(RangeError);
      }
      expect(deriveKey(Buffer.alloc(32, 1), Buffer.from('l'), Buffer.from('c'), 1)).toHaveLength(1);
    });

    it('accepts exactly up to 2^32/8 − 1 bytes: the largest L fits [L]_32, one byte more is refused by the length check itself', () => {
      // Only the fixed input is built at the limit (deriving 512 MiB would be pointless here); it
      // shares checkLength with the KDF. L = (2^29 − 1) * 8 = 0xFFFFFFF8 is the largest multiple of 8
      // below 2^32, so it must be accepted and encoded in the last four bytes.
      const max = Math.floor(0xffff_ffff / 8);
      const fixed = sp800108FixedInput(Buffer.from('l'), Buffer.from('c'), max);
      expect(fixed.subarray(-4).toString('hex')).toBe('fffffff8');
      // One byte more must be refused with Kura's own message, not by a Buffer write overflowing
      // (which would mean the bound was loosened and only Node's range check stands in the way).
      expect(() => sp800108FixedInput(Buffer.from('l'), Buffer.from('c'), max + 1)).toThrow(/derives 1 to 536870911 bytes/);
      expect(() => deriveKey(Buffer.alloc(32, 1), Buffer.from('l'), Buffer.from('c'), max + 1)).toThrow(/derives 1 to 536870911 bytes/);
    });
  });
});
