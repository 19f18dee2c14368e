import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MAC_HASH,
  generateKeyMaterial,
  generateMac,
  verifyMac,
  type KeySpec,
  type MacAlgorithm,
} from '../../../main/crypto/asymmetric/index.js';
import { expectReason, flipBit } from './fixtures.js';

const CASES: [KeySpec, MacAlgorithm, string][] = [
  ['HMAC_224', 'HMAC_SHA_224', 'sha224'],
  ['HMAC_256', 'HMAC_SHA_256', 'sha256'],
  ['HMAC_384', 'HMAC_SHA_384', 'sha384'],
  ['HMAC_512', 'HMAC_SHA_512', 'sha512'],
];

describe('GenerateMac / VerifyMac', () => {
  it.each(CASES)('%s %s: equals node:crypto’s HMAC; VerifyMac accepts it and nothing else', (spec, algorithm, hash) => {
    const key = generateKeyMaterial(spec).privateKey;
    for (const message of [Buffer.alloc(0), randomBytes(1), randomBytes(200), randomBytes(4096)]) {
      const mac = generateMac(spec, key, algorithm, message);
      expect(mac).toEqual(createHmac(hash, key).update(message).digest());
      expect(mac.length).toBe(MAC_HASH[algorithm].macBytes);
      expect(verifyMac(spec, key, algorithm, message, mac)).toBe(true);
      expect(verifyMac(spec, key, algorithm, message, flipBit(mac))).toBe(false);
      expect(verifyMac(spec, key, algorithm, message, flipBit(mac, mac.length * 8 - 1))).toBe(false);
      expect(verifyMac(spec, key, algorithm, message, mac.subarray(0, 16))).toBe(false);
      expect(verifyMac(spec, key, algorithm, message, Buffer.concat([mac, Buffer.from([0])]))).toBe(false);
      const changed = message.length ? flipBit(message, 0) : Buffer.from([0]);
      expect(verifyMac(spec, key, algorithm, changed, mac)).toBe(false);
      expect(verifyMac(spec, flipBit(key), algorithm, message, mac)).toBe(false);
    }
  });

  it('refuses a MAC algorithm of another spec, a non-HMAC spec, and messages over 4096 bytes', () => {
    const key = generateKeyMaterial('HMAC_256').privateKey;
    expectReason(() => generateMac('HMAC_256', key, 'HMAC_SHA_512', Buffer.from('m')), 'unsupported-algorithm');
    expectReason(() => generateMac('HMAC_512', key, 'HMAC_SHA_256', Buffer.from('m')), 'unsupported-algorithm');
    expectReason(() => generateMac('RSA_2048', key, 'HMAC_SHA_256', Buffer.from('m')), 'unsupported-algorithm');
    expectReason(() => verifyMac('ECC_NIST_P256', key, 'HMAC_SHA_256', Buffer.from('m'), Buffer.alloc(32)), 'unsupported-algorithm');
    expectReason(() => generateMac('HMAC_256', key, 'HMAC_SHA_256', Buffer.alloc(4097)), 'message-too-long');
    expectReason(() => verifyMac('HMAC_256', key, 'HMAC_SHA_256', Buffer.alloc(4097), Buffer.alloc(32)), 'message-too-long');
    expectReason(() => generateMac('HMAC_256', Buffer.alloc(0), 'HMAC_SHA_256', Buffer.from('m')), 'bad-private-key');
  });

  // Wycheproof HMAC-SHA256 (hmac_sha256_test.json): the full-length (256-bit tag) groups, since AWS
  // never truncates; the truncated-tag groups must all fail VerifyMac, valid or not, for they are not
  // AWS MACs. Key sizes in the vectors differ from HMAC_256's 32 bytes, which HMAC itself allows.
  it('Wycheproof hmac_sha256: full-length tags verify when valid and fail when invalid', () => {
    const data = JSON.parse(readFileSync(new URL('../../vectors/wycheproof/hmac_sha256_test.json', import.meta.url), 'utf8')) as {
      testGroups: { keySize: number; tagSize: number; tests: { tcId: number; key: string; msg: string; tag: string; result: string }[] }[];
    };
    let full = 0;
    let truncated = 0;
    for (const group of data.testGroups) {
      for (const test of group.tests) {
        const key = Buffer.from(test.key, 'hex');
        const message = Buffer.from(test.msg, 'hex');
        const tag = Buffer.from(test.tag, 'hex');
        if (key.length === 0) continue;
        if (group.tagSize === 256) {
          expect(verifyMac('HMAC_256', key, 'HMAC_SHA_256', message, tag), `tcId ${test.tcId}`).toBe(test.result === 'valid');
          if (test.result === 'valid') expect(generateMac('HMAC_256', key, 'HMAC_SHA_256', message)).toEqual(tag);
          full++;
        } else {
          expect(verifyMac('HMAC_256', key, 'HMAC_SHA_256', message, tag), `tcId ${test.tcId}`).toBe(false);
          truncated++;
        }
      }
    }
    expect(full).toBe(87);
    expect(truncated).toBe(87);
  });
});
