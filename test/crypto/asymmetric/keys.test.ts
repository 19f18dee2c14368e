import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import {
  KEY_SPECS,
  KEY_SPEC_INFO,
  generateKeyMaterial,
  publicKeyOf,
  type KeySpec,
} from '../../../main/crypto/asymmetric/index.js';
import { encodeOctetString, encodePkcs8, encodeSequence, encodeTlv, parsePkcs8, parseSpki } from '../../../main/crypto/asymmetric/der.js';
import { expectReason, keyFor, nistKeyParts, nistPkcs8 } from './fixtures.js';
import { fileWorkspace } from './openssl.js';

const ws = fileWorkspace();

// What node:crypto reports for a key of each spec it can parse.
const NODE_VIEW: Partial<Record<KeySpec, { type: string; details: Record<string, unknown> }>> = {
  RSA_2048: { type: 'rsa', details: { modulusLength: 2048, publicExponent: 65537n } },
  RSA_3072: { type: 'rsa', details: { modulusLength: 3072, publicExponent: 65537n } },
  RSA_4096: { type: 'rsa', details: { modulusLength: 4096, publicExponent: 65537n } },
  ECC_NIST_P256: { type: 'ec', details: { namedCurve: 'prime256v1' } },
  ECC_NIST_P384: { type: 'ec', details: { namedCurve: 'secp384r1' } },
  ECC_NIST_P521: { type: 'ec', details: { namedCurve: 'secp521r1' } },
  ECC_SECG_P256K1: { type: 'ec', details: { namedCurve: 'secp256k1' } },
  ECC_NIST_EDWARDS25519: { type: 'ed25519', details: {} },
};

const ASYMMETRIC = KEY_SPECS.filter((s) => KEY_SPEC_INFO[s].family !== 'hmac');

describe('generateKeyMaterial', () => {
  it.each(KEY_SPECS.filter((s) => KEY_SPEC_INFO[s].family === 'hmac'))('%s: a random key as long as the digest, no public key', (spec) => {
    const a = generateKeyMaterial(spec);
    const b = generateKeyMaterial(spec);
    expect(a.privateKey.length).toBe(KEY_SPEC_INFO[spec].hmacKeyBytes);
    expect(a.privateKey.length).toBe({ HMAC_224: 28, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64 }[spec as string]);
    expect(a.publicKey.length).toBe(0);
    expect(a.privateKey.equals(b.privateKey)).toBe(false);
    expect(publicKeyOf(spec, a.privateKey).length).toBe(0);
  });

  it.each(ASYMMETRIC)('%s: publicKeyOf(private key) is the generated public key', async (spec) => {
    const { privateKey, publicKey } = await keyFor(spec);
    expect(publicKeyOf(spec, privateKey).equals(publicKey)).toBe(true);
  });

  it.each(Object.keys(NODE_VIEW) as KeySpec[])('%s: node:crypto reads both halves as the right key', async (spec) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const expected = NODE_VIEW[spec]!;
    const pub = createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
    const priv = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
    for (const key of [pub, priv]) {
      expect(key.asymmetricKeyType).toBe(expected.type);
      expect(key.asymmetricKeyDetails).toMatchObject(expected.details);
    }
    // The public key Node derives from Kura's private key is Kura's public key, byte for byte.
    expect(createPublicKey(priv).export({ type: 'spki', format: 'der' }).equals(publicKey)).toBe(true);
  });

  it.each(['ECC_SECG_P256K1', 'SM2', 'ECC_NIST_P256', 'ECC_NIST_EDWARDS25519', 'RSA_2048'] as KeySpec[])(
    '%s: OpenSSL reads the PKCS#8 and derives the same SubjectPublicKeyInfo',
    async (spec) => {
      const { privateKey, publicKey } = await keyFor(spec);
      const file = ws.file(`${spec}.key.der`, privateKey);
      const derived = ws.must(['pkey', '-inform', 'DER', '-in', file, '-pubout', '-outform', 'DER']);
      expect(derived.equals(publicKey)).toBe(true);
      const text = ws.must(['pkey', '-pubin', '-inform', 'DER', '-in', ws.file(`${spec}.pub.der`, publicKey), '-text', '-noout']).toString();
      if (spec === 'SM2') expect(text).toMatch(/ASN1 OID: SM2/);
      if (spec === 'ECC_SECG_P256K1') expect(text).toMatch(/ASN1 OID: secp256k1/);
    },
  );

  it('SM2: SubjectPublicKeyInfo is id-ecPublicKey with the SM2 curve OID and an uncompressed point', async () => {
    const { publicKey, privateKey } = await keyFor('SM2');
    const spki = parseSpki(publicKey);
    expect(spki.algorithm.oid).toBe('1.2.840.10045.2.1');
    expect(spki.algorithm.parameters?.value.toString('hex')).toBe('2a811ccf5501822d'); // 1.2.156.10197.1.301
    expect(spki.publicKey.length).toBe(65);
    expect(spki.publicKey[0]).toBe(4);
    expect(publicKey.length).toBe(91);
    expect(parsePkcs8(privateKey).algorithm.oid).toBe('1.2.840.10045.2.1');
  });

  it.each([
    ['ML_DSA_44', ml_dsa44, '11', '30820532', '03820521'],
    ['ML_DSA_65', ml_dsa65, '12', '308207b2', '038207a1'],
    ['ML_DSA_87', ml_dsa87, '13', '30820a32', '03820a21'],
  ] as const)('%s: SPKI with the NIST OID and the raw key; PKCS#8 in RFC 9881 seed form', async (spec, dsa, oidLast, outer, bitString) => {
    const { privateKey, publicKey } = await keyFor(spec);
    const algorithmId = `300b06096086480165030403${oidLast}`;
    // SEQUENCE { SEQUENCE { id-ml-dsa-* } (no parameters), BIT STRING { 00, pk } }
    expect(publicKey.subarray(0, 22).toString('hex')).toBe(`${outer}${algorithmId}${bitString}00`);
    expect(publicKey.length - 22).toBe(dsa.lengths.publicKey);
    const spki = parseSpki(publicKey);
    expect(spki.algorithm.oid).toBe(`2.16.840.1.101.3.4.3.${parseInt(oidLast, 16)}`);
    expect(spki.algorithm.parameters).toBeUndefined();
    // OneAsymmetricKey { 0, { id-ml-dsa-* }, OCTET STRING { [0] IMPLICIT seed(32) } }: 54 bytes.
    expect(privateKey.length).toBe(54);
    expect(privateKey.subarray(0, 22).toString('hex')).toBe(`3034020100${algorithmId}04228020`);
    const seed = privateKey.subarray(22);
    expect(Buffer.from(dsa.keygen(seed).publicKey).equals(spki.publicKey)).toBe(true);
    // OpenSSL 3.0 knows no ML-DSA, but its ASN.1 parser must accept the structure.
    ws.must(['asn1parse', '-inform', 'DER', '-in', ws.file(`${spec}.pub.der`, publicKey)]);
    ws.must(['asn1parse', '-inform', 'DER', '-in', ws.file(`${spec}.key.der`, privateKey)]);
  });

  it.each(['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const)(
    '%s: a private key that embeds its point compressed has the uncompressed SPKI, as generated keys do',
    (spec) => {
      const { d, point, compressedPoint, spki } = nistKeyParts(spec);
      expect(publicKeyOf(spec, nistPkcs8(spec, d, compressedPoint)).equals(spki)).toBe(true);
      expect(parseSpki(spki).publicKey.equals(point)).toBe(true);
    },
  );

  it('ML-DSA: reads the expandedKey and both forms, and refuses a both form whose halves disagree', async () => {
    const { privateKey, publicKey } = await keyFor('ML_DSA_44');
    const seed = privateKey.subarray(22);
    const { secretKey } = ml_dsa44.keygen(seed);
    const algorithm = parsePkcs8(privateKey).algorithm;
    const algorithmId = encodeSequence(Buffer.from('0609608648016503040311', 'hex'));
    expect(algorithm.oid).toBe('2.16.840.1.101.3.4.3.17');
    const expanded = encodePkcs8(algorithmId, encodeOctetString(secretKey));
    const both = encodePkcs8(algorithmId, encodeSequence(encodeOctetString(seed), encodeOctetString(secretKey)));
    expect(publicKeyOf('ML_DSA_44', expanded).equals(publicKey)).toBe(true);
    expect(publicKeyOf('ML_DSA_44', both).equals(publicKey)).toBe(true);
    const other = ml_dsa44.keygen(Buffer.alloc(32, 7)).secretKey;
    const mismatched = encodePkcs8(algorithmId, encodeSequence(encodeOctetString(seed), encodeOctetString(other)));
    expectReason(() => publicKeyOf('ML_DSA_44', mismatched), 'bad-private-key');
    expectReason(() => publicKeyOf('ML_DSA_44', encodePkcs8(algorithmId, encodeTlv(0x80, Buffer.alloc(31)))), 'bad-private-key');
    expectReason(() => publicKeyOf('ML_DSA_65', privateKey), 'bad-private-key');
  });
});

describe('publicKeyOf refuses key material that is not the spec’s', () => {
  it('RSA of another size, another curve, another key type', async () => {
    const p256 = (await keyFor('ECC_NIST_P256')).privateKey;
    const k1 = (await keyFor('ECC_SECG_P256K1')).privateKey;
    const sm2 = (await keyFor('SM2')).privateKey;
    expectReason(() => publicKeyOf('RSA_3072', generateKeyMaterial('RSA_2048').privateKey), 'bad-private-key');
    expectReason(() => publicKeyOf('ECC_NIST_P384', p256), 'bad-private-key');
    expectReason(() => publicKeyOf('SM2', k1), 'bad-private-key');
    expectReason(() => publicKeyOf('ECC_SECG_P256K1', sm2), 'bad-private-key');
    expectReason(() => publicKeyOf('ECC_NIST_EDWARDS25519', p256), 'bad-private-key');
    expectReason(() => publicKeyOf('ML_DSA_44', p256), 'bad-private-key');
    const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'der' });
    expectReason(() => publicKeyOf('RSA_2048', rsaPss), 'bad-private-key');
    expectReason(() => publicKeyOf('RSA_2048', Buffer.from('not a key')), 'bad-private-key');
    expectReason(() => publicKeyOf('HMAC_256', Buffer.alloc(0)), 'bad-private-key');
  });

  it('an EC key whose embedded public point is not its own', async () => {
    for (const spec of ['ECC_SECG_P256K1', 'SM2'] as const) {
      const a = (await keyFor(spec)).privateKey;
      const b = generateKeyMaterial(spec).privateKey;
      // Same layout: the last 65 bytes are the embedded point. Graft b's point onto a's scalar.
      const grafted = Buffer.concat([a.subarray(0, a.length - 65), b.subarray(b.length - 65)]);
      expectReason(() => publicKeyOf(spec, grafted), 'bad-private-key');
    }
    // P-256/384/521 go through Node, which exports the embedded point without comparing it to d·G.
    for (const spec of ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const) {
      const a = nistKeyParts(spec);
      const b = nistKeyParts(spec);
      expect(publicKeyOf(spec, nistPkcs8(spec, a.d, a.point)).equals(a.spki)).toBe(true);
      expectReason(() => publicKeyOf(spec, nistPkcs8(spec, a.d, b.point)), 'bad-private-key');
    }
  });

  it('an RSA key whose numbers are not one key pair: another modulus, CRT values of another key, more than two primes', async () => {
    const jwkOf = async (slot: number) => createPrivateKey({ key: (await keyFor('RSA_2048', slot)).privateKey, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
    const a = await jwkOf(0);
    const b = await jwkOf(1);
    const pkcs8Of = (jwk: JsonWebKey) => createPrivateKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
    expect(publicKeyOf('RSA_2048', pkcs8Of(a)).equals((await keyFor('RSA_2048')).publicKey)).toBe(true);
    expectReason(() => publicKeyOf('RSA_2048', pkcs8Of({ ...a, n: b.n })), 'bad-private-key');
    expectReason(() => publicKeyOf('RSA_2048', pkcs8Of({ ...a, d: b.d })), 'bad-private-key');
    expectReason(() => publicKeyOf('RSA_2048', pkcs8Of({ ...a, dp: b.dp })), 'bad-private-key');
    expectReason(() => publicKeyOf('RSA_2048', pkcs8Of({ ...a, qi: b.qi })), 'bad-private-key');
    const threePrimes = createPrivateKey(ws.must(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_primes:3']));
    expectReason(() => publicKeyOf('RSA_2048', threePrimes.export({ format: 'der', type: 'pkcs8' })), 'bad-private-key');
  });

  it('an ML-DSA expanded key whose tr is not H(pk)', () => {
    const { secretKey } = ml_dsa44.keygen(Buffer.alloc(32, 7));
    const algorithmId = encodeSequence(Buffer.from('0609608648016503040311', 'hex'));
    expect(publicKeyOf('ML_DSA_44', encodePkcs8(algorithmId, encodeOctetString(secretKey))).length).toBeGreaterThan(0);
    const wrongTr = Buffer.from(secretKey);
    wrongTr[70]! ^= 1; // FIPS 204 skEncode: ρ (32) ‖ K (32) ‖ tr (64) ‖ …
    expectReason(() => publicKeyOf('ML_DSA_44', encodePkcs8(algorithmId, encodeOctetString(wrongTr))), 'bad-private-key');
  });

  it('a key spec this module does not handle', () => {
    expectReason(() => publicKeyOf('SYMMETRIC_DEFAULT' as KeySpec, Buffer.alloc(32)), 'unsupported-key-spec');
  });
});
