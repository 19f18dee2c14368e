// Kura's symmetric ciphertext blobs (docs/ciphertext-format.md documents them byte by byte).
//
// Version 2, what Encrypt writes:
//
//   offset  size  field
//   0       1     version = 0x02
//   1       1     flags (0; reserved, authenticated)
//   2       16    key ID (UUID bytes)
//   18      32    key material ID
//   50      32    nonce (random)
//   82      12    IV (random)
//   94      n     AES-256-GCM ciphertext, under the key derived for this blob
//   94+n    16    tag
//
// The AES-256-GCM key of a version-2 blob is not the key material but a key derived from it for this
// blob alone: KDF in counter mode with HMAC-SHA256 (NIST SP 800-108r1 §4.1, main/crypto/kdf.ts),
// Label "kura/blob/v2", Context = the 82-byte header (which carries the random nonce), L = 256 bits —
// as AWS KMS derives a per-request key from its key material. With the material used directly, random
// 96-bit IVs stay within SP 800-38D §8.3's bound (collision probability ≤ 2^-32) only up to 2^32
// encryptions per material; with a fresh key per blob, each key encrypts exactly once, and the limit
// becomes a collision of 256-bit nonces, which does not happen.
//
// Version 1 (before the derivation; still decrypted, never written):
//
//   0  1  version = 0x01 | 1  1  flags (0) | 2  16  key ID | 18  32  material ID | 50  12  IV |
//   62  n  AES-256-GCM ciphertext under the key material itself | 62+n  16  tag
//
// For both, AAD = header || encodeEncryptionContext(context): the header is authenticated, so a blob
// cannot be pointed at another key, material or nonce; the context is bound with an unambiguous
// encoding, so {"a":"bc"} and {"ab":"c"} do not authenticate each other.
import { KmsError } from '../common/errors.js';

export const BLOB_V1 = 1;
export const BLOB_V2 = 2;
/** The version Encrypt writes. */
export const BLOB_VERSION = BLOB_V2;

export const V1_HEADER_BYTES = 50;
export const V2_HEADER_BYTES = 82;
export const NONCE_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** How much longer than its plaintext a blob of the version Encrypt writes is. */
export const BLOB_OVERHEAD = V2_HEADER_BYTES + IV_BYTES + TAG_BYTES;
export const V1_BLOB_OVERHEAD = V1_HEADER_BYTES + IV_BYTES + TAG_BYTES;

/** SP 800-108 Label of the key derivation of version-2 blobs: what the derived key is for. */
export const BLOB_KDF_LABEL: Buffer = Buffer.from('kura/blob/v2', 'ascii');
/** L of that derivation, in bytes: an AES-256 key. */
export const BLOB_KEY_BYTES = 32;

export interface ParsedBlob {
  version: typeof BLOB_V1 | typeof BLOB_V2;
  keyId: string;
  materialId: string;
  /** The whole header, as authenticated (the first part of the AAD). */
  header: Buffer;
  /** The per-blob nonce of version 2; null in version 1. */
  nonce: Buffer | null;
  iv: Buffer;
  /** ciphertext || tag */
  sealed: Buffer;
}

const uuidToBytes = (id: string): Buffer => Buffer.from(id.replace(/-/g, ''), 'hex');
const bytesToUuid = (b: Buffer): string => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** The header of a version-2 blob: version, flags, key ID, material ID and the blob's random nonce. */
export function encodeHeader(keyId: string, materialId: string, nonce: Uint8Array): Buffer {
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`a version-2 blob needs a ${NONCE_BYTES}-byte nonce`);
  const header = Buffer.alloc(V2_HEADER_BYTES);
  header[0] = BLOB_V2;
  header[1] = 0;
  uuidToBytes(keyId).copy(header, 2);
  Buffer.from(materialId, 'hex').copy(header, 18);
  header.set(nonce, 50);
  return header;
}

/**
 * The SP 800-108 inputs of a version-2 blob's key. The Context is the whole header rather than the
 * nonce alone: the nonce already makes each key unique, and binding the key ID, material ID, version
 * and flags as well means that the same material bytes imported into two keys (BYOK allows it) never
 * yield the same derived key, and that a future version or flag cannot reuse this derivation.
 */
export function blobKeyDerivation(parsed: Pick<ParsedBlob, 'version' | 'header'>): { label: Buffer; context: Buffer; length: number } {
  if (parsed.version !== BLOB_V2) throw new RangeError('only version-2 blobs derive their key');
  return { label: BLOB_KDF_LABEL, context: parsed.header, length: BLOB_KEY_BYTES };
}

const invalidCiphertext = () => new KmsError('InvalidCiphertext', 'The ciphertext is invalid or was not produced by Kura.');

/**
 * Parses the header of a version-1 or version-2 blob. Anything else — another version, reserved flags
 * set, too short for its version's header, IV and tag — is InvalidCiphertextException.
 */
export function parseBlob(blob: Buffer): ParsedBlob {
  if (blob.length < 2 || blob[1] !== 0) throw invalidCiphertext();
  const version = blob[0];
  if (version === BLOB_V2) {
    if (blob.length < BLOB_OVERHEAD) throw invalidCiphertext();
    const header = blob.subarray(0, V2_HEADER_BYTES);
    return {
      version,
      header,
      keyId: bytesToUuid(header.subarray(2, 18)),
      materialId: header.subarray(18, 50).toString('hex'),
      nonce: header.subarray(50, 82),
      iv: blob.subarray(V2_HEADER_BYTES, V2_HEADER_BYTES + IV_BYTES),
      sealed: blob.subarray(V2_HEADER_BYTES + IV_BYTES),
    };
  }
  if (version === BLOB_V1) {
    if (blob.length < V1_BLOB_OVERHEAD) throw invalidCiphertext();
    const header = blob.subarray(0, V1_HEADER_BYTES);
    return {
      version,
      header,
      keyId: bytesToUuid(header.subarray(2, 18)),
      materialId: header.subarray(18, 50).toString('hex'),
      nonce: null,
      iv: blob.subarray(V1_HEADER_BYTES, V1_HEADER_BYTES + IV_BYTES),
      sealed: blob.subarray(V1_HEADER_BYTES + IV_BYTES),
    };
  }
  throw invalidCiphertext();
}

/**
 * Canonical encoding of an encryption context: u32be(count), then for each pair sorted by the UTF-8
 * bytes of its key: u32be(len key) || key || u32be(len value) || value.
 */
export function encodeEncryptionContext(context: Readonly<Record<string, string>> | undefined): Buffer {
  const pairs = Object.entries(context ?? {}).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  pairs.sort(([a], [b]) => Buffer.compare(a, b));
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(pairs.length));
  for (const [k, v] of pairs) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

export function blobAad(header: Buffer, context: Readonly<Record<string, string>> | undefined): Buffer {
  return Buffer.concat([header, encodeEncryptionContext(context)]);
}

export function assembleBlob(header: Buffer, iv: Buffer, sealed: Buffer): Buffer {
  return Buffer.concat([header, iv, sealed]);
}
