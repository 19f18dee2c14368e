// The XKS cipher AAD encoding and the ciphertext data integrity value, against the XKS Proxy API
// spec's own examples (aws/aws-kms-xksproxy-api-spec, xks_proxy_api_spec.md v1.0.3: the Encrypt
// section's request/response example and Appendix C's worked CDIV, 86 bytes hashing to
// qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ciphertextDataIntegrityValue, encodeCipherAad } from '../../../main/api/xks/aad.js';

// Source: XKS Proxy API spec v1.0.3, Encrypt example and Appendix C.
const SPEC = {
  aad: Buffer.from('cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n', 'base64'),
  ciphertextMetadata: Buffer.from('a2V5X3ZlcnNpb249MQ==', 'base64'),
  iv: Buffer.from('HMrlRw85cAJUd5Ax', 'base64'),
  ciphertext: Buffer.from('ghxkK1txeDNn3q8Y', 'base64'),
  tag: Buffer.from('vBxN2ncH1oEkR8WVXpmyYQ==', 'base64'),
  cdiv: 'qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=',
  cdivHex: 'a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7',
};

describe('XKS spec example values', () => {
  it('decode to the texts and sizes the spec states', () => {
    expect(SPEC.aad.toString('utf8')).toBe('project=nile,department=marketing');
    expect(SPEC.ciphertextMetadata.toString('utf8')).toBe('key_version=1');
    expect([SPEC.aad.length, SPEC.ciphertextMetadata.length, SPEC.iv.length, SPEC.ciphertext.length, SPEC.tag.length]).toEqual([33, 13, 12, 12, 16]);
  });
});

describe('ciphertextDataIntegrityValue', () => {
  it('matches the spec vector (Appendix C)', () => {
    const cdiv = ciphertextDataIntegrityValue(SPEC);
    expect(cdiv).toBe(SPEC.cdiv);
    expect(Buffer.from(cdiv, 'base64').toString('hex')).toBe(SPEC.cdivHex);
  });

  it('leaves out an absent AAD or ciphertextMetadata (the empty string)', () => {
    const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('base64');
    const { aad, ciphertextMetadata, iv, ciphertext, tag } = SPEC;
    expect(ciphertextDataIntegrityValue({ iv, ciphertext, tag })).toBe(sha(iv, ciphertext, tag));
    expect(ciphertextDataIntegrityValue({ aad, iv, ciphertext, tag })).toBe(sha(aad, iv, ciphertext, tag));
    expect(ciphertextDataIntegrityValue({ ciphertextMetadata, iv, ciphertext, tag })).toBe(sha(ciphertextMetadata, iv, ciphertext, tag));
    // No lengths in the CDIV (Appendix C): an empty AAD is the same as none.
    expect(ciphertextDataIntegrityValue({ aad: Buffer.alloc(0), iv, ciphertext, tag })).toBe(sha(iv, ciphertext, tag));
  });
});

describe('encodeCipherAad', () => {
  it('is u16be(len aad) || aad || u8(len cm) || cm for the spec example', () => {
    const encoded = encodeCipherAad(SPEC.aad, SPEC.ciphertextMetadata);
    expect(encoded.toString('hex')).toBe(`0021${SPEC.aad.toString('hex')}0d${SPEC.ciphertextMetadata.toString('hex')}`);
    expect(encoded.length).toBe(2 + 33 + 1 + 13);
  });

  it('gives an absent field length zero', () => {
    expect(encodeCipherAad(undefined, undefined).toString('hex')).toBe('000000');
    expect(encodeCipherAad(SPEC.aad, undefined).toString('hex')).toBe(`0021${SPEC.aad.toString('hex')}00`);
    expect(encodeCipherAad(undefined, SPEC.ciphertextMetadata).toString('hex')).toBe(`00000d${SPEC.ciphertextMetadata.toString('hex')}`);
  });

  it('tells metadata moved into the AAD from metadata (the spec case the lengths exist for)', () => {
    const m = SPEC.ciphertextMetadata;
    expect(encodeCipherAad(m, undefined).equals(encodeCipherAad(undefined, m))).toBe(false);
  });

  it('encodes the largest AAD the spec requires (8,192 bytes) big-endian, and refuses what a prefix cannot hold', () => {
    const big = Buffer.alloc(8192, 7);
    const encoded = encodeCipherAad(big, undefined);
    expect(encoded.readUInt16BE(0)).toBe(8192);
    expect(encoded.subarray(0, 2).toString('hex')).toBe('2000');
    expect(encoded.length).toBe(8192 + 3);
    expect(() => encodeCipherAad(Buffer.alloc(0x10000), undefined)).toThrow(RangeError);
    expect(() => encodeCipherAad(undefined, Buffer.alloc(21))).toThrow(RangeError);
  });
});
