// Key material for every non-symmetric key spec: generation, the public key of a private key, and the
// strict loaders that sign.ts, oaep.ts and ecdh.ts use.
// (Over 400 lines because the DER checks of every family share the PKCS#8/SPKI parsing and the
// strictness rules below; splitting it per family — rsa, ec, ed25519, ml-dsa, sm2 — is the planned next
// step, so that each family's loader sits beside its primitives.)
//
// Formats (what AWS KMS hands out and takes in):
// - public keys: DER SubjectPublicKeyInfo exactly as GetPublicKey returns it (RFC 5280): rsaEncryption
//   with NULL parameters; id-ecPublicKey with the named curve OID (P-256/384/521, secp256k1, and SM2's
//   1.2.156.10197.1.301) and the uncompressed point; id-Ed25519 (RFC 8410); id-ml-dsa-44/65/87 (RFC
//   9881, NIST OIDs 2.16.840.1.101.3.4.3.17/18/19) with the raw FIPS 204 public key.
// - private keys: DER PKCS#8 (RFC 5958), as GenerateDataKeyPair returns them. EC keys carry an RFC 5915
//   ECPrivateKey with the public point (OpenSSL's layout). ML-DSA keys use RFC 9881's seed-only form
//   (ML-DSA-PrivateKey `seed [0] IMPLICIT OCTET STRING (SIZE (32))`): 54 bytes, and the expanded key is
//   re-derived (FIPS 204 ML-DSA.KeyGen_internal) when needed; the expandedKey and both forms are read too.
// - HMAC keys: the raw random key, as long as the digest (HMAC_224: 28 bytes … HMAC_512: 64 bytes), with
//   an empty public key.
//
// Node's crypto (OpenSSL in Node, BoringSSL in Electron) makes and uses RSA, P-256/384/521 and Ed25519
// keys. secp256k1 (absent from BoringSSL), SM2 and ML-DSA go through @noble/curves, Kura's SM2 and
// @noble/post-quantum everywhere, so Node and Electron behave the same. Nothing is cached: every call
// parses its key, and temporary copies of private scalars, seeds and expanded keys are wiped.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import {
  DerError,
  OID,
  TAG,
  contextTag,
  encodeAlgorithmIdentifier,
  decodeOid,
  encodeEcPrivateKey,
  encodePkcs8,
  encodeSpki,
  encodeTlv,
  expectTag,
  parseEcPrivateKey,
  parsePkcs8,
  parseSpki,
  readChildren,
  readWhole,
  type PrivateKeyInfo,
  type SubjectPublicKeyInfo,
} from './der.js';
import { AsymmetricInputError } from './errors.js';
import { sm2GeneratePrivateScalar, sm2PointFromBytes, sm2PublicPoint, SM2_SCALAR_BYTES } from './sm2.js';
import { KEY_SPEC_INFO, isKeySpec, type CurveName, type KeySpec, type KeySpecInfo, type MlDsaParameterSet } from './specs.js';

export interface KeyMaterial {
  /** PKCS#8 DER (raw key bytes for HMAC). Secret: the caller encrypts it at rest and wipes it when done. */
  privateKey: Buffer;
  /** SubjectPublicKeyInfo DER; empty for HMAC. */
  publicKey: Buffer;
}

export function specInfo(spec: KeySpec): Readonly<KeySpecInfo> {
  if (!isKeySpec(spec)) throw new AsymmetricInputError('unsupported-key-spec', `Key spec ${String(spec)} is not an asymmetric or HMAC key spec.`);
  return KEY_SPEC_INFO[spec];
}

const badPrivateKey = (spec: KeySpec): AsymmetricInputError =>
  new AsymmetricInputError('bad-private-key', `The private key is not ${spec} key material in PKCS#8 DER.`);
const badPublicKey = (spec: KeySpec): AsymmetricInputError =>
  new AsymmetricInputError('bad-public-key', `The public key is not a DER SubjectPublicKeyInfo of a ${spec} key.`);

// ---------------------------------------------------------------------------------------------------
// Curves

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

const ML_DSA = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 } as const;
const ML_DSA_OID: Readonly<Record<MlDsaParameterSet, string>> = { 'ML-DSA-44': OID.mlDsa44, 'ML-DSA-65': OID.mlDsa65, 'ML-DSA-87': OID.mlDsa87 };
const ML_DSA_SEED_BYTES = 32;

export function mlDsaOf(spec: KeySpec): (typeof ML_DSA)[MlDsaParameterSet] {
  const set = specInfo(spec).mlDsa;
  if (!set) throw new AsymmetricInputError('unsupported-key-spec', `${spec} is not an ML-DSA key spec.`);
  return ML_DSA[set];
}

// ---------------------------------------------------------------------------------------------------
// Generation

const SPKI_DER = { type: 'spki', format: 'der' } as const;
const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;

/** Generates key material for a spec. RSA-4096 takes about a second of CPU; see generateKeyMaterialAsync. */
export function generateKeyMaterial(spec: KeySpec): KeyMaterial {
  const info = specInfo(spec);
  switch (info.family) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: info.rsaBits!, publicExponent: 0x10001, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER });
    case 'ecc-nist':
      return generateKeyPairSync('ec', { namedCurve: EC_CURVES[info.curve as 'P-256'].nodeName!, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER });
    case 'ed25519':
      return generateKeyPairSync('ed25519', { publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER });
    default:
      return generateWithoutNode(spec, info);
  }
}

/** Like generateKeyMaterial, but RSA and EC generation run on libuv's thread pool instead of blocking the event loop. */
export async function generateKeyMaterialAsync(spec: KeySpec): Promise<KeyMaterial> {
  const info = specInfo(spec);
  const done = (resolve: (k: KeyMaterial) => void, reject: (e: Error) => void) => (error: Error | null, publicKey: Buffer, privateKey: Buffer) =>
    error ? reject(error) : resolve({ privateKey, publicKey });
  switch (info.family) {
    case 'rsa':
      return new Promise((resolve, reject) =>
        generateKeyPair('rsa', { modulusLength: info.rsaBits!, publicExponent: 0x10001, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }, done(resolve, reject)),
      );
    case 'ecc-nist':
      return new Promise((resolve, reject) =>
        generateKeyPair('ec', { namedCurve: EC_CURVES[info.curve as 'P-256'].nodeName!, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }, done(resolve, reject)),
      );
    default:
      return generateKeyMaterial(spec);
  }
}

function generateWithoutNode(spec: KeySpec, info: Readonly<KeySpecInfo>): KeyMaterial {
  switch (info.family) {
    case 'hmac':
      return { privateKey: randomBytes(info.hmacKeyBytes!), publicKey: Buffer.alloc(0) };
    case 'ecc-secg': {
      const d = secp256k1.utils.randomSecretKey();
      try {
        return ecKeyMaterial(spec, d, secp256k1.getPublicKey(d, false));
      } finally {
        d.fill(0);
      }
    }
    case 'sm2': {
      const d = sm2GeneratePrivateScalar();
      try {
        return ecKeyMaterial(spec, d, sm2PublicPoint(d));
      } finally {
        d.fill(0);
      }
    }
    case 'ml-dsa': {
      const seed = randomBytes(ML_DSA_SEED_BYTES);
      const { secretKey, publicKey } = mlDsaOf(spec).keygen(seed);
      secretKey.fill(0);
      const inner = encodeTlv(contextTag(0, false), seed);
      try {
        const algorithm = encodeAlgorithmIdentifier(ML_DSA_OID[info.mlDsa!]);
        return { privateKey: encodePkcs8(algorithm, inner), publicKey: encodeSpki(algorithm, publicKey) };
      } finally {
        seed.fill(0);
        inner.fill(0);
      }
    }
    default:
      throw new AsymmetricInputError('unsupported-key-spec', `Kura cannot generate ${spec} keys here.`);
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

// ---------------------------------------------------------------------------------------------------
// Public key of a private key

/**
 * The SubjectPublicKeyInfo of a private key of this spec (empty for HMAC). Also the check that imported
 * or stored key material is what its spec says: a wrong type, size or curve, or an EC key whose embedded
 * public point is not its own, is 'bad-private-key'.
 */
export function publicKeyOf(spec: KeySpec, privateKey: Uint8Array): Buffer {
  const info = specInfo(spec);
  switch (info.family) {
    case 'rsa':
    case 'ecc-nist':
    case 'ed25519':
      return createPublicKey(nodePrivateKey(spec, privateKey)).export({ type: 'spki', format: 'der' });
    case 'ecc-secg':
    case 'sm2': {
      const d = ecPrivateScalar(spec, privateKey);
      try {
        const point = info.family === 'sm2' ? sm2PublicPoint(d) : Buffer.from(secp256k1.getPublicKey(d, false));
        return encodeSpki(encodeAlgorithmIdentifier(OID.ecPublicKey, ecCurveOf(spec).curve.oid), point);
      } finally {
        d.fill(0);
      }
    }
    case 'ml-dsa': {
      const secretKey = mlDsaSecretKey(spec, privateKey);
      try {
        return encodeSpki(encodeAlgorithmIdentifier(ML_DSA_OID[info.mlDsa!]), mlDsaOf(spec).getPublicKey(secretKey));
      } finally {
        secretKey.fill(0);
      }
    }
    case 'hmac':
      if (privateKey.length === 0) throw badPrivateKey(spec);
      return Buffer.alloc(0);
  }
}

// ---------------------------------------------------------------------------------------------------
// Loaders (used by sign.ts, oaep.ts, ecdh.ts; not part of the public API)

function pkcs8(spec: KeySpec, der: Uint8Array, oid: string): PrivateKeyInfo {
  try {
    const info = parsePkcs8(der);
    if (info.algorithm.oid !== oid) throw badPrivateKey(spec);
    return info;
  } catch (error) {
    if (error instanceof DerError) throw badPrivateKey(spec);
    throw error;
  }
}

function spki(spec: KeySpec, der: Uint8Array, oid: string): SubjectPublicKeyInfo {
  try {
    const info = parseSpki(der);
    if (info.algorithm.oid !== oid) throw badPublicKey(spec);
    return info;
  } catch (error) {
    if (error instanceof DerError) throw badPublicKey(spec);
    throw error;
  }
}

const isDerNull = (info: SubjectPublicKeyInfo | PrivateKeyInfo): boolean =>
  info.algorithm.parameters !== undefined && info.algorithm.parameters.tag === TAG.NULL && info.algorithm.parameters.value.length === 0;

function curveOidOf(info: SubjectPublicKeyInfo | PrivateKeyInfo): string | undefined {
  const parameters = info.algorithm.parameters;
  if (!parameters || parameters.tag !== TAG.OID) return undefined;
  try {
    return decodeOid(parameters);
  } catch {
    return undefined;
  }
}

/** A Node private KeyObject for RSA, P-256/384/521 and Ed25519 specs, checked against the spec. */
export function nodePrivateKey(spec: KeySpec, der: Uint8Array): KeyObject {
  const info = specInfo(spec);
  const expectedOid = info.family === 'rsa' ? OID.rsaEncryption : info.family === 'ed25519' ? OID.ed25519 : OID.ecPublicKey;
  const parsed = pkcs8(spec, der, expectedOid);
  if (info.family === 'ecc-nist' && curveOidOf(parsed) !== ecCurveOf(spec).curve.oid) throw badPrivateKey(spec);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' });
  } catch {
    throw badPrivateKey(spec);
  }
  checkNodeKey(spec, info, key, badPrivateKey);
  return key;
}

/** A Node public KeyObject for RSA, P-256/384/521 and Ed25519 specs, from strict SPKI DER, checked against the spec. */
export function nodePublicKey(spec: KeySpec, der: Uint8Array): KeyObject {
  const info = specInfo(spec);
  switch (info.family) {
    case 'rsa': {
      const parsed = spki(spec, der, OID.rsaEncryption);
      if (!isDerNull(parsed)) throw badPublicKey(spec);
      break;
    }
    case 'ecc-nist':
      ecPublicPoint(spec, der);
      break;
    case 'ed25519':
      ed25519RawPublicKey(spec, der);
      break;
    default:
      throw new AsymmetricInputError('unsupported-key-spec', `${spec} keys are not Node keys.`);
  }
  let key: KeyObject;
  try {
    // OpenSSL checks that an EC point is on the curve while decoding it.
    key = createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'spki' });
  } catch {
    throw badPublicKey(spec);
  }
  checkNodeKey(spec, info, key, badPublicKey);
  return key;
}

function checkNodeKey(spec: KeySpec, info: Readonly<KeySpecInfo>, key: KeyObject, fail: (spec: KeySpec) => AsymmetricInputError): void {
  const details = key.asymmetricKeyDetails ?? {};
  switch (info.family) {
    case 'rsa':
      if (key.asymmetricKeyType !== 'rsa' || details.modulusLength !== info.rsaBits) throw fail(spec);
      return;
    case 'ecc-nist':
      if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== ecCurveOf(spec).curve.nodeName) throw fail(spec);
      return;
    case 'ed25519':
      if (key.asymmetricKeyType !== 'ed25519') throw fail(spec);
      return;
    default:
      throw fail(spec);
  }
}

/**
 * A copy of the private scalar of an EC key (any Weierstrass spec), left-padded to the field length and
 * checked against the curve (and against the embedded public point, when there is one). The caller wipes it.
 */
export function ecPrivateScalar(spec: KeySpec, der: Uint8Array): Buffer {
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
  if ((parsed.curveOid && parsed.curveOid !== curve.oid) || parsed.d.length > curve.bytes) throw badPrivateKey(spec);
  const d = Buffer.alloc(curve.bytes);
  parsed.d.copy(d, curve.bytes - parsed.d.length);
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
  return d;
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

/** A copy of the 32-byte Ed25519 private key (RFC 8410 CurvePrivateKey). The caller wipes it. */
export function ed25519Seed(spec: KeySpec, der: Uint8Array): Buffer {
  const info = pkcs8(spec, der, OID.ed25519);
  try {
    const seed = readWhole(info.privateKey, TAG.OCTET_STRING).value;
    if (seed.length !== 32 || info.algorithm.parameters) throw badPrivateKey(spec);
    return Buffer.from(seed);
  } catch (error) {
    if (error instanceof DerError) throw badPrivateKey(spec);
    throw error;
  }
}

/** The raw 32-byte Ed25519 public key of an SPKI (RFC 8410), a canonical encoding of a curve point. */
export function ed25519RawPublicKey(spec: KeySpec, der: Uint8Array): Buffer {
  const info = spki(spec, der, OID.ed25519);
  if (info.algorithm.parameters || info.publicKey.length !== 32) throw badPublicKey(spec);
  try {
    ed25519.Point.fromBytes(info.publicKey, false);
  } catch {
    throw badPublicKey(spec);
  }
  return info.publicKey;
}

/**
 * The FIPS 204 expanded secret key of an ML-DSA PKCS#8 key in any of RFC 9881's three forms. A `both`
 * key whose expanded half is not its seed's is refused. The caller wipes the result.
 */
export function mlDsaSecretKey(spec: KeySpec, der: Uint8Array): Uint8Array {
  const set = specInfo(spec).mlDsa;
  const dsa = mlDsaOf(spec);
  const info = pkcs8(spec, der, ML_DSA_OID[set!]);
  if (info.algorithm.parameters) throw badPrivateKey(spec);
  let seed: Buffer | undefined;
  let expanded: Buffer | undefined;
  try {
    const choice = readWhole(info.privateKey, info.privateKey[0] ?? 0);
    if (choice.tag === contextTag(0, false)) seed = choice.value;
    else if (choice.tag === TAG.OCTET_STRING) expanded = choice.value;
    else if (choice.tag === TAG.SEQUENCE) {
      const [s, e, ...rest] = readChildren(choice.value);
      if (rest.length) throw badPrivateKey(spec);
      seed = expectTag(s, TAG.OCTET_STRING).value;
      expanded = expectTag(e, TAG.OCTET_STRING).value;
    } else throw badPrivateKey(spec);
  } catch (error) {
    if (error instanceof DerError) throw badPrivateKey(spec);
    throw error;
  }
  if (seed && seed.length !== ML_DSA_SEED_BYTES) throw badPrivateKey(spec);
  if (expanded && expanded.length !== dsa.lengths.secretKey) throw badPrivateKey(spec);
  if (!seed) return Uint8Array.from(expanded!);
  const { secretKey } = dsa.keygen(seed);
  if (expanded && !timingSafeEqual(secretKey, expanded)) {
    secretKey.fill(0);
    throw badPrivateKey(spec);
  }
  return secretKey;
}

/** The raw FIPS 204 public key of an ML-DSA SPKI. */
export function mlDsaRawPublicKey(spec: KeySpec, der: Uint8Array): Buffer {
  const set = specInfo(spec).mlDsa;
  const info = spki(spec, der, ML_DSA_OID[set!]);
  if (info.algorithm.parameters || info.publicKey.length !== mlDsaOf(spec).lengths.publicKey) throw badPublicKey(spec);
  return info.publicKey;
}
