import { createECDH, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  KEY_SPECS,
  KEY_SPEC_INFO,
  deriveSharedSecret,
  generateKeyMaterial,
  type KeyAgreementAlgorithm,
  type KeySpec,
} from '../../../main/crypto/asymmetric/index.js';
import { decodeOid, encodeAlgorithmIdentifier, encodeSpki, parsePkcs8, parseEcPrivateKey, parseSpki } from '../../../main/crypto/asymmetric/der.js';
import { expectReason, keyFor } from './fixtures.js';
import { fileWorkspace } from './openssl.js';

const ws = fileWorkspace();

const NIST: [KeySpec, string, number][] = [
  ['ECC_NIST_P256', 'prime256v1', 32],
  ['ECC_NIST_P384', 'secp384r1', 48],
  ['ECC_NIST_P521', 'secp521r1', 66],
];

describe('DeriveSharedSecret (ECDH)', () => {
  it('is offered exactly by the specs AWS allows KEY_AGREEMENT for', () => {
    const agreeing = KEY_SPECS.filter((s) => KEY_SPEC_INFO[s].keyAgreementAlgorithms.length > 0);
    expect(agreeing).toEqual(['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'SM2']);
  });

  it.each(NIST)('%s: equals what node:crypto derives on the peer’s side, and what OpenSSL derives', async (spec, curve, length) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const peer = generateKeyPairSync('ec', { namedCurve: curve });
    const peerSpki = peer.publicKey.export({ type: 'spki', format: 'der' });
    const secret = deriveSharedSecret(spec, privateKey, peerSpki);
    expect(secret.length).toBe(length);
    const theirs = diffieHellman({ privateKey: peer.privateKey, publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }) });
    expect(secret).toEqual(theirs);
    // OpenSSL, as in AWS's "Deriving shared secrets offline" walkthrough.
    const out = ws.must([
      'pkeyutl', '-derive', '-inkey', ws.file(`${spec}.peer.pem`, peer.privateKey.export({ type: 'pkcs8', format: 'pem' })),
      '-peerkey', ws.file(`${spec}.kura.der`, publicKey), '-peerform', 'DER',
    ]);
    expect(out).toEqual(secret);
    // The peer key in compressed form is the same key.
    const compressed = createECDH(curve);
    compressed.setPrivateKey(peer.privateKey.export({ format: 'jwk' }).d!, 'base64url');
    const compressedSpki = encodeSpki(parseSpkiAlgorithm(peerSpki), compressed.getPublicKey(undefined, 'compressed'));
    expect(deriveSharedSecret(spec, privateKey, compressedSpki)).toEqual(secret);
  });

  it('SM2: equals node’s SM2-curve ECDH (OpenSSL’s arithmetic) computed on the peer’s side', async () => {
    const { privateKey, publicKey } = await keyFor('SM2');
    const peer = generateKeyMaterial('SM2');
    const secret = deriveSharedSecret('SM2', privateKey, peer.publicKey);
    expect(secret.length).toBe(32);
    const peerEcdh = createECDH('SM2');
    peerEcdh.setPrivateKey(parseEcPrivateKey(parsePkcs8(peer.privateKey).privateKey).d);
    expect(peerEcdh.computeSecret(parseSpki(publicKey).publicKey)).toEqual(secret);
    expect(deriveSharedSecret('SM2', peer.privateKey, publicKey)).toEqual(secret);
  });

  it('refuses a peer key on another curve, off the curve, or not a key at all', async () => {
    const p256 = await keyFor('ECC_NIST_P256');
    const p384 = await keyFor('ECC_NIST_P384');
    const sm2 = await keyFor('SM2');
    const k1 = generateKeyMaterial('ECC_SECG_P256K1');
    expectReason(() => deriveSharedSecret('ECC_NIST_P256', p256.privateKey, p384.publicKey), 'bad-public-key');
    expectReason(() => deriveSharedSecret('ECC_NIST_P256', p256.privateKey, k1.publicKey), 'bad-public-key');
    expectReason(() => deriveSharedSecret('ECC_NIST_P256', p256.privateKey, sm2.publicKey), 'bad-public-key');
    expectReason(() => deriveSharedSecret('SM2', sm2.privateKey, p256.publicKey), 'bad-public-key');
    expectReason(() => deriveSharedSecret('SM2', sm2.privateKey, k1.publicKey), 'bad-public-key');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    expectReason(() => deriveSharedSecret('ECC_NIST_P384', p384.privateKey, rsa), 'bad-public-key');
    expectReason(() => deriveSharedSecret('ECC_NIST_P384', p384.privateKey, Buffer.from('junk')), 'bad-public-key');
    for (const [spec, key] of [['ECC_NIST_P256', p256], ['SM2', sm2]] as const) {
      const offCurve = Buffer.from(key.publicKey);
      offCurve[offCurve.length - 1]! ^= 1;
      expectReason(() => deriveSharedSecret(spec, key.privateKey, offCurve), 'bad-public-key');
      // The point at infinity has a one-byte encoding (00) that is never a public key.
      const infinity = encodeSpki(parseSpkiAlgorithm(key.publicKey), Buffer.from([0]));
      expectReason(() => deriveSharedSecret(spec, key.privateKey, infinity), 'bad-public-key');
      const trailing = Buffer.concat([key.publicKey, Buffer.from([0])]);
      expectReason(() => deriveSharedSecret(spec, key.privateKey, trailing), 'bad-public-key');
    }
  });

  it('refuses specs without KEY_AGREEMENT and algorithms other than ECDH', async () => {
    const peer = (await keyFor('ECC_NIST_P256')).publicKey;
    for (const spec of ['ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'RSA_2048', 'ML_DSA_44', 'HMAC_256'] as KeySpec[]) {
      const { privateKey } = await keyFor(spec);
      expectReason(() => deriveSharedSecret(spec, privateKey, peer), 'unsupported-algorithm');
    }
    const { privateKey, publicKey } = await keyFor('ECC_NIST_P256');
    expectReason(() => deriveSharedSecret('ECC_NIST_P256', privateKey, publicKey, 'ECMQV' as KeyAgreementAlgorithm), 'unsupported-algorithm');
    expect(createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }).asymmetricKeyType).toBe('ec');
  });
});

/** The AlgorithmIdentifier DER of an EC SPKI (id-ecPublicKey + curve). */
function parseSpkiAlgorithm(spki: Buffer): Buffer {
  const { algorithm } = parseSpki(spki);
  return encodeAlgorithmIdentifier(algorithm.oid, decodeOid(algorithm.parameters));
}
