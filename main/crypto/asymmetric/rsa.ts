// RSA key material (RSA_2048/3072/4096): generation, the strict SPKI check and the check that a private
// key's numbers are one key pair. Node's crypto makes and uses RSA keys; node-keys.ts turns the DER into
// a checked Node KeyObject, and rsa-padding.ts/oaep.ts and sign.ts hold the primitives.
//
// Formats: the public key is an SPKI with rsaEncryption and NULL parameters (RFC 3279), as GetPublicKey
// returns it; the private key is PKCS#8 (RFC 5958) carrying a two-prime RSAPrivateKey (RFC 8017
// appendix A.1.2). Kura generates keys with the exponent 65537.
import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { DerError, OID, TAG, readChildren, readUnsignedInteger, readWhole } from './der.js';
import { PKCS8_DER, SPKI_DER, badPrivateKey, badPublicKey, isDerNull, nodeKeyPairDone, pkcs8, spki, type KeyMaterial } from './key-common.js';
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

/**
 * Refuses an RSA PKCS#8 whose numbers are not one key pair (RFC 8017 section 3.2): n = p·q, e·d ≡ 1
 * modulo p−1 and q−1, and the CRT exponents and coefficient its own. OpenSSL takes them as given and
 * signs with p, q and the CRT values, so a key carrying another key's modulus would import, publish that
 * modulus and sign what it does not verify. Only two-prime keys (version 0) are taken: AWS KMS keys are
 * two-prime, and a key whose other primes were not checked is not accepted. The numbers are BigInts,
 * which cannot be wiped; the DER they come from is the caller's, which it wipes.
 */
export function checkRsaKeyPair(spec: KeySpec, der: Uint8Array): void {
  let numbers: bigint[];
  try {
    numbers = readChildren(readWhole(pkcs8(spec, der, OID.rsaEncryption).privateKey, TAG.SEQUENCE).value).map((tlv) => readUnsignedInteger(tlv));
  } catch (error) {
    if (error instanceof DerError) throw badPrivateKey(spec);
    throw error;
  }
  if (numbers.length !== 9) throw badPrivateKey(spec);
  const [version, n, e, d, p, q, dP, dQ, qInv] = numbers as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const consistent =
    version === 0n &&
    p > 1n &&
    q > 1n &&
    n === p * q &&
    (e * d) % (p - 1n) === 1n &&
    (e * d) % (q - 1n) === 1n &&
    dP === d % (p - 1n) &&
    dQ === d % (q - 1n) &&
    qInv < p &&
    (qInv * q) % p === 1n;
  if (!consistent) throw badPrivateKey(spec);
}
