// Sign and Verify for every signing algorithm of AWS KMS, over RAW messages, DIGEST messages and (for
// ML-DSA) EXTERNAL_MU. Signatures are in the form AWS returns: RSA as the k-byte integer, ECDSA and
// SM2DSA as DER ECDSA-Sig-Value, Ed25519 as the 64-byte R || S, ML-DSA as the FIPS 204 encoding.
//
// - RSASSA_PKCS1_V1_5_SHA_* (RFC 8017 section 8.2) and RSASSA_PSS_SHA_* (section 8.1; salt as long as
//   the hash, MGF1 with the same hash): Node for RAW; for DIGEST, the RFC 8017 encodings in
//   ./rsa-padding.ts around Node's raw RSA operation.
// - ECDSA_SHA_* on P-256/384/521 (FIPS 186-5 section 6.4): Node for RAW; @noble/curves for DIGEST, which
//   Node cannot sign without hashing again. On secp256k1 (SEC 2), @noble/curves always, since Electron's
//   BoringSSL has no secp256k1; its signatures are low-S, which every verifier accepts. Verification
//   accepts high-S (OpenSSL and AWS produce them).
// - ED25519_SHA_512: pure Ed25519 (RFC 8032 section 5.1) over a RAW message, in Node.
//   ED25519_PH_SHA_512: Ed25519ph (RFC 8032 section 5.1, HashEdDSA with SHA-512, empty context) over
//   the DIGEST message, @noble/curves. As AWS documents, the 64-byte DIGEST is hashed once more by the
//   prehash: the signature is Ed25519ph of the DIGEST bytes taken as the message.
// - ML_DSA_SHAKE_256: FIPS 204 ML-DSA.Sign (pure, empty context, hedged) over RAW messages, or
//   ML-DSA.Sign_internal over a caller-computed μ (EXTERNAL_MU, section 6.2), @noble/post-quantum.
//   Both verify the same: μ = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64).
// - SM2DSA (GB/T 32918.2): ./sm2.ts. RAW hashes e = SM3(Z_A || M) with the default distinguishing ID
//   1234567812345678; DIGEST takes e itself (32 bytes), so callers may use their own ID.
//
// Keys come as DER (parsed for the call, copies wiped after it) or as handles a caller loaded once
// (./handles.ts), which is what makes RSA-2048 and P-256 signing run at Node's own speed.
//
// Verify returns false for any signature that does not verify, including malformed or non-DER ones; it
// throws AsymmetricInputError only for requests that are wrong whatever the signature (algorithm or
// message type not for this spec, a DIGEST of the wrong length, a public key that is not the spec's).
import { constants, createHash, privateEncrypt, publicDecrypt, sign as nodeSign, timingSafeEqual, verify as nodeVerify } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { DerError, bigIntToBytes, parseSignatureRS } from './der.js';
import { NOBLE_ECDSA, ecCurveOf, ecPublicPoint } from './ec.js';
import { AsymmetricInputError } from './errors.js';
import { PrivateKeyHandle, PublicKeyHandle, withPrivateKey, withPublicKey } from './handles.js';
import { specInfo } from './key-common.js';
import { mlDsaOf } from './ml-dsa.js';
import { digestInfo, emsaPkcs1v15, emsaPssEncode, emsaPssVerify } from './rsa-padding.js';
import { sm2MessageDigest, sm2Sign, sm2Verify } from './sm2.js';
import {
  EXTERNAL_MU_BYTES,
  MAX_MESSAGE_BYTES,
  SIGNING_ALGORITHM_INFO,
  isMessageType,
  isSigningAlgorithm,
  type KeySpec,
  type MessageType,
  type SigningAlgorithm,
} from './specs.js';

/**
 * Checks a Sign/Verify request against the spec before any key is touched: the algorithm belongs to the
 * spec, the message type to the algorithm, and the message has a length the message type allows.
 */
export function validateSigningRequest(spec: KeySpec, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): void {
  const info = specInfo(spec);
  if (!isSigningAlgorithm(algorithm) || !info.signingAlgorithms.includes(algorithm)) {
    throw new AsymmetricInputError('unsupported-algorithm', `Signing algorithm ${String(algorithm)} is not valid for key spec ${spec}.`);
  }
  const algorithmInfo = SIGNING_ALGORITHM_INFO[algorithm];
  if (!isMessageType(messageType) || !algorithmInfo.messageTypes.includes(messageType)) {
    throw new AsymmetricInputError('unsupported-message-type', `Message type ${String(messageType)} is not valid for signing algorithm ${algorithm}.`);
  }
  switch (messageType) {
    case 'RAW':
      if (message.length > MAX_MESSAGE_BYTES) {
        throw new AsymmetricInputError('message-too-long', `A RAW message can be at most ${MAX_MESSAGE_BYTES} bytes; sign a digest of longer messages.`);
      }
      return;
    case 'DIGEST':
      if (message.length !== algorithmInfo.digestBytes) {
        throw new AsymmetricInputError('digest-length', `A DIGEST message for ${algorithm} must be ${algorithmInfo.digestBytes} bytes long.`);
      }
      return;
    case 'EXTERNAL_MU':
      if (message.length !== EXTERNAL_MU_BYTES) {
        throw new AsymmetricInputError('digest-length', `An EXTERNAL_MU message must be ${EXTERNAL_MU_BYTES} bytes long.`);
      }
      return;
  }
}

type Hash = 'sha256' | 'sha384' | 'sha512';

const hashOf = (algorithm: SigningAlgorithm): Hash => SIGNING_ALGORITHM_INFO[algorithm].hash as Hash;
const isPss = (algorithm: SigningAlgorithm): boolean => algorithm.startsWith('RSASSA_PSS_');
const rsaOptions = (algorithm: SigningAlgorithm) =>
  isPss(algorithm)
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : { padding: constants.RSA_PKCS1_PADDING };

/** Signs with the private key (PKCS#8 DER, or a handle from loadPrivateKey) of a key of this spec. */
export function sign(
  spec: KeySpec,
  privateKey: Uint8Array | PrivateKeyHandle,
  algorithm: SigningAlgorithm,
  message: Uint8Array,
  messageType: MessageType = 'RAW',
): Buffer {
  validateSigningRequest(spec, algorithm, message, messageType);
  return withPrivateKey(spec, privateKey, (key) => signWith(key, algorithm, message, messageType));
}

/**
 * Like sign() with a loaded key, but RSA signatures run on libuv's thread pool (Node's callback form
 * of crypto.sign) instead of the event loop: an RSA-2048 signature costs about 0.3 ms of CPU, which
 * would otherwise hold up every other request. Other families are fast enough (or not in Node) and
 * sign synchronously.
 */
export function signAsync(key: PrivateKeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType = 'RAW'): Promise<Buffer> {
  validateSigningRequest(key.spec, algorithm, message, messageType);
  if (specInfo(key.spec).family !== 'rsa' || messageType !== 'RAW') {
    return Promise.resolve(signWith(key, algorithm, message, messageType));
  }
  const node = key.nodeKey();
  return new Promise((resolve, reject) =>
    nodeSign(hashOf(algorithm), message, { key: node, ...rsaOptions(algorithm) }, (err, signature) => (err ? reject(err) : resolve(signature))),
  );
}

function signWith(key: PrivateKeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType): Buffer {
  const { spec } = key;
  const family = specInfo(spec).family;
  switch (family) {
    case 'rsa': {
      const node = key.nodeKey();
      const hash = hashOf(algorithm);
      if (messageType === 'RAW') return nodeSign(hash, message, { key: node, ...rsaOptions(algorithm) });
      if (isPss(algorithm)) {
        const em = emsaPssEncode(hash, message, node.asymmetricKeyDetails!.modulusLength!);
        return privateEncrypt({ key: node, padding: constants.RSA_NO_PADDING }, em);
      }
      // OpenSSL's private "encrypt" with PKCS#1 padding is exactly RSASSA-PKCS1-v1_5 over a DigestInfo.
      return privateEncrypt({ key: node, padding: constants.RSA_PKCS1_PADDING }, digestInfo(hash, message));
    }
    case 'ecc-nist':
    case 'ecc-secg': {
      const hash = hashOf(algorithm);
      if (family === 'ecc-nist' && messageType === 'RAW') return nodeSign(hash, message, { key: key.nodeKey(), dsaEncoding: 'der' });
      const digest = messageType === 'RAW' ? createHash(hash).update(message).digest() : message;
      const noble = NOBLE_ECDSA[ecCurveOf(spec).name as keyof typeof NOBLE_ECDSA];
      return Buffer.from(noble.sign(digest, key.scalar(), { prehash: false, lowS: family === 'ecc-secg', format: 'der', extraEntropy: true }));
    }
    case 'ed25519':
      if (algorithm === 'ED25519_SHA_512') return nodeSign(null, message, key.nodeKey());
      return Buffer.from(ed25519ph.sign(message, key.ed25519Seed()));
    case 'ml-dsa': {
      const dsa = mlDsaOf(spec);
      const secretKey = key.mlDsaSecretKey();
      return Buffer.from(messageType === 'EXTERNAL_MU' ? dsa.internal.sign(message, secretKey, { externalMu: true }) : dsa.sign(message, secretKey));
    }
    case 'sm2': {
      const e = messageType === 'RAW' ? sm2MessageDigest(key.sm2PublicPoint(), message) : message;
      return sm2Sign(key.scalar(), e);
    }
    case 'hmac':
      throw new AsymmetricInputError('unsupported-algorithm', `Key spec ${spec} cannot sign.`);
  }
}

/** Verifies with the public key (SubjectPublicKeyInfo DER, or a handle from loadPublicKey) of a key of this spec. */
export function verify(
  spec: KeySpec,
  publicKey: Uint8Array | PublicKeyHandle,
  algorithm: SigningAlgorithm,
  message: Uint8Array,
  messageType: MessageType,
  signature: Uint8Array,
): boolean {
  validateSigningRequest(spec, algorithm, message, messageType);
  return withPublicKey(spec, publicKey, (key) => verifyWith(key, algorithm, message, messageType, signature));
}

function verifyWith(key: PublicKeyHandle, algorithm: SigningAlgorithm, message: Uint8Array, messageType: MessageType, signature: Uint8Array): boolean {
  const { spec } = key;
  const family = specInfo(spec).family;
  switch (family) {
    case 'rsa': {
      const node = key.nodeKey();
      const bits = node.asymmetricKeyDetails!.modulusLength!;
      const k = Math.ceil(bits / 8);
      if (signature.length !== k) return false;
      const hash = hashOf(algorithm);
      if (messageType === 'RAW') return nodeVerify(hash, message, { key: node, ...rsaOptions(algorithm) }, signature);
      let decrypted: Buffer;
      try {
        decrypted = publicDecrypt({ key: node, padding: constants.RSA_NO_PADDING }, signature);
      } catch {
        return false; // the signature is not below the modulus
      }
      if (isPss(algorithm)) return emsaPssVerify(hash, message, decrypted, bits);
      const expected = emsaPkcs1v15(hash, message, k);
      return expected !== undefined && decrypted.length === k && timingSafeEqual(decrypted, expected);
    }
    case 'ecc-nist':
    case 'ecc-secg': {
      const { name, curve } = ecCurveOf(spec);
      const noble = NOBLE_ECDSA[name as keyof typeof NOBLE_ECDSA];
      const viaNode = family === 'ecc-nist' && messageType === 'RAW';
      // Load (and so validate) the public key before looking at the signature.
      const nodeKey = viaNode ? key.nodeKey() : undefined;
      const point = viaNode ? undefined : key.point();
      const rs = strictRS(signature, noble.Point.Fn.ORDER);
      if (!rs) return false;
      const p1363 = Buffer.concat([bigIntToBytes(rs.r, curve.bytes), bigIntToBytes(rs.s, curve.bytes)]);
      const hash = hashOf(algorithm);
      if (nodeKey) return nodeVerify(hash, message, { key: nodeKey, dsaEncoding: 'ieee-p1363' }, p1363);
      const digest = messageType === 'RAW' ? createHash(hash).update(message).digest() : message;
      try {
        return noble.verify(p1363, digest, point!, { prehash: false, lowS: false, format: 'compact' });
      } catch {
        return false;
      }
    }
    case 'ed25519': {
      if (algorithm === 'ED25519_SHA_512') {
        const node = key.nodeKey();
        return signature.length === 64 && nodeVerify(null, message, node, signature);
      }
      const raw = key.rawKey();
      if (signature.length !== 64) return false;
      try {
        // zip215: false is RFC 8032's strict decoding (canonical R and A, S < L), as OpenSSL verifies.
        return ed25519ph.verify(signature, message, raw, { zip215: false });
      } catch {
        return false;
      }
    }
    case 'ml-dsa': {
      const dsa = mlDsaOf(spec);
      const raw = key.rawKey();
      if (signature.length !== dsa.lengths.signature) return false;
      try {
        return messageType === 'EXTERNAL_MU' ? dsa.internal.verify(signature, message, raw, { externalMu: true }) : dsa.verify(signature, message, raw);
      } catch {
        return false;
      }
    }
    case 'sm2': {
      const point = key.point();
      const e = messageType === 'RAW' ? sm2MessageDigest(point, message) : message;
      return sm2Verify(point, e, signature);
    }
    case 'hmac':
      throw new AsymmetricInputError('unsupported-algorithm', `Key spec ${spec} cannot verify signatures.`);
  }
}

/** r and s of a strictly DER-encoded ECDSA signature, both in [1, n-1]; undefined otherwise. */
function strictRS(signature: Uint8Array, n: bigint): { r: bigint; s: bigint } | undefined {
  try {
    const { r, s } = parseSignatureRS(signature);
    return r >= 1n && r < n && s >= 1n && s < n ? { r, s } : undefined;
  } catch (error) {
    if (error instanceof DerError) return undefined;
    throw error;
  }
}

/**
 * e = SM3(Z_A || M) for SM2DSA with a DIGEST message: what a caller computes for a message longer than
 * 4096 bytes or for its own distinguishing ID (GM/T 0009's default when none is given).
 */
export function sm2DsaDigest(spec: KeySpec, publicKey: Uint8Array, message: Uint8Array, distinguishingId?: Uint8Array): Buffer {
  return sm2MessageDigest(ecPublicPoint(spec, publicKey), message, distinguishingId);
}
