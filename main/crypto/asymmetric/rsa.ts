// RSA key material (RSA_2048/3072/4096): generation and the strict SPKI check. Node's crypto makes and
// uses RSA keys; node-keys.ts turns the DER into a checked Node KeyObject, and rsa-padding.ts/oaep.ts
// and sign.ts hold the primitives.
//
// Formats: the public key is an SPKI with rsaEncryption and NULL parameters (RFC 3279), as GetPublicKey
// returns it; the private key is PKCS#8 (RFC 5958). Kura generates keys with the exponent 65537.
import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { OID } from './der.js';
import { PKCS8_DER, SPKI_DER, badPublicKey, isDerNull, nodeKeyPairDone, spki, type KeyMaterial } from './key-common.js';
import type { KeySpec, KeySpecInfo } from './specs.js';

/** About a second of CPU for RSA-4096; generateRsaKeyMaterialAsync runs it on libuv's thread pool. */
export function generateRsaKeyMaterial(info: Readonly<KeySpecInfo>): KeyMaterial {
  return generateKeyPairSync('rsa', { modulusLength: info.rsaBits!, publicExponent: 0x10001, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER });
}

export function generateRsaKeyMaterialAsync(info: Readonly<KeySpecInfo>): Promise<KeyMaterial> {
  return new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: info.rsaBits!, publicExponent: 0x10001, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }, nodeKeyPairDone(resolve, reject)),
  );
}

/** Refuses an RSA SPKI whose algorithm is not rsaEncryption with DER NULL parameters. */
export function checkRsaSpki(spec: KeySpec, der: Uint8Array): void {
  const parsed = spki(spec, der, OID.rsaEncryption);
  if (!isDerNull(parsed)) throw badPublicKey(spec);
}
