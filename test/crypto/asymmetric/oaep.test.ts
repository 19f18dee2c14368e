import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  OAEP_MAX_PLAINTEXT_BYTES,
  SM2PKE_MAX_PLAINTEXT_BYTES,
  asymmetricDecrypt,
  asymmetricEncrypt,
  oaepMaxPlaintextBytes,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  type AsymmetricEncryptionAlgorithm,
  type KeySpec,
  type RsaOaepAlgorithm,
} from '../../../main/crypto/asymmetric/index.js';
import { encodeOctetString, encodeSequence, encodeUnsignedInteger, readChildren, readWhole } from '../../../main/crypto/asymmetric/der.js';
import { expectReason, flipBit, keyFor } from './fixtures.js';
import { fileWorkspace } from './openssl.js';

const ws = fileWorkspace();

const RSA_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
const OAEP = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;
const RSA_CASES = RSA_SPECS.flatMap((spec) => OAEP.map((algorithm) => [spec, algorithm] as [(typeof RSA_SPECS)[number], RsaOaepAlgorithm]));
const OPENSSL_MD: Record<RsaOaepAlgorithm, string> = { RSAES_OAEP_SHA_1: 'sha1', RSAES_OAEP_SHA_256: 'sha256' };
const oaepOptions = (algorithm: RsaOaepAlgorithm) => [
  '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${OPENSSL_MD[algorithm]}`, '-pkeyopt', `rsa_mgf1_md:${OPENSSL_MD[algorithm]}`,
];

describe('RSAES-OAEP', () => {
  it('AWS’s plaintext limits are k - 2·hLen - 2', () => {
    expect(OAEP_MAX_PLAINTEXT_BYTES).toEqual({
      RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
      RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
      RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
    });
    for (const [spec, algorithm] of RSA_CASES) {
      expect(oaepMaxPlaintextBytes(Number(spec.slice(4)), algorithm)).toBe(OAEP_MAX_PLAINTEXT_BYTES[spec][algorithm]);
    }
  });

  it.each(RSA_CASES)('%s %s: round trip at 1 byte and at the maximum; one byte more is refused', async (spec, algorithm) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const max = OAEP_MAX_PLAINTEXT_BYTES[spec][algorithm];
    for (const length of [1, 32, max]) {
      const plaintext = randomBytes(length);
      const ciphertext = asymmetricEncrypt(spec, publicKey, algorithm, plaintext);
      expect(ciphertext.length).toBe(Number(spec.slice(4)) / 8);
      expect(asymmetricDecrypt(spec, privateKey, algorithm, ciphertext)).toEqual(plaintext);
      expect(rsaOaepDecrypt(privateKey, algorithm, rsaOaepEncrypt(publicKey, algorithm, plaintext))).toEqual(plaintext);
    }
    expectReason(() => asymmetricEncrypt(spec, publicKey, algorithm, randomBytes(max + 1)), 'plaintext-too-long');
    expectReason(() => rsaOaepEncrypt(publicKey, algorithm, randomBytes(max + 1)), 'plaintext-too-long');
  });

  it.each(RSA_CASES)('%s %s: a ciphertext made by openssl pkeyutl decrypts, and Kura’s decrypts in OpenSSL', async (spec, algorithm) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const tag = `${spec}-${algorithm}`;
    const pubFile = ws.file(`${tag}.pub.der`, publicKey);
    const keyFile = ws.file(`${tag}.key.der`, privateKey);
    for (const length of [17, OAEP_MAX_PLAINTEXT_BYTES[spec][algorithm]]) {
      const plaintext = randomBytes(length);
      ws.must([
        'pkeyutl', '-encrypt', '-pubin', '-inkey', pubFile, '-keyform', 'DER', '-in', ws.file(`${tag}.pt`, plaintext), '-out', ws.path(`${tag}.ct`),
        ...oaepOptions(algorithm),
      ]);
      expect(asymmetricDecrypt(spec, privateKey, algorithm, ws.read(`${tag}.ct`))).toEqual(plaintext);
      const ours = asymmetricEncrypt(spec, publicKey, algorithm, plaintext);
      const decrypted = ws.must(['pkeyutl', '-decrypt', '-inkey', keyFile, '-keyform', 'DER', '-in', ws.file(`${tag}.kura.ct`, ours), ...oaepOptions(algorithm)]);
      expect(decrypted).toEqual(plaintext);
    }
    // The other hash (for OAEP and MGF1 alike) does not decrypt.
    const other = algorithm === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
    expectReason(() => asymmetricDecrypt(spec, privateKey, other, ws.read(`${tag}.ct`)), 'decrypt-failed');
  });

  it('a changed bit, a wrong length, a wrong key: all the same decrypt-failed', async () => {
    const { privateKey, publicKey } = await keyFor('RSA_2048');
    const other = await keyFor('RSA_2048', 1);
    const ciphertext = asymmetricEncrypt('RSA_2048', publicKey, 'RSAES_OAEP_SHA_256', Buffer.from('secret'));
    for (const bad of [flipBit(ciphertext), flipBit(ciphertext, 2047), ciphertext.subarray(1), Buffer.concat([ciphertext, Buffer.from([0])]), Buffer.alloc(256, 0xff)]) {
      expectReason(() => asymmetricDecrypt('RSA_2048', privateKey, 'RSAES_OAEP_SHA_256', bad), 'decrypt-failed');
    }
    expectReason(() => asymmetricDecrypt('RSA_2048', other.privateKey, 'RSAES_OAEP_SHA_256', ciphertext), 'decrypt-failed');
  });

  it('a ciphertext of fewer than k bytes is decrypt-failed even when it is a valid one without its leading zero byte', async () => {
    // RFC 8017 section 7.1.2, step 1: a ciphertext that is not k octets is a decryption error. OpenSSL
    // reads a shorter input as the same integer and would decrypt it, so Kura's length check is what
    // enforces the rule. OAEP is randomized: encrypt until the first byte is 0x00 (1 in 256).
    const { privateKey, publicKey } = await keyFor('RSA_2048');
    const plaintext = Buffer.from('leading zero');
    let ciphertext: Buffer | undefined;
    for (let i = 0; i < 20_000 && !ciphertext; i++) {
      const c = asymmetricEncrypt('RSA_2048', publicKey, 'RSAES_OAEP_SHA_256', plaintext);
      if (c[0] === 0) ciphertext = c;
    }
    expect(ciphertext, 'a ciphertext with a leading zero byte').toBeDefined();
    expect(asymmetricDecrypt('RSA_2048', privateKey, 'RSAES_OAEP_SHA_256', ciphertext!)).toEqual(plaintext);
    expectReason(() => asymmetricDecrypt('RSA_2048', privateKey, 'RSAES_OAEP_SHA_256', ciphertext!.subarray(1)), 'decrypt-failed');
  });

  it('refuses algorithms of other specs and keys of other specs', async () => {
    const rsa = await keyFor('RSA_2048');
    const p256 = await keyFor('ECC_NIST_P256');
    const sm2 = await keyFor('SM2');
    const wrong: [KeySpec, Buffer, AsymmetricEncryptionAlgorithm][] = [
      ['RSA_2048', rsa.publicKey, 'SM2PKE'],
      ['SM2', sm2.publicKey, 'RSAES_OAEP_SHA_256'],
      ['ECC_NIST_P256', p256.publicKey, 'RSAES_OAEP_SHA_1'],
      ['HMAC_256', Buffer.alloc(0), 'RSAES_OAEP_SHA_1'],
      ['RSA_2048', rsa.publicKey, 'SYMMETRIC_DEFAULT' as AsymmetricEncryptionAlgorithm],
    ];
    for (const [spec, key, algorithm] of wrong) {
      expectReason(() => asymmetricEncrypt(spec, key, algorithm, Buffer.from('x')), 'unsupported-algorithm');
    }
    expectReason(() => asymmetricEncrypt('RSA_3072', rsa.publicKey, 'RSAES_OAEP_SHA_256', Buffer.from('x')), 'bad-public-key');
    expectReason(() => asymmetricDecrypt('RSA_4096', rsa.privateKey, 'RSAES_OAEP_SHA_256', Buffer.alloc(512)), 'bad-private-key');
    expectReason(() => rsaOaepEncrypt(p256.publicKey, 'RSAES_OAEP_SHA_256', Buffer.from('x')), 'bad-public-key');
    expectReason(() => rsaOaepDecrypt(p256.privateKey, 'RSAES_OAEP_SHA_256', Buffer.alloc(256)), 'bad-private-key');
  });

  // Wycheproof RSAES-OAEP decryption vectors. AWS's OAEP has an empty label, so a vector with a label
  // must not decrypt here, whatever its result for a labelled decryption.
  const files: [string, KeySpec, RsaOaepAlgorithm][] = [
    ['rsa_oaep_2048_sha1_mgf1sha1_test.json', 'RSA_2048', 'RSAES_OAEP_SHA_1'],
    ['rsa_oaep_2048_sha256_mgf1sha256_test.json', 'RSA_2048', 'RSAES_OAEP_SHA_256'],
    ['rsa_oaep_3072_sha256_mgf1sha256_test.json', 'RSA_3072', 'RSAES_OAEP_SHA_256'],
    ['rsa_oaep_4096_sha256_mgf1sha256_test.json', 'RSA_4096', 'RSAES_OAEP_SHA_256'],
  ];
  it.each(files)('Wycheproof %s: valid vectors decrypt to their message, invalid ones fail', (file, spec, algorithm) => {
    const data = JSON.parse(readFileSync(new URL(`../../vectors/wycheproof/${file}`, import.meta.url), 'utf8')) as {
      testGroups: { keySize: number; sha: string; mgfSha: string; privateKeyPkcs8: string; tests: { tcId: number; msg: string; ct: string; label: string; result: string }[] }[];
    };
    let valid = 0;
    let invalid = 0;
    for (const group of data.testGroups) {
      expect(`RSA_${group.keySize}`).toBe(spec);
      expect(group.mgfSha).toBe(group.sha);
      const privateKey = Buffer.from(group.privateKeyPkcs8, 'hex');
      for (const test of group.tests) {
        const ciphertext = Buffer.from(test.ct, 'hex');
        if (test.result === 'valid' && test.label === '') {
          expect(asymmetricDecrypt(spec, privateKey, algorithm, ciphertext).toString('hex'), `tcId ${test.tcId}`).toBe(test.msg);
          expect(rsaOaepDecrypt(privateKey, algorithm, ciphertext).toString('hex')).toBe(test.msg);
          valid++;
        } else {
          expectReason(() => asymmetricDecrypt(spec, privateKey, algorithm, ciphertext), 'decrypt-failed');
          invalid++;
        }
      }
    }
    expect(valid).toBeGreaterThanOrEqual(10);
    expect(invalid).toBeGreaterThan(10);
  });
});

describe('SM2PKE', () => {
  const sm2Pub = async () => ws.file('sm2.pub.der', (await keyFor('SM2')).publicKey);
  const sm2Key = async () => ws.file('sm2.key.der', (await keyFor('SM2')).privateKey);

  it('round trip from 1 to 1024 bytes; GM/T 0009 ASN.1 ciphertext; 1025 bytes and empty are refused', async () => {
    const { privateKey, publicKey } = await keyFor('SM2');
    for (const length of [1, 31, 32, 33, 100, SM2PKE_MAX_PLAINTEXT_BYTES]) {
      const plaintext = randomBytes(length);
      const ciphertext = asymmetricEncrypt('SM2', publicKey, 'SM2PKE', plaintext);
      const [x, y, c3, c2, ...rest] = readChildren(readWhole(ciphertext, 0x30).value);
      expect([x!.tag, y!.tag, c3!.tag, c2!.tag, rest.length]).toEqual([0x02, 0x02, 0x04, 0x04, 0]);
      expect(c3!.value.length).toBe(32);
      expect(c2!.value.length).toBe(length);
      expect(asymmetricDecrypt('SM2', privateKey, 'SM2PKE', ciphertext)).toEqual(plaintext);
    }
    expectReason(() => asymmetricEncrypt('SM2', publicKey, 'SM2PKE', randomBytes(SM2PKE_MAX_PLAINTEXT_BYTES + 1)), 'plaintext-too-long');
    expectReason(() => asymmetricEncrypt('SM2', publicKey, 'SM2PKE', Buffer.alloc(0)), 'empty-plaintext');
  });

  it('OpenSSL’s SM2 ciphertexts decrypt in Kura, and Kura’s in OpenSSL', async () => {
    const { privateKey, publicKey } = await keyFor('SM2');
    for (const length of [1, 77, SM2PKE_MAX_PLAINTEXT_BYTES]) {
      const plaintext = randomBytes(length);
      ws.must(['pkeyutl', '-encrypt', '-pubin', '-inkey', await sm2Pub(), '-keyform', 'DER', '-in', ws.file('sm2.pt', plaintext), '-out', ws.path('sm2.ct')]);
      expect(asymmetricDecrypt('SM2', privateKey, 'SM2PKE', ws.read('sm2.ct'))).toEqual(plaintext);
      const ours = asymmetricEncrypt('SM2', publicKey, 'SM2PKE', plaintext);
      expect(ws.must(['pkeyutl', '-decrypt', '-inkey', await sm2Key(), '-keyform', 'DER', '-in', ws.file('sm2.kura.ct', ours)])).toEqual(plaintext);
    }
  });

  it('any change to the ciphertext, or another key, is decrypt-failed', async () => {
    const { privateKey, publicKey } = await keyFor('SM2');
    const other = await keyFor('SM2', 1);
    const plaintext = Buffer.from('sixteen byte msg');
    const ciphertext = asymmetricEncrypt('SM2', publicKey, 'SM2PKE', plaintext);
    const [x, y, c3, c2] = readChildren(readWhole(ciphertext, 0x30).value).map((t) => t.value);
    const rebuild = (parts: { x?: Buffer; y?: Buffer; c3?: Buffer; c2?: Buffer }) =>
      encodeSequence(
        encodeUnsignedInteger(BigInt(`0x${(parts.x ?? x!).toString('hex')}`)),
        encodeUnsignedInteger(BigInt(`0x${(parts.y ?? y!).toString('hex')}`)),
        encodeOctetString(parts.c3 ?? c3!),
        encodeOctetString(parts.c2 ?? c2!),
      );
    expect(asymmetricDecrypt('SM2', privateKey, 'SM2PKE', rebuild({}))).toEqual(plaintext);
    const bad = [
      rebuild({ c2: flipBit(c2!) }),
      rebuild({ c3: flipBit(c3!) }),
      rebuild({ x: flipBit(x!, x!.length * 8 - 1) }), // off the curve
      rebuild({ c2: Buffer.alloc(0) }),
      rebuild({ c3: c3!.subarray(1) }),
      ciphertext.subarray(0, ciphertext.length - 1),
      Buffer.concat([ciphertext, Buffer.from([0])]),
      Buffer.from('not a ciphertext'),
    ];
    for (const b of bad) expectReason(() => asymmetricDecrypt('SM2', privateKey, 'SM2PKE', b), 'decrypt-failed');
    expectReason(() => asymmetricDecrypt('SM2', other.privateKey, 'SM2PKE', ciphertext), 'decrypt-failed');
  });
});
