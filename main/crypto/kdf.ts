// Key derivation: the KDF in counter mode of NIST SP 800-108r1 (section 4.1, "KDF in Counter Mode"),
// with HMAC-SHA256 as the PRF (h = 256) and a 32-bit counter (r = 32) placed before the fixed input:
//
//   n     = ⌈L / h⌉                       (at most 2^r − 1 blocks)
//   K(i)  = HMAC-SHA256(K_IN, [i]_32 || FixedInput)      for i = 1 … n, i as a 32-bit big-endian integer
//   K_OUT = the leftmost L bits of K(1) || … || K(n)
//
// with the fixed input SP 800-108r1 section 4 describes: Label || 0x00 || Context || [L]_32.
// This is the KDF AWS KMS uses to derive a fresh key per ciphertext from its key material; Kura does the
// same for ciphertext blobs of version 2 (main/kms/ciphertext.ts, docs/ciphertext-format.md).
//
// Tested against NIST CAVP's KBKDF vectors (counter mode, HMAC_SHA256, BEFORE_FIXED, RLEN=32_BITS) in
// test/crypto/kdf.test.ts. node:crypto computes the HMAC: it keeps its own copy of K_IN inside the Hmac
// object for the length of one derivation; every K(i) we receive is wiped once copied out.
import { createHmac } from 'node:crypto';
import { zeroize } from './bytes.js';

/** h: the output length of the PRF, in bytes. */
const PRF_BYTES = 32;
/** [L]_32 and [i]_32 are 32-bit fields, so L < 2^32 bits (and then n < 2^32 − 1 holds as well). */
const MAX_OUTPUT_BYTES = Math.floor(0xffff_ffff / 8);

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function checkLength(outputBytes: number): void {
  if (!Number.isInteger(outputBytes) || outputBytes < 1 || outputBytes > MAX_OUTPUT_BYTES) {
    throw new RangeError(`SP 800-108 counter mode with a 32-bit length field derives 1 to ${MAX_OUTPUT_BYTES} bytes, not ${outputBytes}`);
  }
}

/**
 * The counter-mode KDF over opaque fixed input data (the form NIST's CAVP vectors give it in):
 * outputBytes of K(1) || K(2) || … with K(i) = HMAC-SHA256(key, [i]_32 || fixedInput).
 * Kura derives its keys through deriveKey(), which builds the fixed input; this is its core.
 */
export function kbkdfCounterHmacSha256(key: Uint8Array, fixedInput: Uint8Array, outputBytes: number): Buffer {
  if (key.length === 0) throw new RangeError('SP 800-108 needs a key-derivation key (K_IN) of at least one byte');
  checkLength(outputBytes);
  const out = Buffer.alloc(outputBytes);
  const blocks = Math.ceil(outputBytes / PRF_BYTES);
  // [i]_32 || FixedInput in one buffer, the counter rewritten per block: one update per HMAC.
  const input = Buffer.alloc(4 + fixedInput.length);
  input.set(fixedInput, 4);
  for (let i = 1; i <= blocks; i++) {
    input.writeUInt32BE(i, 0);
    const block = createHmac('sha256', key).update(input).digest();
    // The last block may be longer than what is left: only its leftmost bytes are output.
    block.copy(out, (i - 1) * PRF_BYTES, 0, Math.min(PRF_BYTES, outputBytes - (i - 1) * PRF_BYTES));
    zeroize(block);
  }
  return out;
}

/** The fixed input of SP 800-108r1 section 4: Label || 0x00 || Context || [L]_32, L in bits. */
export function sp800108FixedInput(label: Uint8Array, context: Uint8Array, outputBytes: number): Buffer {
  checkLength(outputBytes);
  return Buffer.concat([label, Buffer.of(0x00), context, u32(outputBytes * 8)]);
}

/**
 * Derives outputBytes of key from a key-derivation key, a label (what the key is for) and a context
 * (whose it is): KBKDF in counter mode, HMAC-SHA256, fixed input Label || 0x00 || Context || [L]_32.
 * The caller owns the result and wipes it when done.
 */
export function deriveKey(key: Uint8Array, label: Uint8Array, context: Uint8Array, outputBytes: number): Buffer {
  return kbkdfCounterHmacSha256(key, sp800108FixedInput(label, context, outputBytes), outputBytes);
}
