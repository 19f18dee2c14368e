// Every non-symmetric key spec through the KMS API of a real dev-mode `kura serve`, driven by the
// unchanged @aws-sdk/client-kms, with the results checked OUTSIDE Kura:
// - Sign for every signing spec and algorithm (RAW, DIGEST where the algorithm takes it, EXTERNAL_MU for
//   ML-DSA), the public key from GetPublicKey (DER SubjectPublicKeyInfo, parsed here), and the signature
//   verified by Debian's `openssl` where its version has the algorithm, else by @noble; Kura's Verify
//   accepts its own signatures and a high-S ECDSA twin, and refuses a flipped bit of signature or
//   message and a signature of another key of the same spec (KMSInvalidSignatureException).
// - RSA-OAEP ciphertexts made by `openssl pkeyutl` (SHA-1 and SHA-256) and by node:crypto decrypt in
//   Kura; AWS's plaintext limits; ReEncrypt between RSA and symmetric keys; SM2PKE with OpenSSL.
// - HMAC GenerateMac/VerifyMac; ECDH DeriveSharedSecret against node:crypto (and @noble for SM2) on
//   the peer's side; GenerateDataKeyPair(WithoutPlaintext) for every DataKeyPairSpec.
// - The AWS error name of every wrong combination, and the algorithm lists of DescribeKey.
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, constants, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  ReEncryptCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type DataKeyPairSpec,
  type EncryptionAlgorithmSpec,
  type KeyMetadata,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
  type MacAlgorithmSpec,
  type MessageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName, kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

// ---- AWS facts these tests check against (the API reference and the Developer Guide's key spec reference) ----

type SigningSpec =
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'ECC_SECG_P256K1'
  | 'ECC_NIST_EDWARDS25519'
  | 'ML_DSA_44'
  | 'ML_DSA_65'
  | 'ML_DSA_87'
  | 'SM2';

const RSA_SIGNING: SigningAlgorithmSpec[] = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];

const SIGNING: Record<SigningSpec, SigningAlgorithmSpec[]> = {
  RSA_2048: RSA_SIGNING,
  RSA_3072: RSA_SIGNING,
  RSA_4096: RSA_SIGNING,
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_NIST_P521: ['ECDSA_SHA_512'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
  ECC_NIST_EDWARDS25519: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
  ML_DSA_44: ['ML_DSA_SHAKE_256'],
  ML_DSA_65: ['ML_DSA_SHAKE_256'],
  ML_DSA_87: ['ML_DSA_SHAKE_256'],
  SM2: ['SM2DSA'],
};
const SIGNING_SPECS = Object.keys(SIGNING) as SigningSpec[];
const SIGNING_CASES = SIGNING_SPECS.flatMap((spec) => SIGNING[spec].map((alg) => [spec, alg] as [SigningSpec, SigningAlgorithmSpec]));

/** The message types each algorithm accepts, and the hash a DIGEST is made with. */
function messageTypesOf(alg: SigningAlgorithmSpec): MessageType[] {
  if (alg === 'ED25519_SHA_512') return ['RAW'];
  if (alg === 'ED25519_PH_SHA_512') return ['DIGEST'];
  if (alg === 'ML_DSA_SHAKE_256') return ['RAW', 'EXTERNAL_MU'];
  return ['RAW', 'DIGEST'];
}
function hashOf(alg: SigningAlgorithmSpec): 'sha256' | 'sha384' | 'sha512' | 'sm3' {
  if (alg === 'SM2DSA') return 'sm3';
  if (alg.endsWith('512')) return 'sha512';
  if (alg.endsWith('384')) return 'sha384';
  return 'sha256';
}

const RSA_BITS: Record<string, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

/** SPKI AlgorithmIdentifier OIDs (RFC 3279/5480/8410, draft-ietf-lamps-dilithium-certificates, GM/T 0006) and key lengths. */
const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const SPKI: Record<SigningSpec, { algorithm: string; parameters?: string; keyBytes?: number }> = {
  RSA_2048: { algorithm: '1.2.840.113549.1.1.1', parameters: 'NULL' },
  RSA_3072: { algorithm: '1.2.840.113549.1.1.1', parameters: 'NULL' },
  RSA_4096: { algorithm: '1.2.840.113549.1.1.1', parameters: 'NULL' },
  ECC_NIST_P256: { algorithm: ID_EC_PUBLIC_KEY, parameters: '1.2.840.10045.3.1.7', keyBytes: 65 },
  ECC_NIST_P384: { algorithm: ID_EC_PUBLIC_KEY, parameters: '1.3.132.0.34', keyBytes: 97 },
  ECC_NIST_P521: { algorithm: ID_EC_PUBLIC_KEY, parameters: '1.3.132.0.35', keyBytes: 133 },
  ECC_SECG_P256K1: { algorithm: ID_EC_PUBLIC_KEY, parameters: '1.3.132.0.10', keyBytes: 65 },
  ECC_NIST_EDWARDS25519: { algorithm: '1.3.101.112', keyBytes: 32 },
  ML_DSA_44: { algorithm: '2.16.840.1.101.3.4.3.17', keyBytes: 1312 },
  ML_DSA_65: { algorithm: '2.16.840.1.101.3.4.3.18', keyBytes: 1952 },
  ML_DSA_87: { algorithm: '2.16.840.1.101.3.4.3.19', keyBytes: 2592 },
  SM2: { algorithm: ID_EC_PUBLIC_KEY, parameters: '1.2.156.10197.1.301', keyBytes: 65 },
};
const ML_DSA = { ML_DSA_44: ml_dsa44, ML_DSA_65: ml_dsa65, ML_DSA_87: ml_dsa87 } as const;
const ML_DSA_SIGNATURE_BYTES = { ML_DSA_44: 2420, ML_DSA_65: 3309, ML_DSA_87: 4627 } as const;
/** ECDSA group orders, for the high-S twin of a signature. */
const ORDER: Partial<Record<SigningSpec, bigint>> = {
  ECC_NIST_P256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ECC_NIST_P384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ECC_NIST_P521: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  ECC_SECG_P256K1: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
};

/** AWS's "Maximum plaintext size (in bytes) in an Encrypt operation". */
const OAEP_MAX: Record<'RSA_2048' | 'RSA_3072' | 'RSA_4096', Record<'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256', number>> = {
  RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
  RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
  RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
};
const SM2PKE_MAX = 1024;

const HMAC: Record<'HMAC_224' | 'HMAC_256' | 'HMAC_384' | 'HMAC_512', { alg: MacAlgorithmSpec; bytes: number }> = {
  HMAC_224: { alg: 'HMAC_SHA_224', bytes: 28 },
  HMAC_256: { alg: 'HMAC_SHA_256', bytes: 32 },
  HMAC_384: { alg: 'HMAC_SHA_384', bytes: 48 },
  HMAC_512: { alg: 'HMAC_SHA_512', bytes: 64 },
};
const HMAC_SPECS = Object.keys(HMAC) as (keyof typeof HMAC)[];

const ECDH_CURVES = { ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1' } as const;
const ECDH_SPECS = Object.keys(ECDH_CURVES) as (keyof typeof ECDH_CURVES)[];

const DATA_KEY_PAIR_SPECS: DataKeyPairSpec[] = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
  'SM2',
];

// SM2 curve (GB/T 32918.5), for Z_A of SM2DSA DIGESTs and for the SM2 ECDH peer.
const SM2_CURVE = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
  h: 1n,
};
const SM2_DEFAULT_ID = '1234567812345678';

// ---- DER, just enough to read a SubjectPublicKeyInfo and to write an ECDSA-Sig-Value ----

interface Tlv {
  tag: number;
  start: number;
  end: number;
}
function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset]!;
  let len = der[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > der.length) throw new Error('DER: length past the end');
  return { tag, start, end: start + len };
}
function oidToString(bytes: Uint8Array): string {
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift()!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}
/** SubjectPublicKeyInfo (RFC 5280 section 4.1): throws unless the whole input is one well-formed SPKI. */
function parseSpki(der: Uint8Array): { algorithm: string; parameters?: string; key: Buffer } {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error('SPKI: not one SEQUENCE');
  const algId = readTlv(der, outer.start);
  if (algId.tag !== 0x30) throw new Error('SPKI: no AlgorithmIdentifier');
  const oid = readTlv(der, algId.start);
  if (oid.tag !== 0x06) throw new Error('SPKI: no algorithm OID');
  let parameters: string | undefined;
  if (oid.end < algId.end) {
    const p = readTlv(der, oid.end);
    parameters = p.tag === 0x06 ? oidToString(der.subarray(p.start, p.end)) : p.tag === 0x05 && p.end === p.start ? 'NULL' : `tag ${p.tag}`;
    if (p.end !== algId.end) throw new Error('SPKI: trailing AlgorithmIdentifier bytes');
  }
  const bits = readTlv(der, algId.end);
  if (bits.tag !== 0x03 || bits.end !== outer.end || der[bits.start] !== 0) throw new Error('SPKI: no whole-byte BIT STRING');
  return { algorithm: oidToString(der.subarray(oid.start, oid.end)), parameters, key: Buffer.from(der.subarray(bits.start + 1, bits.end)) };
}
function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let body = Buffer.from(hex, 'hex');
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}
function derLength(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
}
function ecdsaRS(sig: Uint8Array): { r: bigint; s: bigint } {
  const seq = readTlv(sig, 0);
  if (seq.tag !== 0x30 || seq.end !== sig.length) throw new Error('ECDSA signature: not one DER SEQUENCE');
  const r = readTlv(sig, seq.start);
  const s = readTlv(sig, r.end);
  if (r.tag !== 0x02 || s.tag !== 0x02 || s.end !== seq.end) throw new Error('ECDSA signature: not two INTEGERs');
  const big = (t: Tlv) => BigInt(`0x${Buffer.from(sig.subarray(t.start, t.end)).toString('hex') || '0'}`);
  return { r: big(r), s: big(s) };
}
function ecdsaDer(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}
const toPem = (der: Uint8Array, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

// ---- helpers computed outside Kura ----

const big32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
/** SM2DSA's e = SM3(Z_A || M), Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 section 5.5). */
function sm2Digest(publicKeyDer: Uint8Array, message: Uint8Array, id = SM2_DEFAULT_ID): Buffer {
  const point = parseSpki(publicKeyDer).key; // 04 || x || y
  const idBytes = Buffer.from(id, 'utf8');
  const entl = Buffer.from([(idBytes.length * 8) >> 8, (idBytes.length * 8) & 0xff]);
  const z = createHash('sm3')
    .update(Buffer.concat([entl, idBytes, big32(SM2_CURVE.a), big32(SM2_CURVE.b), big32(SM2_CURVE.Gx), big32(SM2_CURVE.Gy), point.subarray(1)]))
    .digest();
  return createHash('sm3').update(z).update(message).digest();
}
/** μ of FIPS 204 section 6.2 for pure ML-DSA with an empty context. */
function externalMu(publicKeyDer: Uint8Array, message: Uint8Array): Buffer {
  const tr = createHash('shake256', { outputLength: 64 }).update(parseSpki(publicKeyDer).key).digest();
  return createHash('shake256', { outputLength: 64 }).update(tr).update(Buffer.from([0, 0])).update(message).digest();
}
/** What a caller sends as Message for a message type. */
function inputFor(alg: SigningAlgorithmSpec, type: MessageType, publicKey: Uint8Array, message: Buffer): Buffer {
  if (type === 'RAW') return message;
  if (type === 'EXTERNAL_MU') return externalMu(publicKey, message);
  if (alg === 'SM2DSA') return sm2Digest(publicKey, message);
  return createHash(hashOf(alg)).update(message).digest();
}
function flipBit(b: Uint8Array, index = Math.floor(b.length / 2)): Buffer {
  const out = Buffer.from(b);
  out[index] = out[index]! ^ 0x01;
  return out;
}

// ---- openssl as the outside verifier ----

const OPENSSL_VERSION = /OpenSSL (\d+)\.(\d+)/.exec(spawnSync('openssl', ['version']).stdout.toString()) ?? ['', '0', '0'];
const OPENSSL = { major: Number(OPENSSL_VERSION[1]), minor: Number(OPENSSL_VERSION[2]) };
const opensslAtLeast = (major: number, minor: number) => OPENSSL.major > major || (OPENSSL.major === major && OPENSSL.minor >= minor);
/** Ed25519ph came to the openssl command line in 3.2 (`-pkeyopt instance:Ed25519ph`), ML-DSA in 3.5. */
const OPENSSL_HAS_ED25519PH = opensslAtLeast(3, 2);
const OPENSSL_HAS_ML_DSA = opensslAtLeast(3, 5);

let work: string;
let fileSeq = 0;
function file(bytes: Uint8Array | string, name = 'blob'): string {
  const p = join(work, `${++fileSeq}-${name}`);
  writeFileSync(p, bytes);
  return p;
}
function openssl(args: string[]): { ok: boolean; stdout: Buffer; stderr: string } {
  const r = spawnSync('openssl', args, { cwd: work });
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr.toString() };
}
function opensslMust(args: string[]): Buffer {
  const r = openssl(args);
  if (!r.ok) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * The pkeyutl arguments that verify a signature of `alg` over `message` (the original message: for a DIGEST
 * signature, too, since the signature is the same), or undefined where this openssl lacks the algorithm.
 * Ed25519ph: Kura signs Ed25519ph with the 64-byte DIGEST as Ed25519ph's message (see main/crypto/asymmetric/sign.ts).
 */
function pkeyutlVerifyArgs(alg: SigningAlgorithmSpec, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string[] | undefined {
  const base = ['pkeyutl', '-verify', '-pubin', '-inkey', file(publicKey, 'pub.der'), '-keyform', 'DER', '-rawin', '-sigfile', file(signature, 'sig')];
  if (alg.startsWith('RSASSA_PSS_')) {
    return [...base, '-in', file(message, 'msg'), '-digest', hashOf(alg), '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest'];
  }
  if (alg.startsWith('RSASSA_PKCS1_V1_5_') || alg.startsWith('ECDSA_')) return [...base, '-in', file(message, 'msg'), '-digest', hashOf(alg)];
  if (alg === 'SM2DSA') return [...base, '-in', file(message, 'msg'), '-digest', 'sm3', '-pkeyopt', `distid:${SM2_DEFAULT_ID}`];
  if (alg === 'ED25519_SHA_512') return [...base, '-in', file(message, 'msg')];
  if (alg === 'ED25519_PH_SHA_512') {
    return OPENSSL_HAS_ED25519PH ? [...base, '-in', file(createHash('sha512').update(message).digest(), 'digest'), '-pkeyopt', 'instance:Ed25519ph'] : undefined;
  }
  if (alg === 'ML_DSA_SHAKE_256') return OPENSSL_HAS_ML_DSA ? [...base, '-in', file(message, 'msg')] : undefined;
  return undefined;
}

/** Verifies outside Kura: openssl where it has the algorithm, @noble where it does not. Returns who verified. */
function verifyOutside(spec: SigningSpec, alg: SigningAlgorithmSpec, publicKey: Uint8Array, message: Buffer, signature: Uint8Array): { ok: boolean; by: string; detail: string } {
  const args = pkeyutlVerifyArgs(alg, publicKey, message, signature);
  if (args) {
    const r = openssl(args);
    return { ok: r.ok && r.stdout.toString().includes('Signature Verified Successfully'), by: 'openssl', detail: r.stdout.toString() + r.stderr };
  }
  const raw = parseSpki(publicKey).key;
  if (alg === 'ED25519_PH_SHA_512') {
    return { ok: ed25519ph.verify(signature, createHash('sha512').update(message).digest(), raw, { zip215: false }), by: '@noble/curves ed25519ph', detail: '' };
  }
  if (alg === 'ML_DSA_SHAKE_256') {
    return { ok: ML_DSA[spec as keyof typeof ML_DSA].verify(signature, message, raw), by: '@noble/post-quantum', detail: '' };
  }
  throw new Error(`no outside verifier for ${spec} ${alg}`);
}

// ---- Kura ----

let kura: KuraProcess;
let kms: KMSClient;
let account: string;
const arnOf = (keyId: string) => `arn:aws:kms:us-east-1:${account}:key/${keyId}`;

interface Key {
  keyId: string;
  arn: string;
  metadata: KeyMetadata;
}
async function createKey(keySpec: KeySpec, keyUsage?: KeyUsageType): Promise<Key> {
  const out = await kms.send(new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: keyUsage, Description: `asymmetric test ${keySpec} ${keyUsage ?? ''}` }));
  return { keyId: out.KeyMetadata!.KeyId!, arn: out.KeyMetadata!.Arn!, metadata: out.KeyMetadata! };
}
async function publicKeyOf(key: Key): Promise<Buffer> {
  return Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: key.keyId }))).PublicKey!);
}
async function kuraSign(key: Key, alg: SigningAlgorithmSpec, message: Uint8Array, type: MessageType = 'RAW'): Promise<Buffer> {
  const out = await kms.send(new SignCommand({ KeyId: key.keyId, Message: message, MessageType: type, SigningAlgorithm: alg }));
  expect(out.KeyId).toBe(key.arn);
  expect(out.SigningAlgorithm).toBe(alg);
  return Buffer.from(out.Signature!);
}
function kuraVerify(key: Key, alg: SigningAlgorithmSpec, message: Uint8Array, signature: Uint8Array, type: MessageType = 'RAW') {
  return kms.send(new VerifyCommand({ KeyId: key.keyId, Message: message, MessageType: type, Signature: signature, SigningAlgorithm: alg }));
}

/** Signing keys: two of each spec (the second signs what the first must refuse), made once. */
const signing = {} as Record<SigningSpec, { key: Key; other: Key; publicKey: Buffer }>;
const rsaEncrypt = {} as Record<'RSA_2048' | 'RSA_3072' | 'RSA_4096', { key: Key; publicKey: Buffer }>;
const hmacKeys = {} as Record<keyof typeof HMAC, Key>;
const agreement = {} as Record<keyof typeof ECDH_CURVES | 'SM2', { key: Key; publicKey: Buffer }>;
let sm2Encrypt: { key: Key; publicKey: Buffer };
let symmetric: Key;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kura-asymmetric-'));
  kura = await startKura();
  kms = kmsClient(kura);
  symmetric = await createKey('SYMMETRIC_DEFAULT');
  account = symmetric.metadata.AWSAccountId!;
  // RSA key generation is the slow part (RSA_4096 above all): start everything at once, each key once.
  const jobs: Promise<void>[] = [];
  for (const spec of SIGNING_SPECS) {
    jobs.push(
      (async () => {
        const [key, other] = await Promise.all([createKey(spec, 'SIGN_VERIFY'), createKey(spec, 'SIGN_VERIFY')]);
        signing[spec] = { key, other, publicKey: await publicKeyOf(key) };
      })(),
    );
  }
  for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
    jobs.push(
      (async () => {
        const key = await createKey(spec, 'ENCRYPT_DECRYPT');
        rsaEncrypt[spec] = { key, publicKey: await publicKeyOf(key) };
      })(),
    );
  }
  for (const spec of HMAC_SPECS) jobs.push(createKey(spec, 'GENERATE_VERIFY_MAC').then((k) => void (hmacKeys[spec] = k)));
  for (const spec of [...ECDH_SPECS, 'SM2'] as const) {
    jobs.push(
      (async () => {
        const key = await createKey(spec, 'KEY_AGREEMENT');
        agreement[spec] = { key, publicKey: await publicKeyOf(key) };
      })(),
    );
  }
  jobs.push(
    (async () => {
      const key = await createKey('SM2', 'ENCRYPT_DECRYPT');
      sm2Encrypt = { key, publicKey: await publicKeyOf(key) };
    })(),
  );
  await Promise.all(jobs);
});

afterAll(async () => {
  kms?.destroy();
  await kura?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---- signing ----------------------------------------------------------------------------------------

/** CustomerMasterKeySpec (deprecated) has no value for the specs added since (ML-DSA, Ed25519): the API model's enum. */
const LEGACY_SPECS = new Set(['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2']);
const legacySpec = (spec: string): string | undefined => (LEGACY_SPECS.has(spec) ? spec : undefined);

describe('GetPublicKey of every signing spec', () => {
  it.each(SIGNING_SPECS)('%s: KeySpec, KeyUsage, SigningAlgorithms and a DER SubjectPublicKeyInfo of the spec', async (spec) => {
    const { key } = signing[spec];
    const out = await kms.send(new GetPublicKeyCommand({ KeyId: key.arn }));
    expect(out.KeyId).toBe(key.arn);
    expect(out.KeySpec).toBe(spec);
    expect(out.CustomerMasterKeySpec).toBe(legacySpec(spec));
    expect(out.KeyUsage).toBe('SIGN_VERIFY');
    expect(out.SigningAlgorithms).toEqual(SIGNING[spec]);
    expect(out.EncryptionAlgorithms).toBeUndefined();
    expect(out.KeyAgreementAlgorithms).toBeUndefined();

    const der = Buffer.from(out.PublicKey!);
    const spki = parseSpki(der);
    const want = SPKI[spec];
    expect(spki.algorithm).toBe(want.algorithm);
    expect(spki.parameters).toBe(want.parameters);
    if (want.keyBytes !== undefined) expect(spki.key.length).toBe(want.keyBytes);
    if (want.algorithm === ID_EC_PUBLIC_KEY) expect(spki.key[0]).toBe(0x04); // uncompressed point, as AWS returns it
    if (spec.startsWith('RSA_')) {
      const node = createPublicKey({ key: der, format: 'der', type: 'spki' });
      expect(node.asymmetricKeyType).toBe('rsa');
      expect(node.asymmetricKeyDetails).toMatchObject({ modulusLength: RSA_BITS[spec], publicExponent: 65537n });
    }
    // And openssl reads it as a DER public key, whatever the spec (unknown OIDs included, as a parse).
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', file(der, 'spki.der')]);
    expect(parsed.ok, parsed.stderr).toBe(true);
    if (!spec.startsWith('ML_DSA')) {
      const text = openssl(['pkey', '-pubin', '-inform', 'DER', '-in', file(der, 'spki.der'), '-noout', '-text']);
      expect(text.ok, text.stderr).toBe(true);
    }
    // The two keys of a spec are different keys.
    expect(der.equals(await publicKeyOf(signing[spec].other))).toBe(false);
  });
});

describe('Sign through the API, verified outside Kura; Verify in Kura', () => {
  it('GetPublicKey leaves the key intact: asked twice in a row it answers the same key, and Verify and Encrypt still work after it', async () => {
    const key = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const message = Buffer.from('signed before GetPublicKey');
    const signature = await kuraSign(key, 'ECDSA_SHA_256', message);
    const first = await publicKeyOf(key);
    const second = await publicKeyOf(key);
    expect(second.equals(first)).toBe(true);
    expect(second.equals(Buffer.alloc(second.length))).toBe(false);
    expect((await kuraVerify(key, 'ECDSA_SHA_256', message, signature)).SignatureValid).toBe(true);

    const rsa = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const rsaPublic = await publicKeyOf(rsa);
    expect((await publicKeyOf(rsa)).equals(rsaPublic)).toBe(true);
    const enc = await kms.send(new EncryptCommand({ KeyId: rsa.keyId, Plaintext: Buffer.from('after GetPublicKey'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: rsa.keyId, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('after GetPublicKey');
  });

  it('an alias names a signing key for Sign, Verify and GetPublicKey', async () => {
    const { key, publicKey } = signing.ECC_NIST_P384;
    const alias = `alias/asymmetric-test-${randomBytes(4).toString('hex')}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.keyId }));
    expect(Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: alias }))).PublicKey!).equals(publicKey)).toBe(true);
    const message = Buffer.from('via alias');
    const out = await kms.send(new SignCommand({ KeyId: alias, Message: message, SigningAlgorithm: 'ECDSA_SHA_384' }));
    expect(out.KeyId).toBe(key.arn);
    const v = await kms.send(new VerifyCommand({ KeyId: alias, Message: message, Signature: out.Signature, SigningAlgorithm: 'ECDSA_SHA_384' }));
    expect(v).toMatchObject({ KeyId: key.arn, SignatureValid: true });
  });

  it('a signature that is not one at all is KMSInvalidSignatureException; DryRun is DryRunOperationException', async () => {
    for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'ML_DSA_44', 'SM2'] as const) {
      const alg = SIGNING[spec][0]!;
      expect(await errorName(kuraVerify(signing[spec].key, alg, Buffer.from('m'), randomBytes(10))), spec).toBe('KMSInvalidSignatureException');
    }
    const { key } = signing.ECC_NIST_P256;
    expect(await errorName(kms.send(new SignCommand({ KeyId: key.keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true })))).toBe(
      'DryRunOperationException',
    );
  });

  it('Verify with DryRun says DryRunOperationException only for a signature that verifies; one that does not is KMSInvalidSignatureException', async () => {
    // DryRun means "would this call succeed": answering DryRunOperationException for a bad signature
    // would tell the caller it verifies.
    const { key } = signing.ECC_NIST_P256;
    const m = Buffer.from('dry run');
    const signature = await kuraSign(key, 'ECDSA_SHA_256', m);
    const dry = (sig: Uint8Array) =>
      kms.send(new VerifyCommand({ KeyId: key.keyId, Message: m, Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }));
    expect(await errorName(dry(signature))).toBe('DryRunOperationException');
    expect(await errorName(dry(flipBit(signature)))).toBe('KMSInvalidSignatureException');
    expect(await errorName(dry(randomBytes(10)))).toBe('KMSInvalidSignatureException');
  });


  it('this openssl is what the tests expect to find (and which algorithms fall back to @noble)', () => {
    expect(OPENSSL.major).toBeGreaterThanOrEqual(3);
  });

  it.each(SIGNING_CASES)('%s %s', async (spec, alg) => {
    const { key, other, publicKey } = signing[spec];
    const message = randomBytes(517);
    for (const type of messageTypesOf(alg)) {
      const input = inputFor(alg, type, publicKey, message);
      const signature = await kuraSign(key, alg, input, type);

      // The form of the signature AWS returns.
      if (spec.startsWith('RSA_')) expect(signature.length).toBe(RSA_BITS[spec]! / 8);
      if (alg.startsWith('ECDSA_') || alg === 'SM2DSA') expect(() => ecdsaRS(signature)).not.toThrow();
      if (spec === 'ECC_NIST_EDWARDS25519') expect(signature.length).toBe(64);
      if (spec.startsWith('ML_DSA')) expect(signature.length).toBe(ML_DSA_SIGNATURE_BYTES[spec as keyof typeof ML_DSA_SIGNATURE_BYTES]);

      // Outside Kura: the signature verifies over the message, and a flipped bit does not.
      const outside = verifyOutside(spec, alg, publicKey, message, signature);
      expect(outside.ok, `${type} by ${outside.by}: ${outside.detail}`).toBe(true);
      expect(verifyOutside(spec, alg, publicKey, message, flipBit(signature)).ok, `${type} flipped, by ${outside.by}`).toBe(false);
      expect(verifyOutside(spec, alg, publicKey, flipBit(message), signature).ok, `${type} other message, by ${outside.by}`).toBe(false);

      // In Kura: its own signature verifies …
      const ok = await kuraVerify(key, alg, input, signature, type);
      expect(ok).toMatchObject({ KeyId: key.arn, SignatureValid: true, SigningAlgorithm: alg });
      // … a flipped bit of signature or of message does not, and neither does another key's signature.
      expect(await errorName(kuraVerify(key, alg, input, flipBit(signature), type))).toBe('KMSInvalidSignatureException');
      expect(await errorName(kuraVerify(key, alg, flipBit(input), signature, type))).toBe('KMSInvalidSignatureException');
      const others = await kuraSign(other, alg, input, type);
      expect(await errorName(kuraVerify(key, alg, input, others, type))).toBe('KMSInvalidSignatureException');
      expect((await kuraVerify(other, alg, input, others, type)).SignatureValid).toBe(true);
      // "A message and its hash digest are considered to be the same message."
      if (type === 'DIGEST' && messageTypesOf(alg).includes('RAW')) {
        expect((await kuraVerify(key, alg, message, signature, 'RAW')).SignatureValid).toBe(true);
        const rawSignature = await kuraSign(key, alg, message, 'RAW');
        expect((await kuraVerify(key, alg, input, rawSignature, 'DIGEST')).SignatureValid).toBe(true);
      }
      // A μ-signature is an ordinary ML-DSA signature of the message.
      if (type === 'EXTERNAL_MU') {
        expect((await kuraVerify(key, alg, message, signature, 'RAW')).SignatureValid).toBe(true);
      }
    }
  });

  it.each(SIGNING_SPECS.filter((s) => ORDER[s] !== undefined))('%s: the high-S twin of a signature (as OpenSSL may make) verifies in openssl and in Kura', async (spec) => {
    const { key, publicKey } = signing[spec];
    const alg = SIGNING[spec][0]!;
    const message = randomBytes(100);
    const signature = await kuraSign(key, alg, message);
    const { r, s } = ecdsaRS(signature);
    const twin = ecdsaDer(r, ORDER[spec]! - s);
    expect(twin.equals(signature)).toBe(false);
    expect(verifyOutside(spec, alg, publicKey, message, twin).ok).toBe(true);
    expect((await kuraVerify(key, alg, message, twin)).SignatureValid).toBe(true);
  });

  it.each(SIGNING_SPECS.filter((s) => s.startsWith('RSA_') || s.startsWith('ECC_NIST_P') || s === 'ECC_SECG_P256K1'))(
    '%s: `openssl dgst -verify` with the PEM public key accepts a RAW signature',
    async (spec) => {
      const { key, publicKey } = signing[spec];
      const pem = file(toPem(publicKey, 'PUBLIC KEY'), 'pub.pem');
      const message = randomBytes(300);
      const msgFile = file(message, 'msg');
      for (const alg of SIGNING[spec]) {
        const sigFile = file(await kuraSign(key, alg, message), 'sig');
        const pss = alg.startsWith('RSASSA_PSS_') ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest'] : [];
        const r = openssl(['dgst', `-${hashOf(alg)}`, '-verify', pem, '-signature', sigFile, ...pss, msgFile]);
        expect(r.stdout.toString(), `${alg}: ${r.stderr}`).toContain('Verified OK');
      }
    },
  );

  it('SM2DSA with a DIGEST made under the caller’s own distinguishing ID verifies in openssl under that ID only', async () => {
    const { key, publicKey } = signing.SM2;
    const message = randomBytes(64);
    const id = 'alice@example.com';
    const signature = await kuraSign(key, 'SM2DSA', sm2Digest(publicKey, message, id), 'DIGEST');
    const args = (distid: string) => [
      'pkeyutl', '-verify', '-pubin', '-inkey', file(publicKey, 'pub.der'), '-keyform', 'DER', '-rawin',
      '-in', file(message, 'msg'), '-sigfile', file(signature, 'sig'), '-digest', 'sm3', '-pkeyopt', `distid:${distid}`,
    ];
    expect(openssl(args(id)).stdout.toString()).toContain('Signature Verified Successfully');
    expect(openssl(args(SM2_DEFAULT_ID)).ok).toBe(false);
    // Kura's RAW verification uses the default ID, so the same signature is not valid for the RAW message.
    expect(await errorName(kuraVerify(key, 'SM2DSA', message, signature, 'RAW'))).toBe('KMSInvalidSignatureException');
  });

  it('Ed25519 signatures verify in node:crypto too (pure Ed25519 RAW)', async () => {
    const { key, publicKey } = signing.ECC_NIST_EDWARDS25519;
    const message = randomBytes(1000);
    const signature = await kuraSign(key, 'ED25519_SHA_512', message);
    expect(nodeVerify(null, message, createPublicKey({ key: publicKey, format: 'der', type: 'spki' }), signature)).toBe(true);
  });

  it('a RAW message of exactly 4096 bytes signs; 4097 bytes and an empty message are ValidationException', async () => {
    const { key } = signing.ECC_NIST_P256;
    const max = randomBytes(4096);
    const signature = await kuraSign(key, 'ECDSA_SHA_256', max);
    expect((await kuraVerify(key, 'ECDSA_SHA_256', max, signature)).SignatureValid).toBe(true);
    expect(await errorName(kuraSign(key, 'ECDSA_SHA_256', randomBytes(4097)))).toBe('ValidationException');
    expect(await errorName(kuraVerify(key, 'ECDSA_SHA_256', randomBytes(4097), signature))).toBe('ValidationException');
    expect(await errorName(kuraSign(key, 'ECDSA_SHA_256', Buffer.alloc(0)))).toBe('ValidationException');
  });
});

// ---- RSA-OAEP and SM2PKE ---------------------------------------------------------------------------

describe('RSA-OAEP: ciphertexts made outside decrypt in Kura', () => {
  const RSA_ENC_CASES = (['RSA_2048', 'RSA_3072', 'RSA_4096'] as const).flatMap((spec) =>
    (['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const).map((alg) => [spec, alg] as const),
  );

  it.each(RSA_ENC_CASES)('%s %s: openssl pkeyutl and node:crypto encrypt with the exported key, Kura decrypts', async (spec, alg) => {
    const { key, publicKey } = rsaEncrypt[spec];
    const md = alg === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256';
    const max = OAEP_MAX[spec][alg];
    for (const plaintext of [randomBytes(max), Buffer.from('a short secret'), randomBytes(1)]) {
      const ct = opensslMust([
        'pkeyutl', '-encrypt', '-pubin', '-inkey', file(toPem(publicKey, 'PUBLIC KEY'), 'pub.pem'), '-in', file(plaintext, 'pt'),
        '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${md}`, '-pkeyopt', `rsa_mgf1_md:${md}`,
      ]);
      expect(ct.length).toBe(RSA_BITS[spec]! / 8);
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: ct, KeyId: key.keyId, EncryptionAlgorithm: alg }));
      expect(Buffer.from(out.Plaintext!).equals(plaintext)).toBe(true);
      expect(out.KeyId).toBe(key.arn);
      expect(out.EncryptionAlgorithm).toBe(alg);
    }
    const nodeCt = publicEncrypt({ key: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: md }, Buffer.from('from node'));
    const out = await kms.send(new DecryptCommand({ CiphertextBlob: nodeCt, KeyId: key.arn, EncryptionAlgorithm: alg }));
    expect(Buffer.from(out.Plaintext!).toString()).toBe('from node');
    // The other OAEP hash does not open it.
    const wrong = alg === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: nodeCt, KeyId: key.keyId, EncryptionAlgorithm: wrong })))).toBe('InvalidCiphertextException');
  });

  it.each(RSA_ENC_CASES)('%s %s: Kura Encrypt takes AWS’s maximum plaintext, refuses one byte more, and Decrypt round-trips', async (spec, alg) => {
    const { key } = rsaEncrypt[spec];
    const max = OAEP_MAX[spec][alg];
    const plaintext = randomBytes(max);
    const enc = await kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: plaintext, EncryptionAlgorithm: alg }));
    expect(enc.KeyId).toBe(key.arn);
    expect(enc.EncryptionAlgorithm).toBe(alg);
    expect(enc.CiphertextBlob!.length).toBe(RSA_BITS[spec]! / 8);
    // OAEP is randomized: the same plaintext twice gives two ciphertexts.
    const again = await kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: plaintext, EncryptionAlgorithm: alg }));
    expect(Buffer.from(again.CiphertextBlob!).equals(Buffer.from(enc.CiphertextBlob!))).toBe(false);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: key.keyId, EncryptionAlgorithm: alg }));
    expect(Buffer.from(dec.Plaintext!).equals(plaintext)).toBe(true);
    expect(dec.KeyMaterialId).toBeUndefined();
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: randomBytes(max + 1), EncryptionAlgorithm: alg })))).toBe('ValidationException');
    // A flipped bit of ciphertext does not decrypt.
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: flipBit(enc.CiphertextBlob!), KeyId: key.keyId, EncryptionAlgorithm: alg })))).toBe(
      'InvalidCiphertextException',
    );
  });

  it('an RSA key needs its EncryptionAlgorithm named: Encrypt and Decrypt without one, or with SYMMETRIC_DEFAULT, are InvalidKeyUsageException', async () => {
    // AWS: "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_…" (InvalidKeyUsageException).
    const { key } = rsaEncrypt.RSA_2048;
    const enc = await kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x') })))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' })))).toBe(
      'InvalidKeyUsageException',
    );
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: key.keyId })))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: key.keyId, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' })))).toBe(
      'InvalidKeyUsageException',
    );
    // Without a KeyId there is nothing to name the RSA key: the ciphertext is not one Kura can place.
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toBe(
      'InvalidCiphertextException',
    );
  });

  it('ReEncrypt moves a ciphertext from an RSA key to a symmetric key and back', async () => {
    const { key: rsa, publicKey } = rsaEncrypt.RSA_3072;
    const plaintext = randomBytes(100);
    const rsaCt = publicEncrypt({ key: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plaintext);

    const toSym = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: rsaCt, SourceKeyId: rsa.keyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: symmetric.keyId }),
    );
    expect(toSym).toMatchObject({ SourceKeyId: rsa.arn, KeyId: symmetric.arn, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    const symPlain = await kms.send(new DecryptCommand({ CiphertextBlob: toSym.CiphertextBlob }));
    expect(Buffer.from(symPlain.Plaintext!).equals(plaintext)).toBe(true);
    expect(symPlain.KeyId).toBe(symmetric.arn);

    const back = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: toSym.CiphertextBlob, DestinationKeyId: rsa.arn, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }),
    );
    expect(back).toMatchObject({ SourceKeyId: symmetric.arn, KeyId: rsa.arn, SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' });
    expect(back.CiphertextBlob!.length).toBe(384);
    const rsaPlain = await kms.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob, KeyId: rsa.keyId, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
    expect(Buffer.from(rsaPlain.Plaintext!).equals(plaintext)).toBe(true);

    // To an RSA destination without its algorithm: InvalidKeyUsageException, as for Encrypt.
    expect(await errorName(kms.send(new ReEncryptCommand({ CiphertextBlob: toSym.CiphertextBlob, DestinationKeyId: rsa.keyId })))).toBe('InvalidKeyUsageException');
    // An RSA source without SourceKeyId cannot be placed.
    expect(
      await errorName(kms.send(new ReEncryptCommand({ CiphertextBlob: rsaCt, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: symmetric.keyId }))),
    ).toBe('InvalidCiphertextException');
  });

  it('SM2PKE: openssl encrypts with the exported SM2 key and Kura decrypts; Kura round-trips 1024 bytes and refuses 1025', async () => {
    const { key, publicKey } = sm2Encrypt;
    const out = await kms.send(new GetPublicKeyCommand({ KeyId: key.keyId }));
    expect(out).toMatchObject({ KeySpec: 'SM2', KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['SM2PKE'] });
    expect(out.SigningAlgorithms).toBeUndefined();
    const plaintext = randomBytes(200);
    const ct = opensslMust(['pkeyutl', '-encrypt', '-pubin', '-inkey', file(publicKey, 'sm2.pub.der'), '-keyform', 'DER', '-in', file(plaintext, 'pt')]);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: ct, KeyId: key.keyId, EncryptionAlgorithm: 'SM2PKE' }));
    expect(Buffer.from(dec.Plaintext!).equals(plaintext)).toBe(true);
    expect(dec.EncryptionAlgorithm).toBe('SM2PKE');

    const max = randomBytes(SM2PKE_MAX);
    const enc = await kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: max, EncryptionAlgorithm: 'SM2PKE' }));
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: key.keyId, EncryptionAlgorithm: 'SM2PKE' }));
    expect(Buffer.from(back.Plaintext!).equals(max)).toBe(true);
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: randomBytes(SM2PKE_MAX + 1), EncryptionAlgorithm: 'SM2PKE' })))).toBe(
      'ValidationException',
    );
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toBe(
      'InvalidKeyUsageException',
    );
  });
});

// ---- HMAC --------------------------------------------------------------------------------------------

describe('HMAC keys: GenerateMac and VerifyMac', () => {
  it.each(HMAC_SPECS)('%s: round trip, deterministic, a changed MAC or message is KMSInvalidMacException', async (spec) => {
    const key = hmacKeys[spec];
    const { alg, bytes } = HMAC[spec];
    const message = randomBytes(333);
    const out = await kms.send(new GenerateMacCommand({ KeyId: key.keyId, Message: message, MacAlgorithm: alg }));
    expect(out.KeyId).toBe(key.arn);
    expect(out.MacAlgorithm).toBe(alg);
    const mac = Buffer.from(out.Mac!);
    expect(mac.length).toBe(bytes);
    // Deterministic: the same message gives the same MAC; another message another one.
    const again = await kms.send(new GenerateMacCommand({ KeyId: key.arn, Message: message, MacAlgorithm: alg }));
    expect(Buffer.from(again.Mac!).equals(mac)).toBe(true);
    const otherMessage = await kms.send(new GenerateMacCommand({ KeyId: key.keyId, Message: flipBit(message), MacAlgorithm: alg }));
    expect(Buffer.from(otherMessage.Mac!).equals(mac)).toBe(false);

    const v = await kms.send(new VerifyMacCommand({ KeyId: key.keyId, Message: message, Mac: mac, MacAlgorithm: alg }));
    expect(v).toMatchObject({ KeyId: key.arn, MacValid: true, MacAlgorithm: alg });
    expect(await errorName(kms.send(new VerifyMacCommand({ KeyId: key.keyId, Message: message, Mac: flipBit(mac), MacAlgorithm: alg })))).toBe('KMSInvalidMacException');
    expect(await errorName(kms.send(new VerifyMacCommand({ KeyId: key.keyId, Message: flipBit(message), Mac: mac, MacAlgorithm: alg })))).toBe(
      'KMSInvalidMacException',
    );
    expect(await errorName(kms.send(new VerifyMacCommand({ KeyId: key.keyId, Message: message, Mac: mac.subarray(0, bytes - 1), MacAlgorithm: alg })))).toBe(
      'KMSInvalidMacException',
    );
    // The MAC algorithm of another spec does not fit this key.
    for (const otherSpec of HMAC_SPECS.filter((s) => s !== spec)) {
      expect(await errorName(kms.send(new GenerateMacCommand({ KeyId: key.keyId, Message: message, MacAlgorithm: HMAC[otherSpec].alg })))).toBe(
        'InvalidKeyUsageException',
      );
      expect(await errorName(kms.send(new VerifyMacCommand({ KeyId: key.keyId, Message: message, Mac: mac, MacAlgorithm: HMAC[otherSpec].alg })))).toBe(
        'InvalidKeyUsageException',
      );
    }
  });

  it('two HMAC_256 keys make different MACs of one message, and neither verifies the other’s', async () => {
    const second = await createKey('HMAC_256', 'GENERATE_VERIFY_MAC');
    const message = Buffer.from('same message');
    const a = (await kms.send(new GenerateMacCommand({ KeyId: hmacKeys.HMAC_256.keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }))).Mac!;
    const b = (await kms.send(new GenerateMacCommand({ KeyId: second.keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }))).Mac!;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(await errorName(kms.send(new VerifyMacCommand({ KeyId: second.keyId, Message: message, Mac: a, MacAlgorithm: 'HMAC_SHA_256' })))).toBe('KMSInvalidMacException');
  });

  it('GenerateMac takes 4096 bytes and refuses 4097 with ValidationException', async () => {
    const key = hmacKeys.HMAC_512;
    const out = await kms.send(new GenerateMacCommand({ KeyId: key.keyId, Message: randomBytes(4096), MacAlgorithm: 'HMAC_SHA_512' }));
    expect(out.Mac!.length).toBe(64);
    expect(await errorName(kms.send(new GenerateMacCommand({ KeyId: key.keyId, Message: randomBytes(4097), MacAlgorithm: 'HMAC_SHA_512' })))).toBe('ValidationException');
  });
});

// ---- ECDH --------------------------------------------------------------------------------------------

describe('DeriveSharedSecret (ECDH)', () => {
  it.each(ECDH_SPECS)('%s: Kura’s secret equals node:crypto’s on the peer’s side; GetPublicKey lists ECDH', async (spec) => {
    const { key, publicKey } = agreement[spec];
    const gp = await kms.send(new GetPublicKeyCommand({ KeyId: key.keyId }));
    expect(gp).toMatchObject({ KeySpec: spec, KeyUsage: 'KEY_AGREEMENT', KeyAgreementAlgorithms: ['ECDH'] });
    expect(gp.SigningAlgorithms).toBeUndefined();
    expect(parseSpki(publicKey)).toMatchObject({ algorithm: ID_EC_PUBLIC_KEY, parameters: SPKI[spec].parameters });

    const peer = generateKeyPairSync('ec', { namedCurve: ECDH_CURVES[spec] });
    const peerSpki = peer.publicKey.export({ format: 'der', type: 'spki' });
    const out = await kms.send(new DeriveSharedSecretCommand({ KeyId: key.keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerSpki }));
    expect(out).toMatchObject({ KeyId: key.arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' });
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }) });
    expect(Buffer.from(out.SharedSecret!).equals(expected)).toBe(true);
    // Another peer, another secret.
    const peer2 = generateKeyPairSync('ec', { namedCurve: ECDH_CURVES[spec] }).publicKey.export({ format: 'der', type: 'spki' });
    const out2 = await kms.send(new DeriveSharedSecretCommand({ KeyId: key.arn, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer2 }));
    expect(Buffer.from(out2.SharedSecret!).equals(expected)).toBe(false);
  });

  it.each(ECDH_SPECS)('%s: a peer key on another curve, or not a public key at all, is ValidationException', async (spec) => {
    const { key } = agreement[spec];
    for (const [otherSpec, curve] of Object.entries(ECDH_CURVES)) {
      if (otherSpec === spec) continue;
      const wrong = generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'der', type: 'spki' });
      expect(await errorName(kms.send(new DeriveSharedSecretCommand({ KeyId: key.keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: wrong })))).toBe('ValidationException');
    }
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
    expect(await errorName(kms.send(new DeriveSharedSecretCommand({ KeyId: key.keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: x25519 })))).toBe('ValidationException');
    expect(await errorName(kms.send(new DeriveSharedSecretCommand({ KeyId: key.keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: randomBytes(91) })))).toBe(
      'ValidationException',
    );
  });

  it('SM2: Kura’s secret equals the peer’s x(d·Q) computed with @noble on the SM2 curve', async () => {
    const { key, publicKey } = agreement.SM2;
    const Point = weierstrass(SM2_CURVE);
    const d = (BigInt(`0x${randomBytes(32).toString('hex')}`) % (SM2_CURVE.n - 1n)) + 1n;
    const peerPoint = Point.BASE.multiply(d).toBytes(false);
    const peerDer = Buffer.concat([Buffer.from(publicKey.subarray(0, publicKey.length - 65)), peerPoint]); // same SPKI header, other point
    expect(parseSpki(peerDer).parameters).toBe(SPKI.SM2.parameters);
    const out = await kms.send(new DeriveSharedSecretCommand({ KeyId: key.keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerDer }));
    const kuraPoint = Point.fromBytes(parseSpki(publicKey).key);
    const expected = big32(kuraPoint.multiply(d).toAffine().x);
    expect(Buffer.from(out.SharedSecret!).equals(expected)).toBe(true);
  });

  it('DeriveSharedSecret on a SIGN_VERIFY key, and Sign on a KEY_AGREEMENT key, are InvalidKeyUsageException', async () => {
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(await errorName(kms.send(new DeriveSharedSecretCommand({ KeyId: signing.ECC_NIST_P256.key.keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer })))).toBe(
      'InvalidKeyUsageException',
    );
    expect(await errorName(kuraSign(agreement.ECC_NIST_P256.key, 'ECDSA_SHA_256', Buffer.from('m')))).toBe('InvalidKeyUsageException');
  });
});

// ---- data key pairs -------------------------------------------------------------------------------

/** The SPKI DER of the public half of a PKCS#8 private key, by node:crypto (openssl for SM2, which Node's build cannot parse). */
function publicOfPkcs8(spec: DataKeyPairSpec, pkcs8: Uint8Array): Buffer {
  if (spec === 'SM2') return opensslMust(['pkey', '-inform', 'DER', '-in', file(pkcs8, 'sm2.p8.der'), '-pubout', '-outform', 'DER']);
  const priv = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  return createPublicKey(priv).export({ format: 'der', type: 'spki' });
}

describe('GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext', () => {
  it.each(DATA_KEY_PAIR_SPECS)('%s: PKCS#8 private key whose public half is PublicKey, and Decrypt(PrivateKeyCiphertextBlob) gives it back', async (spec) => {
    const context = { purpose: 'data key pair test', spec };
    const out = await kms.send(new GenerateDataKeyPairCommand({ KeyId: symmetric.keyId, KeyPairSpec: spec, EncryptionContext: context }));
    expect(out.KeyId).toBe(symmetric.arn);
    expect(out.KeyPairSpec).toBe(spec);
    const priv = Buffer.from(out.PrivateKeyPlaintext!);
    const pub = Buffer.from(out.PublicKey!);
    const want = SPKI[spec as SigningSpec];
    expect(parseSpki(pub)).toMatchObject({ algorithm: want.algorithm, parameters: want.parameters });
    expect(publicOfPkcs8(spec, priv).equals(pub)).toBe(true);
    if (spec === 'RSA_2048' || spec === 'RSA_3072' || spec === 'RSA_4096') {
      expect(createPrivateKey({ key: priv, format: 'der', type: 'pkcs8' }).asymmetricKeyDetails?.modulusLength).toBe(RSA_BITS[spec]);
    }

    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(dec.Plaintext!).equals(priv)).toBe(true);
    expect(dec.KeyId).toBe(symmetric.arn);
    // The encryption context is bound to the blob.
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob })))).toBe('InvalidCiphertextException');

    const without = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: symmetric.arn, KeyPairSpec: spec }));
    expect(without).not.toHaveProperty('PrivateKeyPlaintext');
    expect(without.KeyPairSpec).toBe(spec);
    expect(without.KeyId).toBe(symmetric.arn);
    const wpub = Buffer.from(without.PublicKey!);
    expect(wpub.equals(pub)).toBe(false);
    const wpriv = Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: without.PrivateKeyCiphertextBlob }))).Plaintext!);
    expect(publicOfPkcs8(spec, wpriv).equals(wpub)).toBe(true);
  });

  it('a data key pair’s private key signs what its public key verifies (ECC_NIST_P256, in node:crypto)', async () => {
    const out = await kms.send(new GenerateDataKeyPairCommand({ KeyId: symmetric.keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    const priv = createPrivateKey({ key: Buffer.from(out.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
    const { sign } = await import('node:crypto');
    const sig = sign('sha256', Buffer.from('m'), priv);
    expect(nodeVerify('sha256', Buffer.from('m'), createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' }), sig)).toBe(true);
  });

  it('an asymmetric or HMAC key cannot protect a data key pair; a KeyPairSpec outside DataKeyPairSpec is ValidationException', async () => {
    expect(await errorName(kms.send(new GenerateDataKeyPairCommand({ KeyId: rsaEncrypt.RSA_2048.key.keyId, KeyPairSpec: 'ECC_NIST_P256' })))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new GenerateDataKeyPairCommand({ KeyId: hmacKeys.HMAC_256.keyId, KeyPairSpec: 'ECC_NIST_P256' })))).toBe('InvalidKeyUsageException');
    expect(
      await errorName(kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: signing.RSA_2048.key.keyId, KeyPairSpec: 'ECC_NIST_P256' }))),
    ).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new GenerateDataKeyPairCommand({ KeyId: symmetric.keyId, KeyPairSpec: 'ML_DSA_44' as DataKeyPairSpec })))).toBe('ValidationException');
  });
});

// ---- wrong combinations ------------------------------------------------------------------------------

describe('wrong combinations get AWS’s error names', () => {
  it('a signing algorithm of another spec is InvalidKeyUsageException, for Sign and Verify', async () => {
    const m = Buffer.from('message');
    const p256 = signing.ECC_NIST_P256.key;
    expect(await errorName(kuraSign(p256, 'ECDSA_SHA_384', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(p256, 'RSASSA_PSS_SHA_256', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraVerify(p256, 'ECDSA_SHA_512', m, Buffer.alloc(72)))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(signing.RSA_2048.key, 'ECDSA_SHA_256', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(signing.ECC_NIST_EDWARDS25519.key, 'ECDSA_SHA_256', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(signing.ML_DSA_65.key, 'ED25519_SHA_512', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(signing.SM2.key, 'ECDSA_SHA_256', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(signing.ECC_SECG_P256K1.key, 'SM2DSA', m))).toBe('InvalidKeyUsageException');
  });

  it('Sign with an ENCRYPT_DECRYPT RSA key, an HMAC key or a symmetric key is InvalidKeyUsageException', async () => {
    const m = Buffer.from('message');
    expect(await errorName(kuraSign(rsaEncrypt.RSA_2048.key, 'RSASSA_PSS_SHA_256', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(hmacKeys.HMAC_256, 'ECDSA_SHA_256', m))).toBe('InvalidKeyUsageException');
    expect(await errorName(kuraSign(symmetric, 'RSASSA_PSS_SHA_256', m))).toBe('InvalidKeyUsageException');
  });

  it('GenerateMac/VerifyMac with a SIGN_VERIFY or symmetric key is InvalidKeyUsageException', async () => {
    const m = Buffer.from('message');
    expect(await errorName(kms.send(new GenerateMacCommand({ KeyId: signing.ECC_NIST_P256.key.keyId, Message: m, MacAlgorithm: 'HMAC_SHA_256' })))).toBe(
      'InvalidKeyUsageException',
    );
    expect(await errorName(kms.send(new GenerateMacCommand({ KeyId: symmetric.keyId, Message: m, MacAlgorithm: 'HMAC_SHA_256' })))).toBe('InvalidKeyUsageException');
    expect(
      await errorName(kms.send(new VerifyMacCommand({ KeyId: signing.RSA_2048.key.keyId, Message: m, Mac: randomBytes(32), MacAlgorithm: 'HMAC_SHA_256' }))),
    ).toBe('InvalidKeyUsageException');
  });

  it('a DIGEST of the wrong length is ValidationException', async () => {
    expect(await errorName(kuraSign(signing.ECC_NIST_P256.key, 'ECDSA_SHA_256', randomBytes(31), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraSign(signing.ECC_NIST_P256.key, 'ECDSA_SHA_256', randomBytes(48), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraSign(signing.RSA_2048.key, 'RSASSA_PKCS1_V1_5_SHA_512', randomBytes(32), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraSign(signing.SM2.key, 'SM2DSA', randomBytes(20), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraSign(signing.ECC_NIST_EDWARDS25519.key, 'ED25519_PH_SHA_512', randomBytes(32), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraVerify(signing.ECC_NIST_P384.key, 'ECDSA_SHA_384', randomBytes(32), Buffer.alloc(100), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraSign(signing.ML_DSA_44.key, 'ML_DSA_SHAKE_256', randomBytes(32), 'EXTERNAL_MU'))).toBe('ValidationException');
  });

  it('a message type the algorithm does not take is ValidationException (Ed25519 RAW/DIGEST are not interchangeable; DIGEST is not for ML-DSA; EXTERNAL_MU is only for ML-DSA)', async () => {
    const ed = signing.ECC_NIST_EDWARDS25519.key;
    expect(await errorName(kuraSign(ed, 'ED25519_SHA_512', randomBytes(64), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraSign(ed, 'ED25519_PH_SHA_512', randomBytes(64), 'RAW'))).toBe('ValidationException');
    expect(await errorName(kuraSign(signing.ML_DSA_65.key, 'ML_DSA_SHAKE_256', randomBytes(64), 'DIGEST'))).toBe('ValidationException');
    expect(await errorName(kuraSign(signing.RSA_2048.key, 'RSASSA_PSS_SHA_512', randomBytes(64), 'EXTERNAL_MU'))).toBe('ValidationException');
  });

  it('Sign and Verify on a disabled key are DisabledException; enabled again, it signs', async () => {
    const key = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const m = Buffer.from('message');
    const signature = await kuraSign(key, 'ECDSA_SHA_256', m);
    await kms.send(new DisableKeyCommand({ KeyId: key.keyId }));
    expect(await errorName(kuraSign(key, 'ECDSA_SHA_256', m))).toBe('DisabledException');
    expect(await errorName(kuraVerify(key, 'ECDSA_SHA_256', m, signature))).toBe('DisabledException');
    expect(await errorName(kms.send(new GetPublicKeyCommand({ KeyId: key.keyId })))).toBe('DisabledException');
    await kms.send(new EnableKeyCommand({ KeyId: key.keyId }));
    expect((await kuraVerify(key, 'ECDSA_SHA_256', m, await kuraSign(key, 'ECDSA_SHA_256', m))).SignatureValid).toBe(true);
  });

  it('GenerateMac on a disabled HMAC key is DisabledException', async () => {
    const key = await createKey('HMAC_384', 'GENERATE_VERIFY_MAC');
    await kms.send(new DisableKeyCommand({ KeyId: key.keyId }));
    expect(await errorName(kms.send(new GenerateMacCommand({ KeyId: key.keyId, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_384' })))).toBe('DisabledException');
  });

  it('Encrypt with an HMAC key or a SIGN_VERIFY key is InvalidKeyUsageException', async () => {
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: hmacKeys.HMAC_256.keyId, Plaintext: Buffer.from('x') })))).toBe('InvalidKeyUsageException');
    expect(
      await errorName(kms.send(new EncryptCommand({ KeyId: signing.RSA_2048.key.keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))),
    ).toBe('InvalidKeyUsageException');
  });

  it('GetPublicKey of a symmetric or HMAC key is UnsupportedOperationException', async () => {
    expect(await errorName(kms.send(new GetPublicKeyCommand({ KeyId: symmetric.keyId })))).toBe('UnsupportedOperationException');
    expect(await errorName(kms.send(new GetPublicKeyCommand({ KeyId: hmacKeys.HMAC_256.keyId })))).toBe('UnsupportedOperationException');
  });

  it('EnableKeyRotation on an RSA, ECC or HMAC key is UnsupportedOperationException', async () => {
    expect(await errorName(kms.send(new EnableKeyRotationCommand({ KeyId: signing.RSA_2048.key.keyId })))).toBe('UnsupportedOperationException');
    expect(await errorName(kms.send(new EnableKeyRotationCommand({ KeyId: signing.ECC_NIST_P256.key.keyId })))).toBe('UnsupportedOperationException');
    expect(await errorName(kms.send(new EnableKeyRotationCommand({ KeyId: hmacKeys.HMAC_256.keyId })))).toBe('UnsupportedOperationException');
  });

  it('GenerateDataKey with an RSA or HMAC key is InvalidKeyUsageException', async () => {
    expect(await errorName(kms.send(new GenerateDataKeyCommand({ KeyId: rsaEncrypt.RSA_2048.key.keyId, KeySpec: 'AES_256' })))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new GenerateDataKeyCommand({ KeyId: hmacKeys.HMAC_256.keyId, KeySpec: 'AES_256' })))).toBe('InvalidKeyUsageException');
  });

  it('CreateKey with a KeyUsage the spec does not allow is ValidationException', async () => {
    const bad: [KeySpec, KeyUsageType | undefined][] = [
      ['ECC_NIST_P256', 'ENCRYPT_DECRYPT'],
      ['HMAC_256', undefined], // the default KeyUsage, ENCRYPT_DECRYPT, does not fit HMAC
      ['HMAC_256', 'SIGN_VERIFY'],
      ['RSA_2048', 'GENERATE_VERIFY_MAC'],
      ['RSA_2048', 'KEY_AGREEMENT'],
      ['ECC_SECG_P256K1', 'KEY_AGREEMENT'],
      ['ECC_NIST_EDWARDS25519', 'KEY_AGREEMENT'],
      ['ML_DSA_44', 'ENCRYPT_DECRYPT'],
      ['SYMMETRIC_DEFAULT', 'SIGN_VERIFY'],
    ];
    for (const [spec, usage] of bad) {
      expect(await errorName(kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage }))), `${spec} ${usage}`).toBe('ValidationException');
    }
  });
});

// ---- DescribeKey ----------------------------------------------------------------------------------------

describe('DescribeKey of every spec and usage', () => {
  it('lists the algorithms of the key’s usage only, and names no CurrentKeyMaterialId for non-symmetric keys', async () => {
    const cases: { key: Key; spec: KeySpec; usage: KeyUsageType; lists: Partial<Record<'SigningAlgorithms' | 'EncryptionAlgorithms' | 'MacAlgorithms' | 'KeyAgreementAlgorithms', string[]>> }[] = [
      ...SIGNING_SPECS.map((spec) => ({ key: signing[spec].key, spec: spec as KeySpec, usage: 'SIGN_VERIFY' as const, lists: { SigningAlgorithms: SIGNING[spec] } })),
      ...(['RSA_2048', 'RSA_3072', 'RSA_4096'] as const).map((spec) => ({
        key: rsaEncrypt[spec].key,
        spec: spec as KeySpec,
        usage: 'ENCRYPT_DECRYPT' as const,
        lists: { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as EncryptionAlgorithmSpec[] },
      })),
      { key: sm2Encrypt.key, spec: 'SM2', usage: 'ENCRYPT_DECRYPT', lists: { EncryptionAlgorithms: ['SM2PKE'] } },
      ...HMAC_SPECS.map((spec) => ({ key: hmacKeys[spec], spec: spec as KeySpec, usage: 'GENERATE_VERIFY_MAC' as const, lists: { MacAlgorithms: [HMAC[spec].alg] } })),
      ...([...ECDH_SPECS, 'SM2'] as const).map((spec) => ({ key: agreement[spec].key, spec: spec as KeySpec, usage: 'KEY_AGREEMENT' as const, lists: { KeyAgreementAlgorithms: ['ECDH'] } })),
    ];
    for (const c of cases) {
      const m = (await kms.send(new DescribeKeyCommand({ KeyId: c.key.keyId }))).KeyMetadata!;
      const what = `${c.spec} ${c.usage}`;
      expect(m, what).toMatchObject({ KeyId: c.key.keyId, Arn: arnOf(c.key.keyId), KeySpec: c.spec, KeyUsage: c.usage, KeyState: 'Enabled', Origin: 'AWS_KMS' });
      expect(m.CustomerMasterKeySpec, what).toBe(legacySpec(c.spec));
      for (const list of ['SigningAlgorithms', 'EncryptionAlgorithms', 'MacAlgorithms', 'KeyAgreementAlgorithms'] as const) {
        expect(m[list], `${what} ${list}`).toEqual(c.lists[list]);
      }
      expect(m.CurrentKeyMaterialId, what).toBeUndefined();
      // CreateKey answered with the same metadata.
      expect(c.key.metadata.KeySpec).toBe(c.spec);
      expect(c.key.metadata.CurrentKeyMaterialId).toBeUndefined();
    }
    const sym = (await kms.send(new DescribeKeyCommand({ KeyId: symmetric.keyId }))).KeyMetadata!;
    expect(sym.EncryptionAlgorithms).toEqual(['SYMMETRIC_DEFAULT']);
    expect(sym.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
  });
});
