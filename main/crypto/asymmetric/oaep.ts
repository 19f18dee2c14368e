// Asymmetric Encrypt and Decrypt: RSAES-OAEP (RFC 8017 section 7.1) with SHA-1 or SHA-256 for both
// the label hash and MGF1 and an empty label (AWS's RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256), in Node;
// and SM2PKE (GB/T 32918.4, GM/T 0009 ASN.1 ciphertext), in ./sm2.ts.
//
// Plaintext limits are AWS's: k - 2·hLen - 2 bytes for OAEP (214/190 for RSA_2048, 342/318 for RSA_3072,
// 470/446 for RSA_4096) and 1024 bytes for SM2PKE. Every decryption failure is the same
// 'decrypt-failed', whatever went wrong, so a caller cannot learn where an OAEP check failed.
import { constants, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt } from 'node:crypto';
import { AsymmetricInputError } from './errors.js';
import { PrivateKeyHandle, PublicKeyHandle, withPrivateKey, withPublicKey } from './handles.js';
import { specInfo } from './key-common.js';
import { sm2Decrypt, sm2Encrypt } from './sm2.js';
import {
  ASYMMETRIC_ENCRYPTION_ALGORITHMS,
  KEY_SPECS,
  KEY_SPEC_INFO,
  OAEP_HASH,
  SM2PKE_MAX_PLAINTEXT_BYTES,
  oaepMaxPlaintextBytes,
  type AsymmetricEncryptionAlgorithm,
  type KeySpec,
  type RsaOaepAlgorithm,
} from './specs.js';

function checkAlgorithm(spec: KeySpec, algorithm: AsymmetricEncryptionAlgorithm): void {
  const info = specInfo(spec);
  if (!(ASYMMETRIC_ENCRYPTION_ALGORITHMS as readonly string[]).includes(algorithm) || !info.encryptionAlgorithms.includes(algorithm)) {
    throw new AsymmetricInputError('unsupported-algorithm', `Encryption algorithm ${String(algorithm)} is not valid for key spec ${spec}.`);
  }
}

/** Encrypts with the public key (SPKI DER, or a handle from loadPublicKey) of an RSA or SM2 key, with an algorithm of its spec. */
export function asymmetricEncrypt(
  spec: KeySpec,
  publicKey: Uint8Array | PublicKeyHandle,
  algorithm: AsymmetricEncryptionAlgorithm,
  plaintext: Uint8Array,
): Buffer {
  checkAlgorithm(spec, algorithm);
  return withPublicKey(spec, publicKey, (key) => {
    if (algorithm === 'SM2PKE') {
      if (plaintext.length > SM2PKE_MAX_PLAINTEXT_BYTES) {
        throw new AsymmetricInputError('plaintext-too-long', `SM2PKE encrypts at most ${SM2PKE_MAX_PLAINTEXT_BYTES} bytes.`);
      }
      return sm2Encrypt(key.point(), plaintext);
    }
    const max = oaepMaxPlaintextBytes(specInfo(spec).rsaBits!, algorithm);
    const node = key.nodeKey();
    if (plaintext.length > max) {
      throw new AsymmetricInputError('plaintext-too-long', `${algorithm} with ${spec} encrypts at most ${max} bytes.`);
    }
    // Node's oaepHash sets the OAEP hash, and OpenSSL's MGF1 hash defaults to it: one hash for both, as AWS.
    return publicEncrypt({ key: node, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[algorithm].hash }, plaintext);
  });
}

/**
 * Decrypts with the private key (PKCS#8 DER, or a handle from loadPrivateKey) of an RSA or SM2 key; any
 * bad ciphertext is 'decrypt-failed'.
 */
export function asymmetricDecrypt(
  spec: KeySpec,
  privateKey: Uint8Array | PrivateKeyHandle,
  algorithm: AsymmetricEncryptionAlgorithm,
  ciphertext: Uint8Array,
): Buffer {
  checkAlgorithm(spec, algorithm);
  return withPrivateKey(spec, privateKey, (key) => {
    if (algorithm === 'SM2PKE') return sm2Decrypt(key.scalar(), ciphertext);
    const node = key.nodeKey();
    const failed = () => new AsymmetricInputError('decrypt-failed', `The ciphertext could not be decrypted with this ${spec} key.`);
    if (ciphertext.length !== Math.ceil(specInfo(spec).rsaBits! / 8)) throw failed();
    try {
      return privateDecrypt({ key: node, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[algorithm].hash }, ciphertext);
    } catch {
      throw failed();
    }
  });
}

/** The RSA spec of a key, from its modulus length, for the spec-less rsaOaep* calls. */
function rsaSpecOf(der: Uint8Array, kind: 'public' | 'private'): KeySpec {
  let bits: number | undefined;
  try {
    const options = { key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der' } as const;
    const key = kind === 'public' ? createPublicKey({ ...options, type: 'spki' }) : createPrivateKey({ ...options, type: 'pkcs8' });
    bits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  } catch {
    bits = undefined;
  }
  const spec = KEY_SPECS.find((s) => KEY_SPEC_INFO[s].family === 'rsa' && KEY_SPEC_INFO[s].rsaBits === bits);
  if (!spec) {
    throw new AsymmetricInputError(kind === 'public' ? 'bad-public-key' : 'bad-private-key', 'The key is not an RSA_2048, RSA_3072 or RSA_4096 key.');
  }
  return spec;
}

/** RSAES-OAEP encryption with the public key (SPKI DER) of an RSA_2048/3072/4096 key. */
export function rsaOaepEncrypt(publicKey: Uint8Array, algorithm: RsaOaepAlgorithm, plaintext: Uint8Array): Buffer {
  return asymmetricEncrypt(rsaSpecOf(publicKey, 'public'), publicKey, algorithm, plaintext);
}

/** RSAES-OAEP decryption with the private key (PKCS#8 DER) of an RSA_2048/3072/4096 key. */
export function rsaOaepDecrypt(privateKey: Uint8Array, algorithm: RsaOaepAlgorithm, ciphertext: Uint8Array): Buffer {
  return asymmetricDecrypt(rsaSpecOf(privateKey, 'private'), privateKey, algorithm, ciphertext);
}
