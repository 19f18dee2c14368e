// What every key family's loader shares: the KeyMaterial shape, the spec lookup, the two refusals
// ('bad-private-key', 'bad-public-key') and the strict PKCS#8/SPKI parsing they are raised from.
// The family modules (rsa.ts, ec.ts, ed25519.ts, ml-dsa.ts, node-keys.ts) build on this; keys.ts
// dispatches to them by spec.
//
// Formats (what AWS KMS hands out and takes in):
// - public keys: DER SubjectPublicKeyInfo exactly as GetPublicKey returns it (RFC 5280); each family
//   module says which algorithm OID, parameters and key encoding it requires.
// - private keys: DER PKCS#8 (RFC 5958), as GenerateDataKeyPair returns them.
// A DER error anywhere in a key is reported as the refusal for that key, never as a DerError.
//
// Nothing is cached: every call parses its key, and temporary copies of private scalars, seeds and
// expanded keys are wiped.
import {
  DerError,
  TAG,
  decodeOid,
  parsePkcs8,
  parseSpki,
  type PrivateKeyInfo,
  type SubjectPublicKeyInfo,
} from './der.js';
import { AsymmetricInputError } from './errors.js';
import { KEY_SPEC_INFO, isKeySpec, type KeySpec, type KeySpecInfo } from './specs.js';

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

export const badPrivateKey = (spec: KeySpec): AsymmetricInputError =>
  new AsymmetricInputError('bad-private-key', `The private key is not ${spec} key material in PKCS#8 DER.`);
export const badPublicKey = (spec: KeySpec): AsymmetricInputError =>
  new AsymmetricInputError('bad-public-key', `The public key is not a DER SubjectPublicKeyInfo of a ${spec} key.`);

/** The encodings Node's key generation is asked for. */
export const SPKI_DER = { type: 'spki', format: 'der' } as const;
export const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;

/** The callback of Node's generateKeyPair, settling a promise of KeyMaterial. */
export const nodeKeyPairDone =
  (resolve: (k: KeyMaterial) => void, reject: (e: Error) => void) =>
  (error: Error | null, publicKey: Buffer, privateKey: Buffer): void =>
    error ? reject(error) : resolve({ privateKey, publicKey });

/** The PKCS#8 of a key whose algorithm is `oid`; anything else is 'bad-private-key'. */
export function pkcs8(spec: KeySpec, der: Uint8Array, oid: string): PrivateKeyInfo {
  try {
    const info = parsePkcs8(der);
    if (info.algorithm.oid !== oid) throw badPrivateKey(spec);
    return info;
  } catch (error) {
    if (error instanceof DerError) throw badPrivateKey(spec);
    throw error;
  }
}

/** The SubjectPublicKeyInfo of a key whose algorithm is `oid`; anything else is 'bad-public-key'. */
export function spki(spec: KeySpec, der: Uint8Array, oid: string): SubjectPublicKeyInfo {
  try {
    const info = parseSpki(der);
    if (info.algorithm.oid !== oid) throw badPublicKey(spec);
    return info;
  } catch (error) {
    if (error instanceof DerError) throw badPublicKey(spec);
    throw error;
  }
}

export const isDerNull = (info: SubjectPublicKeyInfo | PrivateKeyInfo): boolean =>
  info.algorithm.parameters !== undefined && info.algorithm.parameters.tag === TAG.NULL && info.algorithm.parameters.value.length === 0;

/** The named-curve OID in the algorithm parameters, or undefined when they are anything else. */
export function curveOidOf(info: SubjectPublicKeyInfo | PrivateKeyInfo): string | undefined {
  const parameters = info.algorithm.parameters;
  if (!parameters || parameters.tag !== TAG.OID) return undefined;
  try {
    return decodeOid(parameters);
  } catch {
    return undefined;
  }
}
