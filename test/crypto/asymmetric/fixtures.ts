// Key material shared by the tests of one file: generated once per spec on first use (RSA-4096 takes a
// second), never written anywhere but the tests' temporary directories; and small helpers the asymmetric
// tests share (bit flips, PEM, the expected AsymmetricInputError).
import { expect } from 'vitest';
import { AsymmetricInputError, generateKeyMaterialAsync, type KeyMaterial, type KeySpec } from '../../../main/crypto/asymmetric/index.js';

const cache = new Map<string, Promise<KeyMaterial>>();

/** The test file's key number `slot` of this spec (slot 1 is "another key of the same spec"). */
export function keyFor(spec: KeySpec, slot = 0): Promise<KeyMaterial> {
  const id = `${spec}#${slot}`;
  let key = cache.get(id);
  if (!key) {
    key = generateKeyMaterialAsync(spec);
    cache.set(id, key);
  }
  return key;
}

/** A copy with one bit flipped at `bit` (default: the lowest bit of the middle byte). */
export function flipBit(data: Uint8Array, bit = Math.floor(data.length / 2) * 8): Buffer {
  const copy = Buffer.from(data);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

export function derToPem(der: Uint8Array, label: 'PUBLIC KEY' | 'PRIVATE KEY'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Asserts that fn throws an AsymmetricInputError with this reason. */
export function expectReason(fn: () => unknown, reason: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AsymmetricInputError);
    expect((error as AsymmetricInputError).reason).toBe(reason);
    return;
  }
  throw new Error(`expected AsymmetricInputError '${reason}'`);
}
