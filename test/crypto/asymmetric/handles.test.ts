import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  KEY_SPECS,
  KEY_SPEC_INFO,
  PrivateKeyHandle,
  SIGNING_ALGORITHM_INFO,
  asymmetricDecrypt,
  asymmetricEncrypt,
  deriveSharedSecret,
  loadPrivateKey,
  loadPublicKey,
  sign,
  verify,
  type KeySpec,
} from '../../../main/crypto/asymmetric/index.js';
import { expectReason, keyFor } from './fixtures.js';

const SIGNING = KEY_SPECS.filter((s) => KEY_SPEC_INFO[s].signingAlgorithms.length > 0 && s !== 'RSA_4096' && s !== 'RSA_3072');

describe('key handles', () => {
  it.each(SIGNING)('%s: a loaded key signs and verifies like the DER it came from, for every algorithm and message type', async (spec) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const priv = loadPrivateKey(spec, privateKey);
    const pub = loadPublicKey(spec, publicKey);
    for (const algorithm of KEY_SPEC_INFO[spec].signingAlgorithms) {
      for (const type of SIGNING_ALGORITHM_INFO[algorithm].messageTypes) {
        const input = type === 'RAW' ? randomBytes(50) : randomBytes(SIGNING_ALGORITHM_INFO[algorithm].digestBytes);
        expect(verify(spec, publicKey, algorithm, input, type, sign(spec, priv, algorithm, input, type))).toBe(true);
        expect(verify(spec, pub, algorithm, input, type, sign(spec, privateKey, algorithm, input, type))).toBe(true);
      }
    }
    priv.dispose();
  });

  it('dispose wipes the handle and makes it unusable; the caller’s DER is left alone', async () => {
    const { privateKey } = await keyFor('ECC_SECG_P256K1');
    const before = Buffer.from(privateKey);
    const handle = loadPrivateKey('ECC_SECG_P256K1', privateKey);
    const scalar = handle.scalar();
    expect(scalar.some((b) => b !== 0)).toBe(true);
    handle.dispose();
    expect(handle.disposed).toBe(true);
    expect(scalar.every((b) => b === 0)).toBe(true);
    expect(privateKey).toEqual(before);
    expectReason(() => sign('ECC_SECG_P256K1', handle, 'ECDSA_SHA_256', Buffer.from('m'), 'RAW'), 'bad-private-key');
    handle.dispose();
  });

  it('a per-call key (DER) is wiped after the call: the caller’s buffer is untouched', async () => {
    const { privateKey, publicKey } = await keyFor('ML_DSA_44');
    const copy = Buffer.from(privateKey);
    const signature = sign('ML_DSA_44', copy, 'ML_DSA_SHAKE_256', Buffer.from('m'), 'RAW');
    expect(copy).toEqual(privateKey);
    expect(verify('ML_DSA_44', publicKey, 'ML_DSA_SHAKE_256', Buffer.from('m'), 'RAW', signature)).toBe(true);
  });

  it('refuses a handle of another spec, and keys that are not the spec’s at load time', async () => {
    const p256 = await keyFor('ECC_NIST_P256');
    const handle = loadPrivateKey('ECC_NIST_P256', p256.privateKey);
    expectReason(() => sign('ECC_NIST_P384', handle, 'ECDSA_SHA_384', Buffer.from('m'), 'RAW'), 'bad-private-key');
    expectReason(() => verify('ECC_NIST_P384', loadPublicKey('ECC_NIST_P256', p256.publicKey), 'ECDSA_SHA_384', Buffer.from('m'), 'RAW', Buffer.alloc(8)), 'bad-public-key');
    for (const spec of ['ECC_NIST_P384', 'ECC_SECG_P256K1', 'SM2', 'ML_DSA_44', 'ECC_NIST_EDWARDS25519', 'RSA_2048'] as KeySpec[]) {
      expectReason(() => loadPrivateKey(spec, p256.privateKey), 'bad-private-key');
      expectReason(() => loadPublicKey(spec, p256.publicKey), 'bad-public-key');
    }
    expectReason(() => loadPrivateKey('HMAC_256', Buffer.alloc(0)), 'bad-private-key');
    expectReason(() => loadPublicKey('HMAC_256', Buffer.alloc(0)), 'bad-public-key');
    expect(new PrivateKeyHandle('HMAC_256', Buffer.alloc(32, 1)).rawKey().length).toBe(32);
  });

  it('decrypt and key agreement take handles too', async () => {
    const rsa = await keyFor('RSA_2048');
    const sm2 = await keyFor('SM2');
    const p384 = await keyFor('ECC_NIST_P384');
    const rsaHandle = loadPrivateKey('RSA_2048', rsa.privateKey);
    const ct = asymmetricEncrypt('RSA_2048', loadPublicKey('RSA_2048', rsa.publicKey), 'RSAES_OAEP_SHA_256', Buffer.from('x'));
    expect(asymmetricDecrypt('RSA_2048', rsaHandle, 'RSAES_OAEP_SHA_256', ct)).toEqual(Buffer.from('x'));
    const sm2Ct = asymmetricEncrypt('SM2', loadPublicKey('SM2', sm2.publicKey), 'SM2PKE', Buffer.from('y'));
    expect(asymmetricDecrypt('SM2', loadPrivateKey('SM2', sm2.privateKey), 'SM2PKE', sm2Ct)).toEqual(Buffer.from('y'));
    const other = await keyFor('ECC_NIST_P384', 1);
    expect(deriveSharedSecret('ECC_NIST_P384', loadPrivateKey('ECC_NIST_P384', p384.privateKey), other.publicKey)).toEqual(
      deriveSharedSecret('ECC_NIST_P384', other.privateKey, p384.publicKey),
    );
  });
});
