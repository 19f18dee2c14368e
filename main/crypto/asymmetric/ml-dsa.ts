// ML-DSA key material (ML_DSA_44/65/87, FIPS 204): the parameter sets, generation, the public key of a
// private key, and the strict loaders of the expanded secret key and the raw public key that sign.ts
// and handles.ts use. @noble/post-quantum does the arithmetic everywhere, so Node and Electron behave
// the same.
//
// Formats (RFC 9881): the public key is an SPKI with id-ml-dsa-44/65/87 (NIST OIDs
// 2.16.840.1.101.3.4.3.17/18/19), absent parameters and the raw FIPS 204 public key. Private keys are
// written in the seed-only form (ML-DSA-PrivateKey `seed [0] IMPLICIT OCTET STRING (SIZE (32))`):
// 54 bytes of PKCS#8, and the expanded key is re-derived (FIPS 204 ML-DSA.KeyGen_internal) when needed;
// the expandedKey and both forms are read too. Seeds and expanded keys are wiped after use.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import {
  DerError,
  OID,
  TAG,
  contextTag,
  encodeAlgorithmIdentifier,
  encodePkcs8,
  encodeSpki,
  encodeTlv,
  expectTag,
  readChildren,
  readWhole,
} from './der.js';
import { AsymmetricInputError } from './errors.js';
import { badPrivateKey, badPublicKey, pkcs8, specInfo, spki, type KeyMaterial } from './key-common.js';
import type { KeySpec, KeySpecInfo, MlDsaParameterSet } from './specs.js';

const ML_DSA = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 } as const;
const ML_DSA_OID: Readonly<Record<MlDsaParameterSet, string>> = { 'ML-DSA-44': OID.mlDsa44, 'ML-DSA-65': OID.mlDsa65, 'ML-DSA-87': OID.mlDsa87 };
const ML_DSA_SEED_BYTES = 32;

export function mlDsaOf(spec: KeySpec): (typeof ML_DSA)[MlDsaParameterSet] {
  const set = specInfo(spec).mlDsa;
  if (!set) throw new AsymmetricInputError('unsupported-key-spec', `${spec} is not an ML-DSA key spec.`);
  return ML_DSA[set];
}

/** A fresh seed-only ML-DSA key; the seed and the expanded key are wiped. */
export function generateMlDsaKeyMaterial(spec: KeySpec, info: Readonly<KeySpecInfo>): KeyMaterial {
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

/**
 * The SPKI of an ML-DSA private key in any of its forms, checked by mlDsaSecretKey. An expanded key
 * without its seed is also checked to be one key pair by a deterministic pairwise sign-verify (FIPS 140-3's
 * pairwise consistency test): the public key is recomputed from ρ, s1 and s2, but signing takes tr as
 * stored while verifying recomputes it as H(pk), so a key whose tr is not its own signs nothing its
 * public key verifies, and this test always finds it. A wrong t0 spoils only some signatures, and is
 * found only when it spoils this one.
 */
export function mlDsaPublicKeyOf(spec: KeySpec, info: Readonly<KeySpecInfo>, privateKey: Uint8Array): Buffer {
  const dsa = mlDsaOf(spec);
  const { secretKey, seeded } = readMlDsaPrivateKey(spec, privateKey);
  try {
    const publicKey = dsa.getPublicKey(secretKey);
    if (!seeded && !dsa.verify(dsa.sign(PAIRWISE_MESSAGE, secretKey, { extraEntropy: false }), PAIRWISE_MESSAGE, publicKey)) {
      throw badPrivateKey(spec);
    }
    return encodeSpki(encodeAlgorithmIdentifier(ML_DSA_OID[info.mlDsa!]), publicKey);
  } finally {
    secretKey.fill(0);
  }
}

const PAIRWISE_MESSAGE = Buffer.from('kura/ml-dsa-pairwise-consistency');

/**
 * The FIPS 204 expanded secret key of an ML-DSA PKCS#8 key in any of RFC 9881's three forms. A `both`
 * key whose expanded half is not its seed's is refused. The caller wipes the result.
 */
export function mlDsaSecretKey(spec: KeySpec, der: Uint8Array): Uint8Array {
  return readMlDsaPrivateKey(spec, der).secretKey;
}

/** mlDsaSecretKey, and whether the key had its seed (the expanded key is then the seed's own). */
function readMlDsaPrivateKey(spec: KeySpec, der: Uint8Array): { secretKey: Uint8Array; seeded: boolean } {
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
  if (!seed) return { secretKey: Uint8Array.from(expanded!), seeded: false };
  const { secretKey } = dsa.keygen(seed);
  if (expanded && !timingSafeEqual(secretKey, expanded)) {
    secretKey.fill(0);
    throw badPrivateKey(spec);
  }
  return { secretKey, seeded: true };
}

/** The raw FIPS 204 public key of an ML-DSA SPKI. */
export function mlDsaRawPublicKey(spec: KeySpec, der: Uint8Array): Buffer {
  const set = specInfo(spec).mlDsa;
  const info = spki(spec, der, ML_DSA_OID[set!]);
  if (info.algorithm.parameters || info.publicKey.length !== mlDsaOf(spec).lengths.publicKey) throw badPublicKey(spec);
  return info.publicKey;
}
