// Imported key material (BYOK) in the KMS domain, in process over a real SQLite store with a FixedClock:
// the 24-hour life of an import token, expiry of the material at its ValidTo by the scheduler's
// runDue(), DeleteImportedKeyMaterial (PendingDeletion keys stay PendingDeletion), re-import of the same
// material bringing old ciphertexts back, ImportType NEW_KEY_MATERIAL with RotateKeyOnDemand, asymmetric
// material that every later use of the key reads as the import did, and that no plaintext of imported
// material reaches the database files. AWS semantics from the API reference (GetParametersForImport,
// ImportKeyMaterial, DeleteImportedKeyMaterial, ListKeyRotations) and the Developer Guide's "Importing
// key material". Wrapping happens here as a customer would do it: RSA-OAEP and AES key wrap with padding
// (RFC 5649) with node:crypto (OpenSSL), not Kura's own code.
import fs from 'node:fs';
import { constants, createCipheriv, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../main/common/clock.js';
import { importedMaterialId } from '../../../main/keystores/standard/byok.js';
import { parseBlob } from '../../../main/kms/ciphertext.js';
import { encodeMarker } from '../../../main/kms/operations/common.js';
import type { CreateKeyInput, Key as KeyRecord } from '../../../main/kms/index.js';
import { nistKeyParts, nistPkcs8 } from '../../crypto/asymmetric/fixtures.js';
import { kmsCode, openDomain, type Domain } from '../../support/domain.js';
import { sqliteOf } from '../../support/sqlite.js';

const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

type WrappingAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256';

interface ImportParams {
  importToken: Buffer;
  publicKey: Buffer;
  parametersValidTo: number;
  key: KeyRecord;
}

interface ImportOptions {
  validTo?: Date;
  expirationModel?: string;
  importType?: string;
  keyMaterialDescription?: string;
  keyMaterialId?: string;
}

/** RSAES-OAEP with MGF1 over the same hash, as `openssl pkeyutl -pkeyopt rsa_oaep_md:X -pkeyopt rsa_mgf1_md:X` does. */
function oaep(publicKeyDer: Buffer, data: Buffer, hash: 'sha1' | 'sha256'): Buffer {
  return publicEncrypt({ key: createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
}

/** AES key wrap with padding (RFC 5649) by OpenSSL through node:crypto: an implementation independent of Kura's WASM core. */
function kwp(kek: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('id-aes256-wrap-pad', kek, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([c.update(data), c.final()]);
}

/** Wraps material as AWS's wrapping algorithms define it (RSA_AES: OAEP(aes key) || KWP(aes key, material)). */
function wrapMaterial(publicKeyDer: Buffer, material: Buffer, algorithm: WrappingAlgorithm): Buffer {
  switch (algorithm) {
    case 'RSAES_OAEP_SHA_1':
      return oaep(publicKeyDer, material, 'sha1');
    case 'RSAES_OAEP_SHA_256':
      return oaep(publicKeyDer, material, 'sha256');
    case 'RSA_AES_KEY_WRAP_SHA_1':
    case 'RSA_AES_KEY_WRAP_SHA_256': {
      const aesKey = randomBytes(32);
      const hash = algorithm === 'RSA_AES_KEY_WRAP_SHA_1' ? 'sha1' : 'sha256';
      return Buffer.concat([oaep(publicKeyDer, aesKey, hash), kwp(aesKey, material)]);
    }
  }
}

interface MaterialRow {
  material_id: string;
  material_sealed: Buffer;
  import_state: string | null;
  pending_rotation: number;
}

describe('imported key material (FixedClock)', () => {
  let d: Domain;
  const ctx = (op: string) => d.ctx(op);

  const createExternal = (input: CreateKeyInput = {}): Promise<KeyRecord> => d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL', ...input });
  const describeKey = (keyId: string) => d.keys.describeKey(ctx('DescribeKey'), keyId);
  const stateOf = async (keyId: string) => (await describeKey(keyId)).state;

  const getParams = (keyId: string, wrappingAlgorithm: WrappingAlgorithm = 'RSAES_OAEP_SHA_256', wrappingKeySpec = 'RSA_2048'): Promise<ImportParams> =>
    d.imports.getParametersForImport(ctx('GetParametersForImport'), { keyId, wrappingAlgorithm, wrappingKeySpec });

  const importWith = (keyId: string, params: ImportParams, material: Buffer, opts: ImportOptions = {}, algorithm: WrappingAlgorithm = 'RSAES_OAEP_SHA_256') =>
    d.imports.importKeyMaterial(ctx('ImportKeyMaterial'), {
      keyId,
      importToken: params.importToken,
      encryptedKeyMaterial: wrapMaterial(params.publicKey, material, algorithm),
      ...opts,
    });

  /** GetParametersForImport, wrap, ImportKeyMaterial (material that does not expire unless opts say otherwise). */
  const importFresh = async (keyId: string, material: Buffer, opts: ImportOptions = { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }, algorithm: WrappingAlgorithm = 'RSAES_OAEP_SHA_256') =>
    importWith(keyId, await getParams(keyId, algorithm), material, opts, algorithm);

  const encrypt = async (keyId: string, plaintext: Buffer) => (await d.keys.encrypt(ctx('Encrypt'), { keyId, plaintext })).ciphertextBlob;
  const decrypt = async (ciphertextBlob: Buffer) => (await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob })).plaintext;

  const materialRows = (keyId: string) =>
    sqliteOf(d.store).all<MaterialRow>('SELECT material_id, material_ref AS material_sealed, import_state, pending_rotation FROM key_materials WHERE key_id = ? ORDER BY created_at, rowid', keyId);
  const tokenRows = async (keyId: string) => (await sqliteOf(d.store).all<{ n: number }>('SELECT COUNT(*) AS n FROM import_tokens WHERE key_id = ?', keyId))[0]!.n;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await d?.close();
  });

  describe('CreateKey Origin=EXTERNAL and GetParametersForImport', () => {
    it('makes a PendingImport key that no cryptographic operation can use until material is imported', async () => {
      const k = await createExternal({ description: 'byok' });
      expect(k).toMatchObject({ origin: 'EXTERNAL', state: 'PendingImport', keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: 'byok' });
      expect(await stateOf(k.keyId)).toBe('PendingImport');
      expect(await kmsCode(encrypt(k.keyId, Buffer.from('x')))).toBe('InvalidState');
      expect(await kmsCode(d.keys.generateDataKey(ctx('GenerateDataKey'), { keyId: k.keyId, numberOfBytes: 32 }))).toBe('InvalidState');
    });

    it('answers an RSA public key of the wrapping key spec and a token valid for exactly 24 hours, for this key', async () => {
      const k = await createExternal();
      for (const [spec, bits] of [['RSA_2048', 2048], ['RSA_3072', 3072]] as const) {
        const p = await getParams(k.keyId, 'RSAES_OAEP_SHA_256', spec);
        expect(p.key.keyId).toBe(k.keyId);
        expect(p.parametersValidTo).toBe(d.clock.nowMs() + DAY_MS);
        const pub = createPublicKey({ key: p.publicKey, format: 'der', type: 'spki' });
        expect(pub.asymmetricKeyType).toBe('rsa');
        expect(pub.asymmetricKeyDetails?.modulusLength).toBe(bits);
        expect(p.importToken.length).toBeGreaterThan(0);
      }
      // Each call makes a new wrapping key pair and a new token.
      const a = await getParams(k.keyId);
      const b = await getParams(k.keyId);
      expect(a.publicKey.equals(b.publicKey)).toBe(false);
      expect(a.importToken.equals(b.importToken)).toBe(false);
      expect(await stateOf(k.keyId)).toBe('PendingImport');
    });

    it('refuses GetParametersForImport and ImportKeyMaterial on a key whose origin is AWS_KMS (UnsupportedOperation)', async () => {
      const std = await d.keys.createKey(ctx('CreateKey'), {});
      expect(await kmsCode(getParams(std.keyId))).toBe('UnsupportedOperation');
      const ext = await createExternal();
      const p = await getParams(ext.keyId);
      expect(await kmsCode(importWith(std.keyId, p, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('UnsupportedOperation');
      expect(await kmsCode(d.imports.deleteImportedKeyMaterial(ctx('DeleteImportedKeyMaterial'), { keyId: std.keyId }))).toBe('UnsupportedOperation');
      expect(await stateOf(std.keyId)).toBe('Enabled');
    });
  });

  describe('import tokens', () => {
    it('a token still imports at 23 h 59 m', async () => {
      const k = await createExternal();
      const p = await getParams(k.keyId);
      d.clock.advance(23 * HOUR_MS + 59 * MINUTE_MS);
      const material = randomBytes(32);
      const out = await importWith(k.keyId, p, material, { validTo: new Date(d.clock.nowMs() + 30 * DAY_MS) });
      expect(out.key.keyId).toBe(k.keyId);
      expect(out.materialId).toMatch(/^[0-9a-f]{64}$/);
      expect(await stateOf(k.keyId)).toBe('Enabled');
      const pt = Buffer.from('within the 24 hours');
      expect((await decrypt(await encrypt(k.keyId, pt))).equals(pt)).toBe(true);
    });

    it('a token is ExpiredImportToken 24 h + 1 s after GetParametersForImport; the key stays PendingImport and the expired token is destroyed', async () => {
      const k = await createExternal();
      const p = await getParams(k.keyId);
      expect(await tokenRows(k.keyId)).toBe(1);
      d.clock.advance(DAY_MS + 1000);
      expect(await kmsCode(importWith(k.keyId, p, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('ExpiredImportToken');
      expect(await stateOf(k.keyId)).toBe('PendingImport');
      await d.jobs.runDue();
      // "destroyed when it expires or is used": no wrapping private key outlives its token.
      expect(await tokenRows(k.keyId)).toBe(0);
      // A fresh set works.
      await importFresh(k.keyId, randomBytes(32));
      expect(await stateOf(k.keyId)).toBe('Enabled');
    });

    it('a token made while the clock read a year ahead is not good for a year once the clock is put back; a small step back leaves it be', async () => {
      const k = await createExternal();
      d.clock.step(365 * DAY_MS);
      const p = await getParams(k.keyId);
      d.clock.step(-365 * DAY_MS);
      const refused = importWith(k.keyId, p, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      expect(await kmsCode(refused)).toBe('ExpiredImportToken');
      await expect(importWith(k.keyId, p, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })).rejects.toThrow(/clock was stepped back/);
      expect(await stateOf(k.keyId)).toBe('PendingImport');
      // Its wrapping private key goes at the scheduler's next run, not a year later.
      await d.jobs.runDue();
      expect(await tokenRows(k.keyId)).toBe(0);
      // NTP's small steps back (a minute) do not touch a fresh token.
      const fresh = await getParams(k.keyId);
      d.clock.step(-60_000);
      await d.jobs.runDue();
      expect(await tokenRows(k.keyId)).toBe(1);
      await importWith(k.keyId, fresh, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      expect(await stateOf(k.keyId)).toBe('Enabled');
    });

    it('a token is used once: it is destroyed by a successful import and refused after (InvalidImportToken)', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const p = await getParams(k.keyId);
      await importWith(k.keyId, p, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      expect(await tokenRows(k.keyId)).toBe(0);
      expect(await kmsCode(importWith(k.keyId, p, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('InvalidImportToken');
      expect(await stateOf(k.keyId)).toBe('Enabled');
    });

    it('two concurrent imports with one token: exactly one imports, the other is InvalidImportToken (single use holds inside the transaction)', async () => {
      const k = await createExternal();
      const p = await getParams(k.keyId);
      const material = randomBytes(32);
      // The same wrapped bytes twice: both pass the token look-up before either transaction runs, so
      // only the in-transaction re-check can refuse the second (a re-import of the same material would
      // otherwise succeed).
      const encryptedKeyMaterial = wrapMaterial(p.publicKey, material, 'RSAES_OAEP_SHA_256');
      const call = () =>
        d.imports.importKeyMaterial(ctx('ImportKeyMaterial'), { keyId: k.keyId, importToken: p.importToken, encryptedKeyMaterial, expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      const results = await Promise.allSettled([call(), call()]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(await kmsCode(Promise.reject(rejected[0]!.reason))).toBe('InvalidImportToken');
      expect(await tokenRows(k.keyId)).toBe(0);
      expect(await stateOf(k.keyId)).toBe('Enabled');
    });

    it('a token of another key is InvalidImportToken, and material wrapped under another token\'s public key is InvalidCiphertext', async () => {
      const a = await createExternal();
      const b = await createExternal();
      const material = randomBytes(32);
      const pa = await getParams(a.keyId);
      expect(await kmsCode(importWith(b.keyId, pa, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('InvalidImportToken');
      const pb1 = await getParams(b.keyId);
      const pb2 = await getParams(b.keyId);
      const crossed = d.imports.importKeyMaterial(ctx('ImportKeyMaterial'), {
        keyId: b.keyId,
        importToken: pb1.importToken,
        encryptedKeyMaterial: wrapMaterial(pb2.publicKey, material, 'RSAES_OAEP_SHA_256'),
        expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      });
      expect(await kmsCode(crossed)).toBe('InvalidCiphertext');
      expect(await stateOf(a.keyId)).toBe('PendingImport');
      expect(await stateOf(b.keyId)).toBe('PendingImport');
    });
  });

  describe('expiry, deletion and re-import', () => {
    it('material expires at its ValidTo by runDue: the key goes PendingImport, the sealed bytes leave the row, and re-importing the same material brings old ciphertexts back', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const validTo = d.clock.nowMs() + 10 * DAY_MS;
      const first = await importFresh(k.keyId, material, { validTo: new Date(validTo), expirationModel: 'KEY_MATERIAL_EXPIRES' });
      const described = await describeKey(k.keyId);
      expect(described).toMatchObject({ state: 'Enabled', expirationModel: 'KEY_MATERIAL_EXPIRES', validTo });
      const pt = Buffer.from('made before expiry');
      const before = await encrypt(k.keyId, pt);
      expect(parseBlob(before).materialId).toBe(first.materialId);

      // One second before ValidTo nothing happens.
      d.clock.advance(10 * DAY_MS - 1000);
      await d.jobs.runDue();
      expect(await stateOf(k.keyId)).toBe('Enabled');
      expect((await decrypt(before)).equals(pt)).toBe(true);

      // At ValidTo the material is deleted.
      d.clock.advance(1000);
      await d.jobs.runDue();
      expect(await stateOf(k.keyId)).toBe('PendingImport');
      const rows = await materialRows(k.keyId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ material_id: first.materialId, import_state: 'PENDING_IMPORT' });
      expect(rows[0]!.material_sealed.length).toBe(0);
      expect(await kmsCode(encrypt(k.keyId, pt))).toBe('InvalidState');
      expect(await kmsCode(decrypt(before))).toBe('InvalidState');
      // Running again changes nothing.
      await d.jobs.runDue();
      expect(await stateOf(k.keyId)).toBe('PendingImport');

      // Different material cannot take its place.
      expect(await kmsCode(importFresh(k.keyId, randomBytes(32)))).toBe('IncorrectKeyMaterial');
      expect(await stateOf(k.keyId)).toBe('PendingImport');

      // The same material, with a new token and a new expiration model, restores the key.
      const again = await importFresh(k.keyId, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      expect(again.materialId).toBe(first.materialId);
      const restored = await describeKey(k.keyId);
      expect(restored).toMatchObject({ state: 'Enabled', expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', validTo: null });
      expect((await decrypt(before)).equals(pt)).toBe(true);
      const rowsAfter = await materialRows(k.keyId);
      expect(rowsAfter).toHaveLength(1);
      expect(rowsAfter[0]!.import_state).toBe('IMPORTED');
      expect(rowsAfter[0]!.material_sealed.length).toBeGreaterThan(0);

      // Material that does not expire is left alone by the scheduler, however far the clock goes.
      d.clock.advance(400 * DAY_MS);
      await d.jobs.runDue();
      expect(await stateOf(k.keyId)).toBe('Enabled');
    });

    it('DeleteImportedKeyMaterial makes the key PendingImport at once; the same material re-imported decrypts the old ciphertexts again', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const imported = await importFresh(k.keyId, material, { validTo: new Date(d.clock.nowMs() + 30 * DAY_MS) }, 'RSA_AES_KEY_WRAP_SHA_256');
      const pt = Buffer.from('made before the deletion');
      const before = await encrypt(k.keyId, pt);

      const deleted = await d.imports.deleteImportedKeyMaterial(ctx('DeleteImportedKeyMaterial'), { keyId: k.keyId });
      expect(deleted.key.keyId).toBe(k.keyId);
      expect(deleted.materialId).toBe(imported.materialId);
      expect(await stateOf(k.keyId)).toBe('PendingImport');
      const rows = await materialRows(k.keyId);
      expect(rows[0]!.material_sealed.length).toBe(0);
      expect(rows[0]!.import_state).toBe('PENDING_IMPORT');
      expect(await kmsCode(encrypt(k.keyId, pt))).toBe('InvalidState');
      expect(await kmsCode(decrypt(before))).toBe('InvalidState');

      // Re-imported with another wrapping algorithm and key spec: AWS allows a different pair each time.
      const again = importWith(k.keyId, await getParams(k.keyId, 'RSAES_OAEP_SHA_1', 'RSA_3072'), material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }, 'RSAES_OAEP_SHA_1');
      expect((await again).materialId).toBe(imported.materialId);
      expect(await stateOf(k.keyId)).toBe('Enabled');
      expect((await decrypt(before)).equals(pt)).toBe(true);
    });

    it('re-importing the same material into an Enabled key changes only its expiration; different material is IncorrectKeyMaterial', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      const first = await importFresh(k.keyId, material, { validTo: new Date(d.clock.nowMs() + 5 * DAY_MS) });
      const pt = Buffer.from('unchanged');
      const ct = await encrypt(k.keyId, pt);
      const later = d.clock.nowMs() + 90 * DAY_MS;
      const second = await importFresh(k.keyId, material, { validTo: new Date(later), expirationModel: 'KEY_MATERIAL_EXPIRES' });
      expect(second.materialId).toBe(first.materialId);
      expect(await describeKey(k.keyId)).toMatchObject({ state: 'Enabled', expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: later });
      expect((await decrypt(ct)).equals(pt)).toBe(true);
      // The new ValidTo is the one that counts: 5 days on, nothing expires.
      d.clock.advance(5 * DAY_MS);
      await d.jobs.runDue();
      expect(await stateOf(k.keyId)).toBe('Enabled');

      expect(await kmsCode(importFresh(k.keyId, randomBytes(32)))).toBe('IncorrectKeyMaterial');
      expect(await describeKey(k.keyId)).toMatchObject({ state: 'Enabled', validTo: later });
      expect((await decrypt(ct)).equals(pt)).toBe(true);
    });

    it('DeleteImportedKeyMaterial and expiry leave a PendingDeletion key PendingDeletion', async () => {
      const deletedByCall = await createExternal();
      await importFresh(deletedByCall.keyId, randomBytes(32));
      const scheduled = await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), deletedByCall.keyId, 7);
      await d.imports.deleteImportedKeyMaterial(ctx('DeleteImportedKeyMaterial'), { keyId: deletedByCall.keyId });
      expect(await describeKey(deletedByCall.keyId)).toMatchObject({ state: 'PendingDeletion', deletionAt: scheduled.deletionAt });
      expect((await materialRows(deletedByCall.keyId))[0]!.material_sealed.length).toBe(0);

      const expiring = await createExternal();
      await importFresh(expiring.keyId, randomBytes(32), { validTo: new Date(d.clock.nowMs() + 2 * DAY_MS) });
      const scheduled2 = await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), expiring.keyId, 30);
      d.clock.advance(2 * DAY_MS);
      await d.jobs.runDue();
      expect(await describeKey(expiring.keyId)).toMatchObject({ state: 'PendingDeletion', deletionAt: scheduled2.deletionAt });
      const rows = await materialRows(expiring.keyId);
      expect(rows[0]).toMatchObject({ import_state: 'PENDING_IMPORT' });
      expect(rows[0]!.material_sealed.length).toBe(0);
    });
  });

  describe('rotation of imported material', () => {
    it("a symmetric key's first material may be imported as NEW_KEY_MATERIAL (the API model: the default then), and becomes current", async () => {
      const k = await createExternal();
      const first = await importFresh(k.keyId, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' });
      expect(await stateOf(k.keyId)).toBe('Enabled');
      expect((await describeKey(k.keyId)).currentMaterialId).toBe(first.materialId);
      expect((await decrypt(await encrypt(k.keyId, Buffer.from('first')))).toString()).toBe('first');
    });

    it('ImportType, KeyMaterialDescription and KeyMaterialId are refused on other keys (the API model: "only usable with symmetric encryption keys")', async () => {
      const hmac = await createExternal({ keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' });
      const material = randomBytes(32);
      for (const extra of [{ importType: 'NEW_KEY_MATERIAL' }, { importType: 'EXISTING_KEY_MATERIAL' }, { keyMaterialDescription: 'batch 7' }, { keyMaterialId: 'a'.repeat(64) }]) {
        expect(await kmsCode(importFresh(hmac.keyId, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra })), JSON.stringify(extra)).toBe('Validation');
      }
      expect(await stateOf(hmac.keyId)).toBe('PendingImport');
      await importFresh(hmac.keyId, material);
      expect(await stateOf(hmac.keyId)).toBe('Enabled');
    });

    it('a KeyMaterialId must name material already associated with the key: not on a first import', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      // The right ID for this key and material, but nothing is associated with the key yet.
      const id = importedMaterialId(k.keyId, material);
      const other = await createExternal();
      const own = (await importFresh(other.keyId, material)).materialId;
      expect(await kmsCode(importFresh(k.keyId, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', keyMaterialId: id }))).toBe('IncorrectKeyMaterial');
      expect(await stateOf(k.keyId)).toBe('PendingImport');
      // Re-importing with the ID the key does have is fine.
      await importFresh(other.keyId, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', keyMaterialId: own });
    });

    it('a re-import without KeyMaterialDescription keeps the description of the last import (the API model)', async () => {
      const k = await createExternal();
      const material = randomBytes(32);
      await importFresh(k.keyId, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', keyMaterialDescription: 'hsm batch 7' });
      await importFresh(k.keyId, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      const descriptionOf = async () => (await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, 'ALL_KEY_MATERIAL')).page.items[0]!.description;
      expect(await descriptionOf()).toBe('hsm batch 7');
      await importFresh(k.keyId, material, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', keyMaterialDescription: 'batch 8' });
      expect(await descriptionOf()).toBe('batch 8');
    });

    it('on-demand rotations of an imported key count toward the 25 per key (RotateKeyOnDemand)', async () => {
      const k = await createExternal();
      await importFresh(k.keyId, randomBytes(32));
      // 24 earlier on-demand rotations, as rows (importing and rotating 24 times costs 24 RSA wrapping keys).
      await d.store.db.write(async (tx) => {
        for (let i = 0; i < 24; i++) {
          await d.store.keys.insertMaterial(tx, {
            keyId: k.keyId,
            materialId: randomBytes(32).toString('hex'),
            createdAt: d.clock.nowMs(),
            rotationType: 'ON_DEMAND',
            rotatedAt: d.clock.nowMs(),
            materialRef: Buffer.from('sealed elsewhere'),
            publicKey: null,
            importState: 'IMPORTED',
            validTo: null,
            expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
            description: null,
            pendingRotation: false,
          });
        }
      });
      await importFresh(k.keyId, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' });
      await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
      await importFresh(k.keyId, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' });
      const current = (await describeKey(k.keyId)).currentMaterialId;
      expect(await kmsCode(d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId))).toBe('LimitExceeded');
      expect((await describeKey(k.keyId)).currentMaterialId).toBe(current);
    });

    it('ImportType NEW_KEY_MATERIAL waits as PENDING_ROTATION until RotateKeyOnDemand makes it current; every material keeps decrypting', async () => {
      const k = await createExternal();
      const m1 = randomBytes(32);
      const m2 = randomBytes(32);
      const first = await importFresh(k.keyId, m1);
      expect((await describeKey(k.keyId)).currentMaterialId).toBe(first.materialId);
      const pt = Buffer.from('before rotation');
      const ct1 = await encrypt(k.keyId, pt);

      const second = await importFresh(k.keyId, m2, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL', keyMaterialDescription: 'second material' });
      expect(second.materialId).toMatch(/^[0-9a-f]{64}$/);
      expect(second.materialId).not.toBe(first.materialId);
      // Not current yet: encryption still uses the first material.
      expect((await describeKey(k.keyId)).currentMaterialId).toBe(first.materialId);
      expect(parseBlob(await encrypt(k.keyId, pt)).materialId).toBe(first.materialId);
      const pending = (await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, 'ALL_KEY_MATERIAL')).page.items;
      expect(pending.map((m) => m.materialId)).toEqual([first.materialId, second.materialId]);
      expect(pending[1]).toMatchObject({ pendingRotation: true, importState: 'IMPORTED', description: 'second material', expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
      expect(pending[0]).toMatchObject({ pendingRotation: false, importState: 'IMPORTED' });

      // The same new material again as NEW_KEY_MATERIAL: it is already associated with the key.
      expect(await kmsCode(importFresh(k.keyId, m2, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' }))).toBe('IncorrectKeyMaterial');
      // A KeyMaterialId cannot go with NEW_KEY_MATERIAL.
      expect(
        await kmsCode(importFresh(k.keyId, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL', keyMaterialId: first.materialId })),
      ).toBe('Validation');

      const rotated = await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
      expect(rotated.currentMaterialId).toBe(second.materialId);
      const after = (await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, 'ALL_KEY_MATERIAL')).page.items;
      const byId = new Map(after.map((m) => [m.materialId, m]));
      expect(byId.size).toBe(2);
      expect(byId.get(second.materialId)).toMatchObject({ pendingRotation: false, rotationType: 'ON_DEMAND', importState: 'IMPORTED' });
      expect(byId.get(first.materialId)).toMatchObject({ pendingRotation: false, rotationType: null });
      // ROTATIONS_ONLY (the default) lists the rotation only.
      expect((await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, undefined)).page.items.map((m) => m.materialId)).toEqual([second.materialId]);

      const ct2 = await encrypt(k.keyId, pt);
      expect(parseBlob(ct2).materialId).toBe(second.materialId);
      expect((await decrypt(ct1)).equals(pt)).toBe(true);
      expect((await decrypt(ct2)).equals(pt)).toBe(true);

      // EXISTING_KEY_MATERIAL re-import of the first (non-current) material, naming its ID, is accepted.
      const re = await importFresh(k.keyId, m1, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: first.materialId });
      expect(re.materialId).toBe(first.materialId);
      expect((await describeKey(k.keyId)).currentMaterialId).toBe(second.materialId);
    });

    it('pages ListKeyRotations across a RotateKeyOnDemand between pages: each material once, the rotation dated when it happened', async () => {
      const k = await createExternal();
      const newMaterial = { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' };
      const m1 = await importFresh(k.keyId, randomBytes(32));
      d.clock.advance(MINUTE_MS);
      const m2 = await importFresh(k.keyId, randomBytes(32), newMaterial);
      const importedAt = d.clock.nowMs();
      d.clock.advance(MINUTE_MS);
      const m3 = await importFresh(k.keyId, randomBytes(32), newMaterial);
      const list = (marker?: string) => d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, 'ALL_KEY_MATERIAL', 2, marker);

      const first = await list();
      expect(first.page.items.map((m) => m.materialId)).toEqual([m1.materialId, m2.materialId]);
      d.clock.advance(MINUTE_MS);
      expect((await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId)).currentMaterialId).toBe(m2.materialId);
      const second = await list(first.page.nextMarker);
      expect(second.page.items.map((m) => m.materialId)).toEqual([m3.materialId]);
      expect(second.page.nextMarker).toBeUndefined();

      // The rotation has its own date; the material keeps its place, when it was imported.
      const rotated = (await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, undefined)).page.items;
      expect(rotated).toMatchObject([{ materialId: m2.materialId, rotationType: 'ON_DEMAND', createdAt: importedAt, rotatedAt: d.clock.nowMs() }]);
    });

    it('refuses a ListKeyRotations marker that names no material of the key (InvalidMarker)', async () => {
      const k = await createExternal();
      await importFresh(k.keyId, randomBytes(32));
      const other = await createExternal();
      await importFresh(other.keyId, randomBytes(32));
      await importFresh(other.keyId, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' });
      const otherMarker = (await d.keys.listKeyRotations(ctx('ListKeyRotations'), other.keyId, 'ALL_KEY_MATERIAL', 1)).page.nextMarker;
      expect(otherMarker).toBeDefined();
      const rotationsMarker = (value: string) => encodeMarker('rotations', value);
      for (const marker of [otherMarker!, rotationsMarker('-1'), rotationsMarker('zz'), rotationsMarker('0.5'), rotationsMarker('1'), 'not-a-marker']) {
        expect(await kmsCode(d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, 'ALL_KEY_MATERIAL', 1, marker))).toBe('InvalidMarker');
      }
    });

    // API reference, RotationsListEntry.KeyMaterialState: material PENDING_ROTATION "is not permanently
    // associated with the KMS key. You can delete this key material and import different key material in its place."
    it('PENDING_ROTATION material can be deleted and different new material imported in its place, which RotateKeyOnDemand then uses', async () => {
      const k = await createExternal();
      const first = await importFresh(k.keyId, randomBytes(32));
      const pt = Buffer.from('first material');
      const ct1 = await encrypt(k.keyId, pt);
      const discarded = await importFresh(k.keyId, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' });
      const deleted = await d.imports.deleteImportedKeyMaterial(ctx('DeleteImportedKeyMaterial'), { keyId: k.keyId, keyMaterialId: discarded.materialId });
      expect(deleted.materialId).toBe(discarded.materialId);

      const replacement = await importFresh(k.keyId, randomBytes(32), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', importType: 'NEW_KEY_MATERIAL' });
      expect(replacement.materialId).not.toBe(discarded.materialId);
      expect(await stateOf(k.keyId)).toBe('Enabled');
      const rotated = await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
      expect(rotated.currentMaterialId).toBe(replacement.materialId);
      expect(parseBlob(await encrypt(k.keyId, pt)).materialId).toBe(replacement.materialId);
      expect((await decrypt(ct1)).equals(pt)).toBe(true);
      expect(first.materialId).not.toBe(replacement.materialId);
    });

    it('refuses EnableKeyRotation on a key with imported material (UnsupportedOperation)', async () => {
      const k = await createExternal();
      await importFresh(k.keyId, randomBytes(32));
      expect(await kmsCode(d.keys.enableKeyRotation(ctx('EnableKeyRotation'), k.keyId))).toBe('UnsupportedOperation');
      expect((await describeKey(k.keyId)).rotationEnabled).toBe(false);
    });
  });

  describe('asymmetric material: what import accepts, every use of the key accepts', () => {
    const importSigning = async (material: Buffer) => {
      const k = await createExternal({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' });
      await importFresh(k.keyId, material);
      return k.keyId;
    };
    const signP256 = async (keyId: string, message: Buffer, messageType: 'RAW' | 'DIGEST') =>
      (await d.keys.sign(ctx('Sign'), { keyId, message, messageType, signingAlgorithm: 'ECDSA_SHA_256' })).signature;

    it('a P-256 scalar written with a leading zero byte (33 bytes) signs RAW and DIGEST, not one of them only', async () => {
      const { d: scalar, point, spki } = nistKeyParts('ECC_NIST_P256');
      const keyId = await importSigning(nistPkcs8('ECC_NIST_P256', Buffer.concat([Buffer.alloc(1), scalar]), point));
      const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
      const message = Buffer.from('imported with a leading zero');
      expect(verify('sha256', message, publicKey, await signP256(keyId, message, 'RAW'))).toBe(true);
      expect(verify('sha256', message, publicKey, await signP256(keyId, createHash('sha256').update(message).digest(), 'DIGEST'))).toBe(true);
    });

    it('GetPublicKey of a P-256 key imported with its point compressed is the uncompressed SPKI, as for generated keys', async () => {
      const { d: scalar, compressedPoint, spki } = nistKeyParts('ECC_NIST_P256');
      const keyId = await importSigning(nistPkcs8('ECC_NIST_P256', scalar, compressedPoint));
      const { publicKey } = await d.keys.getPublicKey(ctx('GetPublicKey'), keyId);
      expect(publicKey.length).toBe(91);
      expect(publicKey.equals(spki)).toBe(true);
    });

    it('an RSA key cannot take RSAES_OAEP wrapping parameters (its private key is too long for OAEP); RSA_AES_KEY_WRAP is offered', async () => {
      const k = await createExternal({ keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' });
      // Refused up front, at GetParametersForImport: a token for a wrapping no RSA material fits would be useless.
      expect(await kmsCode(getParams(k.keyId, 'RSAES_OAEP_SHA_256'))).toBe('Validation');
      expect(await kmsCode(getParams(k.keyId, 'RSAES_OAEP_SHA_1'))).toBe('Validation');
      expect(await tokenRows(k.keyId)).toBe(0);
      const p = await getParams(k.keyId, 'RSA_AES_KEY_WRAP_SHA_256');
      expect(p.key.keyId).toBe(k.keyId);
      expect(await tokenRows(k.keyId)).toBe(1);
    });

    it('refuses material whose private and public halves are two keys (ValidationException, as for other bad material); the key stays PendingImport', async () => {
      const a = nistKeyParts('ECC_NIST_P256');
      const b = nistKeyParts('ECC_NIST_P256');
      const ec = await createExternal({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' });
      expect(await kmsCode(importFresh(ec.keyId, nistPkcs8('ECC_NIST_P256', a.d, b.point)))).toBe('Validation');
      expect(await stateOf(ec.keyId)).toBe('PendingImport');

      const rsaJwk = (): JsonWebKey => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      const grafted = createPrivateKey({ key: { ...rsaJwk(), n: rsaJwk().n }, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
      const rsa = await createExternal({ keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' });
      expect(await kmsCode(importFresh(rsa.keyId, grafted, undefined, 'RSA_AES_KEY_WRAP_SHA_256'))).toBe('Validation');
      expect(await stateOf(rsa.keyId)).toBe('PendingImport');
    });
  });

  describe('at rest', () => {
    it('keeps no plaintext of imported symmetric, HMAC or EC material, nor the import token, in the SQLite files', async () => {
      const sym = await createExternal();
      const symMaterial = randomBytes(32);
      await importFresh(sym.keyId, symMaterial);

      const hmac = await createExternal({ keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' });
      const hmacMaterial = randomBytes(48);
      await importFresh(hmac.keyId, hmacMaterial);

      const ec = await createExternal({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' });
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
      const scalar = Buffer.from(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }).d!, 'base64url');
      expect(scalar.length).toBe(32);
      const ecParams = await getParams(ec.keyId, 'RSA_AES_KEY_WRAP_SHA_256');
      await importWith(ec.keyId, ecParams, pkcs8, { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }, 'RSA_AES_KEY_WRAP_SHA_256');
      expect(await stateOf(ec.keyId)).toBe('Enabled');

      // A token that is still unused: kept (if at all) only in a form that is not the token.
      const unused = await getParams(sym.keyId);

      const secrets = [symMaterial, hmacMaterial, pkcs8, scalar, unused.importToken];
      let checked = 0;
      for (const f of [d.file, `${d.file}-wal`, `${d.file}-shm`]) {
        if (!fs.existsSync(f)) continue;
        const bytes = fs.readFileSync(f);
        checked++;
        for (const s of secrets) {
          expect(bytes.includes(s)).toBe(false);
          expect(bytes.includes(Buffer.from(s.toString('hex')))).toBe(false);
          expect(bytes.includes(Buffer.from(s.toString('base64')))).toBe(false);
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  });
});
