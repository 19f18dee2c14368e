// Imported key material (BYOK) inside the standard key store, as AWS KMS's import workflow defines it
// (API reference: GetParametersForImport, ImportKeyMaterial; Developer Guide, "Importing key material"):
// unwrapping with the import token's RSA wrapping key — RSAES_OAEP_SHA_1/256, or RSA_AES_KEY_WRAP_SHA_1/256
// (an OAEP-wrapped ephemeral AES-256 key, then AES-KWP, RFC 5649, on the WebAssembly core) — and the
// checks AWS applies to the material per key spec. The plaintext exists only here and in the store
// that seals it; every copy is wiped by whoever holds it last.
//
// The material ID of imported material is derived from the material (HMAC-SHA256 keyed by the material
// over the key ID), so importing the same material again restores the same ID and old ciphertexts
// decrypt again, while different material is told apart (IncorrectKeyMaterialException).
import { createHmac } from 'node:crypto';
import { KmsError, kmsErrors } from '../../common/errors.js';
import { KEY_SPEC_INFO, isKeySpec, publicKeyOf, rsaOaepDecrypt, type RsaOaepAlgorithm } from '../../crypto/asymmetric/index.js';
import { zeroize } from '../../crypto/bytes.js';
import { KeyWrapIntegrityError, type KeyWrap } from '../../crypto/key-wrap.js';
import type { KeyStoreSpec, WrappingAlgorithm, WrappingKeySpec } from '../key-store.js';

const EPHEMERAL_AES_KEY_BYTES = 32;
export const SYMMETRIC_MATERIAL_BYTES = 32;

/** AWS's accepted lengths of imported HMAC key material, per spec (bytes, inclusive). */
const HMAC_MATERIAL_BYTES: Readonly<Record<string, readonly [number, number]>> = {
  HMAC_224: [28, 64],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
};

const badCiphertext = () =>
  new KmsError('InvalidCiphertext', 'The wrapped key material could not be unwrapped with this import token\'s wrapping key and algorithm.');

/** The material ID of imported material: HMAC-SHA256(material, "kura/imported-material-id\0" || key ID), hex. */
export function importedMaterialId(keyId: string, material: Uint8Array): string {
  return createHmac('sha256', material).update(`kura/imported-material-id\0${keyId}`).digest('hex');
}

/** Unwraps per the token's algorithm; the caller wipes the result. Any failure is InvalidCiphertext. */
export function unwrapImportedMaterial(
  keyWrap: KeyWrap,
  wrappingKey: Buffer,
  wrappingKeySpec: WrappingKeySpec,
  algorithm: WrappingAlgorithm,
  encrypted: Uint8Array,
): Buffer {
  const oaep: RsaOaepAlgorithm = algorithm.endsWith('SHA_1') ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256';
  const rsaDecrypt = (c: Uint8Array) => {
    try {
      return rsaOaepDecrypt(wrappingKey, oaep, c);
    } catch {
      throw badCiphertext();
    }
  };
  if (algorithm.startsWith('RSAES_OAEP')) return rsaDecrypt(encrypted);
  // RSA_AES_KEY_WRAP: OAEP(ephemeral AES key) || AES-KWP(material); the first part is as long as the modulus.
  const modulusBytes = KEY_SPEC_INFO[wrappingKeySpec].rsaBits! / 8;
  if (encrypted.length <= modulusBytes) throw badCiphertext();
  const aesKey = rsaDecrypt(encrypted.subarray(0, modulusBytes));
  try {
    if (aesKey.length !== EPHEMERAL_AES_KEY_BYTES) throw badCiphertext();
    return keyWrap.unwrapKey(aesKey, encrypted.subarray(modulusBytes), { padding: true });
  } catch (e) {
    if (e instanceof KeyWrapIntegrityError) throw badCiphertext();
    throw e;
  } finally {
    zeroize(aesKey);
  }
}

/** Checks imported material against the key spec; returns its public key (asymmetric specs) or null. */
export function checkImportedMaterial(spec: KeyStoreSpec, material: Buffer): Buffer | null {
  if (spec === 'SYMMETRIC_DEFAULT') {
    if (material.length !== SYMMETRIC_MATERIAL_BYTES) {
      throw kmsErrors.validation(`Key material for a SYMMETRIC_DEFAULT key must be 32 bytes (256 bits), not ${material.length}.`);
    }
    return null;
  }
  const hmac = HMAC_MATERIAL_BYTES[spec];
  if (hmac) {
    if (material.length < hmac[0] || material.length > hmac[1]) {
      throw kmsErrors.validation(`Key material for a ${spec} key must be ${hmac[0]} to ${hmac[1]} bytes, not ${material.length}.`);
    }
    return null;
  }
  if (!isKeySpec(spec)) throw kmsErrors.internal();
  try {
    return publicKeyOf(spec, material);
  } catch {
    throw kmsErrors.validation(`The key material is not a DER-encoded PKCS#8 private key of key spec ${spec}.`);
  }
}
