// Key material shared by the tests of one file: generated once per spec on first use (RSA-4096 takes a
// second), never written anywhere but the tests' temporary directories; and small helpers the asymmetric
// tests share (bit flips, PEM, the expected AsymmetricInputError, EC keys written by hand).
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'vitest';
import { OID, contextTag, encodeAlgorithmIdentifier, encodeBitString, encodeOctetString, encodePkcs8, encodeSequence, encodeTlv, encodeUnsignedInteger } from '../../../main/crypto/asymmetric/der.js';
import { AsymmetricInputError, generateKeyMaterialAsync, type KeyMaterial, type KeySpec } from '../../../main/crypto/asymmetric/index.js';

const cache = new Map<string, Promise<KeyMaterial>>();

/** The test file's key number `slot` of this spec (slot 1 is "another key of the same spec"). */
export function keyFor(spec: KeySpec, slot = 0): Promise<KeyMaterial> {
  const id = `${spec}#${slot}`;
  let key = cache.get(id);
  if (!key) {
    key = generateKeyMaterialAsync(spec);
    cache.set(id, key);
  }
  return key;
}

/** A copy with one bit flipped at `bit` (default: the lowest bit of the middle byte). */
export function flipBit(data: Uint8Array, bit = Math.floor(data.length / 2) * 8): Buffer {
  const copy = Buffer.from(data);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

export function derToPem(der: Uint8Array, label: 'PUBLIC KEY' | 'PRIVATE KEY'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Asserts that fn throws an AsymmetricInputError with this reason. */
export function expectReason(fn: () => unknown, reason: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AsymmetricInputError);
    expect((error as AsymmetricInputError).reason).toBe(reason);
    return;
  }
  throw new Error(`expected AsymmetricInputError '${reason}'`);
}

const NIST_CURVES = {
  ECC_NIST_P256: { nodeName: 'prime256v1', oid: OID.prime256v1 },
  ECC_NIST_P384: { nodeName: 'secp384r1', oid: OID.secp384r1 },
  ECC_NIST_P521: { nodeName: 'secp521r1', oid: OID.secp521r1 },
} as const;
export type NistSpec = keyof typeof NIST_CURVES;

/** The parts of a fresh P-256/384/521 key from Node: the scalar, the point both ways, and its SPKI. */
export function nistKeyParts(spec: NistSpec): { d: Buffer; point: Buffer; compressedPoint: Buffer; spki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: NIST_CURVES[spec].nodeName });
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string; y: string };
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  return {
    d: Buffer.from(jwk.d, 'base64url'),
    point: Buffer.concat([Buffer.from([4]), x, y]),
    compressedPoint: Buffer.concat([Buffer.from([2 | (y[y.length - 1]! & 1)]), x]),
    spki: publicKey.export({ format: 'der', type: 'spki' }),
  };
}

/**
 * A P-256/384/521 PKCS#8 with an RFC 5915 ECPrivateKey written by hand, for what Node never writes: a
 * scalar with leading zero bytes, another key's point, a compressed point.
 */
export function nistPkcs8(spec: NistSpec, d: Uint8Array, publicPoint: Uint8Array): Buffer {
  const inner = encodeSequence(encodeUnsignedInteger(1n), encodeOctetString(d), encodeTlv(contextTag(1, true), encodeBitString(publicPoint)));
  return encodePkcs8(encodeAlgorithmIdentifier(OID.ecPublicKey, NIST_CURVES[spec].oid), inner);
}
