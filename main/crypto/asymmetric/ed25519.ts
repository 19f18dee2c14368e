// Ed25519 key material (ECC_NIST_EDWARDS25519): generation and the strict loaders of the private key
// and the raw public key that sign.ts and handles.ts use. Node's crypto generates and uses Ed25519 keys
// (node-keys.ts makes the KeyObject); @noble/curves checks that a public key is a canonical point.
//
// Formats (RFC 8410): the public key is an SPKI with id-Ed25519, absent parameters and the 32-byte
// public key, as GetPublicKey returns it; the private key is PKCS#8 whose privateKey is a
// CurvePrivateKey, an OCTET STRING of the 32-byte seed.
import { generateKeyPairSync } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { DerError, OID, TAG, readWhole } from './der.js';
import { PKCS8_DER, SPKI_DER, badPrivateKey, badPublicKey, pkcs8, spki, type KeyMaterial } from './key-common.js';
import type { KeySpec } from './specs.js';

export function generateEd25519KeyMaterial(): KeyMaterial {
  return generateKeyPairSync('ed25519', { publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER });
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
