// A call admitted before its material was destroyed may still unseal that material afterwards, and
// finishes; what it unseals is not kept in the standard key store's cache
// (main/keystores/standard/material-cache.ts), where raw key bytes of a material that no longer exists
// would otherwise stay until the appliance seals. Both ways a material is destroyed: the customer's
// DeleteImportedKeyMaterial, and the deletion job at the end of a key's waiting period. Real SQLite, the
// real standard key store; the in-flight call is held at the key store's door by a wrapper.
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DAY_MS } from '../../main/common/clock.js';
import { openDomain, type Domain } from '../support/domain.js';

let d: Domain;
beforeAll(async () => {
  d = await openDomain();
});
afterAll(async () => {
  await d?.close();
});

const ctx = (op: string) => d.ctx(op);

/** RSA_AES_KEY_WRAP_SHA_256, as a customer wraps material with OpenSSL. */
function wrap(publicKeyDer: Buffer, material: Buffer): Buffer {
  const aesKey = randomBytes(32);
  const wrapped = publicEncrypt({ key: createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, aesKey);
  const kwp = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([wrapped, kwp.update(material), kwp.final()]);
}

/** Runs `during` once, when the next call of the key store's `method` arrives (its key and material resolved), then lets the call go on. */
function holdNext(method: 'encryptBlobPayload' | 'decryptBlobPayload', during: () => Promise<void>): void {
  const ks = d.keystore as unknown as Record<typeof method, (...a: unknown[]) => Promise<Buffer>>;
  const original = ks[method];
  ks[method] = async (...a: unknown[]) => {
    ks[method] = original;
    await during();
    return original.apply(d.keystore, a);
  };
}

it('an Encrypt in flight when DeleteImportedKeyMaterial commits finishes, and leaves nothing of the material cached', async () => {
  const k = await d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL' });
  const params = await d.imports.getParametersForImport(ctx('GetParametersForImport'), { keyId: k.keyId, wrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', wrappingKeySpec: 'RSA_2048' });
  const { materialId } = await d.imports.importKeyMaterial(ctx('ImportKeyMaterial'), {
    keyId: k.keyId,
    importToken: params.importToken,
    encryptedKeyMaterial: wrap(params.publicKey, randomBytes(32)),
    expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
  });
  d.keystore.forgetAll();
  holdNext('encryptBlobPayload', async () => {
    await d.imports.deleteImportedKeyMaterial(ctx('DeleteImportedKeyMaterial'), { keyId: k.keyId });
  });
  await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('in flight') });
  expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).state).toBe('PendingImport');
  expect(d.keystore.cachedMaterialForTests(k.keyId, materialId)).toBeUndefined();
});

it('a Decrypt in flight when the deletion job deletes its key finishes, and leaves nothing of the material cached', async () => {
  const k = await d.keys.createKey(ctx('CreateKey'), {});
  const { ciphertextBlob } = await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('x') });
  d.keystore.forgetAll();
  holdNext('decryptBlobPayload', async () => {
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7);
    d.clock.advance(7 * DAY_MS + 1);
    expect((await d.jobs.runDue()).deleted).toEqual([k.keyId]);
  });
  expect((await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob })).plaintext.toString()).toBe('x');
  expect(d.keystore.cachedMaterialForTests(k.keyId, k.currentMaterialId!)).toBeUndefined();
});

it('material imported again after its deletion is cached again (a new reference)', async () => {
  const k = await d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL' });
  const material = randomBytes(32);
  const importOnce = async () => {
    const p = await d.imports.getParametersForImport(ctx('GetParametersForImport'), { keyId: k.keyId, wrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', wrappingKeySpec: 'RSA_2048' });
    return d.imports.importKeyMaterial(ctx('ImportKeyMaterial'), { keyId: k.keyId, importToken: p.importToken, encryptedKeyMaterial: wrap(p.publicKey, material), expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
  };
  const { materialId } = await importOnce();
  await d.imports.deleteImportedKeyMaterial(ctx('DeleteImportedKeyMaterial'), { keyId: k.keyId });
  expect((await importOnce()).materialId).toBe(materialId);
  await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('y') });
  expect(d.keystore.cachedMaterialForTests(k.keyId, materialId)).toBeDefined();
});
