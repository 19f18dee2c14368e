// Kura's ciphertext blobs (main/kms/ciphertext.ts, docs/ciphertext-format.md): the header layouts of
// version 2 (written) and version 1 (still read), refusal of malformed blobs, the key-derivation inputs
// of version 2, and the unambiguous encryption-context encoding bound as AAD.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../main/common/errors.js';
import {
  BLOB_KDF_LABEL,
  BLOB_KEY_BYTES,
  BLOB_OVERHEAD,
  BLOB_V1,
  BLOB_V2,
  BLOB_VERSION,
  NONCE_BYTES,
  V1_BLOB_OVERHEAD,
  V1_HEADER_BYTES,
  V2_HEADER_BYTES,
  assembleBlob,
  blobAad,
  blobKeyDerivation,
  encodeEncryptionContext,
  encodeHeader,
  parseBlob,
} from '../../main/kms/ciphertext.js';

const materialId = () => randomBytes(32).toString('hex');
const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');

function blob(plaintextLength = 5): { keyId: string; mid: string; nonce: Buffer; bytes: Buffer; iv: Buffer; sealed: Buffer } {
  const keyId = randomUUID();
  const mid = materialId();
  const nonce = randomBytes(NONCE_BYTES);
  const iv = randomBytes(12);
  const sealed = randomBytes(plaintextLength + 16);
  return { keyId, mid, nonce, iv, sealed, bytes: assembleBlob(encodeHeader(keyId, mid, nonce), iv, sealed) };
}

/** A version-1 blob, laid out by hand from the documented format (Kura no longer writes them). */
function v1Blob(plaintextLength = 5): { keyId: string; mid: string; header: Buffer; bytes: Buffer; iv: Buffer; sealed: Buffer } {
  const keyId = randomUUID();
  const mid = materialId();
  const header = Buffer.concat([Buffer.of(1, 0), uuidBytes(keyId), Buffer.from(mid, 'hex')]);
  const iv = randomBytes(12);
  const sealed = randomBytes(plaintextLength + 16);
  return { keyId, mid, header, iv, sealed, bytes: Buffer.concat([header, iv, sealed]) };
}

function expectInvalidCiphertext(bytes: Buffer): void {
  let thrown: unknown;
  try {
    parseBlob(bytes);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(KmsError);
  expect((thrown as KmsError).code).toBe('InvalidCiphertext');
}

describe('ciphertext blob, version 2', () => {
  it('is what Encrypt writes, 110 bytes longer than its plaintext', () => {
    expect(BLOB_VERSION).toBe(BLOB_V2);
    expect(BLOB_V2).toBe(2);
    expect(V2_HEADER_BYTES).toBe(82);
    expect(BLOB_OVERHEAD).toBe(82 + 12 + 16);
    // The API model's CiphertextBlob holds at most 6144 bytes; Encrypt takes at most 4096.
    expect(4096 + BLOB_OVERHEAD).toBeLessThanOrEqual(6144);
  });

  it('encodes version, flags, key ID, material ID and nonce at their offsets', () => {
    const keyId = randomUUID();
    const mid = materialId();
    const nonce = randomBytes(NONCE_BYTES);
    const h = encodeHeader(keyId, mid, nonce);
    expect(h.length).toBe(V2_HEADER_BYTES);
    expect(h[0]).toBe(2);
    expect(h[1]).toBe(0);
    expect(h.subarray(2, 18).toString('hex')).toBe(keyId.replace(/-/g, ''));
    expect(h.subarray(18, 50).toString('hex')).toBe(mid);
    expect(h.subarray(50, 82).equals(nonce)).toBe(true);
  });

  it('refuses a nonce that is not 32 bytes', () => {
    expect(() => encodeHeader(randomUUID(), materialId(), randomBytes(31))).toThrow(RangeError);
    expect(() => encodeHeader(randomUUID(), materialId(), randomBytes(33))).toThrow(RangeError);
  });

  it('round-trips through parseBlob', () => {
    const b = blob();
    const parsed = parseBlob(b.bytes);
    expect(parsed.version).toBe(2);
    expect(parsed.keyId).toBe(b.keyId);
    expect(parsed.materialId).toBe(b.mid);
    expect(parsed.header.equals(encodeHeader(b.keyId, b.mid, b.nonce))).toBe(true);
    expect(parsed.nonce!.equals(b.nonce)).toBe(true);
    expect(parsed.iv.equals(b.iv)).toBe(true);
    expect(parsed.sealed.equals(b.sealed)).toBe(true);
  });

  it('parses the shortest well-formed blob (empty ciphertext, tag only)', () => {
    const b = blob(0);
    expect(b.bytes.length).toBe(BLOB_OVERHEAD);
    expect(parseBlob(b.bytes).sealed.length).toBe(16);
  });

  it('refuses blobs shorter than header + IV + tag', () => {
    const b = blob(0).bytes;
    expectInvalidCiphertext(b.subarray(0, BLOB_OVERHEAD - 1));
    expectInvalidCiphertext(b.subarray(0, V2_HEADER_BYTES));
    // A version-2 blob cut to a version-1 blob's length is not read as version 1.
    expectInvalidCiphertext(b.subarray(0, V1_BLOB_OVERHEAD + 10));
    expectInvalidCiphertext(Buffer.of(BLOB_V2));
  });

  it('refuses reserved flags', () => {
    for (const f of [1, 0x80]) {
      const b = blob().bytes;
      b[1] = f;
      expectInvalidCiphertext(b);
    }
  });

  it('derives its key with Label "kura/blob/v2", Context = the whole 82-byte header, L = 256 bits', () => {
    const b = blob();
    const parsed = parseBlob(b.bytes);
    const kdf = blobKeyDerivation(parsed);
    expect(kdf.label.toString('latin1')).toBe('kura/blob/v2');
    expect(kdf.label.equals(BLOB_KDF_LABEL)).toBe(true);
    expect(kdf.context.equals(b.bytes.subarray(0, 82))).toBe(true);
    expect(kdf.length).toBe(32);
    expect(BLOB_KEY_BYTES).toBe(32);
  });

  it('binds the header into the AAD ahead of the context', () => {
    const h = encodeHeader(randomUUID(), materialId(), randomBytes(NONCE_BYTES));
    const aad = blobAad(h, { a: 'b' });
    expect(aad.subarray(0, V2_HEADER_BYTES).equals(h)).toBe(true);
    expect(aad.subarray(V2_HEADER_BYTES).equals(encodeEncryptionContext({ a: 'b' }))).toBe(true);
  });
});

describe('ciphertext blob, version 1 (read only)', () => {
  it('parses version, key ID, material ID, IV and sealed data at their offsets, with no nonce', () => {
    const b = v1Blob();
    const parsed = parseBlob(b.bytes);
    expect(parsed.version).toBe(BLOB_V1);
    expect(parsed.keyId).toBe(b.keyId);
    expect(parsed.materialId).toBe(b.mid);
    expect(parsed.header.equals(b.header)).toBe(true);
    expect(parsed.header.length).toBe(V1_HEADER_BYTES);
    expect(parsed.nonce).toBeNull();
    expect(parsed.iv.equals(b.iv)).toBe(true);
    expect(parsed.sealed.equals(b.sealed)).toBe(true);
    expect(() => blobKeyDerivation(parsed)).toThrow(RangeError);
  });

  it('parses the shortest well-formed blob and refuses shorter ones', () => {
    const b = v1Blob(0).bytes;
    expect(b.length).toBe(V1_BLOB_OVERHEAD);
    expect(V1_BLOB_OVERHEAD).toBe(78);
    expect(parseBlob(b).sealed.length).toBe(16);
    expectInvalidCiphertext(b.subarray(0, V1_BLOB_OVERHEAD - 1));
    expectInvalidCiphertext(b.subarray(0, V1_HEADER_BYTES));
    expectInvalidCiphertext(Buffer.of(BLOB_V1));
    expectInvalidCiphertext(Buffer.alloc(0));
  });

  it('refuses reserved flags', () => {
    for (const f of [1, 0x80]) {
      const b = v1Blob().bytes;
      b[1] = f;
      expectInvalidCiphertext(b);
    }
  });
});

describe('blob versions', () => {
  it('refuses every version but 1 and 2', () => {
    for (const v of [0, 3, 0x7f, 0xff]) {
      const b = blob(64).bytes;
      b[0] = v;
      expectInvalidCiphertext(b);
    }
  });
});

describe('encodeEncryptionContext', () => {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };

  it('is independent of the order the pairs were given in', () => {
    const a = encodeEncryptionContext({ purpose: 'backup', tenant: 't-1', 'aws:x': 'y' });
    const b = encodeEncryptionContext({ tenant: 't-1', 'aws:x': 'y', purpose: 'backup' });
    expect(a.equals(b)).toBe(true);
  });

  it('distinguishes {"a":"bc"} from {"ab":"c"} (length-prefixed keys and values)', () => {
    expect(encodeEncryptionContext({ a: 'bc' }).equals(encodeEncryptionContext({ ab: 'c' }))).toBe(false);
    expect(encodeEncryptionContext({ a: '', b: '' }).equals(encodeEncryptionContext({ ab: '' }))).toBe(false);
    expect(encodeEncryptionContext({ a: 'b' }).equals(encodeEncryptionContext({ a: 'b', '': '' }))).toBe(false);
  });

  it('has the documented byte layout', () => {
    expect(encodeEncryptionContext({ a: 'bc' }).equals(Buffer.concat([u32(1), u32(1), Buffer.from('a'), u32(2), Buffer.from('bc')]))).toBe(true);
  });

  it('encodes {} and undefined the same way (no context)', () => {
    expect(encodeEncryptionContext({}).equals(encodeEncryptionContext(undefined))).toBe(true);
    expect(encodeEncryptionContext(undefined).equals(u32(0))).toBe(true);
  });

  it('sorts keys by their UTF-8 bytes, not by UTF-16 code units', () => {
    // U+FF61 is EF BD A1 in UTF-8 and 0xFF61 in UTF-16; U+1F600 is F0 9F 98 80 in UTF-8 but starts
    // with the surrogate 0xD83D in UTF-16. UTF-8 order puts U+FF61 first; UTF-16 order would not.
    const halfwidth = '\uFF61';
    const emoji = '\u{1F600}';
    expect(emoji < halfwidth).toBe(true); // JavaScript string order is UTF-16 order
    const enc = encodeEncryptionContext({ [emoji]: '1', [halfwidth]: '2', z: '3' });
    const hw = Buffer.from(halfwidth, 'utf8');
    const em = Buffer.from(emoji, 'utf8');
    const expected = Buffer.concat([
      u32(3),
      u32(1), Buffer.from('z'), u32(1), Buffer.from('3'),
      u32(hw.length), hw, u32(1), Buffer.from('2'),
      u32(em.length), em, u32(1), Buffer.from('1'),
    ]);
    expect(enc.toString('hex')).toBe(expected.toString('hex'));
  });

  it('length-prefixes in bytes, not characters', () => {
    const enc = encodeEncryptionContext({ 'é': '\u{1F600}' });
    expect(enc.equals(Buffer.concat([u32(1), u32(2), Buffer.from('é'), u32(4), Buffer.from('\u{1F600}')]))).toBe(true);
  });
});
