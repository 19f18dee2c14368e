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
