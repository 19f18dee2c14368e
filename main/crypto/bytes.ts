// Byte helpers that security code relies on: wiping, constant-time comparison, randomness.
import { randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';

/** Overwrites a buffer that held secret bytes. */
export function zeroize(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

/** Compares in time that depends only on the lengths, never on where the bytes differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export function randomBytes(n: number): Buffer {
  return nodeRandomBytes(n);
}

// IVs come from a pool refilled 4 KiB at a time: one CSPRNG call per 341 IVs instead of one each.
// Every IV is a fresh copy of bytes that are handed out once and then wiped from the pool.
const IV_BYTES = 12;
const POOL_BYTES = IV_BYTES * 341;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

export function randomIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = nodeRandomBytes(POOL_BYTES);
    ivOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + IV_BYTES));
  ivPool.fill(0, ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}
