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

// IVs and blob nonces come from a pool refilled 4 KiB at a time: one CSPRNG call per hundreds of
// values instead of one each. Every value is a fresh copy of bytes that are handed out once and then
// wiped from the pool.
const IV_BYTES = 12;
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** n fresh random bytes (n at most 4 KiB) from the pool: for IVs and nonces, which are made per call. */
export function randomPooled(n: number): Buffer {
  if (n > POOL_BYTES) return nodeRandomBytes(n);
  if (poolOffset + n > pool.length) {
    pool = nodeRandomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n));
  pool.fill(0, poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

export function randomIv(): Buffer {
  return randomPooled(IV_BYTES);
}
