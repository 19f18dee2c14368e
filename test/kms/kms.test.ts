// The KMS domain (its façade, main/kms/index.ts, wired by main/kms/wiring.ts) over a real SQLite store,
// with AWS KMS semantics: key defaults, encrypt/decrypt and context binding, rotation, key states,
// aliases and ARNs, paging, tags, one audit entry per call (a change's in its own transaction), and sealing.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmAead } from '../../main/crypto/wasm-aead.js';
import { parseBlob } from '../../main/kms/ciphertext.js';
import { encodeMarker } from '../../main/kms/operations/common.js';
import { MAX_ALIASES_PAGE, MAX_ALIASES_PER_KEY, MAX_ON_DEMAND_ROTATIONS, MAX_TAGS, type CallContext, type Key as KeyRecord } from '../../main/kms/index.js';
import { encodeAad } from '../../main/seal/at-rest.js';
import { RootKeyHolder } from '../../main/seal/root-key.js';
import { TEST_ACCOUNT, TEST_PRINCIPAL, TEST_REGION, auditEntriesAfter, kmsCode, kmsError, openDomain, type Domain } from '../support/domain.js';
import { recordingAead, type RecordingAead } from '../support/recording-aead.js';
import { sqliteOf } from '../support/sqlite.js';

const OTHER_ACCOUNT = '444455556666';
const pt = (s: string) => Buffer.from(s, 'utf8');

interface AuditRow {
  seq: number;
  entry: string;
}

async function auditRows(d: Domain): Promise<AuditRow[]> {
  return sqliteOf(d.store).all<AuditRow>('SELECT seq, entry FROM audit_log ORDER BY seq');
}

describe('the KMS façade', () => {
  let d: Domain;
  const ctx = (op: string, over?: Partial<CallContext>) => d.ctx(op, over);
  const create = async (over?: Partial<CallContext>): Promise<KeyRecord> => d.keys.createKey(ctx('CreateKey', over), {});
  const encrypt = async (keyId: string, plaintext: Buffer, encryptionContext?: Record<string, string>) =>
    (await d.keys.encrypt(ctx('Encrypt'), { keyId, plaintext, encryptionContext })).ciphertextBlob;
  const decrypt = async (ciphertextBlob: Buffer, encryptionContext?: Record<string, string>, keyId?: string) =>
    (await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob, encryptionContext, keyId })).plaintext;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await d?.close();
  });

  describe('CreateKey', () => {
    it('creates an Enabled SYMMETRIC_DEFAULT ENCRYPT_DECRYPT AWS_KMS key with a default policy for the account root', async () => {
      const k = await create();
      expect(k.keyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(k).toMatchObject({
        accountId: TEST_ACCOUNT,
        region: TEST_REGION,
        state: 'Enabled',
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        origin: 'AWS_KMS',
        description: '',
        createdAt: d.clock.nowMs(),
        deletionAt: null,
        rotationEnabled: false,
        nextRotationAt: null,
      });
      expect(d.keys.arnOf(k)).toBe(`arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/${k.keyId}`);
      const policy = JSON.parse(k.policy) as { Statement: { Effect: string; Principal: { AWS: string }; Action: string }[] };
      expect(policy.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:root` }, Action: 'kms:*' }),
      );
      expect(await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId)).toBe(k.policy);

      const described = await d.keys.describeKey(ctx('DescribeKey'), k.keyId);
      expect(described).toEqual(k);
      const materials = await d.store.keys.listMaterials(k.keyId);
      expect(materials).toHaveLength(1);
      expect(materials[0]).toMatchObject({ materialId: k.currentMaterialId, rotationType: null });
    });

    it('keeps a description and tags given at creation', async () => {
      const k = await d.keys.createKey(ctx('CreateKey'), { description: 'orders', tags: [{ tagKey: 'team', tagValue: 'pay' }] });
      expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).description).toBe('orders');
      expect((await d.keys.listResourceTags(ctx('ListResourceTags'), k.keyId)).items).toEqual([{ tagKey: 'team', tagValue: 'pay' }]);
    });

    it('stores key material only sealed: the raw material bytes are nowhere in the database files', async () => {
      const k = await create();
      const m = (await d.store.keys.listMaterials(k.keyId))[0]!;
      const raw = d.root.materialSealer().open(m.materialRef!, encodeAad('kura/key-material/symmetric-default', k.keyId, m.materialId));
      expect(raw.length).toBe(32);
      for (const f of [d.file, `${d.file}-wal`]) {
        if (!fs.existsSync(f)) continue;
        const bytes = fs.readFileSync(f);
        expect(bytes.includes(raw)).toBe(false);
        expect(bytes.includes(Buffer.from(raw.toString('hex')))).toBe(false);
      }
    });
  });

  describe('Encrypt and Decrypt', () => {
    it('round-trips, with and without KeyId, and the blob names the key and its current material', async () => {
      const k = await create();
      const blob = await encrypt(k.keyId, pt('attack at dawn'));
      const parsed = parseBlob(blob);
      expect(parsed.keyId).toBe(k.keyId);
      expect(parsed.materialId).toBe(k.currentMaterialId);
      expect(blob.includes(pt('attack at dawn'))).toBe(false);
      expect((await decrypt(blob)).toString()).toBe('attack at dawn');
      expect((await decrypt(blob, undefined, k.keyId)).toString()).toBe('attack at dawn');
      expect((await decrypt(blob, undefined, d.keys.arnOf(k))).toString()).toBe('attack at dawn');
      const out = await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob });
      expect(out.key.keyId).toBe(k.keyId);
      expect(out.materialId).toBe(k.currentMaterialId);
    });

    it('encrypts the same plaintext differently each time (fresh nonce and IV)', async () => {
      const k = await create();
      const a = await encrypt(k.keyId, pt('same'));
      const b = await encrypt(k.keyId, pt('same'));
      expect(a.equals(b)).toBe(false);
    });

    it('binds the encryption context: only the same pairs (in any order) decrypt', async () => {
      const k = await create();
      const blob = await encrypt(k.keyId, pt('secret'), { a: 'bc', tenant: 'acme' });
      expect((await decrypt(blob, { tenant: 'acme', a: 'bc' })).toString()).toBe('secret');
      expect(await kmsCode(decrypt(blob, { ab: 'c', tenant: 'acme' }))).toBe('InvalidCiphertext');
      expect(await kmsCode(decrypt(blob, { a: 'bc' }))).toBe('InvalidCiphertext');
      expect(await kmsCode(decrypt(blob, { a: 'bc', tenant: 'acme', extra: '1' }))).toBe('InvalidCiphertext');
      expect(await kmsCode(decrypt(blob))).toBe('InvalidCiphertext');

      const ab = await encrypt(k.keyId, pt('x'), { ab: 'c' });
      expect(await kmsCode(decrypt(ab, { a: 'bc' }))).toBe('InvalidCiphertext');
    });

    it('treats an empty context like no context', async () => {
      const k = await create();
      expect((await decrypt(await encrypt(k.keyId, pt('e')), {})).toString()).toBe('e');
      expect((await decrypt(await encrypt(k.keyId, pt('e'), {}))).toString()).toBe('e');
    });

    it('refuses a tampered blob with InvalidCiphertext', async () => {
      const k = await create();
      const blob = await encrypt(k.keyId, pt('integrity'));
      for (const at of [blob.length - 1, 62, 50, 20]) {
        const bad = Buffer.from(blob);
        bad[at] = bad[at]! ^ 0x01;
        expect(await kmsCode(decrypt(bad))).toBe('InvalidCiphertext');
      }
      expect(await kmsCode(decrypt(blob.subarray(0, 40)))).toBe('InvalidCiphertext');
    });

    it('answers IncorrectKey when KeyId names another key than the one in the blob', async () => {
      const a = await create();
      const b = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/incorrect-key-b', b.keyId);
      const blob = await encrypt(a.keyId, pt('for a'));
      expect(await kmsCode(decrypt(blob, undefined, b.keyId))).toBe('IncorrectKey');
      expect(await kmsCode(decrypt(blob, undefined, d.keys.arnOf(b)))).toBe('IncorrectKey');
      expect(await kmsCode(decrypt(blob, undefined, 'alias/incorrect-key-b'))).toBe('IncorrectKey');
    });

    it('does not decrypt a blob of a key in another account', async () => {
      const other = await d.keys.createKey(ctx('CreateKey', { accountId: OTHER_ACCOUNT, principal: `arn:aws:iam::${OTHER_ACCOUNT}:root` }), {});
      const blob = (await d.keys.encrypt(ctx('Encrypt', { accountId: OTHER_ACCOUNT }), { keyId: other.keyId, plaintext: pt('theirs') })).ciphertextBlob;
      expect(await kmsCode(decrypt(blob))).toBe('InvalidCiphertext');
    });

    it('does not decrypt or re-encrypt a blob of a key in another region of the same account', async () => {
      const k = await create();
      const blob = await encrypt(k.keyId, pt('stays in us-east-1'));
      // The blob names its key; the key is the caller's account's, but a key lives in one Region.
      const there = (op: string) => ctx(op, { region: 'eu-west-1' });
      expect(await kmsCode(d.keys.decrypt(there('Decrypt'), { ciphertextBlob: blob }))).toBe('InvalidCiphertext');
      const dest = await d.keys.createKey(there('CreateKey'), {});
      expect(await kmsCode(d.keys.reEncrypt(there('ReEncrypt'), { ciphertextBlob: blob, destinationKeyId: dest.keyId }))).toBe('InvalidCiphertext');
      // In its own Region it decrypts (the blob itself is good).
      expect((await decrypt(blob)).toString()).toBe('stays in us-east-1');
    });

    it('makes data keys that decrypt to the returned plaintext', async () => {
      const k = await create();
      const dk = await d.keys.generateDataKey(ctx('GenerateDataKey'), { keyId: k.keyId, keySpec: 'AES_256', encryptionContext: { f: '1' } });
      expect(dk.plaintext.length).toBe(32);
      expect((await decrypt(dk.ciphertextBlob, { f: '1' })).equals(dk.plaintext)).toBe(true);
      const dk16 = await d.keys.generateDataKey(ctx('GenerateDataKey'), { keyId: k.keyId, numberOfBytes: 16 });
      expect(dk16.plaintext.length).toBe(16);
    });

    it('wipes a data key that its key store failed to encrypt (it is never answered)', async () => {
      const k = await create();
      const store = d.keystore;
      const original = store.encryptBlobPayload.bind(store);
      let handed: Uint8Array | undefined;
      store.encryptBlobPayload = (_m, _payload, plaintext) => {
        handed = plaintext;
        return Promise.reject(new Error('the key store failed'));
      };
      try {
        await expect(d.keys.generateDataKey(ctx('GenerateDataKey'), { keyId: k.keyId, numberOfBytes: 32 })).rejects.toThrow('the key store failed');
      } finally {
        store.encryptBlobPayload = original;
      }
      expect(handed?.length).toBe(32);
      expect(handed!.every((b) => b === 0)).toBe(true);
    });
  });

  describe('rotation on demand', () => {
    it('decrypts old and new ciphertexts after RotateKeyOnDemand; new ones use the new material', async () => {
      const k = await create();
      const before = await encrypt(k.keyId, pt('before rotation'), { v: '1' });
      d.clock.advance(1000);
      const rotated = await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
      expect(rotated.currentMaterialId).not.toBe(k.currentMaterialId);
      const after = await encrypt(k.keyId, pt('after rotation'), { v: '2' });
      expect(parseBlob(before).materialId).toBe(k.currentMaterialId);
      expect(parseBlob(after).materialId).toBe(rotated.currentMaterialId);
      expect((await decrypt(before, { v: '1' })).toString()).toBe('before rotation');
      expect((await decrypt(after, { v: '2' })).toString()).toBe('after rotation');

      const { page } = await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, undefined);
      expect(page.items.map((m) => [m.materialId, m.rotationType])).toEqual([[rotated.currentMaterialId, 'ON_DEMAND']]);
    });

    it('refuses IncludeKeyMaterial on keys that cannot rotate (UnsupportedOperation, as the model says), and lists none without it', async () => {
      const ecc = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' });
      const hmac = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' });
      for (const k of [ecc, hmac]) {
        for (const include of ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY']) {
          expect(await kmsCode(d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, include))).toBe('UnsupportedOperation');
        }
        expect((await d.keys.listKeyRotations(ctx('ListKeyRotations'), k.keyId, undefined)).page.items).toEqual([]);
      }
      const sym = await create();
      expect((await d.keys.listKeyRotations(ctx('ListKeyRotations'), sym.keyId, 'ALL_KEY_MATERIAL')).page.items.map((m) => m.materialId)).toEqual([sym.currentMaterialId]);
    });

    it(`allows ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations and refuses the next with LimitExceeded`, async () => {
      const k = await create();
      const blobs = [await encrypt(k.keyId, pt('gen 0'))];
      for (let i = 1; i <= MAX_ON_DEMAND_ROTATIONS; i++) {
        await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
        blobs.push(await encrypt(k.keyId, pt(`gen ${i}`)));
      }
      const auditBefore = await d.store.audit.count();
      const materialsBefore = await d.store.keys.listMaterials(k.keyId);
      expect(materialsBefore).toHaveLength(MAX_ON_DEMAND_ROTATIONS + 1);
      const c = ctx('RotateKeyOnDemand');
      expect(await kmsCode(d.keys.rotateKeyOnDemand(c, k.keyId))).toBe('LimitExceeded');
      // No entry of success: only the refusal's.
      expect(await auditEntriesAfter(d, auditBefore)).toMatchObject([{ operation: 'RotateKeyOnDemand', outcome: 'error', errorCode: 'LimitExceeded' }]);
      expect(await d.store.keys.listMaterials(k.keyId)).toHaveLength(MAX_ON_DEMAND_ROTATIONS + 1);
      for (const [i, b] of blobs.entries()) expect((await decrypt(b)).toString()).toBe(`gen ${i}`);
    });
    it('holds the on-demand limit under concurrent RotateKeyOnDemand calls', async () => {
      const k = await create();
      for (let i = 1; i < MAX_ON_DEMAND_ROTATIONS; i++) await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
      // One rotation is left; five callers race for it while another write is in flight, so that their
      // transactions are group-committed together (as concurrent API requests are).
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const inFlight = d.store.db.write(() => gate);
      const racers = Array.from({ length: 5 }, () => d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId));
      setTimeout(release, 100);
      await inFlight;
      const settled = await Promise.allSettled(racers);
      const codes = settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as { code?: string }).code));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
      expect(codes.filter((c) => c === 'LimitExceeded')).toHaveLength(4);
      const onDemand = (await d.store.keys.listMaterials(k.keyId)).filter((m) => m.rotationType === 'ON_DEMAND');
      expect(onDemand).toHaveLength(MAX_ON_DEMAND_ROTATIONS);
    });
  });

  describe('key states', () => {
    it('a disabled key refuses cryptographic operations with Disabled, and works again once enabled', async () => {
      const k = await create();
      const blob = await encrypt(k.keyId, pt('while enabled'));
      const other = await create();
      await d.keys.disableKey(ctx('DisableKey'), k.keyId);
      expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).state).toBe('Disabled');
      expect(await kmsCode(encrypt(k.keyId, pt('x')))).toBe('Disabled');
      expect(await kmsCode(decrypt(blob))).toBe('Disabled');
      expect(await kmsCode(d.keys.generateDataKey(ctx('GenerateDataKey'), { keyId: k.keyId, numberOfBytes: 32 }))).toBe('Disabled');
      expect(await kmsCode(d.keys.reEncrypt(ctx('ReEncrypt'), { ciphertextBlob: blob, destinationKeyId: other.keyId }))).toBe('Disabled');
      await d.keys.enableKey(ctx('EnableKey'), k.keyId);
      expect((await decrypt(blob)).toString()).toBe('while enabled');
    });

    it('ReEncrypt refuses a Disabled destination with Disabled, and re-encrypts to it once enabled', async () => {
      const source = await create();
      const blob = await encrypt(source.keyId, pt('moving'));
      const dest = await create();
      await d.keys.disableKey(ctx('DisableKey'), dest.keyId);
      expect(await kmsCode(d.keys.reEncrypt(ctx('ReEncrypt'), { ciphertextBlob: blob, destinationKeyId: dest.keyId }))).toBe('Disabled');
      await d.keys.enableKey(ctx('EnableKey'), dest.keyId);
      const moved = await d.keys.reEncrypt(ctx('ReEncrypt'), { ciphertextBlob: blob, destinationKeyId: dest.keyId });
      expect((await decrypt(moved.ciphertextBlob)).toString()).toBe('moving');
    });

    it('ReEncrypt refuses a destination whose key usage is not ENCRYPT_DECRYPT, even with an encryption algorithm of its spec', async () => {
      const blob = await encrypt((await create()).keyId, pt('not for signing keys'));
      // RSAES_OAEP_SHA_256 is an algorithm of RSA_2048: only the usage tells this key may not encrypt.
      const signing = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' });
      const e = await kmsError(d.keys.reEncrypt(ctx('ReEncrypt'), { ciphertextBlob: blob, destinationKeyId: signing.keyId, destinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
      expect([e.code, e.message]).toEqual(['InvalidKeyUsage', `${d.keys.arnOf(signing)} key usage is SIGN_VERIFY which is not valid for this operation.`]);
    });

    it('a key pending deletion refuses use and state changes with InvalidState; CancelKeyDeletion leaves it Disabled', async () => {
      const k = await create();
      const blob = await encrypt(k.keyId, pt('keep me'));
      const scheduled = await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7);
      expect(scheduled.state).toBe('PendingDeletion');
      expect(scheduled.deletionAt).toBe(d.clock.nowMs() + 7 * 86_400_000);
      expect(scheduled.pendingWindowDays).toBe(7);
      expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).state).toBe('PendingDeletion');

      expect(await kmsCode(encrypt(k.keyId, pt('x')))).toBe('InvalidState');
      expect(await kmsCode(decrypt(blob))).toBe('InvalidState');
      expect(await kmsCode(d.keys.enableKey(ctx('EnableKey'), k.keyId))).toBe('InvalidState');
      expect(await kmsCode(d.keys.disableKey(ctx('DisableKey'), k.keyId))).toBe('InvalidState');
      expect(await kmsCode(d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7))).toBe('InvalidState');

      const cancelled = await d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), k.keyId);
      expect(cancelled).toMatchObject({ state: 'Disabled', deletionAt: null, pendingWindowDays: null });
      expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).state).toBe('Disabled');
      expect(await kmsCode(decrypt(blob))).toBe('Disabled');
      await d.keys.enableKey(ctx('EnableKey'), k.keyId);
      expect((await decrypt(blob)).toString()).toBe('keep me');
    });

    it('refuses CancelKeyDeletion of a key that is not pending deletion, and windows outside 7–30 days', async () => {
      const k = await create();
      expect(await kmsCode(d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), k.keyId))).toBe('InvalidState');
      expect(await kmsCode(d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 6))).toBe('Validation');
      expect(await kmsCode(d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 31))).toBe('Validation');
      const dflt = await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId);
      expect(dflt.pendingWindowDays).toBe(30);
    });
  });

  describe('aliases and ARNs', () => {
    it('resolves an alias by name and by alias ARN', async () => {
      const k = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/orders', k.keyId);
      const aliasArn = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:alias/orders`;
      expect((await d.keys.describeKey(ctx('DescribeKey'), 'alias/orders')).keyId).toBe(k.keyId);
      expect((await d.keys.describeKey(ctx('DescribeKey'), aliasArn)).keyId).toBe(k.keyId);
      const blob = await encrypt('alias/orders', pt('via alias'));
      expect(parseBlob(blob).keyId).toBe(k.keyId);
      expect((await decrypt(await encrypt(aliasArn, pt('via arn')), undefined, aliasArn)).toString()).toBe('via arn');

      const listed = await d.keys.listAliases(ctx('ListAliases'), k.keyId);
      expect(listed.items.map((a) => [a.aliasName, a.keyId, d.keys.aliasArnOf(a)])).toEqual([['alias/orders', k.keyId, aliasArn]]);
    });

    it('does not find an alias or key through an ARN of another region or account', async () => {
      const k = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/regional', k.keyId);
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey'), `arn:aws:kms:eu-west-1:${TEST_ACCOUNT}:alias/regional`))).toBe('NotFound');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey'), `arn:aws:kms:${TEST_REGION}:${OTHER_ACCOUNT}:alias/regional`))).toBe('NotFound');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey'), `arn:aws:kms:${TEST_REGION}:${OTHER_ACCOUNT}:key/${k.keyId}`))).toBe('NotFound');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey'), `arn:aws:kms:eu-west-1:${TEST_ACCOUNT}:key/${k.keyId}`))).toBe('NotFound');
      expect(await kmsCode(encrypt(`arn:aws:kms:${TEST_REGION}:${OTHER_ACCOUNT}:key/${k.keyId}`, pt('x')))).toBe('NotFound');
      // The caller's own region and account do not see it either when they differ from the key's.
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey', { region: 'eu-west-1' }), k.keyId))).toBe('NotFound');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey', { region: 'eu-west-1' }), 'alias/regional'))).toBe('NotFound');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey', { accountId: OTHER_ACCOUNT }), k.keyId))).toBe('NotFound');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey'), 'alias/no-such-alias'))).toBe('NotFound');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey'), '00000000-0000-4000-8000-000000000000'))).toBe('NotFound');
    });

    it('needs KeyUsage for every key spec but SYMMETRIC_DEFAULT, as the API model says', async () => {
      for (const keySpec of ['RSA_2048', 'ECC_NIST_P256', 'HMAC_256']) {
        const e = await kmsError(d.keys.createKey(ctx('CreateKey'), { keySpec }));
        expect([keySpec, e.code, e.message]).toEqual([keySpec, 'Validation', `KeyUsage is required for a KMS key of KeySpec ${keySpec}.`]);
      }
      expect((await d.keys.createKey(ctx('CreateKey'), { keySpec: 'SYMMETRIC_DEFAULT' })).keyUsage).toBe('ENCRYPT_DECRYPT');
    });

    it('moves an alias to a key of the same type and usage, whatever its spec; not across types or usages', async () => {
      const hmac256 = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' });
      const hmac512 = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'HMAC_512', keyUsage: 'GENERATE_VERIFY_MAC' });
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/mac', hmac256.keyId);
      await d.keys.updateAlias(ctx('UpdateAlias'), 'alias/mac', hmac512.keyId);
      expect((await d.keys.describeKey(ctx('DescribeKey'), 'alias/mac')).keyId).toBe(hmac512.keyId);
      const rsa2048 = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' });
      const rsa3072 = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'RSA_3072', keyUsage: 'ENCRYPT_DECRYPT' });
      const rsaSign = await d.keys.createKey(ctx('CreateKey'), { keySpec: 'RSA_3072', keyUsage: 'SIGN_VERIFY' });
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/rsa', rsa2048.keyId);
      await d.keys.updateAlias(ctx('UpdateAlias'), 'alias/rsa', rsa3072.keyId);
      expect(await kmsCode(d.keys.updateAlias(ctx('UpdateAlias'), 'alias/rsa', rsaSign.keyId))).toBe('Validation');
      expect(await kmsCode(d.keys.updateAlias(ctx('UpdateAlias'), 'alias/mac', (await create()).keyId))).toBe('Validation');
    });

    it('refuses a duplicate alias, a reserved alias/aws/ name, and an alias on a key pending deletion', async () => {
      const k = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/dup', k.keyId);
      expect(await kmsCode(d.keys.createAlias(ctx('CreateAlias'), 'alias/dup', k.keyId))).toBe('AlreadyExists');
      expect(await kmsCode(d.keys.createAlias(ctx('CreateAlias'), 'alias/aws/s3', k.keyId))).toBe('InvalidAliasName');
      // UpdateAlias and DeleteAlias are not modelled to answer InvalidAliasName: an alias/aws/ name does not exist here.
      expect(await kmsCode(d.keys.updateAlias(ctx('UpdateAlias'), 'alias/aws/s3', k.keyId))).toBe('NotFound');
      expect(await kmsCode(d.keys.deleteAlias(ctx('DeleteAlias'), 'alias/aws/s3'))).toBe('NotFound');
      const doomed = await create();
      await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
      expect(await kmsCode(d.keys.createAlias(ctx('CreateAlias'), 'alias/doomed', doomed.keyId))).toBe('InvalidState');
    });
    it('takes no alias, by name (NotFound) or by alias ARN (InvalidArn), where only a key ID or key ARN is allowed', async () => {
      const k = await create();
      const target = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/not-a-key-id', k.keyId);
      const byArn = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:alias/not-a-key-id`;
      // AWS: "InvalidArnException: Key Aliases are not supported for this operation." for an alias ARN; a
      // bare alias name is no key ID (NotFoundException "Invalid keyId"). CreateAlias and UpdateAlias list
      // no InvalidArnException in the API model: their TargetKeyId names no key either way.
      for (const [ref, code] of [[byArn, 'InvalidArn'], ['alias/not-a-key-id', 'NotFound']] as const) {
        expect(await kmsCode(d.keys.disableKey(ctx('DisableKey'), ref))).toBe(code);
        expect(await kmsCode(d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), ref, 7))).toBe(code);
        expect(await kmsCode(d.keys.listResourceTags(ctx('ListResourceTags'), ref))).toBe(code);
        expect(await kmsCode(d.keys.listAliases(ctx('ListAliases'), ref))).toBe(code);
        expect(await kmsCode(d.keys.createAlias(ctx('CreateAlias'), 'alias/via-alias', ref))).toBe('NotFound');
        expect(await kmsCode(d.keys.updateAlias(ctx('UpdateAlias'), 'alias/not-a-key-id', ref))).toBe('NotFound');
      }
      // Nothing happened to the key the alias names.
      expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).state).toBe('Enabled');
      expect(await kmsCode(d.keys.describeKey(ctx('DescribeKey'), 'alias/via-alias'))).toBe('NotFound');
      // The key ARN itself is allowed.
      await d.keys.disableKey(ctx('DisableKey'), d.keys.arnOf(target));
      expect((await d.keys.describeKey(ctx('DescribeKey'), target.keyId)).state).toBe('Disabled');
    });

    it('refuses UpdateAlias to a key pending deletion (InvalidState); the alias keeps its key', async () => {
      const k = await create();
      const doomed = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/stays', k.keyId);
      await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
      expect(await kmsCode(d.keys.updateAlias(ctx('UpdateAlias'), 'alias/stays', doomed.keyId))).toBe('InvalidState');
      expect((await d.keys.describeKey(ctx('DescribeKey'), 'alias/stays')).keyId).toBe(k.keyId);
    });

    it('refuses an alias name that is the bare prefix "alias/" (Validation)', async () => {
      const k = await create();
      expect(await kmsCode(d.keys.createAlias(ctx('CreateAlias'), 'alias/', k.keyId))).toBe('Validation');
      expect((await d.keys.listAliases(ctx('ListAliases'), k.keyId)).items).toEqual([]);
    });

    it('refuses a 51st alias for one key, by CreateAlias or UpdateAlias (LimitExceeded), and pages at most 100', async () => {
      // AWS's quota "Aliases per KMS key": 50. An account of its own, so that the listing is this test's.
      const account = '333344445555';
      const here = (op: string) => ctx(op, { accountId: account, principal: `arn:aws:iam::${account}:root` });
      const full = await d.keys.createKey(here('CreateKey'), {});
      const other = await d.keys.createKey(here('CreateKey'), {});
      for (let i = 0; i < MAX_ALIASES_PER_KEY; i++) await d.keys.createAlias(here('CreateAlias'), `alias/full-${String(i).padStart(2, '0')}`, full.keyId);
      expect(await kmsCode(d.keys.createAlias(here('CreateAlias'), 'alias/one-too-many', full.keyId))).toBe('LimitExceeded');
      await d.keys.createAlias(here('CreateAlias'), 'alias/elsewhere', other.keyId);
      expect(await kmsCode(d.keys.updateAlias(here('UpdateAlias'), 'alias/elsewhere', full.keyId))).toBe('LimitExceeded');
      // Nothing changed: the refused alias does not exist, the moved one still names its key.
      expect(await kmsCode(d.keys.describeKey(here('DescribeKey'), 'alias/one-too-many'))).toBe('NotFound');
      expect((await d.keys.describeKey(here('DescribeKey'), 'alias/elsewhere')).keyId).toBe(other.keyId);
      // Retargeting one of a full key's aliases to the same key is no new alias for it.
      await d.keys.updateAlias(here('UpdateAlias'), 'alias/full-00', full.keyId);
      // Another key still takes aliases; once one of the full key's is gone, it takes one again.
      await d.keys.deleteAlias(here('DeleteAlias'), 'alias/full-49');
      await d.keys.updateAlias(here('UpdateAlias'), 'alias/elsewhere', full.keyId);
      expect((await d.keys.describeKey(here('DescribeKey'), 'alias/elsewhere')).keyId).toBe(full.keyId);

      // ListAliases: "between 1 and 100", and AWS "might return fewer": a larger Limit gets 100 and a marker.
      const third = await d.keys.createKey(here('CreateKey'), {});
      for (let i = 0; i < 60; i++) await d.keys.createAlias(here('CreateAlias'), `alias/other-${String(i).padStart(2, '0')}`, (i % 2 ? other : third).keyId);
      const first = await d.keys.listAliases(here('ListAliases'), undefined, 1000);
      expect(first.items).toHaveLength(MAX_ALIASES_PAGE);
      expect(first.nextMarker).toBeDefined();
      const rest = await d.keys.listAliases(here('ListAliases'), undefined, 1000, first.nextMarker);
      expect(first.items.length + rest.items.length).toBe(MAX_ALIASES_PER_KEY + 60);
      expect(rest.nextMarker).toBeUndefined();
    });

    it('ListAliases lists the aliases of the caller\'s region only, with and without a KeyId', async () => {
      // An account of its own, so that aliases other tests made do not show.
      const account = '222233334444';
      const here = (op: string) => ctx(op, { accountId: account, principal: `arn:aws:iam::${account}:root` });
      const there = (op: string) => ctx(op, { accountId: account, principal: `arn:aws:iam::${account}:root`, region: 'eu-west-1' });
      const x = await d.keys.createKey(here('CreateKey'), {});
      const y = await d.keys.createKey(there('CreateKey'), {});
      await d.keys.createAlias(here('CreateAlias'), 'alias/x', x.keyId);
      await d.keys.createAlias(there('CreateAlias'), 'alias/y', y.keyId);
      const names = async (c: (op: string) => CallContext, keyRef?: string) => (await d.keys.listAliases(c('ListAliases'), keyRef)).items.map((a) => a.aliasName);
      expect(await names(here)).toEqual(['alias/x']);
      expect(await names(here, x.keyId)).toEqual(['alias/x']);
      expect(await names(there)).toEqual(['alias/y']);
      expect(await names(there, y.keyId)).toEqual(['alias/y']);
    });
  });

  describe('ListKeys', () => {
    it('pages through the keys of the caller\'s account and region only, each once', async () => {
      const account = '777788889999';
      const c = (op: string) => ctx(op, { accountId: account, principal: `arn:aws:iam::${account}:root` });
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await d.keys.createKey(c('CreateKey'), {})).keyId);
      await d.keys.createKey(ctx('CreateKey', { accountId: account, region: 'eu-west-1' }), {});

      const seen: string[] = [];
      const sizes: number[] = [];
      let marker: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await d.keys.listKeys(c('ListKeys'), 2, marker);
        seen.push(...page.items.map((k) => k.keyId));
        sizes.push(page.items.length);
        marker = page.nextMarker;
        if (!marker) break;
      }
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen).toEqual([...made].sort());

      const all = await d.keys.listKeys(c('ListKeys'), 100);
      expect(all.items).toHaveLength(5);
      expect(all.nextMarker).toBeUndefined();
      const exact = await d.keys.listKeys(c('ListKeys'), 5);
      expect(exact.items).toHaveLength(5);
      expect(exact.nextMarker).toBeUndefined();
    });

    it('refuses a marker it did not make with InvalidMarker', async () => {
      expect(await kmsCode(d.keys.listKeys(ctx('ListKeys'), 10, 'not-a-marker'))).toBe('InvalidMarker');
      const aliasMarker = encodeMarker('aliases', 'alias/x');
      expect(await kmsCode(d.keys.listKeys(ctx('ListKeys'), 10, aliasMarker))).toBe('InvalidMarker');
    });
  });

  describe('tags', () => {
    const tags = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => ({ tagKey: `${prefix}${i}`, tagValue: `v${i}` }));

    it(`allows ${MAX_TAGS} tags per key and refuses more with a Tag error, changing nothing`, async () => {
      const k = await create();
      await d.keys.tagResource(ctx('TagResource'), k.keyId, tags(MAX_TAGS - 1));
      await d.keys.tagResource(ctx('TagResource'), k.keyId, [{ tagKey: 'last', tagValue: 'fits' }]);
      expect((await d.store.keys.listTags(k.keyId)).length).toBe(MAX_TAGS);
      // Overwriting an existing tag does not add one.
      await d.keys.tagResource(ctx('TagResource'), k.keyId, [{ tagKey: 't0', tagValue: 'changed' }]);
      expect((await d.store.keys.listTags(k.keyId)).find((t) => t.tagKey === 't0')?.tagValue).toBe('changed');

      const before = await d.store.audit.count();
      const c = ctx('TagResource');
      expect(await kmsCode(d.keys.tagResource(c, k.keyId, [{ tagKey: 'one-too-many', tagValue: 'x' }]))).toBe('Tag');
      // No entry of success: only the refusal's.
      expect(await auditEntriesAfter(d, before)).toMatchObject([{ operation: 'TagResource', outcome: 'error', errorCode: 'Tag' }]);
      const after = await d.store.keys.listTags(k.keyId);
      expect(after).toHaveLength(MAX_TAGS);
      expect(after.some((t) => t.tagKey === 'one-too-many')).toBe(false);
    });

    it('refuses more than 50 tags at creation, aws: keys and duplicate keys', async () => {
      expect(await kmsCode(d.keys.createKey(ctx('CreateKey'), { tags: tags(MAX_TAGS + 1) }))).toBe('Tag');
      expect(await kmsCode(d.keys.createKey(ctx('CreateKey'), { tags: [{ tagKey: 'aws:owner', tagValue: 'x' }] }))).toBe('Tag');
      expect(await kmsCode(d.keys.createKey(ctx('CreateKey'), { tags: [{ tagKey: 'AWS:owner', tagValue: 'x' }] }))).toBe('Tag');
      expect(await kmsCode(d.keys.createKey(ctx('CreateKey'), { tags: [{ tagKey: 'Aws:owner', tagValue: 'x' }] }))).toBe('Tag');
      const k = await create();
      expect(await kmsCode(d.keys.tagResource(ctx('TagResource'), k.keyId, tags(MAX_TAGS + 1)))).toBe('Tag');
      expect(
        await kmsCode(d.keys.tagResource(ctx('TagResource'), k.keyId, [{ tagKey: 'a', tagValue: '1' }, { tagKey: 'a', tagValue: '2' }])),
      ).toBe('Tag');
      expect(await d.store.keys.listTags(k.keyId)).toEqual([]);
      const withFifty = await d.keys.createKey(ctx('CreateKey'), { tags: tags(MAX_TAGS) });
      expect(await d.store.keys.listTags(withFifty.keyId)).toHaveLength(MAX_TAGS);
    });

    it('pages ListResourceTags and removes tags with UntagResource', async () => {
      const k = await d.keys.createKey(ctx('CreateKey'), { tags: tags(5) });
      const first = await d.keys.listResourceTags(ctx('ListResourceTags'), k.keyId, 3);
      expect(first.items.map((t) => t.tagKey)).toEqual(['t0', 't1', 't2']);
      const second = await d.keys.listResourceTags(ctx('ListResourceTags'), k.keyId, 3, first.nextMarker);
      expect(second.items.map((t) => t.tagKey)).toEqual(['t3', 't4']);
      expect(second.nextMarker).toBeUndefined();
      await d.keys.untagResource(ctx('UntagResource'), k.keyId, ['t1', 't3', 'absent']);
      expect((await d.store.keys.listTags(k.keyId)).map((t) => t.tagKey)).toEqual(['t0', 't2', 't4']);
    });

    it('pages ListResourceTags in one order for tag keys beyond U+FFFF and those just below', async () => {
      // UTF-16 puts U+20000 (a surrogate pair, 0xD840 …) before U+FF21; code points, as SQLite orders, after.
      const k = await d.keys.createKey(ctx('CreateKey'), { tags: [{ tagKey: '\uFF21', tagValue: 'a' }, { tagKey: '\u{20000}', tagValue: 'b' }] });
      const first = await d.keys.listResourceTags(ctx('ListResourceTags'), k.keyId, 1);
      expect(first.items.map((t) => t.tagKey)).toEqual(['\uFF21']);
      const second = await d.keys.listResourceTags(ctx('ListResourceTags'), k.keyId, 1, first.nextMarker);
      expect(second.items.map((t) => t.tagKey)).toEqual(['\u{20000}']);
      expect(second.nextMarker).toBeUndefined();
    });
  });

  describe('audit', () => {
    it('writes exactly one entry, in the same transaction, for every successful change', async () => {
      const k = await create();
      const k2 = await create();
      const mutations: [string, (c: CallContext) => Promise<unknown>][] = [
        ['CreateKey', (c) => d.keys.createKey(c, { description: 'audited' })],
        ['UpdateKeyDescription', (c) => d.keys.updateKeyDescription(c, k.keyId, 'new description')],
        ['DisableKey', (c) => d.keys.disableKey(c, k.keyId)],
        ['EnableKey', (c) => d.keys.enableKey(c, k.keyId)],
        ['CreateAlias', (c) => d.keys.createAlias(c, 'alias/audited', k.keyId)],
        ['UpdateAlias', (c) => d.keys.updateAlias(c, 'alias/audited', k2.keyId)],
        ['DeleteAlias', (c) => d.keys.deleteAlias(c, 'alias/audited')],
        ['TagResource', (c) => d.keys.tagResource(c, k.keyId, [{ tagKey: 'a', tagValue: '1' }, { tagKey: 'b', tagValue: '2' }])],
        ['UntagResource', (c) => d.keys.untagResource(c, k.keyId, ['a'])],
        ['EnableKeyRotation', (c) => d.keys.enableKeyRotation(c, k.keyId, 90)],
        ['DisableKeyRotation', (c) => d.keys.disableKeyRotation(c, k.keyId)],
        ['RotateKeyOnDemand', (c) => d.keys.rotateKeyOnDemand(c, k.keyId)],
        ['PutKeyPolicy', (c) => d.keys.putKeyPolicy(c, k.keyId, k.policy)],
        ['ScheduleKeyDeletion', (c) => d.keys.scheduleKeyDeletion(c, k.keyId, 7)],
        ['CancelKeyDeletion', (c) => d.keys.cancelKeyDeletion(c, k.keyId)],
      ];
      for (const [operation, run] of mutations) {
        const before = await auditRows(d);
        const c = ctx(operation, { requestId: `req-${operation}`, accessKeyId: 'AKIAKURATEST00000001' });
        await run(c);
        const after = await auditRows(d);
        expect(after.length, operation).toBe(before.length + 1);
        const entry = JSON.parse(after[after.length - 1]!.entry) as Record<string, unknown>;
        expect(entry, operation).toMatchObject({
          operation,
          outcome: 'ok',
          source: 'kms',
          principal: TEST_PRINCIPAL,
          requestId: `req-${operation}`,
          accessKeyId: 'AKIAKURATEST00000001',
          at: d.clock.nowMs(),
        });
        if (operation !== 'CreateKey') expect(entry.keyId, operation).toBe(operation === 'UpdateAlias' || operation === 'DeleteAlias' ? k2.keyId : k.keyId);
      }
      expect((await d.audit.verify()).ok).toBe(true);
    });

    it('writes one entry for every read and cryptographic call, naming the key as the caller named it', async () => {
      const k = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/read-only', k.keyId);
      const before = await d.store.audit.count();
      const blob = await encrypt(k.keyId, pt('p'));
      const reads: [string, (c: CallContext) => Promise<unknown>][] = [
        ['DescribeKey', (c) => d.keys.describeKey(c, k.keyId)],
        ['ListKeys', (c) => d.keys.listKeys(c)],
        ['ListAliases', (c) => d.keys.listAliases(c, undefined)],
        ['ListResourceTags', (c) => d.keys.listResourceTags(c, k.keyId)],
        ['GetKeyRotationStatus', (c) => d.keys.getKeyRotationStatus(c, k.keyId)],
        ['ListKeyRotations', (c) => d.keys.listKeyRotations(c, k.keyId, undefined)],
        ['GetKeyPolicy', (c) => d.keys.getKeyPolicy(c, k.keyId)],
        ['ListKeyPolicies', (c) => d.keys.listKeyPolicies(c, k.keyId)],
        ['Encrypt', (c) => d.keys.encrypt(c, { keyId: k.keyId, plaintext: pt('q') })],
        ['Decrypt', (c) => d.keys.decrypt(c, { ciphertextBlob: blob })],
        ['ReEncrypt', (c) => d.keys.reEncrypt(c, { ciphertextBlob: blob, destinationKeyId: 'alias/read-only' })],
        ['GenerateDataKey', (c) => d.keys.generateDataKey(c, { keyId: k.keyId, numberOfBytes: 32 })],
      ];
      for (const [operation, run] of reads) {
        const c = ctx(operation);
        await run(c);
      }
      const keyIdOf = (operation: string) => (['ListKeys', 'ListAliases', 'Decrypt', 'ReEncrypt'].includes(operation) ? undefined : k.keyId);
      // The first entry is the Encrypt that made the blob.
      expect(await auditEntriesAfter(d, before + 1)).toEqual(
        reads.map(([operation]) => {
          const keyId = keyIdOf(operation);
          return expect.objectContaining({ operation, outcome: 'ok', source: 'kms', principal: TEST_PRINCIPAL, ...(keyId ? { keyId } : {}) });
        }),
      );
    });

    it('writes no entry of success and changes nothing when a change fails: one entry of the error instead', async () => {
      const k = await create();
      await d.keys.createAlias(ctx('CreateAlias'), 'alias/taken', k.keyId);
      const pending = await create();
      await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), pending.keyId, 7);
      const missing = '00000000-0000-4000-8000-000000000000';
      const failing: [string, string, (c: CallContext) => Promise<unknown>][] = [
        ['CreateKey', 'Validation', (c) => d.keys.createKey(c, { keySpec: 'RSA_2048', keyUsage: 'GENERATE_VERIFY_MAC' })],
        ['CreateKey', 'UnsupportedOperation', (c) => d.keys.createKey(c, { multiRegion: true })],
        ['CreateKey', 'Validation', (c) => d.keys.createKey(c, { origin: 'AWS_CLOUDHSM' })],
        ['CreateKey', 'MalformedPolicyDocument', (c) => d.keys.createKey(c, { policy: '{"Statement":[]}' })],
        ['EnableKey', 'NotFound', (c) => d.keys.enableKey(c, missing)],
        ['DisableKey', 'InvalidState', (c) => d.keys.disableKey(c, pending.keyId)],
        ['CreateAlias', 'AlreadyExists', (c) => d.keys.createAlias(c, 'alias/taken', k.keyId)],
        ['UpdateAlias', 'NotFound', (c) => d.keys.updateAlias(c, 'alias/absent', k.keyId)],
        ['DeleteAlias', 'NotFound', (c) => d.keys.deleteAlias(c, 'alias/absent')],
        ['TagResource', 'InvalidState', (c) => d.keys.tagResource(c, pending.keyId, [{ tagKey: 'a', tagValue: 'b' }])],
        ['ScheduleKeyDeletion', 'InvalidState', (c) => d.keys.scheduleKeyDeletion(c, pending.keyId, 7)],
        ['CancelKeyDeletion', 'InvalidState', (c) => d.keys.cancelKeyDeletion(c, k.keyId)],
        ['RotateKeyOnDemand', 'InvalidState', (c) => d.keys.rotateKeyOnDemand(c, pending.keyId)],
        ['PutKeyPolicy', 'MalformedPolicyDocument', (c) => d.keys.putKeyPolicy(c, k.keyId, 'not json')],
      ];
      const before = await d.store.audit.count();
      for (const [operation, code, run] of failing) {
        const c = ctx(operation);
        expect(await kmsCode(run(c)), operation).toBe(code);
      }
      expect(await auditEntriesAfter(d, before)).toEqual(failing.map(([operation, errorCode]) => expect.objectContaining({ operation, outcome: 'error', errorCode })));
      expect((await d.keys.describeKey(ctx('DescribeKey'), pending.keyId)).state).toBe('PendingDeletion');
    });
  });
});

describe('the KMS façade while sealed', () => {
  let d: Domain;
  let aead: RecordingAead;

  beforeAll(async () => {
    aead = recordingAead();
    d = await openDomain({ aead });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('fails every operation with Sealed, wipes cached key handles, and works again after unsealing with the same root key', async () => {
    const c = (op: string) => d.ctx(op);
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.createAlias(c('CreateAlias'), 'alias/sealed', k.keyId);
    const blob = (await d.keys.encrypt(c('Encrypt'), { keyId: k.keyId, plaintext: pt('sealed away'), encryptionContext: { s: '1' } })).ciphertextBlob;
    const pendingKey = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), pendingKey.keyId, 7);
    expect(aead.handles.length).toBeGreaterThan(2); // two derived root keys + the per-blob key of the Encrypt
    const cached = d.keystore.cachedMaterialForTests(k.keyId, k.currentMaterialId!)!;
    expect(cached.some((b) => b !== 0)).toBe(true);

    d.root.seal();
    expect(d.root.isUnsealed).toBe(false);
    expect(aead.handles.every((h) => h.destroyed)).toBe(true);
    expect(cached.every((b) => b === 0)).toBe(true);
    expect((await d.root.status()).state).toBe('sealed');

    const auditBefore = await d.store.audit.count();
    const id = k.keyId;
    const ops: [string, () => unknown][] = [
      ['CreateKey', () => d.keys.createKey(c('CreateKey'), {})],
      ['DescribeKey', () => d.keys.describeKey(c('DescribeKey'), id)],
      ['ListKeys', () => d.keys.listKeys(c('ListKeys'))],
      ['EnableKey', () => d.keys.enableKey(c('EnableKey'), id)],
      ['DisableKey', () => d.keys.disableKey(c('DisableKey'), id)],
      ['UpdateKeyDescription', () => d.keys.updateKeyDescription(c('UpdateKeyDescription'), id, 'x')],
      ['ScheduleKeyDeletion', () => d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), id, 7)],
      ['CancelKeyDeletion', () => d.keys.cancelKeyDeletion(c('CancelKeyDeletion'), pendingKey.keyId)],
      ['Encrypt', () => d.keys.encrypt(c('Encrypt'), { keyId: id, plaintext: pt('x') })],
      ['Decrypt', () => d.keys.decrypt(c('Decrypt'), { ciphertextBlob: blob, encryptionContext: { s: '1' } })],
      ['ReEncrypt', () => d.keys.reEncrypt(c('ReEncrypt'), { ciphertextBlob: blob, sourceEncryptionContext: { s: '1' }, destinationKeyId: id })],
      ['GenerateDataKey', () => d.keys.generateDataKey(c('GenerateDataKey'), { keyId: id, numberOfBytes: 32 })],
      ['GenerateRandom', () => d.keys.generateRandom(c('GenerateRandom'), { numberOfBytes: 32 })],
      ['CreateAlias', () => d.keys.createAlias(c('CreateAlias'), 'alias/while-sealed', id)],
      ['UpdateAlias', () => d.keys.updateAlias(c('UpdateAlias'), 'alias/sealed', id)],
      ['DeleteAlias', () => d.keys.deleteAlias(c('DeleteAlias'), 'alias/sealed')],
      ['ListAliases', () => d.keys.listAliases(c('ListAliases'), undefined)],
      ['TagResource', () => d.keys.tagResource(c('TagResource'), id, [{ tagKey: 'a', tagValue: 'b' }])],
      ['UntagResource', () => d.keys.untagResource(c('UntagResource'), id, ['a'])],
      ['ListResourceTags', () => d.keys.listResourceTags(c('ListResourceTags'), id)],
      ['EnableKeyRotation', () => d.keys.enableKeyRotation(c('EnableKeyRotation'), id, 90)],
      ['DisableKeyRotation', () => d.keys.disableKeyRotation(c('DisableKeyRotation'), id)],
      ['GetKeyRotationStatus', () => d.keys.getKeyRotationStatus(c('GetKeyRotationStatus'), id)],
      ['RotateKeyOnDemand', () => d.keys.rotateKeyOnDemand(c('RotateKeyOnDemand'), id)],
      ['ListKeyRotations', () => d.keys.listKeyRotations(c('ListKeyRotations'), id, undefined)],
      ['GetKeyPolicy', () => d.keys.getKeyPolicy(c('GetKeyPolicy'), id)],
      ['PutKeyPolicy', () => d.keys.putKeyPolicy(c('PutKeyPolicy'), id, k.policy)],
      ['ListKeyPolicies', () => d.keys.listKeyPolicies(c('ListKeyPolicies'), id)],
    ];
    for (const [name, run] of ops) {
      const e = await kmsError(run);
      expect(e.code, name).toBe('Sealed');
      expect(e.message, name).toMatch(/sealed/i);
    }
    // Nothing but the refusals: no entry of success.
    expect(await auditEntriesAfter(d, auditBefore)).toEqual(ops.map(([operation]) => expect.objectContaining({ operation, outcome: 'error', errorCode: 'Sealed' })));

    // A holder built from scratch over the same database (a restart) refuses another root key …
    const stranger = new RootKeyHolder({ db: d.store.db, appliance: d.store.appliance, aead: wasmAead, clock: d.clock, applianceId: d.applianceId });
    await stranger.load();
    expect(await kmsCode(stranger.initAndUnsealDev(Buffer.alloc(32, 7)))).toBe('InvalidState');
    expect(d.root.isUnsealed).toBe(false);

    // … and the same root key brings every old ciphertext back.
    const handlesBefore = aead.handles.length;
    await d.root.initAndUnsealDev(d.rootKey);
    expect(d.root.isUnsealed).toBe(true);
    const out = await d.keys.decrypt(c('Decrypt'), { ciphertextBlob: blob, encryptionContext: { s: '1' } });
    expect(out.plaintext.toString()).toBe('sealed away');
    // The material was unsealed afresh (the zeroized bytes were not reused from a cache): the two
    // root-derived keys and this Decrypt's per-blob key.
    expect(aead.handles.length).toBe(handlesBefore + 3);
    expect(d.keystore.cachedMaterialForTests(k.keyId, k.currentMaterialId!)).not.toBe(cached);
    expect((await d.keys.describeKey(c('DescribeKey'), 'alias/sealed')).keyId).toBe(k.keyId);
  });
});
