// The WebAssembly AES-256 core (native/aes-gcm via main/crypto/wasm-aead.ts) against Wycheproof, the
// GCM specification's test cases, node:crypto (OpenSSL) as an oracle on random inputs, and forgeries.
// Vectors are read from test/vectors (see its README for their source and licence).
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { AeadAuthenticationError } from '../../main/crypto/aead.js';
import { KeyWrapIntegrityError } from '../../main/crypto/key-wrap.js';
import { nodeAead } from '../support/node-aead.js';
import { WASM_CORE_PATH, slotBytesForTests, wasmAead, wasmAesCore, wasmKeyWrap } from '../../main/crypto/wasm-aead.js';
import { ROOT } from '../support/kura-process.js';

const VECTORS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'wycheproof');
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

interface WycheproofFile<T> {
  testGroups: ({ keySize: number; ivSize?: number; tagSize?: number; tests: T[] })[];
}
interface GcmCase {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface WrapCase {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  msg: string;
  ct: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
function load<T>(name: string): WycheproofFile<T> {
  return JSON.parse(readFileSync(path.join(VECTORS, name), 'utf8')) as WycheproofFile<T>;
}

// node:crypto as the oracle, where it supports the input: OpenSSL (through Node) refuses GCM IVs
// longer than 128 bytes, and returns an empty result instead of an error when asked to unwrap
// nothing, so those cases are checked against the vectors alone.
const NODE_MAX_GCM_IV = 128;
function nodeSeal(key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}
function nodeOpen(key: Uint8Array, iv: Uint8Array, ct: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer | undefined {
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    return undefined;
  }
}
const KW_IV = hex('a6a6a6a6a6a6a6a6');
const KWP_IV = hex('a65959a6');
function nodeWrap(kek: Uint8Array, data: Uint8Array, padding: boolean): Buffer | undefined {
  try {
    const c = createCipheriv(padding ? 'id-aes256-wrap-pad' : 'id-aes256-wrap', kek, padding ? KWP_IV : KW_IV);
    return Buffer.concat([c.update(data), c.final()]);
  } catch {
    return undefined;
  }
}
function nodeUnwrap(kek: Uint8Array, wrapped: Uint8Array, padding: boolean): Buffer | undefined {
  if (wrapped.length < 16) return undefined;
  try {
    const d = createDecipheriv(padding ? 'id-aes256-wrap-pad' : 'id-aes256-wrap', kek, padding ? KWP_IV : KW_IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    return undefined;
  }
}

/** Seal and open with a fresh handle on the core (any IV length), destroyed afterwards. */
function withGcmKey<T>(key: Uint8Array, fn: (k: ReturnType<typeof wasmAesCore.importGcmKey>) => T): T {
  const k = wasmAesCore.importGcmKey(key);
  try {
    return fn(k);
  } finally {
    k.destroy();
  }
}

/** A deterministic byte stream (AES-256-CTR over zeros) so that a failing random case can be replayed from its seed. */
class Drbg {
  #ctr;
  constructor(seed: Buffer) {
    this.#ctr = createCipheriv('aes-256-ctr', Buffer.concat([seed, Buffer.alloc(32)]).subarray(0, 32), Buffer.alloc(16));
  }
  bytes(n: number): Buffer {
    return this.#ctr.update(Buffer.alloc(n));
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return this.bytes(4).readUInt32LE(0) % n;
  }
}

describe('Wycheproof aes_gcm_test.json (AES-256 groups)', () => {
  const file = load<GcmCase>('aes_gcm_test.json');
  // Kura implements AES-256 only; the AES-128/192 groups are filtered out by key size.
  const groups = file.testGroups.filter((g) => g.keySize === 256);
  it('has AES-256 groups to run', () => expect(groups.reduce((n, g) => n + g.tests.length, 0)).toBeGreaterThan(100));
  for (const g of groups) {
    for (const t of g.tests) {
      it(`tcId ${t.tcId} (${t.result}; iv ${g.ivSize} bits; ${t.flags.join(', ')})`, () => {
        const [key, iv, aad, msg, ct, tag] = [t.key, t.iv, t.aad, t.msg, t.ct, t.tag].map(hex) as Buffer[];
        if (g.tagSize !== 128) {
          // Kura supports 128-bit tags only: a shorter tag is refused as a parameter error, not a forgery.
          withGcmKey(key!, (k) => expect(() => k.decrypt(iv!, ct!, tag!, aad!)).toThrow(RangeError));
          return;
        }
        if (iv!.length === 0) {
          // A zero-length IV is not allowed by SP 800-38D (and would leak H): refused before any work.
          expect(t.result).toBe('invalid');
          withGcmKey(key!, (k) => {
            expect(() => k.seal(iv!, msg!, aad!)).toThrow(RangeError);
            expect(() => k.decrypt(iv!, ct!, tag!, aad!)).toThrow(RangeError);
          });
          expect(() => nodeSeal(key!, iv!, msg!, aad!)).toThrow();
          return;
        }
        withGcmKey(key!, (k) => {
          const opened = (() => {
            try {
              return Buffer.from(k.decrypt(iv!, ct!, tag!, aad!));
            } catch (e) {
              expect(e).toBeInstanceOf(AeadAuthenticationError);
              return undefined;
            }
          })();
          const sealed = Buffer.from(k.seal(iv!, msg!, aad!));
          const oracle = iv!.length <= NODE_MAX_GCM_IV;
          if (t.result === 'valid') {
            expect(sealed.toString('hex')).toBe(t.ct + t.tag);
            expect(opened?.toString('hex')).toBe(t.msg);
            if (oracle) {
              expect(nodeSeal(key!, iv!, msg!, aad!).toString('hex')).toBe(t.ct + t.tag);
              expect(nodeOpen(key!, iv!, ct!, tag!, aad!)?.toString('hex')).toBe(t.msg);
            }
          } else {
            // Every invalid AES-256 case with a non-empty IV is a forged or modified tag.
            expect(opened).toBeUndefined();
            // Encrypting the message gives the authentic tag, which differs from the forged one.
            expect(sealed.toString('hex')).not.toBe(t.ct + t.tag);
            if (oracle) {
              expect(nodeOpen(key!, iv!, ct!, tag!, aad!)).toBeUndefined();
              expect(sealed.toString('hex')).toBe(nodeSeal(key!, iv!, msg!, aad!).toString('hex'));
            }
          }
        });
      });
    }
  }
});

describe('GCM specification test cases 13-18 (AES-256; McGrew and Viega, also in SP 800-38D validation)', () => {
  const K = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
  const P =
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
  const A = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';
  const Z = '0'.repeat(64);
  // [case, key, IV, plaintext, AAD, ciphertext, tag]
  const cases: [number, string, string, string, string, string, string][] = [
    [13, Z, '000000000000000000000000', '', '', '', '530f8afbc74536b9a963b4f1c4cb738b'],
    [14, Z, '000000000000000000000000', '0'.repeat(32), '', 'cea7403d4d606b6e074ec5d3baf39d18', 'd0d1c8a799996bf0265b98b5d48ab919'],
    [15, K, 'cafebabefacedbaddecaf888', P, '',
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad',
      'b094dac5d93471bdec1a502270e3cc6c'],
    [16, K, 'cafebabefacedbaddecaf888', P.slice(0, 120), A,
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
      '76fc6ece0f4e1768cddf8853bb2d551b'],
    // 64-bit IV: J0 is GHASH-derived.
    [17, K, 'cafebabefacedbad', P.slice(0, 120), A,
      'c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f',
      '3a337dbf46a792c45e454913fe2ea8f2'],
    // 60-byte IV.
    [18, K, '9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b',
      P.slice(0, 120), A,
      '5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf40fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f',
      'a44a8266ee1c8eb0c8b5d4cf5ae9f19a'],
  ];
  for (const [n, key, iv, pt, aad, ct, tag] of cases) {
    it(`test case ${n}`, () => {
      withGcmKey(hex(key), (k) => {
        expect(Buffer.from(k.seal(hex(iv), hex(pt), hex(aad))).toString('hex')).toBe(ct + tag);
        expect(Buffer.from(k.open(hex(iv), hex(ct + tag), hex(aad))).toString('hex')).toBe(pt);
      });
      expect(nodeSeal(hex(key), hex(iv), hex(pt), hex(aad)).toString('hex')).toBe(ct + tag);
    });
  }
});

for (const [file, padding] of [['aes_wrap_test.json', false], ['aes_kwp_test.json', true]] as const) {
  describe(`Wycheproof ${file} (AES-256 groups, ${padding ? 'RFC 5649 KWP' : 'RFC 3394 KW'})`, () => {
    const groups = load<WrapCase>(file).testGroups.filter((g) => g.keySize === 256);
    it('has AES-256 groups to run', () => expect(groups.reduce((n, g) => n + g.tests.length, 0)).toBeGreaterThan(60));
    for (const g of groups) {
      for (const t of g.tests) {
        it(`tcId ${t.tcId} (${t.result}; ${t.flags.join(', ')}; ${t.msg.length / 2} -> ${t.ct.length / 2} bytes)`, () => {
          const [kek, msg, ct] = [t.key, t.msg, t.ct].map(hex) as Buffer[];
          const unwrapped = (() => {
            try {
              return wasmKeyWrap.unwrapKey(kek!, ct!, { padding });
            } catch (e) {
              expect(e).toBeInstanceOf(KeyWrapIntegrityError);
              return undefined;
            }
          })();
          const wrapped = (() => {
            try {
              return wasmKeyWrap.wrapKey(kek!, msg!, { padding });
            } catch (e) {
              expect(e).toBeInstanceOf(RangeError);
              return undefined;
            }
          })();
          if (t.result === 'valid') {
            expect(wrapped?.toString('hex')).toBe(t.ct);
            expect(unwrapped?.toString('hex')).toBe(t.msg);
            expect(nodeWrap(kek!, msg!, padding)?.toString('hex')).toBe(t.ct);
            expect(nodeUnwrap(kek!, ct!, padding)?.toString('hex')).toBe(t.msg);
            return;
          }
          if (t.result === 'acceptable') {
            // The one acceptable AES-256 case wraps an 8-byte key with KW: RFC 3394 §2 allows it (one
            // AES block) but NIST SP 800-38F does not; Kura follows SP 800-38F and refuses both ways.
            expect(t.flags).toContain('ShortKey');
            expect(wrapped).toBeUndefined();
            expect(unwrapped).toBeUndefined();
            return;
          }
          // invalid: the wrapped form never unwraps (node agrees), and a key of a size that cannot
          // be wrapped is refused; a wrappable key wraps to something else than the corrupted input.
          expect(unwrapped).toBeUndefined();
          expect(nodeUnwrap(kek!, ct!, padding)).toBeUndefined();
          if (wrapped) {
            expect(wrapped.toString('hex')).not.toBe(t.ct);
            expect(wrapped.toString('hex')).toBe(nodeWrap(kek!, msg!, padding)?.toString('hex'));
          } else {
            expect(t.flags.some((f) => ['EmptyKey', 'WrongDataSize', 'ShortKey', 'InvalidWrappingSize', 'ModifiedPadding'].includes(f))).toBe(true);
          }
        });
      }
    }
  });
}

describe('differential: the core equals node:crypto on random inputs', () => {
  const seed = process.env.KURA_TEST_SEED ? hex(process.env.KURA_TEST_SEED) : randomBytes(16);
  const CASES = 10_000;

  it(`${CASES} random AES-256-GCM cases (seed ${seed.toString('hex')}; replay with KURA_TEST_SEED)`, () => {
    const rng = new Drbg(seed);
    let bytes = 0;
    for (let i = 0; i < CASES; i++) {
      // Every plaintext length 0..64 (with AAD and IV sizes varying), then a spread up to 64 KiB.
      let ptLen: number;
      if (i < 65 * 4) ptLen = i % 65;
      else {
        const r = rng.int(100);
        ptLen = r < 50 ? rng.int(1025) : r < 85 ? rng.int(8193) : rng.int(65537);
      }
      if (i === 260) ptLen = 65536;
      const aadLen = i % 4 === 0 ? 0 : rng.int(8) === 0 ? rng.int(8193) : rng.int(300);
      const ivLen = rng.int(10) === 0 ? 1 + rng.int(64) : 12;
      const key = rng.bytes(32);
      const iv = rng.bytes(ivLen);
      const aad = rng.bytes(aadLen);
      const pt = rng.bytes(ptLen);
      bytes += ptLen;
      const expected = nodeSeal(key, iv, pt, aad);
      const got = withGcmKey(key, (k) => {
        const sealed = k.seal(iv, pt, aad);
        const opened = k.open(iv, sealed, aad);
        if (!Buffer.from(opened).equals(pt)) throw new Error(`case ${i}: open(seal(p)) != p`);
        return Buffer.from(sealed);
      });
      if (!got.equals(expected)) {
        throw new Error(`case ${i} (seed ${seed.toString('hex')}): iv ${ivLen} B, aad ${aadLen} B, plaintext ${ptLen} B differs from node:crypto`);
      }
    }
    expect(bytes).toBeGreaterThan(10_000_000);
  });

  it('1 MiB and 4 MiB + 5 bytes messages (memory grows) equal node:crypto', () => {
    for (const n of [1 << 20, (4 << 20) + 5]) {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const aad = randomBytes(100);
      const pt = randomBytes(n);
      withGcmKey(key, (k) => {
        const sealed = Buffer.from(k.seal(iv, pt, aad));
        expect(sealed.equals(nodeSeal(key, iv, pt, aad))).toBe(true);
        expect(Buffer.from(k.open(iv, sealed, aad)).equals(pt)).toBe(true);
      });
    }
  });

  it('many live keys at once (slots grow, the I/O area moves) stay correct', () => {
    const keys = Array.from({ length: 100 }, () => randomBytes(32));
    const handles = keys.map((k) => wasmAead.importKey(k));
    const iv = randomBytes(12);
    const pt = randomBytes(1000);
    for (const [i, h] of handles.entries()) expect(h.seal(iv, pt, Buffer.alloc(0)).equals(nodeSeal(keys[i]!, iv, pt, Buffer.alloc(0)))).toBe(true);
    for (const h of handles) h.destroy();
  });

  it('key wrap on random key data equals node:crypto (KW and KWP, sizes 1..300)', () => {
    for (let n = 1; n <= 300; n++) {
      const kek = randomBytes(32);
      const data = randomBytes(n);
      const kwp = wasmKeyWrap.wrapKey(kek, data, { padding: true });
      expect(kwp.equals(nodeWrap(kek, data, true)!)).toBe(true);
      expect(wasmKeyWrap.unwrapKey(kek, kwp, { padding: true }).equals(data)).toBe(true);
      if (n >= 16 && n % 8 === 0) {
        const kw = wasmKeyWrap.wrapKey(kek, data, { padding: false });
        expect(kw.equals(nodeWrap(kek, data, false)!)).toBe(true);
        expect(wasmKeyWrap.unwrapKey(kek, kw, { padding: false }).equals(data)).toBe(true);
        // The two modes do not accept each other's output.
        expect(() => wasmKeyWrap.unwrapKey(kek, kw, { padding: true })).toThrow(KeyWrapIntegrityError);
      }
      expect(() => wasmKeyWrap.unwrapKey(randomBytes(32), kwp, { padding: true })).toThrow(KeyWrapIntegrityError);
    }
  });
});

describe('every single-bit flip is rejected', () => {
  const messages: { name: string; ivLen: number; ptLen: number; aadLen: number }[] = [
    { name: 'empty plaintext, 20-byte AAD', ivLen: 12, ptLen: 0, aadLen: 20 },
    { name: '33-byte plaintext, no AAD', ivLen: 12, ptLen: 33, aadLen: 0 },
    { name: '130-byte plaintext (two AES batches), 17-byte AAD', ivLen: 12, ptLen: 130, aadLen: 17 },
    { name: '48-byte plaintext, 20-byte IV (GHASH-derived J0), 5-byte AAD', ivLen: 20, ptLen: 48, aadLen: 5 },
  ];
  for (const m of messages) {
    it(m.name, () => {
      const key = randomBytes(32);
      const iv = randomBytes(m.ivLen);
      const aad = randomBytes(m.aadLen);
      const pt = randomBytes(m.ptLen);
      withGcmKey(key, (k) => {
        const sealed = Buffer.from(k.seal(iv, pt, aad));
        expect(Buffer.from(k.open(iv, sealed, aad)).equals(pt)).toBe(true);
        const fields: [string, Buffer][] = [['sealed', sealed], ['iv', Buffer.from(iv)], ['aad', Buffer.from(aad)]];
        let flips = 0;
        for (const [name, buf] of fields) {
          for (let bit = 0; bit < buf.length * 8; bit++) {
            buf[bit >> 3]! ^= 1 << (bit & 7);
            const [i, s, a] = [fields[1]![1], fields[0]![1], fields[2]![1]];
            expect(() => k.open(i, s, a), `${name} bit ${bit}`).toThrow(AeadAuthenticationError);
            buf[bit >> 3]! ^= 1 << (bit & 7);
            flips++;
          }
        }
        expect(flips).toBe((m.ptLen + 16 + m.ivLen + m.aadLen) * 8);
        // Truncation and extension are forgeries too.
        expect(() => k.open(iv, sealed.subarray(0, sealed.length - 1), aad)).toThrow(AeadAuthenticationError);
        expect(() => k.open(iv, Buffer.concat([sealed, Buffer.alloc(1)]), aad)).toThrow(AeadAuthenticationError);
      });
    });
  }
});

describe('the Aead port on the core (wasmAead)', () => {
  it('interoperates with nodeAead and returns Buffers', () => {
    const raw = randomBytes(32);
    const w = wasmAead.importKey(raw);
    const n = nodeAead.importKey(raw);
    const iv = randomBytes(12);
    const aad = Buffer.from('key-id|material-id|purpose');
    const pt = randomBytes(77);
    const sealed = w.seal(iv, pt, aad);
    expect(Buffer.isBuffer(sealed)).toBe(true);
    expect(sealed.equals(n.seal(iv, pt, aad))).toBe(true);
    expect(n.open(iv, sealed, aad).equals(pt)).toBe(true);
    expect(w.open(iv, n.seal(iv, pt, aad), aad).equals(pt)).toBe(true);
    expect(() => w.open(iv, sealed, Buffer.from('other'))).toThrow(AeadAuthenticationError);
    w.destroy();
    n.destroy();
  });

  it('destroy() zeroizes the slot and makes the handle unusable', () => {
    const key = wasmAead.importKey(randomBytes(32));
    const iv = randomBytes(12);
    const sealed = key.seal(iv, Buffer.from('data key'), Buffer.alloc(0));
    const before = slotBytesForTests(key);
    expect(before.some((b) => b !== 0)).toBe(true);
    key.destroy();
    expect(slotBytesForTests(key).every((b) => b === 0)).toBe(true);
    expect(() => key.seal(iv, Buffer.from('x'), Buffer.alloc(0))).toThrow(/after destroy/);
    expect(() => key.open(iv, sealed, Buffer.alloc(0))).toThrow(/after destroy/);
    expect(() => key.destroy()).not.toThrow();
  });

  it('leaves no plaintext, key or keystream in WebAssembly memory after a call', () => {
    const marker = Buffer.alloc(64, 0x5a);
    marker.write('KURA-PLAINTEXT-MARKER');
    const rawKey = Buffer.alloc(32, 0xc3);
    const key = wasmAead.importKey(rawKey);
    const iv = randomBytes(12);
    const sealed = key.seal(iv, marker, Buffer.alloc(0));
    key.open(iv, sealed, Buffer.alloc(0));
    wasmKeyWrap.wrapKey(rawKey, marker, { padding: true });
    const memory = Buffer.from(wasmAesCore.memoryForTests());
    const { scratchBase, slotBase, ioBase } = wasmAesCore.layout;
    // The core's scratch area and the whole I/O area are zero between calls.
    expect(memory.subarray(scratchBase, slotBase).every((b) => b === 0)).toBe(true);
    expect(memory.subarray(ioBase).every((b) => b === 0)).toBe(true);
    expect(memory.indexOf(marker.subarray(0, 21))).toBe(-1);
    expect(memory.indexOf(rawKey)).toBe(-1);
    // Keystream = ciphertext ^ plaintext must not linger either.
    const keystream = Buffer.from(sealed.subarray(0, 64).map((b, i) => b ^ marker[i]!));
    expect(memory.indexOf(keystream.subarray(0, 32))).toBe(-1);
    key.destroy();
  });

  it('validates sizes with clear errors', () => {
    for (const n of [0, 16, 31, 33]) expect(() => wasmAead.importKey(Buffer.alloc(n))).toThrow(RangeError);
    expect(() => wasmAead.importKey(Buffer.alloc(31))).toThrow(/32 bytes/);
    const key = wasmAead.importKey(randomBytes(32));
    expect(() => key.seal(Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(0))).toThrow(/IV must be at least 1 byte/);
    expect(() => key.open(randomBytes(12), Buffer.alloc(15), Buffer.alloc(0))).toThrow(AeadAuthenticationError);
    key.destroy();
    withGcmKey(randomBytes(32), (k) => {
      expect(() => k.decrypt(randomBytes(12), Buffer.alloc(4), Buffer.alloc(12))).toThrow(/tag must be 16 bytes/);
      expect(() => k.seal('not bytes' as unknown as Uint8Array, Buffer.alloc(1))).toThrow(TypeError);
    });
    expect(() => wasmKeyWrap.wrapKey(Buffer.alloc(16), Buffer.alloc(16), { padding: false })).toThrow(RangeError);
    expect(() => wasmKeyWrap.wrapKey(Buffer.alloc(32), Buffer.alloc(20), { padding: false })).toThrow(/multiple of 8/);
    expect(() => wasmKeyWrap.wrapKey(Buffer.alloc(32), Buffer.alloc(0), { padding: true })).toThrow(RangeError);
    expect(() => wasmKeyWrap.unwrapKey(Buffer.alloc(32), Buffer.alloc(12), { padding: true })).toThrow(KeyWrapIntegrityError);
  });

  it('serves concurrent async callers correctly (calls are synchronous, so they cannot interleave)', async () => {
    const raw = randomBytes(32);
    const key = wasmAead.importKey(raw);
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i % 7));
        const iv = randomBytes(12);
        const pt = randomBytes(i * 13);
        const sealed = key.seal(iv, pt, Buffer.from([i]));
        await Promise.resolve();
        return key.open(iv, sealed, Buffer.from([i])).equals(pt) && sealed.equals(nodeSeal(raw, iv, pt, Buffer.from([i])));
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    key.destroy();
  });
});

describe('loading the core', () => {
  // A throw-away package named "kura" holding main/crypto (and the package-root helper) transpiled to JS, with or without the .wasm.
  function fakePackage(withWasm: boolean): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kura-wasm-load-'));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'kura', type: 'module' }));
    mkdirSync(path.join(dir, 'dist', 'crypto'), { recursive: true });
    mkdirSync(path.join(dir, 'dist', 'common'), { recursive: true });
    for (const name of ['crypto/aead', 'crypto/key-wrap', 'crypto/wasm-aead-core', 'crypto/wasm-aead', 'common/package-root']) {
      const source = readFileSync(path.join(ROOT, 'main', `${name}.ts`), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(path.join(dir, 'dist', `${name}.js`), js);
    }
    if (withWasm) {
      mkdirSync(path.join(dir, 'native', 'aes-gcm', 'build'), { recursive: true });
      copyFileSync(WASM_CORE_PATH, path.join(dir, 'native', 'aes-gcm', 'build', 'aes_gcm.wasm'));
    }
    return dir;
  }
  const script = `const m = await import('./dist/crypto/wasm-aead.js');
const k = m.wasmAead.importKey(Buffer.alloc(32, 1));
console.log(k.seal(Buffer.alloc(12), Buffer.from('hi'), Buffer.alloc(0)).toString('hex'));`;

  it('finds the .wasm from the package root, synchronously at import', () => {
    const dir = fakePackage(true);
    try {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe(nodeSeal(Buffer.alloc(32, 1), Buffer.alloc(12), Buffer.from('hi'), Buffer.alloc(0)).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at import with a clear message when the core is not built', () => {
    const dir = fakePackage(false);
    try {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/not built .*aes_gcm\.wasm is missing.*run `npm run build:wasm`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
