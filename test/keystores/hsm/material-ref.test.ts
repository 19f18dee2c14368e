// The HSM key store's per-blob derivation input is part of the ciphertext format (docs/ciphertext-format.md,
// "Version 2 on an HSM token"): blobs written by one version of Kura must open in every later one, so the
// input is pinned here, both as a fixed value and rebuilt from the documented formula.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobKeyInput } from '../../../main/keystores/hsm/material-ref.js';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** 0x01 || H[0..15) || 0x02 || H[15..30), H = SHA-256("kura/hsm/blob-key/v2" || 0x00 || Label || 0x00 || Context || [L]_32). */
function documented(label: Buffer, context: Buffer, lengthBytes: number): Buffer {
  const fixedInput = Buffer.concat([label, Buffer.of(0), context, u32(lengthBytes * 8)]);
  const h = createHash('sha256').update('kura/hsm/blob-key/v2\0', 'ascii').update(fixedInput).digest();
  return Buffer.concat([Buffer.of(0x01), h.subarray(0, 15), Buffer.of(0x02), h.subarray(15, 30)]);
}

describe('blobKeyInput', () => {
  it('is the documented 32 bytes, unchanged from the format as first written', () => {
    const label = Buffer.from('kura/blob/v2');
    const context = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const input = blobKeyInput({ label, context, length: 32 });
    expect(input.toString('hex')).toBe('01f2aacff26a7d7afac9b10cfd479ffa023d8c331b2d49c6eef62724b5ba4d11');
    expect(input.equals(documented(label, context, 32))).toBe(true);
  });

  it('differs with every part of the derivation', () => {
    const label = Buffer.from('kura/xks/epoch');
    const context = Buffer.alloc(16, 7);
    const base = blobKeyInput({ label, context, length: 32 });
    expect(base.equals(documented(label, context, 32))).toBe(true);
    expect(blobKeyInput({ label: Buffer.from('kura/xks/epocH'), context, length: 32 }).equals(base)).toBe(false);
    expect(blobKeyInput({ label, context: Buffer.alloc(16, 8), length: 32 }).equals(base)).toBe(false);
    expect(blobKeyInput({ label, context, length: 16 }).equals(base)).toBe(false);
  });
});
