import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DATA_KEY_PAIR_SPECS,
  KEY_SPECS,
  KEY_SPEC_INFO,
  MAC_HASH,
  SIGNING_ALGORITHMS,
  SIGNING_ALGORITHM_INFO,
  algorithmsForKey,
  isKeyUsageAllowed,
  type KeySpec,
  type KeyUsage,
} from '../../../main/crypto/asymmetric/index.js';

// The CreateKey KeyUsage rules of the AWS API model, restated as a table.
const USAGES: Record<KeySpec, KeyUsage[]> = {
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P384: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P521: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  ECC_NIST_EDWARDS25519: ['SIGN_VERIFY'],
  HMAC_224: ['GENERATE_VERIFY_MAC'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
  ML_DSA_44: ['SIGN_VERIFY'],
  ML_DSA_65: ['SIGN_VERIFY'],
  ML_DSA_87: ['SIGN_VERIFY'],
  SM2: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'],
};

describe('AWS key spec facts', () => {
  it('lists the 16 non-default key specs of the KeySpec enum and the 9 DataKeyPairSpecs', () => {
    expect(KEY_SPECS).toHaveLength(16);
    expect([...DATA_KEY_PAIR_SPECS].sort()).toEqual(
      ['ECC_NIST_EDWARDS25519', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'].sort(),
    );
  });

  it.each(KEY_SPECS)('%s: key usages and the algorithm lists each usage shows', (spec) => {
    expect(KEY_SPEC_INFO[spec].keyUsages).toEqual(USAGES[spec]);
    for (const usage of ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as KeyUsage[]) {
      const lists = algorithmsForKey(spec, usage);
      expect(isKeyUsageAllowed(spec, usage)).toBe(USAGES[spec].includes(usage));
      expect(Object.keys(lists)).toHaveLength(USAGES[spec].includes(usage) ? 1 : 0);
      for (const list of Object.values(lists)) expect(list!.length).toBeGreaterThan(0);
    }
  });

  it('pairs algorithms with specs as the Developer Guide tables do', () => {
    expect(algorithmsForKey('RSA_2048', 'ENCRYPT_DECRYPT')).toEqual({ encryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
    expect(algorithmsForKey('RSA_4096', 'SIGN_VERIFY').signingAlgorithms).toHaveLength(6);
    expect(algorithmsForKey('ECC_NIST_P256', 'SIGN_VERIFY')).toEqual({ signingAlgorithms: ['ECDSA_SHA_256'] });
    expect(algorithmsForKey('ECC_NIST_P384', 'SIGN_VERIFY')).toEqual({ signingAlgorithms: ['ECDSA_SHA_384'] });
    expect(algorithmsForKey('ECC_NIST_P521', 'SIGN_VERIFY')).toEqual({ signingAlgorithms: ['ECDSA_SHA_512'] });
    expect(algorithmsForKey('ECC_SECG_P256K1', 'SIGN_VERIFY')).toEqual({ signingAlgorithms: ['ECDSA_SHA_256'] });
    expect(algorithmsForKey('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY')).toEqual({ signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] });
    expect(algorithmsForKey('ECC_NIST_P521', 'KEY_AGREEMENT')).toEqual({ keyAgreementAlgorithms: ['ECDH'] });
    expect(algorithmsForKey('ML_DSA_87', 'SIGN_VERIFY')).toEqual({ signingAlgorithms: ['ML_DSA_SHAKE_256'] });
    expect(algorithmsForKey('SM2', 'ENCRYPT_DECRYPT')).toEqual({ encryptionAlgorithms: ['SM2PKE'] });
    expect(algorithmsForKey('SM2', 'SIGN_VERIFY')).toEqual({ signingAlgorithms: ['SM2DSA'] });
    expect(algorithmsForKey('SM2', 'KEY_AGREEMENT')).toEqual({ keyAgreementAlgorithms: ['ECDH'] });
    expect(algorithmsForKey('HMAC_384', 'GENERATE_VERIFY_MAC')).toEqual({ macAlgorithms: ['HMAC_SHA_384'] });
  });

  it('every signing algorithm belongs to some spec, with the message types AWS allows', () => {
    const used = new Set(KEY_SPECS.flatMap((s) => KEY_SPEC_INFO[s].signingAlgorithms));
    expect(used).toEqual(new Set(SIGNING_ALGORITHMS));
    expect(SIGNING_ALGORITHM_INFO.ED25519_SHA_512.messageTypes).toEqual(['RAW']);
    expect(SIGNING_ALGORITHM_INFO.ED25519_PH_SHA_512.messageTypes).toEqual(['DIGEST']);
    expect(SIGNING_ALGORITHM_INFO.ML_DSA_SHAKE_256.messageTypes).toEqual(['RAW', 'EXTERNAL_MU']);
    for (const algorithm of SIGNING_ALGORITHMS.filter((a) => !a.startsWith('ED25519') && a !== 'ML_DSA_SHAKE_256')) {
      expect(SIGNING_ALGORITHM_INFO[algorithm].messageTypes).toEqual(['RAW', 'DIGEST']);
    }
  });

  it('DIGEST lengths are the lengths of the hashes', () => {
    for (const algorithm of SIGNING_ALGORITHMS) {
      const { hash, digestBytes } = SIGNING_ALGORITHM_INFO[algorithm];
      const actual = hash === 'shake256' ? 64 /* μ */ : createHash(hash).update('x').digest().length;
      expect(digestBytes, algorithm).toBe(actual);
    }
    for (const { hash, macBytes } of Object.values(MAC_HASH)) expect(createHash(hash).update('x').digest().length).toBe(macBytes);
  });

  it('HMAC keys are as long as their digests', () => {
    expect(KEY_SPECS.filter((s) => KEY_SPEC_INFO[s].family === 'hmac').map((s) => KEY_SPEC_INFO[s].hmacKeyBytes)).toEqual([28, 32, 48, 64]);
  });
});
