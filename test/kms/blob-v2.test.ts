// Ciphertext blobs of version 2 through the KMS domain (the KMS façade over a real store and the WASM
// AEAD): each Encrypt seals under a key derived for that blob alone from the material (SP 800-108r1
// counter-mode KDF, HMAC-SHA256, Label "kura/blob/v2", Context = header), checked here against an
// independent decryption with node:crypto; every header field is authenticated; version-1 blobs made
// before still decrypt, and ReEncrypt turns them into version 2; the per-call keys are destroyed and
// the cached material bytes are zeroized on seal, eviction and deletion.
import { createDecipheriv, createCipheriv, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandardKeyStore } from '../../main/keystores/standard/standard-key-store.js';
import { wasmKeyWrap } from '../../main/crypto/wasm-aead.js';
import { BLOB_OVERHEAD, encodeEncryptionContext, parseBlob } from '../../main/kms/ciphertext.js';
import type { Key as KeyRecord } from '../../main/kms/index.js';
import { encodeAad } from '../../main/seal/at-rest.js';
import { kmsCode, openDomain, type Domain } from '../support/domain.js';
import { derivedKeyOf } from '../support/blob-v2.js';
import { recordingAead, type RecordingAead } from '../support/recording-aead.js';

/** Opens a version-2 blob as docs/ciphertext-format.md describes it, with node:crypto (OpenSSL) alone. */
function openV2Independently(material: Buffer, blob: Buffer, context: Record<string, string> = {}): Buffer {
  const header = blob.subarray(0, 82);
  const iv = blob.subarray(82, 94);
  const ciphertext = blob.subarray(94, blob.length - 16);
  const tag = blob.subarray(blob.length - 16);
  const decipher = createDecipheriv('aes-256-gcm', derivedKeyOf(material, header), iv);
  decipher.setAAD(Buffer.concat([header, encodeEncryptionContext(context)]));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** A version-1 blob, made as Kura made them before version 2 (key material used directly), with node:crypto. */
function sealV1(keyId: string, materialId: string, material: Buffer, plaintext: Buffer, context: Record<string, string> = {}): Buffer {
  const header = Buffer.concat([Buffer.of(1, 0), Buffer.from(keyId.replace(/-/g, ''), 'hex'), Buffer.from(materialId, 'hex')]);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([header, encodeEncryptionContext(context)]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]);
}

describe('ciphertext blobs of version 2 through the KMS façade', () => {
  let d: Domain;
  let aead: RecordingAead;
  const ctx = (op: string) => d.ctx(op);
  const create = (): Promise<KeyRecord> => d.keys.createKey(ctx('CreateKey'), {});
  const encrypt = async (keyId: string, plaintext: Buffer, encryptionContext?: Record<string, string>) =>
    (await d.keys.encrypt(ctx('Encrypt'), { keyId, plaintext, encryptionContext })).ciphertextBlob;
  const decrypt = async (ciphertextBlob: Buffer, encryptionContext?: Record<string, string>, keyId?: string) =>
    (await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob, encryptionContext, keyId })).plaintext;

  /** The plaintext key material of a key's current material (test-only, through the root key). */
  async function materialOf(k: KeyRecord): Promise<Buffer> {
    const m = (await d.store.keys.findMaterial(k.keyId, k.currentMaterialId!))!;
    return d.root.materialSealer().open(m.materialRef!, encodeAad('kura/key-material/symmetric-default', k.keyId, m.materialId));
  }

  beforeAll(async () => {
    aead = recordingAead();
    d = await openDomain({ aead });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('Encrypt writes version 2 with the key ID, current material ID and a nonce, and Decrypt round-trips it', async () => {
    const k = await create();
    const pt = Buffer.from('attack at dawn');
    const blob = await encrypt(k.keyId, pt, { purpose: 'test' });
    const parsed = parseBlob(blob);
    expect(blob[0]).toBe(2);
    expect(blob[1]).toBe(0);
    expect(parsed).toMatchObject({ version: 2, keyId: k.keyId, materialId: k.currentMaterialId });
    expect(parsed.nonce!.length).toBe(32);
    expect(blob.length).toBe(pt.length + BLOB_OVERHEAD);
    expect((await decrypt(blob, { purpose: 'test' })).equals(pt)).toBe(true);
    expect((await decrypt(blob, { purpose: 'test' }, k.keyId)).equals(pt)).toBe(true);
    expect(await kmsCode(decrypt(blob, { purpose: 'other' }))).toBe('InvalidCiphertext');
  });

  it('seals under HMAC-SHA256 KBKDF(material, "kura/blob/v2", header): node:crypto opens the blob from the documented format', async () => {
    const k = await create();
    const material = await materialOf(k);
    const pt = randomBytes(1000);
    const blob = await encrypt(k.keyId, pt, { tenant: 'acme', a: 'bc' });
    expect(openV2Independently(material, blob, { a: 'bc', tenant: 'acme' }).equals(pt)).toBe(true);
    // The material itself is not the AES key of a version-2 blob.
    const decipher = createDecipheriv('aes-256-gcm', material, blob.subarray(82, 94));
    decipher.setAAD(Buffer.concat([blob.subarray(0, 82), encodeEncryptionContext({ a: 'bc', tenant: 'acme' })]));
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    decipher.update(blob.subarray(94, blob.length - 16));
    expect(() => decipher.final()).toThrow();
  });

  it('keeps the largest Encrypt (4096 bytes) within the API model\'s 6144-byte CiphertextBlob', async () => {
    const k = await create();
    const pt = randomBytes(4096);
    const blob = await encrypt(k.keyId, pt);
    expect(blob.length).toBe(4096 + 110);
    expect(blob.length).toBeLessThanOrEqual(6144);
    expect((await decrypt(blob)).equals(pt)).toBe(true);
  });

  it('uses a different nonce, derived key and IV for each encryption of the same plaintext, and destroys each derived key after the call', async () => {
    const k = await create();
    const material = await materialOf(k);
    const pt = Buffer.from('same plaintext');
    await encrypt(k.keyId, Buffer.from('warm the material cache'));
    const importsBefore = aead.handles.length;
    const a = await encrypt(k.keyId, pt);
    const b = await encrypt(k.keyId, pt);
    const [pa, pb] = [parseBlob(a), parseBlob(b)];
    expect(pa.nonce!.equals(pb.nonce!)).toBe(false);
    expect(pa.iv.equals(pb.iv)).toBe(false);
    const [ka, kb] = [derivedKeyOf(material, pa.header), derivedKeyOf(material, pb.header)];
    expect(ka.equals(kb)).toBe(false);

    // Exactly one AEAD key per call, and it is that blob's derived key — never the material itself.
    const made = aead.handles.slice(importsBefore);
    expect(made.map((r) => r.key.toString('hex'))).toEqual([ka.toString('hex'), kb.toString('hex')]);
    expect(made.every((r) => r.destroyed)).toBe(true);
    expect(aead.handles.some((r) => r.key.equals(material))).toBe(false);

    // Decrypt derives the same key again, and destroys it too.
    const beforeDecrypt = aead.handles.length;
    expect((await decrypt(a)).equals(pt)).toBe(true);
    const opened = aead.handles.slice(beforeDecrypt);
    expect(opened.map((r) => r.key.toString('hex'))).toEqual([ka.toString('hex')]);
    expect(opened[0]!.destroyed).toBe(true);
  });

  it('GenerateDataKey and GenerateDataKeyPair write version-2 blobs', async () => {
    const k = await create();
    const dk = await d.keys.generateDataKey(ctx('GenerateDataKey'), { keyId: k.keyId, numberOfBytes: 32, encryptionContext: { f: '1' } });
    expect(dk.ciphertextBlob[0]).toBe(2);
    expect(openV2Independently(await materialOf(k), dk.ciphertextBlob, { f: '1' }).equals(dk.plaintext)).toBe(true);
    const pair = await d.keyUse.generateDataKeyPair(ctx('GenerateDataKeyPair'), { keyId: k.keyId, keyPairSpec: 'ECC_NIST_P256' }, true);
    expect(pair.privateKeyCiphertextBlob[0]).toBe(2);
    expect((await decrypt(pair.privateKeyCiphertextBlob)).equals(pair.privateKeyPlaintext!)).toBe(true);
  });

  describe('every header field is authenticated', () => {
    let k: KeyRecord;
    let other: KeyRecord;
    let rotatedMaterialId: string;
    let blob: Buffer;
    const pt = Buffer.from('tamper with me');
    beforeAll(async () => {
      k = await create();
      other = await create();
      blob = await encrypt(k.keyId, pt, { c: '1' });
      // A second material of the same key, so that a changed material ID can name one that exists.
      rotatedMaterialId = (await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId)).currentMaterialId!;
    });

    const flip = (at: number, mask = 0x01) => {
      const bad = Buffer.from(blob);
      bad[at] = bad[at]! ^ mask;
      return bad;
    };

    const fields: [string, () => Buffer][] = [
      ['version 2 → 1 (read as a version-1 blob)', () => flip(0, 0x03)],
      ['version 2 → 3', () => flip(0, 0x01)],
      ['flags', () => flip(1, 0x01)],
      ['flags (high bit)', () => flip(1, 0x80)],
      ['key ID (first byte)', () => flip(2)],
      ['key ID (last byte)', () => flip(17)],
      ['key ID → another key of the account', () => Buffer.concat([blob.subarray(0, 2), Buffer.from(other.keyId.replace(/-/g, ''), 'hex'), blob.subarray(18)])],
      ['material ID (first byte)', () => flip(18)],
      ['material ID (last byte)', () => flip(49)],
      ['material ID → the key\'s other (current) material', () => Buffer.concat([blob.subarray(0, 18), Buffer.from(rotatedMaterialId, 'hex'), blob.subarray(50)])],
      ['material ID → another key\'s material', () => Buffer.concat([blob.subarray(0, 18), Buffer.from(other.currentMaterialId!, 'hex'), blob.subarray(50)])],
      ['nonce (first byte)', () => flip(50)],
      ['nonce (last byte)', () => flip(81)],
      ['IV (first byte)', () => flip(82)],
      ['IV (last byte)', () => flip(93)],
      ['ciphertext', () => flip(94)],
      ['tag (first byte)', () => flip(blob.length - 16)],
      ['tag (last byte)', () => flip(blob.length - 1)],
      ['truncated tag', () => blob.subarray(0, blob.length - 1)],
      ['appended byte', () => Buffer.concat([blob, Buffer.of(0)])],
    ];

    for (const [field, make] of fields) {
      it(`${field} → InvalidCiphertext`, async () => {
        expect((await decrypt(blob, { c: '1' })).equals(pt)).toBe(true);
        expect(await kmsCode(decrypt(make(), { c: '1' }))).toBe('InvalidCiphertext');
      });
    }

    it('with KeyId naming the key, a changed key ID is IncorrectKey and every other change InvalidCiphertext', async () => {
      expect(await kmsCode(decrypt(flip(2), { c: '1' }, k.keyId))).toBe('IncorrectKey');
      for (const [field, make] of fields.filter(([f]) => !f.startsWith('key ID'))) {
        expect(await kmsCode(decrypt(make(), { c: '1' }, k.keyId)), field).toBe('InvalidCiphertext');
      }
    });
  });

  describe('version-1 blobs', () => {
    it('still decrypt through the KMS façade, with their encryption context bound', async () => {
      const k = await create();
      const material = await materialOf(k);
      const pt = Buffer.from('sealed by an older Kura');
      const v1 = sealV1(k.keyId, k.currentMaterialId!, material, pt, { app: 'legacy' });
      expect(v1[0]).toBe(1);
      expect(v1.length).toBe(pt.length + 78);
      expect((await decrypt(v1, { app: 'legacy' })).equals(pt)).toBe(true);
      expect((await decrypt(v1, { app: 'legacy' }, k.keyId)).equals(pt)).toBe(true);
      const out = await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: v1, encryptionContext: { app: 'legacy' } });
      expect(out).toMatchObject({ materialId: k.currentMaterialId, algorithm: 'SYMMETRIC_DEFAULT' });
      expect(out.key.keyId).toBe(k.keyId);
      expect(await kmsCode(decrypt(v1, { app: 'other' }))).toBe('InvalidCiphertext');
      for (const at of [0, 1, 2, 20, 50, 62, v1.length - 1]) {
        const bad = Buffer.from(v1);
        bad[at] = bad[at]! ^ (at === 0 ? 0x03 : 0x01);
        expect(await kmsCode(decrypt(bad, { app: 'legacy' })), `byte ${at}`).toBe('InvalidCiphertext');
      }
    });

    it('decrypt under material made before a rotation, after it', async () => {
      const k = await create();
      const v1 = sealV1(k.keyId, k.currentMaterialId!, await materialOf(k), Buffer.from('gen 0'));
      await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
      expect((await decrypt(v1)).toString()).toBe('gen 0');
    });

    it('ReEncrypt turns a version-1 blob into a version-2 blob, to the same key or another', async () => {
      const k = await create();
      const dest = await create();
      const material = await materialOf(k);
      const pt = Buffer.from('move me to version 2');
      const v1 = sealV1(k.keyId, k.currentMaterialId!, material, pt, { s: '1' });
      for (const target of [k, dest]) {
        const out = await d.keys.reEncrypt(ctx('ReEncrypt'), {
          ciphertextBlob: v1,
          sourceEncryptionContext: { s: '1' },
          destinationKeyId: target.keyId,
          destinationEncryptionContext: { d: '2' },
        });
        expect(out.ciphertextBlob[0]).toBe(2);
        expect(parseBlob(out.ciphertextBlob)).toMatchObject({ version: 2, keyId: target.keyId, materialId: target.currentMaterialId });
        expect(out.sourceMaterialId).toBe(k.currentMaterialId);
        expect(openV2Independently(await materialOf(target), out.ciphertextBlob, { d: '2' }).equals(pt)).toBe(true);
        expect((await decrypt(out.ciphertextBlob, { d: '2' })).equals(pt)).toBe(true);
      }
    });
  });

  describe('material bytes in the cache', () => {
    it('are zeroized when the key is deleted, and no AEAD key of that material outlives the call that used it', async () => {
      const k = await create();
      await encrypt(k.keyId, Buffer.from('cache me'));
      const cached = d.keystore.cachedMaterialForTests(k.keyId, k.currentMaterialId!)!;
      expect(cached).toBeDefined();
      expect(Buffer.from(cached).equals(await materialOf(k))).toBe(true);
      await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7);
      d.clock.advance(7 * 86_400_000);
      expect((await d.jobs.runDue()).deleted).toContain(k.keyId);
      expect(cached.every((b) => b === 0)).toBe(true);
      expect(d.keystore.cachedMaterialForTests(k.keyId, k.currentMaterialId!)).toBeUndefined();
    });

    it('are zeroized on eviction, with the version-1 handle made from them destroyed', async () => {
      const store = new StandardKeyStore({ aead, root: d.root, keyWrap: wasmKeyWrap, maxCached: 1 });
      const a = await create();
      const b = await create();
      const sealedOf = async (k: KeyRecord) => (await d.store.keys.findMaterial(k.keyId, k.currentMaterialId!))!.materialRef!;
      const derivation = { label: Buffer.from('kura/blob/v2'), context: Buffer.alloc(82, 7), length: 32 };
      store.withDerivedKey(a.keyId, a.currentMaterialId!, await sealedOf(a), derivation, () => undefined);
      const before = aead.handles.length;
      store.use(a.keyId, a.currentMaterialId!, await sealedOf(a)); // the v1 handle of a's material
      const handle = aead.handles[before]!;
      expect(handle.destroyed).toBe(false);
      const cachedA = store.cachedMaterialForTests(a.keyId, a.currentMaterialId!)!;
      expect(cachedA.some((x) => x !== 0)).toBe(true);
      store.withDerivedKey(b.keyId, b.currentMaterialId!, await sealedOf(b), derivation, () => undefined);
      expect(cachedA.every((x) => x === 0)).toBe(true);
      expect(handle.destroyed).toBe(true);
      expect(store.cachedMaterialForTests(a.keyId, a.currentMaterialId!)).toBeUndefined();
    });

    it('destroy the derived key even when the operation under it fails', async () => {
      const k = await create();
      const sealed = (await d.store.keys.findMaterial(k.keyId, k.currentMaterialId!))!.materialRef!;
      const before = aead.handles.length;
      expect(() =>
        d.keystore.withDerivedKey(k.keyId, k.currentMaterialId!, sealed, { label: Buffer.from('x'), context: Buffer.from('y'), length: 32 }, () => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(aead.handles.slice(before).map((r) => r.destroyed)).toEqual([true]);
    });

    it('are zeroized on seal, and the same root key brings version-1 and version-2 blobs back', async () => {
      const k = await create();
      const material = await materialOf(k);
      const v1 = sealV1(k.keyId, k.currentMaterialId!, material, Buffer.from('v1 across a seal'));
      const v2 = await encrypt(k.keyId, Buffer.from('v2 across a seal'));
      expect((await decrypt(v1)).toString()).toBe('v1 across a seal');
      const cached = d.keystore.cachedMaterialForTests(k.keyId, k.currentMaterialId!)!;
      expect(Buffer.from(cached).equals(material)).toBe(true);
      d.root.seal();
      expect(cached.every((x) => x === 0)).toBe(true);
      expect(aead.handles.every((r) => r.destroyed)).toBe(true);
      expect(await kmsCode(decrypt(v2))).toBe('Sealed');
      await d.root.initAndUnsealDev(d.rootKey);
      expect((await decrypt(v1)).toString()).toBe('v1 across a seal');
      expect((await decrypt(v2)).toString()).toBe('v2 across a seal');
    });
  });
});
