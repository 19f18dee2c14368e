// Imported key material expires at its ValidTo at request time, not when the scheduler next runs
// (ScheduledJobs.runDue every 60 s): with the FixedClock moved 1 ms past ValidTo and the scheduler NOT run,
// every use of the key answers as it will once the scheduler has emptied the material — the key is
// PendingImport and cryptographic operations fail with KMSInvalidStateException (AWS's key state table:
// "PendingImport … KMSInvalidStateException"; Developer Guide, "Importing key material": when imported
// key material expires, the key becomes unusable and its key state changes to PendingImport).
//
// Each case is asserted twice: before runDue (request time) and after it (the bookkeeping), with the
// same error code and message, so the two cannot drift apart.
import { constants, createCipheriv, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../main/common/clock.js';
import type { Key as KeyRecord } from '../../main/kms/index.js';
import { kmsError, openDomain, type Domain } from '../support/domain.js';

/** Wraps material as a customer does, with OpenSSL through node:crypto: RSA_AES_KEY_WRAP_SHA_256 (OAEP(aes key) || KWP(material)). */
function wrapMaterial(publicKeyDer: Buffer, material: Buffer): Buffer {
  const aesKey = randomBytes(32);
  const pub = createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
  const wrappedKey = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, aesKey);
  const kwp = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([wrappedKey, kwp.update(material), kwp.final()]);
}

const ecPkcs8 = (): Buffer => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' });

/** The outcome of a call: 'ok', or the KmsError's code and message. */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (e) {
    const err = await kmsError(Promise.reject(e));
    return `${err.code}: ${err.message}`;
  }
}

describe('imported key material expires at request time (FixedClock, scheduler not run)', () => {
  let d: Domain;
  const ctx = (op: string) => d.ctx(op);

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await d?.close();
  });

  async function importMaterial(
    keyId: string,
    material: Buffer,
    opts: { validTo?: number; importType?: string; keyMaterialId?: string } = {},
  ): Promise<{ materialId: string }> {
    const params = await d.imports.getParametersForImport(ctx('GetParametersForImport'), {
      keyId,
      wrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256',
      wrappingKeySpec: 'RSA_2048',
    });
    return d.imports.importKeyMaterial(ctx('ImportKeyMaterial'), {
      keyId,
      importToken: params.importToken,
      encryptedKeyMaterial: wrapMaterial(params.publicKey, material),
      ...(opts.validTo === undefined
        ? { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }
        : { expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: new Date(opts.validTo) }),
      importType: opts.importType,
      keyMaterialId: opts.keyMaterialId,
    });
  }

  async function externalKey(spec: { keySpec?: string; keyUsage?: string }, material: Buffer, validTo?: number): Promise<KeyRecord> {
    const k = await d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL', ...spec });
    await importMaterial(k.keyId, material, { validTo });
    return d.keys.describeKey(ctx('DescribeKey'), k.keyId);
  }

  const stateOf = async (keyId: string) => (await d.keys.describeKey(ctx('DescribeKey'), keyId)).state;

  it('every use of a key whose current material passed ValidTo 1 ms ago fails as it does after the scheduler ran', async () => {
    const validTo = d.clock.nowMs() + DAY_MS;
    const symMaterial = randomBytes(32);
    const sym = await externalKey({}, symMaterial, validTo);
    const other = await externalKey({}, randomBytes(32)); // does not expire: the other end of ReEncrypt
    const signer = await externalKey({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' }, ecPkcs8(), validTo);
    const agreer = await externalKey({ keySpec: 'ECC_NIST_P256', keyUsage: 'KEY_AGREEMENT' }, ecPkcs8(), validTo);
    const mac = await externalKey({ keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' }, randomBytes(32), validTo);
    const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });

    // Made while the material was valid.
    const message = Buffer.from('signed before expiry');
    const blob = (await d.keys.encrypt(ctx('Encrypt'), { keyId: sym.keyId, plaintext: Buffer.from('made before expiry') })).ciphertextBlob;
    const otherBlob = (await d.keys.encrypt(ctx('Encrypt'), { keyId: other.keyId, plaintext: Buffer.from('to re-encrypt') })).ciphertextBlob;
    const signature = (await d.keyUse.sign(ctx('Sign'), { keyId: signer.keyId, message, signingAlgorithm: 'ECDSA_SHA_256' })).signature;
    const tag = (await d.keyUse.generateMac(ctx('GenerateMac'), { keyId: mac.keyId, message, macAlgorithm: 'HMAC_SHA_256' })).mac;

    const uses: [string, () => Promise<unknown>][] = [
      ['Encrypt', () => d.keys.encrypt(ctx('Encrypt'), { keyId: sym.keyId, plaintext: Buffer.from('x') })],
      ['Decrypt', () => d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob })],
      ['Decrypt with KeyId', () => d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob, keyId: sym.keyId })],
      ['Decrypt (DryRun)', () => d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob, dryRun: true })],
      ['ReEncrypt (source expired)', () => d.keys.reEncrypt(ctx('ReEncrypt'), { ciphertextBlob: blob, destinationKeyId: other.keyId })],
      ['ReEncrypt (destination expired)', () => d.keys.reEncrypt(ctx('ReEncrypt'), { ciphertextBlob: otherBlob, destinationKeyId: sym.keyId })],
      ['GenerateDataKey', () => d.keys.generateDataKey(ctx('GenerateDataKey'), { keyId: sym.keyId, numberOfBytes: 32 })],
      ['GenerateDataKeyPair', () => d.keyUse.generateDataKeyPair(ctx('GenerateDataKeyPair'), { keyId: sym.keyId, keyPairSpec: 'ECC_NIST_P256' }, true)],
      [
        'GenerateDataKeyPairWithoutPlaintext',
        () => d.keyUse.generateDataKeyPair(ctx('GenerateDataKeyPairWithoutPlaintext'), { keyId: sym.keyId, keyPairSpec: 'ECC_NIST_P256' }, false),
      ],
      ['Sign', () => d.keyUse.sign(ctx('Sign'), { keyId: signer.keyId, message, signingAlgorithm: 'ECDSA_SHA_256' })],
      ['Verify', () => d.keyUse.verify(ctx('Verify'), { keyId: signer.keyId, message, signature, signingAlgorithm: 'ECDSA_SHA_256' })],
      ['GetPublicKey (signing key)', () => d.keyUse.getPublicKey(ctx('GetPublicKey'), signer.keyId)],
      ['GetPublicKey (key agreement key)', () => d.keyUse.getPublicKey(ctx('GetPublicKey'), agreer.keyId)],
      ['GenerateMac', () => d.keyUse.generateMac(ctx('GenerateMac'), { keyId: mac.keyId, message, macAlgorithm: 'HMAC_SHA_256' })],
      ['VerifyMac', () => d.keyUse.verifyMac(ctx('VerifyMac'), { keyId: mac.keyId, message, mac: tag, macAlgorithm: 'HMAC_SHA_256' })],
      [
        'DeriveSharedSecret',
        () => d.keyUse.deriveSharedSecret(ctx('DeriveSharedSecret'), { keyId: agreer.keyId, keyAgreementAlgorithm: 'ECDH', publicKey: peer }),
      ],
      ['EnableKey', () => d.keys.enableKey(ctx('EnableKey'), sym.keyId)],
      ['DisableKey', () => d.keys.disableKey(ctx('DisableKey'), sym.keyId)],
    ];
    const expiring = [sym, signer, agreer, mac];

    // 1 ms before ValidTo everything works.
    d.clock.set(validTo - 1);
    for (const [name, run] of uses.filter(([n]) => !n.startsWith('Decrypt (DryRun)') && !n.endsWith('Key'))) {
      expect(await outcome(run), name).toBe('ok');
    }
    for (const k of expiring) expect(await stateOf(k.keyId)).toBe('Enabled');

    // 1 ms past ValidTo, without the scheduler.
    d.clock.set(validTo + 1);
    const atRequestTime = new Map<string, string>();
    for (const [name, run] of uses) {
      const got = await outcome(run);
      expect(got, name).toMatch(/^InvalidState: /);
      atRequestTime.set(name, got);
    }
    for (const k of expiring) {
      const described = await d.keys.describeKey(ctx('DescribeKey'), k.keyId);
      expect(described, k.keySpec).toMatchObject({ state: 'PendingImport', validTo, expirationModel: 'KEY_MATERIAL_EXPIRES' });
    }
    expect(await stateOf(other.keyId)).toBe('Enabled');
    const rotations = (await d.keys.listKeyRotations(ctx('ListKeyRotations'), sym.keyId, 'ALL_KEY_MATERIAL')).page.items;
    expect(rotations.map((m) => m.importState)).toEqual(['PENDING_IMPORT']);
    // Nothing was written: the scheduler still has its bookkeeping to do.
    expect((await d.store.keys.listMaterials(sym.keyId))[0]!.importState).toBe('IMPORTED');

    // The scheduler's bookkeeping changes none of the answers.
    const due = await d.jobs.runDue();
    expect(new Set(due.expired)).toEqual(new Set(expiring.map((k) => k.keyId)));
    for (const [name, run] of uses) expect(await outcome(run), name).toBe(atRequestTime.get(name));
    for (const k of expiring) expect(await stateOf(k.keyId)).toBe('PendingImport');
    expect((await d.keys.listKeyRotations(ctx('ListKeyRotations'), sym.keyId, 'ALL_KEY_MATERIAL')).page.items.map((m) => m.importState)).toEqual([
      'PENDING_IMPORT',
    ]);

    // Importing the same material again brings the key and its old ciphertexts back.
    await importMaterial(sym.keyId, symMaterial);
    expect(await stateOf(sym.keyId)).toBe('Enabled');
    expect((await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob })).plaintext.toString()).toBe('made before expiry');
  });

  it('a material is expired at exactly its ValidTo (ValidTo <= now), as the scheduler decides', async () => {
    const validTo = d.clock.nowMs() + DAY_MS;
    const k = await externalKey({}, randomBytes(32), validTo);
    d.clock.set(validTo - 1);
    expect(await outcome(() => d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('x') }))).toBe('ok');
    d.clock.set(validTo);
    expect(await outcome(() => d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('x') }))).toMatch(/^InvalidState: /);
    expect(await stateOf(k.keyId)).toBe('PendingImport');
    expect((await d.jobs.runDue()).expired).toEqual([k.keyId]);
  });

  it('a ciphertext made under an expired non-current material fails as it does once that material is deleted', async () => {
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL' });
    const first = await importMaterial(k.keyId, randomBytes(32), { validTo: start + 2 * DAY_MS });
    const old = (await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('under the first material') })).ciphertextBlob;
    const second = await importMaterial(k.keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' });
    await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).currentMaterialId).toBe(second.materialId);
    const fresh = (await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('under the second material') })).ciphertextBlob;
    expect((await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: old })).plaintext.toString()).toBe('under the first material');

    d.clock.set(start + 2 * DAY_MS + 1);
    const decryptOld = () => d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: old });
    const decryptFresh = () => d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: fresh });
    const atRequestTime = [await outcome(decryptOld), await outcome(decryptFresh)];
    expect(atRequestTime[0]).toMatch(/^InvalidState: /);
    expect(atRequestTime[1]).toMatch(/^InvalidState: /);
    expect(await stateOf(k.keyId)).toBe('PendingImport');
    const byId = new Map((await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, 'ALL_KEY_MATERIAL')).page.items.map((m) => [m.materialId, m.importState]));
    expect(byId.get(first.materialId)).toBe('PENDING_IMPORT');
    expect(byId.get(second.materialId)).toBe('IMPORTED');

    // The scheduler's expiry and an explicit deletion of that material give the same answers.
    await d.jobs.runDue();
    expect([await outcome(decryptOld), await outcome(decryptFresh)]).toEqual(atRequestTime);

    const twin = await d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL' });
    await importMaterial(twin.keyId, randomBytes(32));
    const twinOld = (await d.keys.encrypt(ctx('Encrypt'), { keyId: twin.keyId, plaintext: Buffer.from('x') })).ciphertextBlob;
    const twinFirst = (await d.store.keys.listMaterials(twin.keyId))[0]!.materialId;
    await importMaterial(twin.keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' });
    await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), twin.keyId);
    await d.imports.deleteImportedKeyMaterial(ctx('DeleteImportedKeyMaterial'), { keyId: twin.keyId, keyMaterialId: twinFirst });
    const deleted = await outcome(() => d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: twinOld }));
    expect(deleted.replace(twin.keyId, '<key>')).toBe(atRequestTime[0]!.replace(k.keyId, '<key>'));
  });

  it('material that expires between resolving the key and using its material is refused at the point of use', async () => {
    const validTo = d.clock.nowMs() + DAY_MS;
    const sym = await externalKey({}, randomBytes(32), validTo);
    const signer = await externalKey({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' }, ecPkcs8(), validTo);
    const blob = (await d.keys.encrypt(ctx('Encrypt'), { keyId: sym.keyId, plaintext: Buffer.from('race') })).ciphertextBlob;
    d.clock.set(validTo - 1);

    // The clock passes ValidTo while the material row is being read (after the key's state was checked).
    const repo = d.store.keys;
    const findMaterial = repo.findMaterial.bind(repo);
    const cases: [string, () => Promise<unknown>][] = [
      ['Encrypt', () => d.keys.encrypt(ctx('Encrypt'), { keyId: sym.keyId, plaintext: Buffer.from('x') })],
      ['Decrypt', () => d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob })],
      ['Sign', () => d.keyUse.sign(ctx('Sign'), { keyId: signer.keyId, message: Buffer.from('m'), signingAlgorithm: 'ECDSA_SHA_256' })],
    ];
    try {
      for (const [name, run] of cases) {
        let reads = 0;
        repo.findMaterial = async (...args: Parameters<typeof repo.findMaterial>) => {
          reads++;
          d.clock.set(validTo);
          return findMaterial(...args);
        };
        d.clock.set(validTo - 1);
        // A change clears the record caches, so that the material row is read (and the clock moved) now.
        await d.keys.updateKeyDescription(ctx('UpdateKeyDescription'), sym.keyId, name);
        expect(await outcome(run), name).toMatch(/^InvalidState: /);
        expect(reads, name).toBeGreaterThan(0);
      }
    } finally {
      repo.findMaterial = findMaterial;
    }
  });

  it('CancelKeyDeletion of an imported key whose material expired (or was never imported) leaves it PendingImport, not Disabled', async () => {
    const validTo = d.clock.nowMs() + DAY_MS;
    const k = await externalKey({}, randomBytes(32), validTo);
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7);
    d.clock.set(validTo + 1);
    expect(await stateOf(k.keyId)).toBe('PendingDeletion');
    const cancelled = await d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), k.keyId);
    expect(cancelled.state).toBe('PendingImport');
    expect(await stateOf(k.keyId)).toBe('PendingImport');
    expect(await outcome(() => d.keys.enableKey(ctx('EnableKey'), k.keyId))).toMatch(/^InvalidState: /);

    const after = await externalKey({}, randomBytes(32), d.clock.nowMs() + DAY_MS);
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), after.keyId, 7);
    d.clock.advance(DAY_MS + 1);
    await d.jobs.runDue(); // the material expires while the key waits for deletion
    expect(await stateOf(after.keyId)).toBe('PendingDeletion');
    expect((await d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), after.keyId)).state).toBe('PendingImport');

    const empty = await d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL' });
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), empty.keyId, 7);
    expect((await d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), empty.keyId)).state).toBe('PendingImport');
    expect(await outcome(() => d.keys.enableKey(ctx('EnableKey'), empty.keyId))).toMatch(/^InvalidState: /);

    // A generated key, and an imported key whose material is fine, are Disabled after cancelling, as before.
    const std = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), std.keyId, 7);
    expect((await d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), std.keyId)).state).toBe('Disabled');
    const fine = await externalKey({}, randomBytes(32));
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), fine.keyId, 7);
    expect((await d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), fine.keyId)).state).toBe('Disabled');
  });

  it('RotateKeyOnDemand does not make expired NEW_KEY_MATERIAL current, as after the scheduler emptied it', async () => {
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(ctx('CreateKey'), { origin: 'EXTERNAL' });
    const first = await importMaterial(k.keyId, randomBytes(32));
    await importMaterial(k.keyId, randomBytes(32), { importType: 'NEW_KEY_MATERIAL', validTo: start + DAY_MS });
    d.clock.set(start + DAY_MS + 1);
    const rotate = () => d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
    const atRequestTime = await outcome(rotate);
    expect(atRequestTime).toMatch(/^InvalidState: /);
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).currentMaterialId).toBe(first.materialId);
    // Pending material is not the key's yet: its expiry leaves the key usable.
    expect(await stateOf(k.keyId)).toBe('Enabled');
    await d.jobs.runDue();
    expect(await outcome(rotate)).toBe(atRequestTime);
    expect(await stateOf(k.keyId)).toBe('Enabled');
  });
  it('an import that commits between the scheduler listing expired material and emptying it stands', async () => {
    const material = randomBytes(32);
    const k = await externalKey({}, material, d.clock.nowMs() + DAY_MS);
    d.clock.advance(2 * DAY_MS);
    // The customer imports the same material again, with no expiry, while the scheduler run is between
    // its listing (outside any transaction) and the change that empties what it listed.
    const keys = d.store.keys as unknown as { expiredMaterials: (...a: unknown[]) => Promise<unknown[]> };
    const list = keys.expiredMaterials.bind(keys);
    keys.expiredMaterials = async (...a: unknown[]) => {
      const listed = await list(...a);
      await importMaterial(k.keyId, material);
      return listed;
    };
    let run: Awaited<ReturnType<typeof d.jobs.runDue>>;
    try {
      run = await d.jobs.runDue();
    } finally {
      keys.expiredMaterials = list;
    }
    expect(run.expired).toEqual([]);
    expect(await stateOf(k.keyId)).toBe('Enabled');
    const { ciphertextBlob } = await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('still mine') });
    expect((await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob })).plaintext.toString()).toBe('still mine');
  });

  it("the console's state filter and tally read a key whose material expired a moment ago as PendingImport, as DescribeKey does", async () => {
    // A domain of its own, so that the tally counts this test's keys only.
    const shared = d;
    d = await openDomain();
    try {
      const validTo = d.clock.nowMs() + DAY_MS;
      const expiring = await externalKey({}, randomBytes(32), validTo);
      const lasting = await externalKey({}, randomBytes(32));
      const search = async (state: string) => {
        const page = await d.keys.searchKeys(ctx('ListKeys'), { state }, '', 50);
        return { total: page.total, states: Object.fromEntries(page.keys.map((k) => [k.keyId, k.state])) };
      };
      const both = { [expiring.keyId]: 'Enabled', [lasting.keyId]: 'Enabled' };
      d.clock.advance(validTo - 1 - d.clock.nowMs());
      expect(await search('Enabled')).toEqual({ total: 2, states: both });
      expect(await search('PendingImport')).toEqual({ total: 0, states: {} });

      d.clock.advance(2); // 1 ms past ValidTo; the scheduler has not run
      expect(await stateOf(expiring.keyId)).toBe('PendingImport');
      const expected = async () => {
        expect(await search('PendingImport')).toEqual({ total: 1, states: { [expiring.keyId]: 'PendingImport' } });
        expect(await search('Enabled')).toEqual({ total: 1, states: { [lasting.keyId]: 'Enabled' } });
        expect(await d.keys.keyTally(ctx('ListKeys'))).toEqual({ byState: { Enabled: 1, PendingImport: 1 }, byOrigin: { EXTERNAL: 2 } });
      };
      await expected();
      // The same once the scheduler has written it down.
      await d.jobs.runDue();
      await expected();
    } finally {
      await d.close();
      d = shared;
    }
  });
});
