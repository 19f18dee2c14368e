// Bring your own key, command for command as the AWS KMS Developer Guide ("Importing key material")
// writes it, with only Debian's AWS CLI v2 (/usr/bin/aws 2.9.19, --endpoint-url on every call) and
// OpenSSL 3 against a real dev-mode `kura serve`:
//   aws kms create-key --origin EXTERNAL → get-parameters-for-import → base64-decode the token and the
//   public key → `openssl rand` the material → `openssl pkeyutl -encrypt` (RSAES-OAEP), or for the
//   RSA_AES_KEY_WRAP algorithms `openssl enc -id-aes256-wrap-pad` the material under a random AES key and
//   OAEP-wrap that key → import-key-material (--valid-to, --expiration-model) → encrypt / decrypt, or
//   sign in Kura and verify with OpenSSL using the original key's public half →
//   delete-imported-key-material → re-import with a new token.
// Debian's v2 model predates ImportType, KeyMaterialDescription, RotateKeyOnDemand and ListKeyRotations;
// those steps use the newer v1 `aws` on PATH, as test/integration/aws-cli.test.ts does.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli, DEBIAN_AWS } from '../support/aws-cli.js';

const CALL_TIMEOUT_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** v2 prints timestamps as ISO strings, v1 as epoch seconds. */
type Timestamp = string | number;

interface KeyMetadata {
  KeyId: string;
  Arn: string;
  Enabled: boolean;
  KeyUsage: string;
  KeyState: string;
  KeySpec: string;
  Origin: string;
  ExpirationModel?: string;
  ValidTo?: Timestamp;
  CurrentKeyMaterialId?: string;
}
interface KeyOut { KeyMetadata: KeyMetadata }
interface ParamsOut { KeyId: string; ImportToken: string; PublicKey: string; ParametersValidTo: Timestamp }
interface CiphertextOut { CiphertextBlob: string; KeyId: string }
interface PlaintextOut { Plaintext: string; KeyId: string; KeyMaterialId?: string }
interface SignOut { KeyId: string; Signature: string; SigningAlgorithm: string }
interface ImportOut { KeyId?: string; KeyMaterialId?: string }
interface RotationEntry {
  KeyId: string;
  KeyMaterialId: string;
  KeyMaterialState: string;
  ImportState?: string;
  KeyMaterialDescription?: string;
  ExpirationModel?: string;
  ValidTo?: Timestamp;
  RotationDate?: Timestamp;
  RotationType?: string;
}

const cli = new AwsCli('kura-byok-cli-', CALL_TIMEOUT_MS);
const { run, show, awsRun, awsJson, awsFail } = cli;

async function openssl(args: string[]): Promise<string> {
  const r = await run('openssl', args, process.env);
  if (r.code !== 0) throw new Error(`openssl failed: ${show('openssl', args, r)}`);
  return r.stdout;
}

/** A fresh directory for one step's files. */
let dirSeq = 0;
function stepDir(name: string): string {
  const dir = path.join(cli.work, `${++dirSeq}-${name}`);
  fs.mkdirSync(dir);
  return dir;
}

const b64 = (s: string) => Buffer.from(s, 'base64');
const toMs = (t: Timestamp) => (typeof t === 'number' ? t * 1000 : Date.parse(t));
const read = (f: string) => fs.readFileSync(f);
/** An ISO date `days` from now, in whole seconds (what ValidTo keeps). */
const isoIn = (days: number) => new Date(Math.floor((Date.now() + days * DAY_MS) / 1000) * 1000).toISOString();

// ---- the documented steps ----

async function createExternalKey(extra: string[] = []): Promise<KeyMetadata> {
  const key = (await awsJson<KeyOut>(['kms', 'create-key', '--origin', 'EXTERNAL', '--description', 'byok by the aws cli', ...extra])).KeyMetadata;
  expect(key).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Enabled: false });
  return key;
}

async function describeKey(keyId: string, bin = DEBIAN_AWS): Promise<KeyMetadata> {
  return (await awsJson<KeyOut>(['kms', 'describe-key', '--key-id', keyId], bin)).KeyMetadata;
}

interface ImportFiles { dir: string; token: string; publicKey: string; validTo: number }

/** get-parameters-for-import, then the token and public key base64-decoded to files by OpenSSL. */
async function getParameters(key: KeyMetadata, algorithm: string, spec: string): Promise<ImportFiles> {
  const dir = stepDir('params');
  const out = await awsJson<ParamsOut>(['kms', 'get-parameters-for-import', '--key-id', key.KeyId, '--wrapping-algorithm', algorithm, '--wrapping-key-spec', spec]);
  expect(out.KeyId).toBe(key.Arn);
  const validTo = toMs(out.ParametersValidTo);
  expect(Math.abs(validTo - (Date.now() + DAY_MS))).toBeLessThan(5 * 60_000);
  fs.writeFileSync(path.join(dir, 'PublicKey.b64'), out.PublicKey);
  fs.writeFileSync(path.join(dir, 'ImportToken.b64'), out.ImportToken);
  const publicKey = path.join(dir, 'PublicKey.bin');
  const token = path.join(dir, 'ImportToken.bin');
  await openssl(['enc', '-d', '-base64', '-A', '-in', path.join(dir, 'PublicKey.b64'), '-out', publicKey]);
  await openssl(['enc', '-d', '-base64', '-A', '-in', path.join(dir, 'ImportToken.b64'), '-out', token]);
  expect(read(token).equals(b64(out.ImportToken))).toBe(true);
  // The public key is a DER SubjectPublicKeyInfo of the RSA size asked for.
  const text = await openssl(['pkey', '-pubin', '-inform', 'DER', '-in', publicKey, '-noout', '-text']);
  expect(text).toContain(`Public-Key: (${spec.replace('RSA_', '')} bit)`);
  return { dir, token, publicKey, validTo };
}

/** `openssl pkeyutl -encrypt` with OAEP, MGF1 over the same digest: the Developer Guide's command. */
async function oaepWrap(publicKey: string, input: string, output: string, md: 'sha1' | 'sha256'): Promise<void> {
  await openssl([
    'pkeyutl', '-encrypt', '-in', input, '-out', output, '-inkey', publicKey, '-keyform', 'DER', '-pubin',
    '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${md}`, '-pkeyopt', `rsa_mgf1_md:${md}`,
  ]);
}

/** RSA_AES_KEY_WRAP_SHA_*: a random AES key wraps the material (KWP), OAEP wraps the AES key, concatenated. */
async function rsaAesWrap(params: ImportFiles, material: string, md: 'sha1' | 'sha256'): Promise<string> {
  const aesKey = path.join(params.dir, 'aes-key.bin');
  await openssl(['rand', '-out', aesKey, '32']);
  const hex = (await run('xxd', ['-p', aesKey], process.env)).stdout.replace(/\n/g, '');
  expect(hex).toMatch(/^[0-9a-f]{64}$/);
  const materialWrapped = path.join(params.dir, 'material.wrapped');
  await openssl(['enc', '-id-aes256-wrap-pad', '-K', hex, '-iv', 'A65959A6', '-in', material, '-out', materialWrapped]);
  const aesWrapped = path.join(params.dir, 'aes-key.wrapped');
  await oaepWrap(params.publicKey, aesKey, aesWrapped, md);
  const combined = path.join(params.dir, 'EncryptedKeyMaterial.bin');
  fs.writeFileSync(combined, Buffer.concat([read(aesWrapped), read(materialWrapped)]));
  return combined;
}

async function importKeyMaterial(key: KeyMetadata, params: ImportFiles, wrapped: string, extra: string[], bin = DEBIAN_AWS): Promise<string> {
  return awsRun(['kms', 'import-key-material', '--key-id', key.KeyId, '--encrypted-key-material', `fileb://${wrapped}`, '--import-token', `fileb://${params.token}`, ...extra], bin);
}

/** The whole RSAES_OAEP_SHA_256 / RSA_2048 import of a material file. */
async function importOaep(key: KeyMetadata, material: string, extra: string[], bin = DEBIAN_AWS): Promise<string> {
  const params = await getParameters(key, 'RSAES_OAEP_SHA_256', 'RSA_2048');
  const wrapped = path.join(params.dir, 'EncryptedKeyMaterial.bin');
  await oaepWrap(params.publicKey, material, wrapped, 'sha256');
  return importKeyMaterial(key, params, wrapped, extra, bin);
}

async function randomFile(dir: string, name: string, bytes: number): Promise<string> {
  const f = path.join(dir, name);
  await openssl(['rand', '-out', f, String(bytes)]);
  expect(read(f).length).toBe(bytes);
  return f;
}

async function encrypt(keyId: string, plaintextFile: string, bin = DEBIAN_AWS): Promise<Buffer> {
  const out = await awsJson<CiphertextOut>(['kms', 'encrypt', '--key-id', keyId, '--plaintext', `fileb://${plaintextFile}`], bin);
  return b64(out.CiphertextBlob);
}

async function decrypt(ciphertext: Buffer, bin = DEBIAN_AWS): Promise<PlaintextOut> {
  const f = path.join(stepDir('ciphertext'), 'blob.bin');
  fs.writeFileSync(f, ciphertext);
  return awsJson<PlaintextOut>(['kms', 'decrypt', '--ciphertext-blob', `fileb://${f}`], bin);
}

/** A v1 `aws` on PATH other than Debian's v2 (which /bin/aws also resolves to). */
async function newerAws(): Promise<string> {
  const found = await cli.findNewerAws();
  if (found === undefined) {
    throw new Error(`No AWS CLI other than Debian's ${DEBIAN_AWS} is on PATH; this test needs a newer aws (botocore with ImportType, ListKeyRotations).`);
  }
  return found;
}

/** Signs in Kura with the CLI and verifies with `openssl dgst` and the original public key (PEM). */
async function signAndVerify(key: KeyMetadata, publicPem: string, algorithm: string, verifyOpts: string[]): Promise<void> {
  const dir = stepDir('sign');
  const message = path.join(dir, 'message.bin');
  fs.writeFileSync(message, `a message signed by an imported ${key.KeySpec} key`);
  const out = await awsJson<SignOut>(['kms', 'sign', '--key-id', key.KeyId, '--message', `fileb://${message}`, '--message-type', 'RAW', '--signing-algorithm', algorithm]);
  expect(out).toMatchObject({ KeyId: key.Arn, SigningAlgorithm: algorithm });
  const signature = path.join(dir, 'signature.bin');
  fs.writeFileSync(signature, b64(out.Signature));
  const verified = await run('openssl', ['dgst', '-sha256', ...verifyOpts, '-verify', publicPem, '-signature', signature, message], process.env);
  expect(verified.code, show('openssl dgst', [], verified)).toBe(0);
  expect(verified.stdout).toContain('Verified OK');
  // The same signature does not verify another message: the check above can fail.
  const other = path.join(dir, 'other.bin');
  fs.writeFileSync(other, 'another message');
  const refused = await run('openssl', ['dgst', '-sha256', ...verifyOpts, '-verify', publicPem, '-signature', signature, other], process.env);
  expect(refused.code).not.toBe(0);
  expect(refused.stdout).toContain('Verification failure');
}

/** Makes a private key with `openssl genpkey`, its PKCS#8 DER and its public half (PEM and DER). */
async function opensslKeyPair(genpkeyArgs: string[]): Promise<{ pkcs8: string; publicPem: string; publicDer: string }> {
  const dir = stepDir('keypair');
  const pem = path.join(dir, 'private.pem');
  await openssl(['genpkey', ...genpkeyArgs, '-out', pem]);
  const pkcs8 = path.join(dir, 'private.pkcs8.der');
  await openssl(['pkcs8', '-topk8', '-nocrypt', '-inform', 'PEM', '-in', pem, '-outform', 'DER', '-out', pkcs8]);
  const publicPem = path.join(dir, 'public.pem');
  await openssl(['pkey', '-in', pem, '-pubout', '-out', publicPem]);
  const publicDer = path.join(dir, 'public.der');
  await openssl(['pkey', '-in', pem, '-pubout', '-outform', 'DER', '-out', publicDer]);
  return { pkcs8, publicPem, publicDer };
}

beforeAll(() => cli.start());

afterAll(() => cli.stop());

describe('BYOK with the AWS CLI and OpenSSL, as the Developer Guide writes it', { timeout: 240_000 }, () => {
  it('create-key --origin EXTERNAL, get-parameters-for-import, openssl rand + pkeyutl OAEP SHA-256, import-key-material --valid-to, then encrypt and decrypt', async () => {
    const key = await createExternalKey();
    expect(key.KeySpec).toBe('SYMMETRIC_DEFAULT');
    // Nothing works before the import.
    const dir = stepDir('workflow');
    const plaintext = path.join(dir, 'plaintext.bin');
    fs.writeFileSync(plaintext, Buffer.from([0x00, 0xff, ...Buffer.from('imported key material')]));
    expect(await awsFail(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', `fileb://${plaintext}`])).toContain('(KMSInvalidStateException) when calling the Encrypt operation');

    const params = await getParameters(key, 'RSAES_OAEP_SHA_256', 'RSA_2048');
    const material = await randomFile(params.dir, 'PlaintextKeyMaterial.bin', 32);
    const wrapped = path.join(params.dir, 'EncryptedKeyMaterial.bin');
    await oaepWrap(params.publicKey, material, wrapped, 'sha256');
    expect(read(wrapped).length).toBe(256);
    const validTo = isoIn(30);
    await importKeyMaterial(key, params, wrapped, ['--expiration-model', 'KEY_MATERIAL_EXPIRES', '--valid-to', validTo]);

    const described = await describeKey(key.KeyId);
    expect(described).toMatchObject({ KeyState: 'Enabled', Enabled: true, Origin: 'EXTERNAL', ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
    expect(described.ValidTo, JSON.stringify(described)).toBeDefined();
    expect(toMs(described.ValidTo!)).toBe(Date.parse(validTo));

    const ciphertext = await encrypt(key.KeyId, plaintext);
    expect(ciphertext.includes(read(material))).toBe(false);
    const dec = await decrypt(ciphertext);
    expect(dec.KeyId).toBe(key.Arn);
    expect(b64(dec.Plaintext).equals(read(plaintext))).toBe(true);
  });

  it('a second key with --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE (RSAES_OAEP_SHA_1 with an RSA_3072 wrapping key)', async () => {
    const key = await createExternalKey();
    const params = await getParameters(key, 'RSAES_OAEP_SHA_1', 'RSA_3072');
    const material = await randomFile(params.dir, 'PlaintextKeyMaterial.bin', 32);
    const wrapped = path.join(params.dir, 'EncryptedKeyMaterial.bin');
    await oaepWrap(params.publicKey, material, wrapped, 'sha1');
    expect(read(wrapped).length).toBe(384);
    await importKeyMaterial(key, params, wrapped, ['--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE']);

    const described = await describeKey(key.KeyId);
    expect(described).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(described.ValidTo).toBeUndefined();
    const plaintext = path.join(params.dir, 'plaintext.bin');
    fs.writeFileSync(plaintext, 'never expires');
    expect(b64((await decrypt(await encrypt(key.KeyId, plaintext))).Plaintext).toString()).toBe('never expires');
  });

  it('RSA_AES_KEY_WRAP_SHA_256 for a symmetric key: openssl enc -id-aes256-wrap-pad under a random AES key, OAEP-wrapped by an RSA_4096 wrapping key', async () => {
    const key = await createExternalKey();
    const params = await getParameters(key, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_4096');
    const material = await randomFile(params.dir, 'PlaintextKeyMaterial.bin', 32);
    const wrapped = await rsaAesWrap(params, material, 'sha256');
    expect(read(wrapped).length).toBe(512 + 40);
    await importKeyMaterial(key, params, wrapped, ['--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE']);
    expect((await describeKey(key.KeyId)).KeyState).toBe('Enabled');
    const plaintext = path.join(params.dir, 'plaintext.bin');
    fs.writeFileSync(plaintext, 'wrapped with AES key wrap');
    const ciphertext = await encrypt(key.KeyId, plaintext);
    expect(b64((await decrypt(ciphertext)).Plaintext).toString()).toBe('wrapped with AES key wrap');

    // The material Kura holds is the material wrapped: the same bytes through the other (OAEP) path are
    // accepted as a re-import, and 32 other bytes are not.
    await importOaep(key, material, ['--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE']);
    const other = await randomFile(params.dir, 'other.bin', 32);
    const p2 = await getParameters(key, 'RSAES_OAEP_SHA_256', 'RSA_2048');
    const otherWrapped = path.join(p2.dir, 'EncryptedKeyMaterial.bin');
    await oaepWrap(p2.publicKey, other, otherWrapped, 'sha256');
    const stderr = await awsFail(['kms', 'import-key-material', '--key-id', key.KeyId, '--encrypted-key-material', `fileb://${otherWrapped}`, '--import-token', `fileb://${p2.token}`, '--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE']);
    expect(stderr).toContain('(IncorrectKeyMaterialException) when calling the ImportKeyMaterial operation');
    expect(b64((await decrypt(ciphertext)).Plaintext).toString()).toBe('wrapped with AES key wrap');
  });

  it('an RSA_2048 private key (openssl genpkey, PKCS#8 DER) via RSA_AES_KEY_WRAP_SHA_256: get-public-key is its public half, and Kura\'s signatures verify in OpenSSL', async () => {
    const pair = await opensslKeyPair(['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const key = await createExternalKey(['--key-spec', 'RSA_2048', '--key-usage', 'SIGN_VERIFY']);
    expect(key).toMatchObject({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const params = await getParameters(key, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_3072');
    const wrapped = await rsaAesWrap(params, pair.pkcs8, 'sha256');
    await importKeyMaterial(key, params, wrapped, ['--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE']);
    expect((await describeKey(key.KeyId)).KeyState).toBe('Enabled');

    const pub = await awsJson<{ KeyId: string; PublicKey: string; KeySpec: string }>(['kms', 'get-public-key', '--key-id', key.KeyId]);
    expect(pub.KeySpec).toBe('RSA_2048');
    expect(b64(pub.PublicKey).equals(read(pair.publicDer))).toBe(true);

    await signAndVerify(key, pair.publicPem, 'RSASSA_PKCS1_V1_5_SHA_256', []);
    // AWS's RSASSA_PSS_SHA_256 uses a salt as long as the digest.
    await signAndVerify(key, pair.publicPem, 'RSASSA_PSS_SHA_256', ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']);
  });

  it('an ECC_NIST_P256 private key via RSA_AES_KEY_WRAP_SHA_256: get-public-key is its public half, and Kura\'s ECDSA signatures verify in OpenSSL', async () => {
    const pair = await opensslKeyPair(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const key = await createExternalKey(['--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY']);
    const params = await getParameters(key, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048');
    const wrapped = await rsaAesWrap(params, pair.pkcs8, 'sha256');
    await importKeyMaterial(key, params, wrapped, ['--expiration-model', 'KEY_MATERIAL_EXPIRES', '--valid-to', isoIn(7)]);
    expect(await describeKey(key.KeyId)).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES' });

    const pub = await awsJson<{ PublicKey: string }>(['kms', 'get-public-key', '--key-id', key.KeyId]);
    expect(b64(pub.PublicKey).equals(read(pair.publicDer))).toBe(true);
    await signAndVerify(key, pair.publicPem, 'ECDSA_SHA_256', []);
  });

  it('delete-imported-key-material: encrypt and decrypt fail with KMSInvalidStateException; the same material with a new token brings the old ciphertext back', async () => {
    const key = await createExternalKey();
    const dir = stepDir('delete');
    const material = await randomFile(dir, 'PlaintextKeyMaterial.bin', 32);
    await importOaep(key, material, ['--valid-to', isoIn(30)]);
    const plaintext = path.join(dir, 'plaintext.bin');
    fs.writeFileSync(plaintext, 'encrypted before the deletion');
    const before = await encrypt(key.KeyId, plaintext);

    expect(await awsRun(['kms', 'delete-imported-key-material', '--key-id', key.KeyId])).toBe('');
    expect((await describeKey(key.KeyId)).KeyState).toBe('PendingImport');
    expect(await awsFail(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', `fileb://${plaintext}`])).toContain('(KMSInvalidStateException) when calling the Encrypt operation');
    const f = path.join(dir, 'before.bin');
    fs.writeFileSync(f, before);
    expect(await awsFail(['kms', 'decrypt', '--ciphertext-blob', `fileb://${f}`])).toContain('(KMSInvalidStateException) when calling the Decrypt operation');

    // Re-import of the same material, with a new token (and another wrapping algorithm).
    const params = await getParameters(key, 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_2048');
    const wrapped = await rsaAesWrap(params, material, 'sha1');
    await importKeyMaterial(key, params, wrapped, ['--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE']);
    expect(await describeKey(key.KeyId)).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(b64((await decrypt(before)).Plaintext).toString()).toBe('encrypted before the deletion');
  });

  it('v1 aws: --import-type NEW_KEY_MATERIAL with a description, list-key-rotations, rotate-key-on-demand; both materials keep decrypting', async () => {
    const v1 = await newerAws();
    const key = await createExternalKey();
    const dir = stepDir('rotation');
    const m1 = await randomFile(dir, 'material-1.bin', 32);
    const m2 = await randomFile(dir, 'material-2.bin', 32);
    const first = JSON.parse(await importOaep(key, m1, ['--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE'], v1)) as ImportOut;
    expect(first.KeyId).toBe(key.Arn);
    expect(first.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect((await describeKey(key.KeyId, v1)).CurrentKeyMaterialId).toBe(first.KeyMaterialId);
    const plaintext = path.join(dir, 'plaintext.bin');
    fs.writeFileSync(plaintext, 'under the first material');
    const ct1 = await encrypt(key.KeyId, plaintext);
    expect((await decrypt(ct1, v1)).KeyMaterialId).toBe(first.KeyMaterialId);

    const second = JSON.parse(
      await importOaep(key, m2, ['--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE', '--import-type', 'NEW_KEY_MATERIAL', '--key-material-description', 'second material'], v1),
    ) as ImportOut;
    expect(second.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(second.KeyMaterialId).not.toBe(first.KeyMaterialId);

    const listAll = async () =>
      (await awsJson<{ Rotations: RotationEntry[] }>(['kms', 'list-key-rotations', '--key-id', key.KeyId, '--include-key-material', 'ALL_KEY_MATERIAL'], v1)).Rotations;
    const pending = await listAll();
    expect(pending).toHaveLength(2);
    expect(pending.find((r) => r.KeyMaterialId === first.KeyMaterialId)).toMatchObject({ KeyId: key.KeyId, KeyMaterialState: 'CURRENT', ImportState: 'IMPORTED', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    const pendingEntry = pending.find((r) => r.KeyMaterialId === second.KeyMaterialId);
    expect(pendingEntry).toMatchObject({ KeyMaterialState: 'PENDING_ROTATION', ImportState: 'IMPORTED', KeyMaterialDescription: 'second material' });
    expect(pendingEntry?.RotationDate).toBeUndefined();
    // Encryption still uses the first material.
    expect((await decrypt(await encrypt(key.KeyId, plaintext), v1)).KeyMaterialId).toBe(first.KeyMaterialId);

    const rotated = await awsJson<{ KeyId: string }>(['kms', 'rotate-key-on-demand', '--key-id', key.KeyId], v1);
    expect(rotated.KeyId).toBe(key.Arn);
    const after = await listAll();
    expect(after).toHaveLength(2);
    expect(after.find((r) => r.KeyMaterialId === first.KeyMaterialId)).toMatchObject({ KeyMaterialState: 'NON_CURRENT' });
    const current = after.find((r) => r.KeyMaterialId === second.KeyMaterialId);
    expect(current).toMatchObject({ KeyMaterialState: 'CURRENT', RotationType: 'ON_DEMAND', ImportState: 'IMPORTED' });
    expect(Math.abs(toMs(current!.RotationDate!) - Date.now())).toBeLessThan(5 * 60_000);
    const rotationsOnly = (await awsJson<{ Rotations: RotationEntry[] }>(['kms', 'list-key-rotations', '--key-id', key.KeyId], v1)).Rotations;
    expect(rotationsOnly.map((r) => r.KeyMaterialId)).toEqual([second.KeyMaterialId]);
    expect((await describeKey(key.KeyId, v1)).CurrentKeyMaterialId).toBe(second.KeyMaterialId);

    const old = await decrypt(ct1, v1);
    expect(b64(old.Plaintext).toString()).toBe('under the first material');
    expect(old.KeyMaterialId).toBe(first.KeyMaterialId);
    expect((await decrypt(await encrypt(key.KeyId, plaintext), v1)).KeyMaterialId).toBe(second.KeyMaterialId);
  });
});
