// DeriveSharedSecret: the elliptic curve cofactor Diffie-Hellman primitive (NIST SP 800-56A rev. 3,
// section 5.7.1.2) between a KEY_AGREEMENT key's private key and a peer's public key, returning the raw
// shared secret, the x coordinate of d·Q at field length (32, 48 or 66 bytes), as AWS does. Every curve
// AWS allows here has cofactor 1, so ECC CDH is plain ECDH.
//
// P-256/384/521 run in Node; SM2 on ./sm2.ts. The peer key must be a DER SubjectPublicKeyInfo of the same
// named curve (compressed or uncompressed point), with a point on that curve: anything else is
// 'bad-public-key', before any private key is used.
import { diffieHellman } from 'node:crypto';
import { AsymmetricInputError } from './errors.js';
import { PrivateKeyHandle, loadPublicKey, withPrivateKey } from './handles.js';
import { specInfo } from './key-common.js';
import { sm2SharedSecret } from './sm2.js';
import { KEY_AGREEMENT_ALGORITHMS, type KeyAgreementAlgorithm, type KeySpec } from './specs.js';

export function deriveSharedSecret(
  spec: KeySpec,
  privateKey: Uint8Array | PrivateKeyHandle,
  peerPublicKey: Uint8Array,
  algorithm: KeyAgreementAlgorithm = 'ECDH',
): Buffer {
  const info = specInfo(spec);
  if (!(KEY_AGREEMENT_ALGORITHMS as readonly string[]).includes(algorithm) || !info.keyAgreementAlgorithms.includes(algorithm)) {
    throw new AsymmetricInputError('unsupported-algorithm', `Key agreement algorithm ${String(algorithm)} is not valid for key spec ${spec}.`);
  }
  // The peer key is checked first: strict SPKI of the same named curve, the point on it (noble, and
  // OpenSSL again for the Node curves).
  const peer = loadPublicKey(spec, peerPublicKey);
  return withPrivateKey(spec, privateKey, (key) => {
    if (info.family === 'sm2') return sm2SharedSecret(key.scalar(), peer.point());
    try {
      return diffieHellman({ privateKey: key.nodeKey(), publicKey: peer.nodeKey() });
    } catch (error) {
      if (error instanceof AsymmetricInputError) throw error;
      throw new AsymmetricInputError('bad-public-key', 'The peer public key gives no shared secret with this key.');
    }
  });
}
