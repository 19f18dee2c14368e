// Kura's symmetric ciphertext blob, version 1:
//
//   offset  size  field
//   0       1     version = 0x01
//   1       1     flags (0; reserved, authenticated)
//   2       16    key ID (UUID bytes)
//   18      32    key material ID
//   50      12    IV
//   62      n     AES-256-GCM ciphertext
//   62+n    16    tag
//
// AAD = the 50-byte header || encodeEncryptionContext(context). The header is authenticated, so a
// blob cannot be pointed at another key or material; the context is bound with an unambiguous
// encoding, so {"a":"bc"} and {"ab":"c"} do not authenticate each other.
import { KmsError } from '../common/errors.js';

export const BLOB_VERSION = 1;
export const HEADER_BYTES = 50;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const BLOB_OVERHEAD = HEADER_BYTES + IV_BYTES + TAG_BYTES;

export interface BlobHeader {
  keyId: string;
  materialId: string;
  header: Buffer;
}

const uuidToBytes = (id: string): Buffer => Buffer.from(id.replace(/-/g, ''), 'hex');
const bytesToUuid = (b: Buffer): string => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export function encodeHeader(keyId: string, materialId: string): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = BLOB_VERSION;
  header[1] = 0;
  uuidToBytes(keyId).copy(header, 2);
  Buffer.from(materialId, 'hex').copy(header, 18);
  return header;
}

const invalidCiphertext = () => new KmsError('InvalidCiphertext', 'The ciphertext is invalid or was not produced by Kura.');

/** Parses the header; any blob that is not a well-formed version-1 blob is InvalidCiphertextException. */
export function parseBlob(blob: Buffer): BlobHeader & { iv: Buffer; sealed: Buffer } {
  if (blob.length < BLOB_OVERHEAD || blob[0] !== BLOB_VERSION || blob[1] !== 0) throw invalidCiphertext();
  const header = blob.subarray(0, HEADER_BYTES);
  return {
    header,
    keyId: bytesToUuid(header.subarray(2, 18)),
    materialId: header.subarray(18, 50).toString('hex'),
    iv: blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES),
    sealed: blob.subarray(HEADER_BYTES + IV_BYTES),
  };
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
