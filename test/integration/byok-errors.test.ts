// Every way an import of key material (BYOK) can be refused, through the unchanged @aws-sdk/client-kms
// against a real dev-mode `kura serve`, with the error names of the AWS KMS API reference
// (GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial) and the Developer Guide's
// "Importing key material": InvalidCiphertextException, InvalidImportTokenException,
// IncorrectKeyMaterialException, ValidationException, UnsupportedOperationException and
// KMSInvalidStateException. Every refused request must leave the key's state as it was.
// Wrapping is done here as a customer does it, with node:crypto (OpenSSL): RSAES-OAEP, and for the
// RSA_AES_KEY_WRAP algorithms OAEP(AES key) || AES-KWP(RFC 5649)(material).
import { constants, createCipheriv, createHmac, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type AlgorithmSpec,
  type ExpirationModelType,
  type KeyMetadata,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
  type WrappingKeySpec,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName, kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

let kura: KuraProcess;
let kms: KMSClient;

interface Params {
  token: Buffer;
  publicKey: Buffer;
}

interface ImportExtra {
  ValidTo?: Date;
  ExpirationModel?: ExpirationModelType;
}

const DOES_NOT_EXPIRE: ImportExtra = { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };

function oaep(publicKey: Buffer, data: Buffer, hash: 'sha1' | 'sha256'): Buffer {
  return publicEncrypt({ key: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
}

function kwp(kek: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('id-aes256-wrap-pad', kek, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([c.update(data), c.final()]);
}

function wrap(publicKey: Buffer, material: Buffer, algorithm: AlgorithmSpec): Buffer {
  switch (algorithm) {
    case 'RSAES_OAEP_SHA_1':
      return oaep(publicKey, material, 'sha1');
    case 'RSAES_OAEP_SHA_256':
      return oaep(publicKey, material, 'sha256');
    case 'RSA_AES_KEY_WRAP_SHA_1':
    case 'RSA_AES_KEY_WRAP_SHA_256': {
      const aesKey = randomBytes(32);
      return Buffer.concat([oaep(publicKey, aesKey, algorithm === 'RSA_AES_KEY_WRAP_SHA_1' ? 'sha1' : 'sha256'), kwp(aesKey, material)]);
    }
    default:
      throw new Error(`no wrapping for ${algorithm} in this test`);
  }
}

async function createExternal(keySpec: KeySpec = 'SYMMETRIC_DEFAULT', keyUsage: KeyUsageType = 'ENCRYPT_DECRYPT'): Promise<KeyMetadata> {
  const out = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', KeySpec: keySpec, KeyUsage: keyUsage, Description: 'byok errors' }));
  expect(out.KeyMetadata).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Enabled: false, KeySpec: keySpec });
  return out.KeyMetadata!;
}

const describeKey = async (keyId: string): Promise<KeyMetadata> => (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
const stateOf = async (keyId: string): Promise<string | undefined> => (await describeKey(keyId)).KeyState;

async function getParams(keyId: string, algorithm: AlgorithmSpec = 'RSAES_OAEP_SHA_256', spec: WrappingKeySpec = 'RSA_2048'): Promise<Params> {
  const out = await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: spec }));
  return { token: Buffer.from(out.ImportToken!), publicKey: Buffer.from(out.PublicKey!) };
}

function importRaw(keyId: string, token: Buffer, encrypted: Buffer, extra: ImportExtra = DOES_NOT_EXPIRE) {
  return kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: token, EncryptedKeyMaterial: encrypted, ...extra }));
}

/** GetParametersForImport, wrap, ImportKeyMaterial. */
async function importFresh(keyId: string, material: Buffer, extra: ImportExtra = DOES_NOT_EXPIRE, algorithm: AlgorithmSpec = 'RSAES_OAEP_SHA_256', spec: WrappingKeySpec = 'RSA_2048') {
  const p = await getParams(keyId, algorithm, spec);
  return importRaw(keyId, p.token, wrap(p.publicKey, material, algorithm), extra);
}

/**
 * The error name of a request that must be refused, having checked that the key's state is the same
 * after it as before it. `send` is called only after the state has been read.
 */
async function refused(keyId: string, send: () => Promise<unknown>): Promise<string> {
  const before = await stateOf(keyId);
  const name = await errorName(send());
  expect(await stateOf(keyId), `state of ${keyId} after a refused request (${name})`).toBe(before);
  return name;
}

function ecPkcs8(curve: 'P-256' | 'P-384'): Buffer {
  return generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ format: 'der', type: 'pkcs8' });
}

function rsaPkcs8(bits: number): Buffer {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ format: 'der', type: 'pkcs8' });
}

beforeAll(async () => {
  kura = await startKura();
  kms = kmsClient(kura);
});

afterAll(async () => {
  await kura?.stop();
});

describe('BYOK errors through the AWS SDK', { timeout: 120_000 }, () => {
  describe('GetParametersForImport', () => {
    it('answers, for the key ARN, an RSA public key of each wrapping key spec and a token valid 24 hours', async () => {
      const k = await createExternal();
      for (const [spec, bits, algorithm] of [
        ['RSA_2048', 2048, 'RSAES_OAEP_SHA_1'],
        ['RSA_3072', 3072, 'RSA_AES_KEY_WRAP_SHA_1'],
        ['RSA_4096', 4096, 'RSA_AES_KEY_WRAP_SHA_256'],
      ] as const) {
        const asked = Date.now();
        const out = await kms.send(new GetParametersForImportCommand({ KeyId: k.KeyId, WrappingAlgorithm: algorithm, WrappingKeySpec: spec }));
        expect(out.KeyId).toBe(k.Arn);
        expect(out.ParametersValidTo).toBeInstanceOf(Date);
        expect(Math.abs(out.ParametersValidTo!.getTime() - (asked + DAY_MS))).toBeLessThan(5 * 60_000);
        const pub = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' });
        expect(pub.asymmetricKeyType).toBe('rsa');
        expect(pub.asymmetricKeyDetails?.modulusLength).toBe(bits);
        expect(out.ImportToken!.length).toBeGreaterThan(0);
      }
      expect(await stateOf(k.KeyId!)).toBe('PendingImport');
    });

    it('refuses RSAES_PKCS1_V1_5 (AWS dropped it on 10 October 2023) with ValidationException', async () => {
      const k = await createExternal();
      const name = await refused(k.KeyId!, () => kms.send(new GetParametersForImportCommand({ KeyId: k.KeyId, WrappingAlgorithm: 'RSAES_PKCS1_V1_5', WrappingKeySpec: 'RSA_2048' })));
      expect(name).toBe('ValidationException');
    });

    it('refuses GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial on an AWS_KMS key with UnsupportedOperationException', async () => {
      const std = (await kms.send(new CreateKeyCommand({ Description: 'not imported' }))).KeyMetadata!;
      expect(await refused(std.KeyId!, () => kms.send(new GetParametersForImportCommand({ KeyId: std.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })))).toBe(
        'UnsupportedOperationException',
      );
      const ext = await createExternal();
      const p = await getParams(ext.KeyId!);
      expect(await refused(std.KeyId!, () => importRaw(std.KeyId!, p.token, wrap(p.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_256')))).toBe('UnsupportedOperationException');
      expect(await refused(std.KeyId!, () => kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: std.KeyId })))).toBe('UnsupportedOperationException');
      expect(await stateOf(std.KeyId!)).toBe('Enabled');
    });
  });

  describe('tokens and wrapping', () => {
    it('material wrapped under another token\'s public key: InvalidCiphertextException', async () => {
      const k = await createExternal();
      const p1 = await getParams(k.KeyId!);
      const p2 = await getParams(k.KeyId!);
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p1.token, wrap(p2.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_256'))))
        .toBe('InvalidCiphertextException');
    });

    it('material wrapped with another algorithm than the token\'s (OAEP SHA-1 for a SHA-256 token): InvalidCiphertextException', async () => {
      const k = await createExternal();
      const p = await getParams(k.KeyId!, 'RSAES_OAEP_SHA_256');
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p.token, wrap(p.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_1')))).toBe('InvalidCiphertextException');
    });

    it('a token made for another key: InvalidImportTokenException', async () => {
      const a = await createExternal();
      const b = await createExternal();
      const pa = await getParams(a.KeyId!);
      expect(await refused(b.KeyId!, () => importRaw(b.KeyId!, pa.token, wrap(pa.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_256')))).toBe('InvalidImportTokenException');
      expect(await stateOf(a.KeyId!)).toBe('PendingImport');
    });

    it('a token that is not a token (random bytes, or one byte flipped): InvalidImportTokenException', async () => {
      const k = await createExternal();
      const p = await getParams(k.KeyId!);
      const encrypted = wrap(p.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_256');
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, randomBytes(p.token.length), encrypted))).toBe('InvalidImportTokenException');
      const flipped = Buffer.from(p.token);
      const at = flipped.length >> 1;
      flipped.writeUInt8(flipped.readUInt8(at) ^ 0x01, at);
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, flipped, encrypted))).toBe('InvalidImportTokenException');
    });

    // The issue makes tokens single-use ("destroyed when it expires or is used"); AWS documents only
    // that a public key and token set is valid for 24 hours.
    it('a token already used for an import: InvalidImportTokenException', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const p = await getParams(k.KeyId!);
      const out = await importRaw(k.KeyId!, p.token, wrap(p.publicKey, material, 'RSAES_OAEP_SHA_256'));
      expect(out.KeyId).toBe(k.Arn);
      expect(await stateOf(k.KeyId!)).toBe('Enabled');
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p.token, wrap(p.publicKey, material, 'RSAES_OAEP_SHA_256')))).toBe('InvalidImportTokenException');
    });

    it('truncated or tampered encrypted key material: InvalidCiphertextException', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const oaepParams = await getParams(k.KeyId!, 'RSAES_OAEP_SHA_256');
      const whole = wrap(oaepParams.publicKey, material, 'RSAES_OAEP_SHA_256');
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, oaepParams.token, whole.subarray(0, whole.length - 1)))).toBe('InvalidCiphertextException');

      const kwParams = await getParams(k.KeyId!, 'RSA_AES_KEY_WRAP_SHA_256');
      const blob = wrap(kwParams.publicKey, material, 'RSA_AES_KEY_WRAP_SHA_256');
      expect(blob.length).toBe(256 + 40);
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, kwParams.token, blob.subarray(0, blob.length - 8)))).toBe('InvalidCiphertextException');
      const kwParams2 = await getParams(k.KeyId!, 'RSA_AES_KEY_WRAP_SHA_256');
      const tampered = wrap(kwParams2.publicKey, material, 'RSA_AES_KEY_WRAP_SHA_256');
      tampered.writeUInt8(tampered.readUInt8(tampered.length - 3) ^ 0x80, tampered.length - 3);
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, kwParams2.token, tampered))).toBe('InvalidCiphertextException');
      const kwParams3 = await getParams(k.KeyId!, 'RSA_AES_KEY_WRAP_SHA_256');
      const rsaPartOnly = wrap(kwParams3.publicKey, material, 'RSA_AES_KEY_WRAP_SHA_256').subarray(0, 256);
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, kwParams3.token, rsaPartOnly))).toBe('InvalidCiphertextException');

      // After all that, a correct import with a fresh token works.
      await importFresh(k.KeyId!, material);
      expect(await stateOf(k.KeyId!)).toBe('Enabled');
    });
  });

  describe('the material', () => {
    it('different material on re-import: IncorrectKeyMaterialException, whether the key is Enabled or its material was deleted', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      await importFresh(k.KeyId!, material);
      const p1 = await getParams(k.KeyId!);
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p1.token, wrap(p1.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_256')))).toBe('IncorrectKeyMaterialException');
      expect(await stateOf(k.KeyId!)).toBe('Enabled');

      const deleted = await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: k.KeyId }));
      expect(deleted.KeyId).toBe(k.Arn);
      expect(deleted.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
      expect(await stateOf(k.KeyId!)).toBe('PendingImport');
      expect(await errorName(kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') })))).toBe('KMSInvalidStateException');
      const p2 = await getParams(k.KeyId!);
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p2.token, wrap(p2.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_256')))).toBe('IncorrectKeyMaterialException');

      // The same material is welcome, and gets the same KeyMaterialId.
      const again = await importFresh(k.KeyId!, material);
      expect(again.KeyMaterialId).toBe(deleted.KeyMaterialId);
      expect(await stateOf(k.KeyId!)).toBe('Enabled');
    });

    it('symmetric material of 31 or 33 bytes: ValidationException', async () => {
      const k = await createExternal();
      for (const n of [31, 33, 16, 64]) {
        const p = await getParams(k.KeyId!);
        expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p.token, wrap(p.publicKey, randomBytes(n), 'RSAES_OAEP_SHA_256'))), `${n} bytes`).toBe('ValidationException');
      }
      expect(await stateOf(k.KeyId!)).toBe('PendingImport');
    });

    it('HMAC_256 material shorter than 32 or longer than 64 bytes: ValidationException; 48 bytes imports and MACs as HMAC-SHA-256 with that key', async () => {
      const k = await createExternal('HMAC_256', 'GENERATE_VERIFY_MAC');
      for (const n of [16, 31, 65]) {
        const p = await getParams(k.KeyId!);
        expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p.token, wrap(p.publicKey, randomBytes(n), 'RSAES_OAEP_SHA_256'))), `${n} bytes`).toBe('ValidationException');
      }
      const material = randomBytes(48);
      await importFresh(k.KeyId!, material);
      expect(await stateOf(k.KeyId!)).toBe('Enabled');
      const message = Buffer.from('mac me');
      const mac = await kms.send(new GenerateMacCommand({ KeyId: k.KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
      expect(Buffer.from(mac.Mac!).equals(createHmac('sha256', material).update(message).digest())).toBe(true);
    });

    it('a private key of the wrong curve, size or kind: ValidationException', async () => {
      const p256 = await createExternal('ECC_NIST_P256', 'SIGN_VERIFY');
      const rsa2048 = await createExternal('RSA_2048', 'SIGN_VERIFY');
      const cases: [KeyMetadata, Buffer, string][] = [
        [p256, ecPkcs8('P-384'), 'a P-384 key into ECC_NIST_P256'],
        [p256, rsaPkcs8(2048), 'an RSA key into ECC_NIST_P256'],
        [p256, randomBytes(32), 'a raw 32-byte scalar, not PKCS#8, into ECC_NIST_P256'],
        [rsa2048, rsaPkcs8(3072), 'an RSA 3072 key into RSA_2048'],
        [rsa2048, ecPkcs8('P-256'), 'an EC key into RSA_2048'],
      ];
      for (const [key, material, what] of cases) {
        const p = await getParams(key.KeyId!, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_3072');
        expect(await refused(key.KeyId!, () => importRaw(key.KeyId!, p.token, wrap(p.publicKey, material, 'RSA_AES_KEY_WRAP_SHA_256'))), what).toBe('ValidationException');
      }
      expect(await stateOf(p256.KeyId!)).toBe('PendingImport');
      expect(await stateOf(rsa2048.KeyId!)).toBe('PendingImport');
      expect(await errorName(kms.send(new SignCommand({ KeyId: p256.KeyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' })))).toBe('KMSInvalidStateException');
    });
  });

  describe('ValidTo and ExpirationModel', () => {
    it('ValidTo in the past or more than 365 days ahead: ValidationException; 364 days ahead imports', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const now = Date.now();
      for (const [validTo, what] of [
        [new Date(now - HOUR_MS), 'an hour ago'],
        [new Date(now + 366 * DAY_MS), '366 days ahead'],
        [new Date(now + 365 * DAY_MS + HOUR_MS), '365 days and an hour ahead'],
      ] as const) {
        const p = await getParams(k.KeyId!);
        const extra: ImportExtra = { ValidTo: validTo, ExpirationModel: 'KEY_MATERIAL_EXPIRES' };
        expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p.token, wrap(p.publicKey, material, 'RSAES_OAEP_SHA_256'), extra)), what).toBe('ValidationException');
      }
      const validTo = new Date(Math.floor((now + 364 * DAY_MS) / 1000) * 1000);
      await importFresh(k.KeyId!, material, { ValidTo: validTo, ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
      expect(await describeKey(k.KeyId!)).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
    });

    it('KEY_MATERIAL_DOES_NOT_EXPIRE with a ValidTo, and KEY_MATERIAL_EXPIRES (explicit or by default) without one: ValidationException', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const cases: [ImportExtra, string][] = [
        [{ ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: new Date(Date.now() + 30 * DAY_MS) }, 'DOES_NOT_EXPIRE with ValidTo'],
        [{ ExpirationModel: 'KEY_MATERIAL_EXPIRES' }, 'EXPIRES without ValidTo'],
        [{}, 'neither (the default model, KEY_MATERIAL_EXPIRES, needs ValidTo)'],
      ];
      for (const [extra, what] of cases) {
        const p = await getParams(k.KeyId!);
        expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p.token, wrap(p.publicKey, material, 'RSAES_OAEP_SHA_256'), extra)), what).toBe('ValidationException');
      }
      // ValidTo alone means KEY_MATERIAL_EXPIRES.
      const validTo = new Date(Math.floor((Date.now() + 10 * DAY_MS) / 1000) * 1000);
      await importFresh(k.KeyId!, material, { ValidTo: validTo });
      expect(await describeKey(k.KeyId!)).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
      // Re-importing with KEY_MATERIAL_DOES_NOT_EXPIRE drops ValidTo.
      await importFresh(k.KeyId!, material, DOES_NOT_EXPIRE);
      const after = await describeKey(k.KeyId!);
      expect(after).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      expect(after.ValidTo).toBeUndefined();
    });
  });

  describe('key states', () => {
    it('GetParametersForImport and ImportKeyMaterial on a key pending deletion: KMSInvalidStateException', async () => {
      const k = await createExternal();
      const p = await getParams(k.KeyId!);
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }));
      expect(await refused(k.KeyId!, () => importRaw(k.KeyId!, p.token, wrap(p.publicKey, randomBytes(32), 'RSAES_OAEP_SHA_256')))).toBe('KMSInvalidStateException');
      expect(await refused(k.KeyId!, () => kms.send(new GetParametersForImportCommand({ KeyId: k.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })))).toBe(
        'KMSInvalidStateException',
      );
      expect(await stateOf(k.KeyId!)).toBe('PendingDeletion');
    });

    it('DeleteImportedKeyMaterial on a key pending deletion deletes the material and keeps the key PendingDeletion', async () => {
      const k = await createExternal();
      await importFresh(k.KeyId!, randomBytes(32));
      const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }));
      const out = await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: k.KeyId }));
      expect(out.KeyId).toBe(k.Arn);
      const after = await describeKey(k.KeyId!);
      expect(after).toMatchObject({ KeyState: 'PendingDeletion', DeletionDate: scheduled.DeletionDate });
    });

    // The Developer Guide's key state table (key-state.html): DeleteImportedKeyMaterial on a PendingImport
    // key has no effect; EnableKey and DisableKey on it are KMSInvalidStateException ("is pending import");
    // ImportKeyMaterial fails only for keys whose origin is not EXTERNAL (and pending deletion).
    it('DeleteImportedKeyMaterial on a PendingImport key succeeds with no effect', async () => {
      const fresh = await createExternal();
      await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: fresh.KeyId }));
      expect(await stateOf(fresh.KeyId!)).toBe('PendingImport');

      const deleted = await createExternal();
      await importFresh(deleted.KeyId!, randomBytes(32));
      await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: deleted.KeyId }));
      expect(await stateOf(deleted.KeyId!)).toBe('PendingImport');
      await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: deleted.KeyId }));
      expect(await stateOf(deleted.KeyId!)).toBe('PendingImport');
    });

    it('EnableKey and DisableKey on a PendingImport key: KMSInvalidStateException', async () => {
      const k = await createExternal();
      expect(await refused(k.KeyId!, () => kms.send(new EnableKeyCommand({ KeyId: k.KeyId })))).toBe('KMSInvalidStateException');
      expect(await refused(k.KeyId!, () => kms.send(new DisableKeyCommand({ KeyId: k.KeyId })))).toBe('KMSInvalidStateException');
    });

    it('ImportKeyMaterial of the same material into a Disabled key succeeds (to change its expiration)', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      await importFresh(k.KeyId!, material);
      await kms.send(new DisableKeyCommand({ KeyId: k.KeyId }));
      const validTo = new Date(Math.floor((Date.now() + 20 * DAY_MS) / 1000) * 1000);
      const out = await importFresh(k.KeyId!, material, { ValidTo: validTo, ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
      expect(out.KeyId).toBe(k.Arn);
      expect(await describeKey(k.KeyId!)).toMatchObject({ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
      await kms.send(new EnableKeyCommand({ KeyId: k.KeyId }));
      expect(await stateOf(k.KeyId!)).toBe('Enabled');
    });

    it('EnableKeyRotation on a key with imported material: UnsupportedOperationException', async () => {
      const k = await createExternal();
      await importFresh(k.KeyId!, randomBytes(32));
      expect(await refused(k.KeyId!, () => kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId })))).toBe('UnsupportedOperationException');
    });
  });
});
