// The bytes the XKS proxy binds into AES-GCM, and the ciphertext data integrity value (CDIV).
//
// Cipher AAD (XKS Proxy API v1.0.3, "Encrypt", ciphertextMetadata): u16be(len AAD) || AAD ||
// u8(len ciphertextMetadata) || ciphertextMetadata, over the Base64-decoded values, a missing field
// counting as zero bytes with length zero. The lengths make "no AAD, metadata M" differ from "AAD M,
// no metadata", so a caller cannot move metadata into the AAD and still decrypt, and they bind the
// ciphertextMetadata under the tag, so a modified one fails decryption.
//
// CDIV (Appendix C): Base64(SHA-256(AAD || ciphertextMetadata || IV || ciphertext || tag)), the AAD as
// the encrypt request sent it and the rest as the response returns them; no lengths here, since the
// value only guards against accidental bit flips. It is computed before the verifying decrypt, so that
// output corrupted after the check cannot carry a matching value.
import { createHash } from 'node:crypto';
import { base64Of, type Base64 } from '../http.js';

/** Largest AAD the 2-byte length prefix can carry (the spec requires at least 8,192). */
export const MAX_AAD_BYTES = 0xffff;
/** The spec's bound on ciphertextMetadata, before Base64. */
export const MAX_CIPHERTEXT_METADATA_BYTES = 20;

const EMPTY = new Uint8Array(0);

export function encodeCipherAad(aad: Uint8Array | undefined, ciphertextMetadata: Uint8Array | undefined): Buffer {
  const a = aad ?? EMPTY;
  const m = ciphertextMetadata ?? EMPTY;
  // Callers validate both first; a length the prefix cannot hold must never be truncated silently.
  if (a.length > MAX_AAD_BYTES) throw new RangeError('AAD longer than a 2-byte length can carry');
  if (m.length > MAX_CIPHERTEXT_METADATA_BYTES) throw new RangeError('ciphertextMetadata longer than 20 bytes');
  const out = Buffer.alloc(2 + a.length + 1 + m.length);
  out.writeUInt16BE(a.length, 0);
  out.set(a, 2);
  out.writeUInt8(m.length, 2 + a.length);
  out.set(m, 3 + a.length);
  return out;
}

export interface CdivInput {
  /** The encrypt request's additionalAuthenticatedData (decoded), if it had one. */
  aad?: Uint8Array;
  /** The response's ciphertextMetadata (decoded), if it has one. */
  ciphertextMetadata?: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

/** The SHA_256 ciphertextDataIntegrityValue, Base64-encoded. */
export function ciphertextDataIntegrityValue(input: CdivInput): Base64 {
  const h = createHash('sha256');
  if (input.aad) h.update(input.aad);
  if (input.ciphertextMetadata) h.update(input.ciphertextMetadata);
  h.update(input.iv);
  h.update(input.ciphertext);
  h.update(input.tag);
  return base64Of(h.digest());
}
