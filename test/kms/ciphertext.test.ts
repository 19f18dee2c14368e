// Kura's ciphertext blob (main/kms/ciphertext.ts): header layout, refusal of malformed blobs, and the
// unambiguous encryption-context encoding bound as AAD.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../main/common/errors.js';
import { BLOB_OVERHEAD, BLOB_VERSION, HEADER_BYTES, assembleBlob, blobAad, encodeEncryptionContext, encodeHeader, parseBlob } from '../../main/kms/ciphertext.js';

const materialId = () => randomBytes(32).toString('hex');

function blob(plaintextLength = 5): { keyId: string; mid: string; bytes: Buffer; iv: Buffer; sealed: Buffer } {
  const keyId = randomUUID();
  const mid = materialId();
  const iv = randomBytes(12);
  const sealed = randomBytes(plaintextLength + 16);
  return { keyId, mid, iv, sealed, bytes: assembleBlob(encodeHeader(keyId, mid), iv, sealed) };
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

describe('ciphertext header', () => {
  it('encodes version, flags, key ID and material ID at their offsets', () => {
    const keyId = randomUUID();
    const mid = materialId();
    const h = encodeHeader(keyId, mid);
    expect(h.length).toBe(HEADER_BYTES);
    expect(h[0]).toBe(BLOB_VERSION);
    expect(h[1]).toBe(0);
    expect(h.subarray(2, 18).toString('hex')).toBe(keyId.replace(/-/g, ''));
    expect(h.subarray(18, 50).toString('hex')).toBe(mid);
  });

  it('round-trips through parseBlob', () => {
    const b = blob();
    const parsed = parseBlob(b.bytes);
    expect(parsed.keyId).toBe(b.keyId);
    expect(parsed.materialId).toBe(b.mid);
    expect(parsed.header.equals(encodeHeader(b.keyId, b.mid))).toBe(true);
    expect(parsed.iv.equals(b.iv)).toBe(true);
    expect(parsed.sealed.equals(b.sealed)).toBe(true);
  });

  it('parses the shortest well-formed blob (empty ciphertext, tag only)', () => {
    const b = blob(0);
    expect(b.bytes.length).toBe(BLOB_OVERHEAD);
    expect(parseBlob(b.bytes).sealed.length).toBe(16);
  });

  it('refuses a blob with another version', () => {
    for (const v of [0, 2, 0xff]) {
      const b = blob().bytes;
      b[0] = v;
      expectInvalidCiphertext(b);
    }
  });

  it('refuses a blob with reserved flags set', () => {
    for (const f of [1, 0x80]) {
      const b = blob().bytes;
      b[1] = f;
      expectInvalidCiphertext(b);
    }
  });

  it('refuses blobs shorter than header + IV + tag', () => {
    const b = blob(0).bytes;
    expectInvalidCiphertext(b.subarray(0, BLOB_OVERHEAD - 1));
    expectInvalidCiphertext(b.subarray(0, HEADER_BYTES));
    expectInvalidCiphertext(Buffer.alloc(0));
    expectInvalidCiphertext(Buffer.of(BLOB_VERSION));
  });

  it('binds the header into the AAD ahead of the context', () => {
    const h = encodeHeader(randomUUID(), materialId());
    const aad = blobAad(h, { a: 'b' });
    expect(aad.subarray(0, HEADER_BYTES).equals(h)).toBe(true);
    expect(aad.subarray(HEADER_BYTES).equals(encodeEncryptionContext({ a: 'b' }))).toBe(true);
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
