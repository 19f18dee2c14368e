// Elliptic curve key material for the Weierstrass curves: P-256/384/521 (ECC_NIST_*), secp256k1
// (ECC_SECG_P256K1) and SM2 (SM2, GB/T 32918). The curves table, generation, the public key of a
// private key, and the strict loaders of the private scalar and the public point that sign.ts,
// ecdh.ts and handles.ts use. SM2's curve arithmetic is in sm2.ts; its keys are EC keys like the others.
//
// Formats: the public key is an SPKI with id-ecPublicKey, the named curve OID (P-256/384/521,
// secp256k1, and SM2's 1.2.156.10197.1.301; RFC 5480) and the uncompressed point, as GetPublicKey
// returns it. The private key is PKCS#8 carrying an RFC 5915 ECPrivateKey with the public point
// (OpenSSL's layout); an embedded point must be the scalar's own.
//
// Node's crypto (OpenSSL in Node, BoringSSL in Electron) generates P-256/384/521 keys and uses them
// through node-keys.ts. secp256k1 (absent from BoringSSL) and SM2 go through @noble/curves and Kura's
// SM2 everywhere, so Node and Electron behave the same; the loaders below use noble for every curve.
import { generateKeyPair, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { DerError, OID, encodeAlgorithmIdentifier, encodeEcPrivateKey, encodePkcs8, encodeSpki, parseEcPrivateKey } from './der.js';
import { AsymmetricInputError } from './errors.js';
import {
  PKCS8_DER,
  SPKI_DER,
  badPrivateKey,
  badPublicKey,
  curveOidOf,
  nodeKeyPairDone,
  pkcs8,
  specInfo,
  spki,
  type KeyMaterial,
} from './key-common.js';
import { sm2GeneratePrivateScalar, sm2PointFromBytes, sm2PublicPoint, SM2_SCALAR_BYTES } from './sm2.js';
import type { CurveName, KeySpec, KeySpecInfo } from './specs.js';

export interface EcCurve {
  oid: string;
  /** Name in Node's asymmetricKeyDetails (undefined: Node is not used for this curve). */
  nodeName?: string;
  /** Field (and scalar) length in bytes. */
  bytes: number;
}

export const EC_CURVES: Readonly<Record<Exclude<CurveName, 'Ed25519'>, EcCurve>> = {
  'P-256': { oid: OID.prime256v1, nodeName: 'prime256v1', bytes: 32 },
  'P-384': { oid: OID.secp384r1, nodeName: 'secp384r1', bytes: 48 },
  'P-521': { oid: OID.secp521r1, nodeName: 'secp521r1', bytes: 66 },
  secp256k1: { oid: OID.secp256k1, bytes: 32 },
  SM2: { oid: OID.sm2, bytes: SM2_SCALAR_BYTES },
};

/** The noble ECDSA implementation of a Weierstrass curve other than SM2. */
export const NOBLE_ECDSA = { 'P-256': p256, 'P-384': p384, 'P-521': p521, secp256k1 } as const;

export function ecCurveOf(spec: KeySpec): { name: Exclude<CurveName, 'Ed25519'>; curve: EcCurve } {
  const name = specInfo(spec).curve;
  if (!name || name === 'Ed25519') throw new AsymmetricInputError('unsupported-key-spec', `${spec} is not an elliptic curve key spec.`);
  return { name, curve: EC_CURVES[name] };
}

// ---------------------------------------------------------------------------------------------------
// Generation and the public key of a private key

/** P-256/384/521 key material from Node. */
export function generateNistKeyMaterial(info: Readonly<KeySpecInfo>): KeyMaterial {
  return generateKeyPairSync('ec', { namedCurve: EC_CURVES[info.curve as 'P-256'].nodeName!, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER });
}

/** Like generateNistKeyMaterial, on libuv's thread pool instead of the event loop. */
export function generateNistKeyMaterialAsync(info: Readonly<KeySpecInfo>): Promise<KeyMaterial> {
  return new Promise((resolve, reject) =>
    generateKeyPair('ec', { namedCurve: EC_CURVES[info.curve as 'P-256'].nodeName!, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }, nodeKeyPairDone(resolve, reject)),
  );
}

/** secp256k1 or SM2 key material from noble / Kura's SM2; the generated scalar is wiped. */
export function generateNobleEcKeyMaterial(spec: KeySpec, family: 'ecc-secg' | 'sm2'): KeyMaterial {
  const d = family === 'sm2' ? sm2GeneratePrivateScalar() : secp256k1.utils.randomSecretKey();
  try {
    return ecKeyMaterial(spec, d, family === 'sm2' ? sm2PublicPoint(d) : secp256k1.getPublicKey(d, false));
  } finally {
    d.fill(0);
  }
}

function ecKeyMaterial(spec: KeySpec, d: Uint8Array, publicPoint: Uint8Array): KeyMaterial {
  const algorithm = encodeAlgorithmIdentifier(OID.ecPublicKey, ecCurveOf(spec).curve.oid);
  const inner = encodeEcPrivateKey(d, publicPoint);
  try {
    return { privateKey: encodePkcs8(algorithm, inner), publicKey: encodeSpki(algorithm, publicPoint) };
  } finally {
    inner.fill(0);
  }
}

/**
 * The SPKI of a private key of any Weierstrass spec, checked by ecPrivateScalar: its scalar's own point,
 * uncompressed, whichever form the PKCS#8 embedded it in (RFC 5915 allows a compressed one, which
 * Node would hand back as it is), so that imported keys publish what generated keys do.
 */
export function ecPublicKeyOf(spec: KeySpec, privateKey: Uint8Array): Buffer {
  const { d, point } = ecPrivateKeyParts(spec, privateKey);
  d.fill(0);
  return encodeSpki(encodeAlgorithmIdentifier(OID.ecPublicKey, ecCurveOf(spec).curve.oid), point);
}

// ---------------------------------------------------------------------------------------------------
// Loaders (used by sign.ts, ecdh.ts, handles.ts, node-keys.ts; not part of the public API)

/**
 * A copy of the private scalar of an EC key (any Weierstrass spec), left-padded to the field length and
 * checked against the curve (and against the embedded public point, when there is one). The caller wipes it.
 */
export function ecPrivateScalar(spec: KeySpec, der: Uint8Array): Buffer {
  return ecPrivateKeyParts(spec, der).d;
}

/** ecPrivateScalar, and the scalar's public point (uncompressed). */
function ecPrivateKeyParts(spec: KeySpec, der: Uint8Array): { d: Buffer; point: Buffer } {
  const { name, curve } = ecCurveOf(spec);
  const info = pkcs8(spec, der, OID.ecPublicKey);
  if (curveOidOf(info) !== curve.oid) throw badPrivateKey(spec);
  let parsed;
  try {
    parsed = parseEcPrivateKey(info.privateKey);
  } catch (error) {
    if (error instanceof DerError) throw badPrivateKey(spec);
    throw error;
  }
  // RFC 5915 writes the scalar at the order's length, but OpenSSL also reads it with leading zero bytes
  // (as BigInteger-based encoders write a 33-byte P-256 scalar), so Node's check at import accepts
  // such a key and signs RAW with it; stripping them here makes every use of the key apply that rule.
  // The value must still be below the order: the point computation below refuses it otherwise.
  const scalar = parsed.d.subarray(Math.max(0, Math.min(leadingZeros(parsed.d), parsed.d.length - curve.bytes)));
  if ((parsed.curveOid && parsed.curveOid !== curve.oid) || scalar.length > curve.bytes) throw badPrivateKey(spec);
  const d = Buffer.alloc(curve.bytes);
  scalar.copy(d, curve.bytes - scalar.length);
  let point: Buffer;
  try {
    point = name === 'SM2' ? sm2PublicPoint(d) : Buffer.from(NOBLE_ECDSA[name].getPublicKey(d, false));
  } catch {
    d.fill(0);
    throw badPrivateKey(spec);
  }
  if (parsed.publicPoint && !samePoint(spec, parsed.publicPoint, point)) {
    d.fill(0);
    throw badPrivateKey(spec);
  }
  return { d, point };
}

function leadingZeros(bytes: Uint8Array): number {
  const first = bytes.findIndex((b) => b !== 0);
  return first === -1 ? bytes.length : first;
}

function samePoint(spec: KeySpec, encoded: Uint8Array, uncompressed: Buffer): boolean {
  try {
    const { name } = ecCurveOf(spec);
    const decoded = name === 'SM2' ? sm2PointFromBytes(encoded) : NOBLE_ECDSA[name].Point.fromBytes(encoded);
    const bytes = Buffer.from(decoded.toBytes(false));
    return bytes.length === uncompressed.length && timingSafeEqual(bytes, uncompressed);
  } catch {
    return false;
  }
}

/**
 * The public point of an EC SubjectPublicKeyInfo of this spec's curve (named-curve parameters only),
 * decoded and validated: on the curve, not infinity. Returned uncompressed (65, 97 or 133 bytes).
 */
export function ecPublicPoint(spec: KeySpec, der: Uint8Array): Buffer {
  const { name, curve } = ecCurveOf(spec);
  const info = spki(spec, der, OID.ecPublicKey);
  if (curveOidOf(info) !== curve.oid) throw badPublicKey(spec);
  const point = info.publicKey;
  const prefix = point[0];
  const lengthOk = prefix === 0x04 ? point.length === 2 * curve.bytes + 1 : (prefix === 0x02 || prefix === 0x03) && point.length === curve.bytes + 1;
  if (!lengthOk) throw badPublicKey(spec);
  try {
    const decoded = name === 'SM2' ? sm2PointFromBytes(point) : NOBLE_ECDSA[name].Point.fromBytes(point);
    decoded.assertValidity();
    return Buffer.from(decoded.toBytes(false));
  } catch {
    throw badPublicKey(spec);
  }
}
