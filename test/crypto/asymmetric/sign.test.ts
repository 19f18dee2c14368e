import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ed25519, ed25519ph } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  KEY_SPECS,
  KEY_SPEC_INFO,
  SIGNING_ALGORITHMS,
  SIGNING_ALGORITHM_INFO,
  sign,
  sm2DsaDigest,
  verify,
  type KeySpec,
  type MessageType,
  type SigningAlgorithm,
} from '../../../main/crypto/asymmetric/index.js';
import { encodeSignatureRS, parseSignatureRS } from '../../../main/crypto/asymmetric/der.js';
import { derToPem, expectReason, flipBit, keyFor, nistKeyParts, nistPkcs8, type NistSpec } from './fixtures.js';
import { fileWorkspace } from './openssl.js';

const ws = fileWorkspace();

const SIGNING_CASES: [KeySpec, SigningAlgorithm][] = KEY_SPECS.flatMap((spec) =>
  KEY_SPEC_INFO[spec].signingAlgorithms.map((algorithm) => [spec, algorithm] as [KeySpec, SigningAlgorithm]),
);
const MESSAGE_CASES: [KeySpec, SigningAlgorithm, MessageType][] = SIGNING_CASES.flatMap(([spec, algorithm]) =>
  SIGNING_ALGORITHM_INFO[algorithm].messageTypes.map((type) => [spec, algorithm, type] as [KeySpec, SigningAlgorithm, MessageType]),
);

/** The DIGEST a caller computes for a message, per algorithm (SM2: e = SM3(Z_A || M) with the default ID). */
function digestFor(spec: KeySpec, publicKey: Buffer, algorithm: SigningAlgorithm, message: Buffer): Buffer {
  if (algorithm === 'SM2DSA') return sm2DsaDigest(spec, publicKey, message);
  return createHash(SIGNING_ALGORITHM_INFO[algorithm].hash).update(message).digest();
}

/** μ of FIPS 204 section 6.2 with an empty context, computed the way AWS's documentation does it with openssl. */
function externalMu(publicKey: Buffer, message: Buffer): Buffer {
  const rawPublicKey = publicKey.subarray(22); // SPKI header of every ML-DSA key is 22 bytes
  const tr = createHash('shake256', { outputLength: 64 }).update(rawPublicKey).digest();
  return createHash('shake256', { outputLength: 64 }).update(tr).update(Buffer.from([0, 0])).update(message).digest();
}

function inputFor(spec: KeySpec, publicKey: Buffer, algorithm: SigningAlgorithm, type: MessageType, message: Buffer): Buffer {
  if (type === 'RAW') return message;
  if (type === 'EXTERNAL_MU') return externalMu(publicKey, message);
  // ED25519_PH_SHA_512 takes a 64-byte DIGEST which it hashes once more; SHA-512 of the message is what callers pass.
  return digestFor(spec, publicKey, algorithm, message);
}

describe('sign and verify, every spec, algorithm and message type', () => {
  it('covers all 13 signing algorithms of the API model', () => {
    expect(new Set(SIGNING_CASES.map(([, a]) => a))).toEqual(new Set(SIGNING_ALGORITHMS));
    expect(MESSAGE_CASES.length).toBe(
      3 * 6 * 2 /* RSA */ + 4 * 2 /* ECDSA */ + 2 /* Ed25519 */ + 3 * 2 /* ML-DSA */ + 2 /* SM2 */,
    );
  });

  it.each(MESSAGE_CASES)('%s %s %s: round trip; a changed bit of signature or message is rejected', async (spec, algorithm, type) => {
    const { privateKey, publicKey } = await keyFor(spec);
    for (const message of [randomBytes(100), Buffer.alloc(0), randomBytes(4096)]) {
      const input = inputFor(spec, publicKey, algorithm, type, message);
      const signature = sign(spec, privateKey, algorithm, input, type);
      expect(verify(spec, publicKey, algorithm, input, type, signature)).toBe(true);
      expect(verify(spec, publicKey, algorithm, input, type, flipBit(signature))).toBe(false);
      const changed = input.length ? flipBit(input, 0) : Buffer.from([0]);
      expect(verify(spec, publicKey, algorithm, changed, type, signature)).toBe(false);
      expect(verify(spec, publicKey, algorithm, input, type, signature.subarray(0, signature.length - 1))).toBe(false);
      expect(verify(spec, publicKey, algorithm, input, type, Buffer.concat([signature, Buffer.from([0])]))).toBe(false);
      if (type !== 'RAW') break; // digests have one length; one message is enough
    }
  });

  it.each(SIGNING_CASES.filter(([spec]) => spec !== 'RSA_4096'))('%s %s: another key of the same spec does not verify', async (spec, algorithm) => {
    const { privateKey } = await keyFor(spec);
    const other = await keyFor(spec, 1);
    const type = SIGNING_ALGORITHM_INFO[algorithm].messageTypes[0]!;
    const input = type === 'RAW' ? randomBytes(10) : randomBytes(SIGNING_ALGORITHM_INFO[algorithm].digestBytes);
    expect(verify(spec, other.publicKey, algorithm, input, type, sign(spec, privateKey, algorithm, input, type))).toBe(false);
  });

  it.each(SIGNING_CASES.filter(([, a]) => !a.startsWith('ED25519')))(
    '%s %s: RAW and DIGEST (or EXTERNAL_MU) are the same message',
    async (spec, algorithm) => {
      const { privateKey, publicKey } = await keyFor(spec);
      const message = randomBytes(333);
      const other: MessageType = algorithm === 'ML_DSA_SHAKE_256' ? 'EXTERNAL_MU' : 'DIGEST';
      const hashed = inputFor(spec, publicKey, algorithm, other, message);
      expect(verify(spec, publicKey, algorithm, hashed, other, sign(spec, privateKey, algorithm, message, 'RAW'))).toBe(true);
      expect(verify(spec, publicKey, algorithm, message, 'RAW', sign(spec, privateKey, algorithm, hashed, other))).toBe(true);
    },
  );
});

describe('requests that no key can serve', () => {
  it('refuses an algorithm of another spec', async () => {
    const wrong: [KeySpec, SigningAlgorithm][] = [
      ['ECC_NIST_P256', 'ECDSA_SHA_384'],
      ['ECC_NIST_P384', 'ECDSA_SHA_256'],
      ['ECC_NIST_P521', 'ECDSA_SHA_384'],
      ['ECC_SECG_P256K1', 'ECDSA_SHA_512'],
      ['RSA_2048', 'ECDSA_SHA_256'],
      ['ECC_NIST_P256', 'RSASSA_PSS_SHA_256'],
      ['ECC_NIST_EDWARDS25519', 'ECDSA_SHA_512'],
      ['ML_DSA_44', 'ED25519_SHA_512'],
      ['SM2', 'ECDSA_SHA_256'],
      ['RSA_4096', 'SM2DSA'],
      ['HMAC_256', 'RSASSA_PSS_SHA_256'],
      ['ECC_NIST_P256', 'NOT_AN_ALGORITHM' as SigningAlgorithm],
    ];
    for (const [spec, algorithm] of wrong) {
      const { privateKey, publicKey } = await keyFor(spec);
      expectReason(() => sign(spec, privateKey, algorithm, Buffer.from('m'), 'RAW'), 'unsupported-algorithm');
      expectReason(() => verify(spec, publicKey, algorithm, Buffer.from('m'), 'RAW', Buffer.alloc(64)), 'unsupported-algorithm');
    }
  });

  it('refuses message types the algorithm does not take', async () => {
    const wrong: [KeySpec, SigningAlgorithm, MessageType][] = [
      ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', 'DIGEST'],
      ['ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'RAW'],
      ['ML_DSA_65', 'ML_DSA_SHAKE_256', 'DIGEST'],
      ['ECC_NIST_P256', 'ECDSA_SHA_256', 'EXTERNAL_MU'],
      ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'EXTERNAL_MU'],
      ['SM2', 'SM2DSA', 'EXTERNAL_MU'],
      ['RSA_2048', 'RSASSA_PSS_SHA_256', 'PREHASHED' as MessageType],
    ];
    for (const [spec, algorithm, type] of wrong) {
      const { privateKey } = await keyFor(spec);
      expectReason(() => sign(spec, privateKey, algorithm, Buffer.alloc(64), type), 'unsupported-message-type');
    }
  });

  it.each(SIGNING_CASES)('%s %s: a DIGEST or μ of the wrong length, a RAW message over 4096 bytes', async (spec, algorithm) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const info = SIGNING_ALGORITHM_INFO[algorithm];
    for (const type of info.messageTypes) {
      if (type === 'RAW') {
        expectReason(() => sign(spec, privateKey, algorithm, Buffer.alloc(4097), 'RAW'), 'message-too-long');
        expectReason(() => verify(spec, publicKey, algorithm, Buffer.alloc(4097), 'RAW', Buffer.alloc(64)), 'message-too-long');
      } else {
        for (const length of [0, info.digestBytes - 1, info.digestBytes + 1, 20]) {
          if (length === info.digestBytes) continue;
          expectReason(() => sign(spec, privateKey, algorithm, Buffer.alloc(length), type), 'digest-length');
          expectReason(() => verify(spec, publicKey, algorithm, Buffer.alloc(length), type, Buffer.alloc(64)), 'digest-length');
        }
      }
    }
  });

  it('refuses public keys that are not the spec’s, and private keys likewise', async () => {
    const p256 = await keyFor('ECC_NIST_P256');
    const p384 = await keyFor('ECC_NIST_P384');
    const k1 = await keyFor('ECC_SECG_P256K1');
    const rsa = await keyFor('RSA_2048');
    const m = Buffer.from('m');
    expectReason(() => verify('ECC_NIST_P256', p384.publicKey, 'ECDSA_SHA_256', m, 'RAW', Buffer.alloc(70)), 'bad-public-key');
    expectReason(() => verify('ECC_SECG_P256K1', p256.publicKey, 'ECDSA_SHA_256', m, 'RAW', Buffer.alloc(70)), 'bad-public-key');
    expectReason(() => verify('ECC_NIST_P256', k1.publicKey, 'ECDSA_SHA_256', m, 'RAW', Buffer.alloc(70)), 'bad-public-key');
    expectReason(() => verify('RSA_3072', rsa.publicKey, 'RSASSA_PSS_SHA_256', m, 'RAW', Buffer.alloc(384)), 'bad-public-key');
    expectReason(() => verify('SM2', Buffer.from('garbage'), 'SM2DSA', m, 'RAW', Buffer.alloc(70)), 'bad-public-key');
    expectReason(() => sign('ECC_NIST_P256', k1.privateKey, 'ECDSA_SHA_256', m, 'RAW'), 'bad-private-key');
    expectReason(() => sign('RSA_3072', rsa.privateKey, 'RSASSA_PSS_SHA_256', m, 'RAW'), 'bad-private-key');
    // A P-256 public key with a point that is not on the curve.
    const offCurve = Buffer.from(p256.publicKey);
    offCurve[offCurve.length - 1]! ^= 1;
    expectReason(() => verify('ECC_NIST_P256', offCurve, 'ECDSA_SHA_256', m, 'RAW', Buffer.alloc(70)), 'bad-public-key');
    expectReason(() => verify('ECC_NIST_P256', offCurve, 'ECDSA_SHA_256', Buffer.alloc(32), 'DIGEST', Buffer.alloc(70)), 'bad-public-key');
  });
});

// ---------------------------------------------------------------------------------------------------
// OpenSSL, both ways

interface OpenSslProfile {
  digest?: string;
  options: string[];
}

function profileOf(algorithm: SigningAlgorithm): OpenSslProfile {
  if (algorithm.startsWith('RSASSA_PSS_')) {
    return { digest: SIGNING_ALGORITHM_INFO[algorithm].hash, options: ['-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest'] };
  }
  if (algorithm === 'ED25519_SHA_512') return { options: [] };
  // OpenSSL 3.0's own default SM2 ID is empty: AWS's must be named.
  if (algorithm === 'SM2DSA') return { digest: 'sm3', options: ['-pkeyopt', 'distid:1234567812345678'] };
  return { digest: SIGNING_ALGORITHM_INFO[algorithm].hash, options: [] };
}

const OPENSSL_CASES = SIGNING_CASES.filter(([spec, algorithm]) => algorithm !== 'ED25519_PH_SHA_512' && KEY_SPEC_INFO[spec].family !== 'ml-dsa');

describe('OpenSSL verifies what Kura signs, and Kura verifies what OpenSSL signs', () => {
  it.each(OPENSSL_CASES)('%s %s', async (spec, algorithm) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const profile = profileOf(algorithm);
    const digestArgs = profile.digest ? ['-digest', profile.digest] : [];
    const tag = `${spec}-${algorithm}`;
    const message = randomBytes(517);
    const msgFile = ws.file(`${tag}.msg`, message);
    const pubFile = ws.file(`${tag}.pub.der`, publicKey);
    const keyFile = ws.file(`${tag}.key.der`, privateKey);
    const verifyArgs = (sigFile: string) => [
      'pkeyutl', '-verify', '-pubin', '-inkey', pubFile, '-keyform', 'DER', '-rawin', '-in', msgFile, '-sigfile', sigFile, ...digestArgs, ...profile.options,
    ];

    // Kura signs (RAW, and DIGEST where the algorithm has it), OpenSSL verifies over the message.
    const types = SIGNING_ALGORITHM_INFO[algorithm].messageTypes;
    for (const type of types) {
      const signature = sign(spec, privateKey, algorithm, inputFor(spec, publicKey, algorithm, type, message), type);
      const sigFile = ws.file(`${tag}.${type}.sig`, signature);
      const result = ws.run(verifyArgs(sigFile));
      expect(result.stdout.toString(), `${type}: ${result.stderr}`).toContain('Signature Verified Successfully');
      const broken = ws.file(`${tag}.${type}.bad.sig`, flipBit(signature));
      expect(ws.run(verifyArgs(broken)).ok).toBe(false);
    }
    if (KEY_SPEC_INFO[spec].family !== 'ed25519') {
      // And the classic dgst form for the RAW signature, with a PEM key, as a user would type it.
      const pem = ws.file(`${tag}.pub.pem`, derToPem(publicKey, 'PUBLIC KEY'));
      const sigFile = ws.path(`${tag}.RAW.sig`);
      const sigopts = profile.options.flatMap((o) => (o === '-pkeyopt' ? ['-sigopt'] : [o]));
      const out = ws.run(['dgst', `-${profile.digest}`, '-verify', pem, '-signature', sigFile, ...sigopts, msgFile]);
      expect(out.stdout.toString(), out.stderr).toContain('Verified OK');
    }

    // OpenSSL signs with Kura's private key (PKCS#8 DER); Kura verifies RAW and DIGEST.
    const outFile = ws.path(`${tag}.openssl.sig`);
    ws.must(['pkeyutl', '-sign', '-inkey', keyFile, '-keyform', 'DER', '-rawin', '-in', msgFile, '-out', outFile, ...digestArgs, ...profile.options]);
    const signature = ws.read(`${tag}.openssl.sig`);
    for (const type of types) {
      expect(verify(spec, publicKey, algorithm, inputFor(spec, publicKey, algorithm, type, message), type, signature), type).toBe(true);
    }
    expect(verify(spec, publicKey, algorithm, message, 'RAW', flipBit(signature))).toBe(false);
    expect(verify(spec, publicKey, algorithm, flipBit(message), 'RAW', signature)).toBe(false);
  });

  it('SM2DSA DIGEST with a caller’s own distinguishing ID verifies in OpenSSL under that ID only', async () => {
    const { privateKey, publicKey } = await keyFor('SM2');
    const message = Buffer.from('a message signed for alice');
    const id = Buffer.from('alice@example.com');
    const e = sm2DsaDigest('SM2', publicKey, message, id);
    const signature = sign('SM2', privateKey, 'SM2DSA', e, 'DIGEST');
    const args = (distid: string) => [
      'pkeyutl', '-verify', '-pubin', '-inkey', ws.file('sm2-id.pub.der', publicKey), '-keyform', 'DER', '-rawin',
      '-in', ws.file('sm2-id.msg', message), '-sigfile', ws.file('sm2-id.sig', signature), '-digest', 'sm3', '-pkeyopt', `distid:${distid}`,
    ];
    expect(ws.run(args('alice@example.com')).stdout.toString()).toContain('Signature Verified Successfully');
    expect(ws.run(args('1234567812345678')).ok).toBe(false);
    expect(verify('SM2', publicKey, 'SM2DSA', message, 'RAW', signature)).toBe(false);
    expect(verify('SM2', publicKey, 'SM2DSA', e, 'DIGEST', signature)).toBe(true);
  });

  it('RSASSA-PSS: a salt shorter than the hash is not RSASSA_PSS_SHA_256 and is refused', async () => {
    const { privateKey, publicKey } = await keyFor('RSA_2048');
    const message = randomBytes(40);
    const msgFile = ws.file('pss-salt.msg', message);
    const keyFile = ws.file('pss-salt.key.der', privateKey);
    ws.must([
      'pkeyutl', '-sign', '-inkey', keyFile, '-keyform', 'DER', '-rawin', '-in', msgFile, '-out', ws.path('pss-salt.sig'),
      '-digest', 'sha256', '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:20',
    ]);
    const signature = ws.read('pss-salt.sig');
    expect(verify('RSA_2048', publicKey, 'RSASSA_PSS_SHA_256', message, 'RAW', signature)).toBe(false);
    expect(verify('RSA_2048', publicKey, 'RSASSA_PSS_SHA_256', createHash('sha256').update(message).digest(), 'DIGEST', signature)).toBe(false);
  });

  it('RSASSA-PKCS1-v1_5 and -PSS: a signature of fewer than k bytes is invalid even when it is the valid one without its leading zero byte', async () => {
    // RFC 8017 sections 8.1.2 and 8.2.2, step 1: "If the length of the signature S is not k octets,
    // output 'invalid signature'". OpenSSL reads a shorter S as the same integer and would accept it,
    // so Kura's own length check is all that enforces the rule. PKCS#1 v1.5 signatures are
    // deterministic: about one message in 256 gives a signature whose first byte is 0x00.
    const { privateKey, publicKey } = await keyFor('RSA_2048');
    let message: Buffer | undefined;
    let signature: Buffer | undefined;
    for (let i = 0; i < 20_000 && !signature; i++) {
      const m = Buffer.from(`leading zero ${i}`);
      const s = sign('RSA_2048', privateKey, 'RSASSA_PKCS1_V1_5_SHA_256', m, 'RAW');
      if (s[0] === 0) [message, signature] = [m, s];
    }
    expect(signature, 'a signature with a leading zero byte').toBeDefined();
    const digest = createHash('sha256').update(message!).digest();
    expect(verify('RSA_2048', publicKey, 'RSASSA_PKCS1_V1_5_SHA_256', message!, 'RAW', signature!)).toBe(true);
    expect(verify('RSA_2048', publicKey, 'RSASSA_PKCS1_V1_5_SHA_256', digest, 'DIGEST', signature!)).toBe(true);
    const short = signature!.subarray(1);
    expect(verify('RSA_2048', publicKey, 'RSASSA_PKCS1_V1_5_SHA_256', message!, 'RAW', short)).toBe(false);
    expect(verify('RSA_2048', publicKey, 'RSASSA_PKCS1_V1_5_SHA_256', digest, 'DIGEST', short)).toBe(false);
    // PSS is randomized: sign until the first byte is 0x00.
    let pss: Buffer | undefined;
    for (let i = 0; i < 20_000 && !pss; i++) {
      const s = sign('RSA_2048', privateKey, 'RSASSA_PSS_SHA_256', message!, 'RAW');
      if (s[0] === 0) pss = s;
    }
    expect(verify('RSA_2048', publicKey, 'RSASSA_PSS_SHA_256', message!, 'RAW', pss!)).toBe(true);
    expect(verify('RSA_2048', publicKey, 'RSASSA_PSS_SHA_256', message!, 'RAW', pss!.subarray(1))).toBe(false);
    expect(verify('RSA_2048', publicKey, 'RSASSA_PSS_SHA_256', digest, 'DIGEST', pss!.subarray(1))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------
// Algorithm-specific checks

describe('ECDSA', () => {
  it('secp256k1: Kura signs low-S and accepts the high-S twin, as OpenSSL and AWS produce both', async () => {
    const { privateKey, publicKey } = await keyFor('ECC_SECG_P256K1');
    const n = secp256k1.Point.Fn.ORDER;
    for (let i = 0; i < 8; i++) {
      const message = randomBytes(32);
      const signature = sign('ECC_SECG_P256K1', privateKey, 'ECDSA_SHA_256', message, 'RAW');
      const { r, s } = parseSignatureRS(signature);
      expect(s <= n / 2n).toBe(true);
      expect(verify('ECC_SECG_P256K1', publicKey, 'ECDSA_SHA_256', message, 'RAW', encodeSignatureRS(r, n - s))).toBe(true);
    }
  });

  it.each([
    ['ECC_NIST_P256', p256.Point.Fn.ORDER],
    ['ECC_NIST_P384', p384.Point.Fn.ORDER],
    ['ECC_NIST_P521', p521.Point.Fn.ORDER],
    ['ECC_SECG_P256K1', secp256k1.Point.Fn.ORDER],
  ] as [KeySpec, bigint][])('%s: r or s out of [1, n-1] never verifies, even when it is a valid one plus n', async (spec, n) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const algorithm = KEY_SPEC_INFO[spec].signingAlgorithms[0]!;
    const message = randomBytes(16);
    const { r, s } = parseSignatureRS(sign(spec, privateKey, algorithm, message, 'RAW'));
    for (const [rr, ss] of [[0n, s], [r, 0n], [r + n, s], [r, s + n], [n, s]] as [bigint, bigint][]) {
      expect(verify(spec, publicKey, algorithm, message, 'RAW', encodeSignatureRS(rr, ss))).toBe(false);
      const digest = createHash(SIGNING_ALGORITHM_INFO[algorithm].hash).update(message).digest();
      expect(verify(spec, publicKey, algorithm, digest, 'DIGEST', encodeSignatureRS(rr, ss))).toBe(false);
    }
  });

  // Node (RAW) and noble (DIGEST) load the scalar: both must read a scalar with leading zero bytes, as
  // OpenSSL does and as ImportKeyMaterial therefore accepts, and refuse one that is longer in value.
  it.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'sha512'],
  ] as [NistSpec, SigningAlgorithm, string][])('%s: a scalar written with leading zero bytes signs RAW and DIGEST alike', (spec, algorithm, hash) => {
    const { d, point, spki } = nistKeyParts(spec);
    const padded = nistPkcs8(spec, Buffer.concat([Buffer.alloc(2), d]), point);
    const message = Buffer.from('leading zeros');
    const digest = createHash(hash).update(message).digest();
    expect(verify(spec, spki, algorithm, message, 'RAW', sign(spec, padded, algorithm, message, 'RAW'))).toBe(true);
    expect(verify(spec, spki, algorithm, message, 'RAW', sign(spec, padded, algorithm, digest, 'DIGEST'))).toBe(true);
    expectReason(() => sign(spec, nistPkcs8(spec, Buffer.concat([Buffer.from([1]), d]), point), algorithm, digest, 'DIGEST'), 'bad-private-key');
  });

  // Wycheproof ECDSA P-256/SHA-256 (ecdsa_secp256r1_sha256_test.json): every valid signature verifies and
  // every invalid one, including BER and other non-DER encodings, is refused; through both verify paths
  // (Node for RAW, noble for DIGEST).
  const wycheproof = JSON.parse(readFileSync(new URL('../../vectors/wycheproof/ecdsa_secp256r1_sha256_test.json', import.meta.url), 'utf8')) as {
    testGroups: { publicKeyDer: string; sha: string; tests: { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }[] }[];
  };

  it('Wycheproof ecdsa_secp256r1_sha256: valid accepted, invalid rejected', () => {
    let checked = 0;
    for (const group of wycheproof.testGroups) {
      expect(group.sha).toBe('SHA-256');
      const publicKey = Buffer.from(group.publicKeyDer, 'hex');
      for (const test of group.tests) {
        const message = Buffer.from(test.msg, 'hex');
        const signature = Buffer.from(test.sig, 'hex');
        const digest = createHash('sha256').update(message).digest();
        const expected = test.result === 'valid';
        expect(verify('ECC_NIST_P256', publicKey, 'ECDSA_SHA_256', message, 'RAW', signature), `tcId ${test.tcId} RAW`).toBe(expected);
        expect(verify('ECC_NIST_P256', publicKey, 'ECDSA_SHA_256', digest, 'DIGEST', signature), `tcId ${test.tcId} DIGEST`).toBe(expected);
        checked++;
      }
    }
    expect(checked).toBe(484);
  });
});

describe('Ed25519', () => {
  // RFC 8032 section 7.1, TEST 1 (empty message) and section 7.3, TEST abc (Ed25519ph).
  const rfc = {
    pureSeed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    purePublic: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    pureSignature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    phSeed: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    phPublic: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    phSignature:
      '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
  };
  const pkcs8 = (seed: string) => Buffer.from(`302e020100300506032b657004220420${seed}`, 'hex');
  const spki = (pub: string) => Buffer.from(`302a300506032b6570032100${pub}`, 'hex');

  it('ED25519_SHA_512 is pure Ed25519: RFC 8032 test 1, byte for byte', () => {
    const signature = sign('ECC_NIST_EDWARDS25519', pkcs8(rfc.pureSeed), 'ED25519_SHA_512', Buffer.alloc(0), 'RAW');
    expect(signature.toString('hex')).toBe(rfc.pureSignature);
    expect(verify('ECC_NIST_EDWARDS25519', spki(rfc.purePublic), 'ED25519_SHA_512', Buffer.alloc(0), 'RAW', signature)).toBe(true);
    expect(createPrivateKey({ key: pkcs8(rfc.pureSeed), format: 'der', type: 'pkcs8' }).asymmetricKeyType).toBe('ed25519');
  });

  it('the Ed25519ph implementation is RFC 8032’s (test abc)', () => {
    const seed = Buffer.from(rfc.phSeed, 'hex');
    expect(Buffer.from(ed25519ph.getPublicKey(seed)).toString('hex')).toBe(rfc.phPublic);
    expect(Buffer.from(ed25519ph.sign(Buffer.from('abc'), seed)).toString('hex')).toBe(rfc.phSignature);
  });

  it('ED25519_PH_SHA_512 signs Ed25519ph of the 64-byte DIGEST, hashing it once more (AWS’s documented behaviour)', async () => {
    const { privateKey, publicKey } = await keyFor('ECC_NIST_EDWARDS25519');
    const seed = privateKey.subarray(16);
    const raw = publicKey.subarray(12);
    const digest = createHash('sha512').update(randomBytes(5000)).digest();
    const signature = sign('ECC_NIST_EDWARDS25519', privateKey, 'ED25519_PH_SHA_512', digest, 'DIGEST');
    // Deterministic, so equal to the reference Ed25519ph over the digest bytes as the message …
    expect(Buffer.from(ed25519ph.sign(digest, seed)).equals(signature)).toBe(true);
    // … and not a pure Ed25519 signature of the same bytes.
    expect(ed25519.verify(signature, digest, raw)).toBe(false);
    expect(verify('ECC_NIST_EDWARDS25519', publicKey, 'ED25519_SHA_512', digest, 'RAW', signature)).toBe(false);
  });
});

describe('ML-DSA', () => {
  it.each(['ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87'] as KeySpec[])('%s: EXTERNAL_MU signatures are RAW signatures (μ per FIPS 204 section 6.2)', async (spec) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const message = randomBytes(5000); // longer than RAW allows: the reason EXTERNAL_MU exists
    const mu = externalMu(publicKey, message);
    const signature = sign(spec, privateKey, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU');
    expect(signature.length).toBe({ ML_DSA_44: 2420, ML_DSA_65: 3309, ML_DSA_87: 4627 }[spec as string]);
    expect(verify(spec, publicKey, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU', signature)).toBe(true);
    const short = message.subarray(0, 4096);
    const rawSignature = sign(spec, privateKey, 'ML_DSA_SHAKE_256', short, 'RAW');
    expect(verify(spec, publicKey, 'ML_DSA_SHAKE_256', externalMu(publicKey, short), 'EXTERNAL_MU', rawSignature)).toBe(true);
    // A context string other than the empty one would change μ: the pure variant with ctx = "" is used.
    const withContext = createHash('shake256', { outputLength: 64 })
      .update(createHash('shake256', { outputLength: 64 }).update(publicKey.subarray(22)).digest())
      .update(Buffer.from([0, 1, 0x41]))
      .update(short)
      .digest();
    expect(verify(spec, publicKey, 'ML_DSA_SHAKE_256', withContext, 'EXTERNAL_MU', rawSignature)).toBe(false);
  });
});
