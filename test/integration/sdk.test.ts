// The AWS SDK for JavaScript v3 (@aws-sdk/client-kms), unchanged, against a real dev-mode `kura serve`:
// every TrentService operation Kura implements, with the response shapes of the AWS KMS API reference
// (KeyMetadata, ARNs as KeyId, timestamps as Dates) and the error names AWS KMS answers with.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  GenerateRandomCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
  VerifyCommand,
  VerifyMacCommand,
  type AliasListEntry,
  type DecryptCommandInput,
  type EncryptCommandInput,
  type KeyListEntry,
  type KeyMetadata,
  type KMSClient,
  type ReEncryptCommandInput,
  type Tag,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName, kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const REGION = 'us-east-1';
const DAY_MS = 24 * 60 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let kura: KuraProcess;
let kms: KMSClient;
let account: string;

const keyArn = (keyId: string, region = REGION) => `arn:aws:kms:${region}:${account}:key/${keyId}`;
const bytes = (s: string) => Buffer.from(s, 'utf8');
const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(a).equals(Buffer.from(b));

/**
 * DryRun "Checks if your request will succeed" (API reference): each case's call, then its dry run, which
 * must answer as the call did, or DryRunOperationException where the call succeeded. Answers the calls'
 * own outcomes ('ok' or the exception's name), for the caller to pin.
 */
async function dryRunsAnswerAsCalls(cases: [string, (DryRun: boolean) => Promise<unknown>][]): Promise<string[]> {
  const outcomes: string[] = [];
  for (const [name, send] of cases) {
    const got = await errorName(send(false));
    outcomes.push(got);
    expect(await errorName(send(true)), `${name}, dry`).toBe(got === 'ok' ? 'DryRunOperationException' : got);
  }
  return outcomes;
}

async function createKey(client: KMSClient = kms, description = 'sdk test key'): Promise<KeyMetadata> {
  const out = await client.send(new CreateKeyCommand({ Description: description }));
  return out.KeyMetadata!;
}

async function describe_(keyId: string, client: KMSClient = kms): Promise<KeyMetadata> {
  return (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
}

beforeAll(async () => {
  kura = await startKura();
  kms = kmsClient(kura);
  const meta = await createKey(kms, 'account probe');
  account = meta.AWSAccountId!;
});

afterAll(async () => {
  kms?.destroy();
  await kura?.stop();
});

describe('CreateKey, DescribeKey, EnableKey, DisableKey, UpdateKeyDescription', () => {
  it('CreateKey returns the full KeyMetadata of a symmetric AWS_KMS key', async () => {
    const before = Date.now();
    const m = await createKey(kms, 'first key');
    expect(m.AWSAccountId).toMatch(/^\d{12}$/);
    expect(m.KeyId).toMatch(UUID);
    expect(m.Arn).toBe(keyArn(m.KeyId!));
    expect(m.CreationDate).toBeInstanceOf(Date);
    expect(m.CreationDate!.getTime()).toBeGreaterThanOrEqual(before - 2000);
    expect(m.CreationDate!.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    expect(m).toMatchObject({
      Enabled: true,
      Description: 'first key',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      KeySpec: 'SYMMETRIC_DEFAULT',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
    });
    expect(m.DeletionDate).toBeUndefined();
    expect(m.PendingDeletionWindowInDays).toBeUndefined();
  });

  it('DescribeKey finds a key by key ID and by key ARN, with the same metadata as CreateKey', async () => {
    const m = await createKey(kms, 'describe me');
    const byId = await describe_(m.KeyId!);
    const byArn = await describe_(m.Arn!);
    expect(byId).toEqual(m);
    expect(byArn).toEqual(m);
    expect(byId.CreationDate).toBeInstanceOf(Date);
  });

  it('DescribeKey of an unknown key is NotFoundException', async () => {
    expect(await errorName(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })))).toBe('NotFoundException');
    expect(await errorName(kms.send(new DescribeKeyCommand({ KeyId: 'alias/does-not-exist' })))).toBe('NotFoundException');
  });

  it('DisableKey and EnableKey change KeyState and Enabled; a disabled key cannot encrypt', async () => {
    const m = await createKey();
    const ct = await kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: bytes('while enabled') }));
    await kms.send(new DisableKeyCommand({ KeyId: m.KeyId }));
    expect(await describe_(m.KeyId!)).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: bytes('x') })))).toBe('DisabledException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob })))).toBe('DisabledException');
    await kms.send(new EnableKeyCommand({ KeyId: m.Arn }));
    expect(await describe_(m.KeyId!)).toMatchObject({ KeyState: 'Enabled', Enabled: true });
    const pt = await kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
    expect(Buffer.from(pt.Plaintext!).toString()).toBe('while enabled');
  });

  it('UpdateKeyDescription changes the description', async () => {
    const m = await createKey(kms, 'old description');
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: m.KeyId, Description: 'new description' }));
    expect((await describe_(m.KeyId!)).Description).toBe('new description');
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: m.Arn, Description: '' }));
    expect((await describe_(m.KeyId!)).Description).toBe('');
  });
});

describe('ListKeys', () => {
  // A Region of its own, so the listing holds exactly the keys this test made.
  const PAGING_REGION = 'ap-southeast-2';
  let client: KMSClient;
  beforeAll(() => {
    client = kmsClient(kura, { region: PAGING_REGION });
  });
  afterAll(() => client.destroy());

  it('pages with Limit and Marker: each key exactly once, Truncated until the last page', async () => {
    const created: KeyMetadata[] = [];
    for (let i = 0; i < 7; i++) created.push(await createKey(client, `paging ${i}`));
    const seen: KeyListEntry[] = [];
    const pageSizes: number[] = [];
    let marker: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await client.send(new ListKeysCommand({ Limit: 3, Marker: marker }));
      pageSizes.push(page.Keys!.length);
      seen.push(...page.Keys!);
      if (!page.Truncated) {
        expect(page.NextMarker).toBeUndefined();
        break;
      }
      expect(typeof page.NextMarker).toBe('string');
      expect(page.NextMarker!.length).toBeGreaterThan(0);
      marker = page.NextMarker;
    }
    expect(pageSizes).toEqual([3, 3, 1]);
    const ids = seen.map((k) => k.KeyId!);
    expect(new Set(ids).size).toBe(7);
    expect(ids.slice().sort()).toEqual(created.map((m) => m.KeyId!).sort());
    for (const k of seen) expect(k.KeyArn).toBe(keyArn(k.KeyId!, PAGING_REGION));
  });

  it('without Limit lists every key of the Region in one page', async () => {
    const page = await client.send(new ListKeysCommand({}));
    expect(page.Truncated).toBe(false);
    expect(page.Keys!.length).toBe(7);
  });

  it('a garbage Marker is InvalidMarkerException', async () => {
    expect(await errorName(client.send(new ListKeysCommand({ Marker: 'garbage' })))).toBe('InvalidMarkerException');
    expect(await errorName(client.send(new ListKeysCommand({ Limit: 2, Marker: 'bm90LWEtbWFya2Vy' })))).toBe('InvalidMarkerException');
  });
});

describe('Encrypt, Decrypt, ReEncrypt', () => {
  let a: KeyMetadata;
  let b: KeyMetadata;
  beforeAll(async () => {
    a = await createKey(kms, 'crypto A');
    b = await createKey(kms, 'crypto B');
  });

  it('Encrypt returns the key ARN as KeyId; Decrypt with and without KeyId gives the plaintext back', async () => {
    const plaintext = randomBytes(4096);
    const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: plaintext }));
    expect(enc.KeyId).toBe(a.Arn);
    expect(enc.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(enc.CiphertextBlob).toBeInstanceOf(Uint8Array);
    expect(enc.CiphertextBlob!.length).toBeGreaterThan(plaintext.length);
    expect(Buffer.from(enc.CiphertextBlob!).includes(plaintext.subarray(0, 32))).toBe(false);

    const noKey = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    expect(same(noKey.Plaintext, plaintext)).toBe(true);
    expect(noKey.KeyId).toBe(a.Arn);
    expect(noKey.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(typeof noKey.KeyMaterialId).toBe('string');

    for (const id of [a.KeyId!, a.Arn!]) {
      const withKey = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: id }));
      expect(same(withKey.Plaintext, plaintext)).toBe(true);
      expect(withKey.KeyId).toBe(a.Arn);
    }
  });

  it('Encrypt by key ARN also returns the key ARN, and two encryptions differ', async () => {
    const one = await kms.send(new EncryptCommand({ KeyId: a.Arn, Plaintext: bytes('same') }));
    const two = await kms.send(new EncryptCommand({ KeyId: a.Arn, Plaintext: bytes('same') }));
    expect(one.KeyId).toBe(a.Arn);
    expect(Buffer.from(one.CiphertextBlob!).equals(Buffer.from(two.CiphertextBlob!))).toBe(false);
  });

  it('Decrypt with the KeyId of another key is IncorrectKeyException', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('for A') }));
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: b.KeyId })))).toBe('IncorrectKeyException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: b.Arn })))).toBe('IncorrectKeyException');
  });

  it('Decrypt of a tampered or truncated ciphertext is InvalidCiphertextException', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('intact') }));
    const blob = Buffer.from(enc.CiphertextBlob!);
    const flipped = Buffer.from(blob);
    flipped[flipped.length - 1]! ^= 0x01;
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: flipped })))).toBe('InvalidCiphertextException');
    const truncated = blob.subarray(0, blob.length - 1);
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: truncated, KeyId: a.KeyId })))).toBe('InvalidCiphertextException');
  });

  it('DryRun on Encrypt, Decrypt, ReEncrypt and GenerateDataKey is DryRunOperationException', async () => {
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('dry'), DryRun: true })))).toBe('DryRunOperationException');
    const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('wet') }));
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, DryRun: true })))).toBe('DryRunOperationException');
    expect(await errorName(kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b.KeyId, DryRun: true })))).toBe(
      'DryRunOperationException',
    );
    expect(await errorName(kms.send(new GenerateDataKeyCommand({ KeyId: a.KeyId, NumberOfBytes: 32, DryRun: true })))).toBe('DryRunOperationException');
  });

  // The API reference: DryRun "Checks if your request will succeed"; the Developer Guide (Testing your
  // permissions): DryRunOperationException means the request would have succeeded without DryRun.
  it('an Encrypt, Decrypt or ReEncrypt dry run fails as the call would, and is DryRunOperationException only where the call succeeds', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('dry or wet'), EncryptionContext: { tenant: '1' } }));
    const blob = Buffer.from(enc.CiphertextBlob!);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 0x01;
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!;
    const decrypts: [string, DecryptCommandInput][] = [
      ['the right context', { CiphertextBlob: blob, EncryptionContext: { tenant: '1' } }],
      ['the right context and KeyId', { CiphertextBlob: blob, EncryptionContext: { tenant: '1' }, KeyId: a.Arn }],
      ['another key', { CiphertextBlob: blob, EncryptionContext: { tenant: '1' }, KeyId: b.KeyId }],
      ['a wrong context', { CiphertextBlob: blob, EncryptionContext: { tenant: '2' } }],
      ['a tampered ciphertext', { CiphertextBlob: tampered, EncryptionContext: { tenant: '1' } }],
      ['an RSA algorithm for a symmetric key', { CiphertextBlob: blob, EncryptionContext: { tenant: '1' }, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }],
    ];
    const expected = ['ok', 'ok', 'IncorrectKeyException', 'InvalidCiphertextException', 'InvalidCiphertextException', 'InvalidKeyUsageException'];
    expect(await dryRunsAnswerAsCalls(decrypts.map(([name, input]) => [name, (DryRun) => kms.send(new DecryptCommand({ ...input, DryRun }))]))).toEqual(expected);

    const reEncrypts: [string, ReEncryptCommandInput][] = [
      ['to B', { CiphertextBlob: blob, SourceEncryptionContext: { tenant: '1' }, DestinationKeyId: b.KeyId }],
      ['a wrong source context', { CiphertextBlob: blob, SourceEncryptionContext: { tenant: '2' }, DestinationKeyId: b.KeyId }],
      ['another source key', { CiphertextBlob: blob, SourceEncryptionContext: { tenant: '1' }, SourceKeyId: b.KeyId, DestinationKeyId: b.KeyId }],
      [
        'a context for an RSA destination',
        { CiphertextBlob: blob, SourceEncryptionContext: { tenant: '1' }, DestinationKeyId: rsa.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationEncryptionContext: { x: 'y' } },
      ],
    ];
    expect(await dryRunsAnswerAsCalls(reEncrypts.map(([name, input]) => [name, (DryRun) => kms.send(new ReEncryptCommand({ ...input, DryRun }))]))).toEqual([
      'ok',
      'InvalidCiphertextException',
      'IncorrectKeyException',
      'ValidationException',
    ]);

    const encrypts: [string, EncryptCommandInput][] = [
      ['a symmetric key', { KeyId: a.KeyId, Plaintext: bytes('dry'), EncryptionContext: { tenant: '1' } }],
      ['an RSA key', { KeyId: rsa.KeyId, Plaintext: bytes('dry'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }],
      ['a context for an RSA key', { KeyId: rsa.KeyId, Plaintext: bytes('dry'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { x: 'y' } }],
      ['a plaintext too long for RSA_2048 with OAEP SHA-256', { KeyId: rsa.KeyId, Plaintext: new Uint8Array(191), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }],
    ];
    expect(await dryRunsAnswerAsCalls(encrypts.map(([name, input]) => [name, (DryRun) => kms.send(new EncryptCommand({ ...input, DryRun }))]))).toEqual(['ok', 'ok', 'ValidationException', 'ValidationException']);
  });

  // The API reference (DryRunModifiers): "When set to IGNORE_CIPHERTEXT, KMS performs only authorization
  // validation without ciphertext validation"; CiphertextBlob is then optional and KeyId (SourceKeyId) required.
  it('DryRunModifiers IGNORE_CIPHERTEXT checks the key without a ciphertext, and needs the key named', async () => {
    const ignore = { DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT' as const] };
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    const garbage = Buffer.from('not a ciphertext at all');
    expect(await errorName(kms.send(new DecryptCommand({ KeyId: a.KeyId, ...ignore })))).toBe('DryRunOperationException');
    expect(await errorName(kms.send(new DecryptCommand({ KeyId: a.Arn, CiphertextBlob: garbage, ...ignore })))).toBe('DryRunOperationException');
    expect(await errorName(kms.send(new DecryptCommand({ ...ignore })))).toBe('ValidationException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: garbage, ...ignore })))).toBe('ValidationException');
    // The key's rules still apply: its usage, its algorithm.
    expect(await errorName(kms.send(new DecryptCommand({ KeyId: signing.KeyId, ...ignore })))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new DecryptCommand({ KeyId: a.KeyId, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1', ...ignore })))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new DecryptCommand({ KeyId: 'alias/no-such-alias', ...ignore })))).toBe('NotFoundException');
    // The modifier applies only to a dry run: without DryRun the call needs its ciphertext.
    expect(await errorName(kms.send(new DecryptCommand({ KeyId: a.KeyId, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })))).toBe('ValidationException');

    expect(await errorName(kms.send(new ReEncryptCommand({ SourceKeyId: a.KeyId, DestinationKeyId: b.KeyId, ...ignore })))).toBe('DryRunOperationException');
    expect(await errorName(kms.send(new ReEncryptCommand({ SourceKeyId: a.KeyId, CiphertextBlob: garbage, DestinationKeyId: b.KeyId, ...ignore })))).toBe(
      'DryRunOperationException',
    );
    expect(await errorName(kms.send(new ReEncryptCommand({ DestinationKeyId: b.KeyId, ...ignore })))).toBe('ValidationException');
    expect(await errorName(kms.send(new ReEncryptCommand({ SourceKeyId: signing.KeyId, DestinationKeyId: b.KeyId, ...ignore })))).toBe('InvalidKeyUsageException');
    expect(await errorName(kms.send(new ReEncryptCommand({ SourceKeyId: a.KeyId, DestinationKeyId: signing.KeyId, ...ignore })))).toBe('InvalidKeyUsageException');
    // An RSA destination binds no encryption context: the dry run answers as the call would, even
    // though it has no ciphertext to re-encrypt.
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!;
    const toRsa = { SourceKeyId: a.KeyId, DestinationKeyId: rsa.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, ...ignore };
    expect(await errorName(kms.send(new ReEncryptCommand({ ...toRsa, DestinationEncryptionContext: { purpose: 'not for RSA' } })))).toBe('ValidationException');
    expect(await errorName(kms.send(new ReEncryptCommand(toRsa)))).toBe('DryRunOperationException');
  });

  it('Encrypt checks the plaintext length (1..4096) and the algorithm of a symmetric key', async () => {
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.alloc(4097) })))).toBe('ValidationException');
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.alloc(0) })))).toBe('ValidationException');
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toBe(
      'InvalidKeyUsageException',
    );
  });

  it('ReEncrypt moves a ciphertext to another key and another encryption context', async () => {
    const srcCtx = { purpose: 'source', tenant: 't1' };
    const dstCtx = { purpose: 'destination' };
    const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('moving'), EncryptionContext: srcCtx }));
    const re = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        SourceKeyId: a.KeyId,
        SourceEncryptionContext: srcCtx,
        DestinationKeyId: b.KeyId,
        DestinationEncryptionContext: dstCtx,
      }),
    );
    expect(re.SourceKeyId).toBe(a.Arn);
    expect(re.KeyId).toBe(b.Arn);
    expect(re.SourceEncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(re.DestinationEncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(re.CiphertextBlob).toBeInstanceOf(Uint8Array);
    expect(re.SourceKeyMaterialId).toBe(a.CurrentKeyMaterialId);
    expect(re.DestinationKeyMaterialId).toBe(b.CurrentKeyMaterialId);

    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: dstCtx }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('moving');
    expect(dec.KeyId).toBe(b.Arn);
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: srcCtx })))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: dstCtx, KeyId: a.KeyId })))).toBe(
      'IncorrectKeyException',
    );
  });

  it('ReEncrypt with the wrong source context is InvalidCiphertextException, with the wrong SourceKeyId IncorrectKeyException', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: a.KeyId, Plaintext: bytes('x'), EncryptionContext: { k: 'v' } }));
    expect(
      await errorName(kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { k: 'w' }, DestinationKeyId: b.KeyId }))),
    ).toBe('InvalidCiphertextException');
    expect(
      await errorName(kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceKeyId: b.KeyId, SourceEncryptionContext: { k: 'v' }, DestinationKeyId: b.KeyId }))),
    ).toBe('IncorrectKeyException');
  });
});

describe('encryption context', () => {
  let k: KeyMetadata;
  beforeAll(async () => {
    k = await createKey(kms, 'context key');
  });

  it('binds the context unambiguously: {"a":"bc"} does not open with {"ab":"c"} nor with none', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: bytes('bound'), EncryptionContext: { a: 'bc' } }));
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { ab: 'c' } })))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'bc', x: 'y' } })))).toBe(
      'InvalidCiphertextException',
    );
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'bc' } }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('bound');
  });

  it('a ciphertext made without context does not open with one', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: bytes('free') }));
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'bc' } })))).toBe('InvalidCiphertextException');
  });

  it('the order of context keys does not matter', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: bytes('ordered'), EncryptionContext: { x: '1', y: '2' } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { y: '2', x: '1' } }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('ordered');
  });
});

describe('GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom', () => {
  let k: KeyMetadata;
  beforeAll(async () => {
    k = await createKey(kms, 'data keys');
  });

  it('GenerateDataKey with KeySpec gives 16 or 32 bytes whose ciphertext decrypts to the same bytes', async () => {
    for (const [spec, len] of [
      ['AES_128', 16],
      ['AES_256', 32],
    ] as const) {
      const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: spec, EncryptionContext: { use: 'dk' } }));
      expect(dk.KeyId).toBe(k.Arn);
      expect(dk.Plaintext!.length).toBe(len);
      expect(typeof dk.KeyMaterialId).toBe('string');
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { use: 'dk' } }));
      expect(same(dec.Plaintext, dk.Plaintext!)).toBe(true);
      expect(dec.KeyMaterialId).toBe(dk.KeyMaterialId);
    }
  });

  it('GenerateDataKey with NumberOfBytes gives that many bytes', async () => {
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: k.Arn, NumberOfBytes: 64 }));
    expect(dk.Plaintext!.length).toBe(64);
    expect(dk.KeyId).toBe(k.Arn);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    expect(same(dec.Plaintext, dk.Plaintext!)).toBe(true);
  });

  it('GenerateDataKey with neither KeySpec nor NumberOfBytes is ValidationException', async () => {
    expect(await errorName(kms.send(new GenerateDataKeyCommand({ KeyId: k.KeyId })))).toBe('ValidationException');
  });

  it('GenerateDataKeyWithoutPlaintext returns only the ciphertext, which decrypts to a key of the asked size', async () => {
    const dk = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.KeyId, KeySpec: 'AES_128', EncryptionContext: { w: 'o' } }));
    expect(dk.KeyId).toBe(k.Arn);
    expect((dk as { Plaintext?: unknown }).Plaintext).toBeUndefined();
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { w: 'o' } }));
    expect(dec.Plaintext!.length).toBe(16);
    expect(await errorName(kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.KeyId })))).toBe('ValidationException');
  });

  it('GenerateRandom gives 1 and 1024 bytes; 1025 is ValidationException', async () => {
    const one = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1 }));
    expect(one.Plaintext!.length).toBe(1);
    const big = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }));
    expect(big.Plaintext!.length).toBe(1024);
    const again = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }));
    expect(same(again.Plaintext, big.Plaintext!)).toBe(false);
    expect(await errorName(kms.send(new GenerateRandomCommand({ NumberOfBytes: 1025 })))).toBe('ValidationException');
  });
});

// The same rule as for Encrypt, Decrypt and ReEncrypt above, for every other operation whose input has
// DryRun in the API model: the dry run answers what the call answers, or DryRunOperationException where
// the call succeeds. AWS documents no dry-run answer for a signature or MAC that does not verify; Kura
// answers KMSInvalidSignatureException and KMSInvalidMacException, as the call does, since
// DryRunOperationException would say the request succeeds.
describe('DryRun of the other operations that take it', () => {
  it('a GenerateDataKey(Pair)(WithoutPlaintext), Sign, Verify, GenerateMac, VerifyMac, DeriveSharedSecret or grant dry run fails as the call would', async () => {
    const made = async (KeySpec: string, KeyUsage: string) => (await kms.send(new CreateKeyCommand({ KeySpec: KeySpec as never, KeyUsage: KeyUsage as never }))).KeyMetadata!;
    const sym = await createKey(kms, 'dry runs');
    const signer = await made('ECC_NIST_P256', 'SIGN_VERIFY');
    const hmac = await made('HMAC_256', 'GENERATE_VERIFY_MAC');
    const agreement = await made('ECC_NIST_P256', 'KEY_AGREEMENT');
    const message = bytes('signed, or not');
    const digest = createHash('sha256').update(message).digest();
    const { Signature: signature } = await kms.send(new SignCommand({ KeyId: signer.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const badSignature = Buffer.from(signature!);
    badSignature[badSignature.length - 1]! ^= 0x01;
    const { Mac: mac } = await kms.send(new GenerateMacCommand({ KeyId: hmac.KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
    const badMac = Buffer.from(mac!);
    badMac[0]! ^= 0x01;
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
    const otherCurve = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'der' });
    const grantee = `arn:aws:iam::${account}:root`;

    const cases: [string, string, (DryRun: boolean) => Promise<unknown>][] = [
      ['GenerateDataKey', 'ok', (DryRun) => kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, NumberOfBytes: 32, DryRun }))],
      ['GenerateDataKey without a size', 'ValidationException', (DryRun) => kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, DryRun }))],
      ['GenerateDataKey under a signing key', 'InvalidKeyUsageException', (DryRun) => kms.send(new GenerateDataKeyCommand({ KeyId: signer.KeyId, NumberOfBytes: 32, DryRun }))],
      ['GenerateDataKeyWithoutPlaintext', 'ok', (DryRun) => kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: sym.KeyId, KeySpec: 'AES_128', DryRun }))],
      ['GenerateDataKeyPair', 'ok', (DryRun) => kms.send(new GenerateDataKeyPairCommand({ KeyId: sym.KeyId, KeyPairSpec: 'ECC_NIST_P256', DryRun }))],
      [
        'GenerateDataKeyPair under a signing key',
        'InvalidKeyUsageException',
        (DryRun) => kms.send(new GenerateDataKeyPairCommand({ KeyId: signer.KeyId, KeyPairSpec: 'ECC_NIST_P256', DryRun })),
      ],
      ['GenerateDataKeyPair of a spec that is none', 'ValidationException', (DryRun) => kms.send(new GenerateDataKeyPairCommand({ KeyId: sym.KeyId, KeyPairSpec: 'HMAC_256' as never, DryRun }))],
      ['GenerateDataKeyPairWithoutPlaintext', 'ok', (DryRun) => kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: sym.KeyId, KeyPairSpec: 'ECC_NIST_P256', DryRun }))],
      ['Sign a RAW message', 'ok', (DryRun) => kms.send(new SignCommand({ KeyId: signer.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256', DryRun }))],
      ['Sign a digest', 'ok', (DryRun) => kms.send(new SignCommand({ KeyId: signer.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256', DryRun }))],
      [
        'Sign a digest of the wrong length',
        'ValidationException',
        (DryRun) => kms.send(new SignCommand({ KeyId: signer.KeyId, Message: digest.subarray(1), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256', DryRun })),
      ],
      [
        'Sign an EXTERNAL_MU message with ECDSA',
        'ValidationException',
        (DryRun) => kms.send(new SignCommand({ KeyId: signer.KeyId, Message: randomBytes(64), MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ECDSA_SHA_256', DryRun })),
      ],
      ['Sign with an HMAC key', 'InvalidKeyUsageException', (DryRun) => kms.send(new SignCommand({ KeyId: hmac.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256', DryRun }))],
      ['Verify a good signature', 'ok', (DryRun) => kms.send(new VerifyCommand({ KeyId: signer.KeyId, Message: message, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256', DryRun }))],
      [
        'Verify a good signature of a digest',
        'ok',
        (DryRun) => kms.send(new VerifyCommand({ KeyId: signer.KeyId, Message: digest, MessageType: 'DIGEST', Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256', DryRun })),
      ],
      [
        'Verify a bad signature',
        'KMSInvalidSignatureException',
        (DryRun) => kms.send(new VerifyCommand({ KeyId: signer.KeyId, Message: message, Signature: badSignature, SigningAlgorithm: 'ECDSA_SHA_256', DryRun })),
      ],
      [
        'Verify another message',
        'KMSInvalidSignatureException',
        (DryRun) => kms.send(new VerifyCommand({ KeyId: signer.KeyId, Message: bytes('another'), Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256', DryRun })),
      ],
      [
        'Verify a digest of the wrong length',
        'ValidationException',
        (DryRun) => kms.send(new VerifyCommand({ KeyId: signer.KeyId, Message: digest.subarray(1), MessageType: 'DIGEST', Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256', DryRun })),
      ],
      ['GenerateMac', 'ok', (DryRun) => kms.send(new GenerateMacCommand({ KeyId: hmac.KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_256', DryRun }))],
      ['GenerateMac with another algorithm', 'InvalidKeyUsageException', (DryRun) => kms.send(new GenerateMacCommand({ KeyId: hmac.KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_512', DryRun }))],
      ['VerifyMac a good MAC', 'ok', (DryRun) => kms.send(new VerifyMacCommand({ KeyId: hmac.KeyId, Message: message, Mac: mac, MacAlgorithm: 'HMAC_SHA_256', DryRun }))],
      ['VerifyMac a wrong MAC', 'KMSInvalidMacException', (DryRun) => kms.send(new VerifyMacCommand({ KeyId: hmac.KeyId, Message: message, Mac: badMac, MacAlgorithm: 'HMAC_SHA_256', DryRun }))],
      ['VerifyMac a truncated MAC', 'KMSInvalidMacException', (DryRun) => kms.send(new VerifyMacCommand({ KeyId: hmac.KeyId, Message: message, Mac: mac!.subarray(1), MacAlgorithm: 'HMAC_SHA_256', DryRun }))],
      ['DeriveSharedSecret', 'ok', (DryRun) => kms.send(new DeriveSharedSecretCommand({ KeyId: agreement.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer, DryRun }))],
      [
        'DeriveSharedSecret with bytes that are no public key',
        'ValidationException',
        (DryRun) => kms.send(new DeriveSharedSecretCommand({ KeyId: agreement.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: randomBytes(91), DryRun })),
      ],
      [
        'DeriveSharedSecret with a public key of another curve',
        'ValidationException',
        (DryRun) => kms.send(new DeriveSharedSecretCommand({ KeyId: agreement.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: otherCurve, DryRun })),
      ],
      ['CreateGrant', 'UnsupportedOperationException', (DryRun) => kms.send(new CreateGrantCommand({ KeyId: sym.KeyId, GranteePrincipal: grantee, Operations: ['Encrypt'], DryRun }))],
      ['RetireGrant', 'UnsupportedOperationException', (DryRun) => kms.send(new RetireGrantCommand({ KeyId: sym.Arn, GrantId: 'a'.repeat(64), DryRun }))],
      ['RevokeGrant', 'UnsupportedOperationException', (DryRun) => kms.send(new RevokeGrantCommand({ KeyId: sym.KeyId, GrantId: 'a'.repeat(64), DryRun }))],
    ];
    expect(await dryRunsAnswerAsCalls(cases.map(([name, , send]) => [name, send]))).toEqual(cases.map(([, expected]) => expected));
  });
});

describe('aliases', () => {
  const ALIAS_REGION = 'ca-central-1';
  let client: KMSClient;
  let a: KeyMetadata;
  let b: KeyMetadata;
  beforeAll(async () => {
    client = kmsClient(kura, { region: ALIAS_REGION });
    a = await createKey(client, 'alias target A');
    b = await createKey(client, 'alias target B');
  });
  afterAll(() => client.destroy());

  const aliasArn = (name: string) => `arn:aws:kms:${ALIAS_REGION}:${account}:${name}`;

  it('CreateAlias: the alias name and alias ARN resolve to the key; Encrypt by alias returns the key ARN', async () => {
    await client.send(new CreateAliasCommand({ AliasName: 'alias/sdk/main', TargetKeyId: a.KeyId }));
    expect((await describe_('alias/sdk/main', client)).KeyId).toBe(a.KeyId);
    expect((await describe_(aliasArn('alias/sdk/main'), client)).KeyId).toBe(a.KeyId);
    const enc = await client.send(new EncryptCommand({ KeyId: 'alias/sdk/main', Plaintext: bytes('via alias') }));
    expect(enc.KeyId).toBe(a.Arn);
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: 'alias/sdk/main' }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('via alias');
    expect(await errorName(client.send(new CreateAliasCommand({ AliasName: 'alias/sdk/main', TargetKeyId: b.KeyId })))).toBe('AlreadyExistsException');
  });

  it('ListAliases pages with Limit 2 over 5 aliases and gives the AWS AliasListEntry fields', async () => {
    const names = ['alias/page-1', 'alias/page-2', 'alias/page-3', 'alias/page-4', 'alias/page-5'];
    for (const n of names) await client.send(new CreateAliasCommand({ AliasName: n, TargetKeyId: b.Arn }));
    const seen: AliasListEntry[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (; pages < 20; pages++) {
      const page = await client.send(new ListAliasesCommand({ Limit: 2, Marker: marker }));
      expect(page.Aliases!.length).toBeLessThanOrEqual(2);
      seen.push(...page.Aliases!);
      if (!page.Truncated) {
        expect(page.NextMarker).toBeUndefined();
        break;
      }
      expect(page.NextMarker).toBeTruthy();
      marker = page.NextMarker;
    }
    // 5 page aliases + alias/sdk/main: at least 3 pages of 2.
    expect(pages + 1).toBeGreaterThanOrEqual(3);
    const ours = seen.filter((x) => names.includes(x.AliasName!));
    expect(ours.map((x) => x.AliasName).sort()).toEqual(names);
    const allNames = seen.map((x) => x.AliasName);
    expect(new Set(allNames).size).toBe(allNames.length);
    for (const x of ours) {
      expect(x.AliasArn).toBe(aliasArn(x.AliasName!));
      expect(x.TargetKeyId).toBe(b.KeyId);
      expect(x.CreationDate).toBeInstanceOf(Date);
      expect(x.LastUpdatedDate).toBeInstanceOf(Date);
    }
    expect(await errorName(client.send(new ListAliasesCommand({ Marker: 'garbage' })))).toBe('InvalidMarkerException');
  });

  it('ListAliases filtered by KeyId lists only the aliases of that key', async () => {
    const forA = await client.send(new ListAliasesCommand({ KeyId: a.KeyId }));
    expect(forA.Aliases!.map((x) => x.AliasName)).toEqual(['alias/sdk/main']);
    const forB = await client.send(new ListAliasesCommand({ KeyId: b.Arn }));
    expect(forB.Aliases!.map((x) => x.AliasName).sort()).toEqual(['alias/page-1', 'alias/page-2', 'alias/page-3', 'alias/page-4', 'alias/page-5']);
    expect(forB.Truncated).toBe(false);
  });

  it('UpdateAlias points the alias at another key', async () => {
    await client.send(new UpdateAliasCommand({ AliasName: 'alias/sdk/main', TargetKeyId: b.KeyId }));
    expect((await describe_('alias/sdk/main', client)).KeyId).toBe(b.KeyId);
    const enc = await client.send(new EncryptCommand({ KeyId: 'alias/sdk/main', Plaintext: bytes('now B') }));
    expect(enc.KeyId).toBe(b.Arn);
    const forA = await client.send(new ListAliasesCommand({ KeyId: a.KeyId }));
    expect(forA.Aliases).toEqual([]);
    const entry = (await client.send(new ListAliasesCommand({ KeyId: b.KeyId }))).Aliases!.find((x) => x.AliasName === 'alias/sdk/main');
    expect(entry?.TargetKeyId).toBe(b.KeyId);
    expect(await errorName(client.send(new UpdateAliasCommand({ AliasName: 'alias/not-there', TargetKeyId: b.KeyId })))).toBe('NotFoundException');
  });

  it('DeleteAlias removes the alias; deleting a missing alias is NotFoundException', async () => {
    await client.send(new DeleteAliasCommand({ AliasName: 'alias/sdk/main' }));
    expect(await errorName(client.send(new DescribeKeyCommand({ KeyId: 'alias/sdk/main' })))).toBe('NotFoundException');
    expect(await errorName(client.send(new DeleteAliasCommand({ AliasName: 'alias/sdk/main' })))).toBe('NotFoundException');
    expect((await describe_(b.KeyId!, client)).KeyState).toBe('Enabled');
  });

  it('an alias name in the reserved alias/aws/ namespace is refused and not created', async () => {
    // AWS documents the prefix as reserved without naming the error; Kura answers InvalidAliasNameException.
    expect(await errorName(client.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: a.KeyId })))).not.toBe('ok');
    expect(await errorName(client.send(new DescribeKeyCommand({ KeyId: 'alias/aws/mine' })))).toBe('NotFoundException');
  });
});

describe('tags', () => {
  let k: KeyMetadata;
  beforeAll(async () => {
    k = (await kms.send(new CreateKeyCommand({ Description: 'tagged', Tags: [{ TagKey: 'created', TagValue: 'at-create' }] }))).KeyMetadata!;
  });

  const allTags = async (limit?: number): Promise<{ tags: Tag[]; pages: number }> => {
    const tags: Tag[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (; pages < 20; ) {
      const page = await kms.send(new ListResourceTagsCommand({ KeyId: k.KeyId, Limit: limit, Marker: marker }));
      pages++;
      if (limit !== undefined) expect(page.Tags!.length).toBeLessThanOrEqual(limit);
      tags.push(...page.Tags!);
      if (!page.Truncated) {
        expect(page.NextMarker).toBeUndefined();
        break;
      }
      expect(page.NextMarker).toBeTruthy();
      marker = page.NextMarker;
    }
    return { tags, pages };
  };

  it('TagResource adds and overwrites tags; ListResourceTags pages over them', async () => {
    await kms.send(
      new TagResourceCommand({
        KeyId: k.KeyId,
        Tags: [
          { TagKey: 'env', TagValue: 'test' },
          { TagKey: 'team', TagValue: 'kura' },
          { TagKey: 'cost', TagValue: '42' },
          { TagKey: 'owner', TagValue: 'ops' },
        ],
      }),
    );
    await kms.send(new TagResourceCommand({ KeyId: k.Arn, Tags: [{ TagKey: 'env', TagValue: 'prod' }] }));
    const { tags, pages } = await allTags(2);
    expect(pages).toBe(3);
    const byKey = Object.fromEntries(tags.map((t) => [t.TagKey, t.TagValue]));
    expect(tags.length).toBe(5);
    expect(byKey).toEqual({ created: 'at-create', env: 'prod', team: 'kura', cost: '42', owner: 'ops' });
  });

  it('UntagResource removes tags', async () => {
    await kms.send(new UntagResourceCommand({ KeyId: k.KeyId, TagKeys: ['team', 'cost'] }));
    const { tags, pages } = await allTags();
    expect(pages).toBe(1);
    expect(tags.map((t) => t.TagKey).sort()).toEqual(['created', 'env', 'owner']);
  });

  it('tag keys starting with aws: are TagException; a garbage Marker is InvalidMarkerException', async () => {
    expect(await errorName(kms.send(new TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] })))).toBe('TagException');
    expect(await errorName(kms.send(new ListResourceTagsCommand({ KeyId: k.KeyId, Marker: 'garbage' })))).toBe('InvalidMarkerException');
  });
});

describe('ScheduleKeyDeletion, CancelKeyDeletion', () => {
  it('refuses a window under 7 days; with 7 the key is PendingDeletion with DeletionDate and the window', async () => {
    const k = await createKey(kms, 'to delete');
    expect(await errorName(kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 6 })))).toBe('ValidationException');
    expect((await describe_(k.KeyId!)).KeyState).toBe('Enabled');

    const before = Date.now();
    const out = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }));
    expect(out.KeyId).toBe(k.Arn);
    expect(out.KeyState).toBe('PendingDeletion');
    expect(out.PendingWindowInDays).toBe(7);
    expect(out.DeletionDate).toBeInstanceOf(Date);
    expect(out.DeletionDate!.getTime()).toBeGreaterThanOrEqual(before + 7 * DAY_MS - 5000);
    expect(out.DeletionDate!.getTime()).toBeLessThanOrEqual(Date.now() + 7 * DAY_MS + 5000);

    const m = await describe_(k.KeyId!);
    expect(m).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false });
    // The model: PendingDeletionWindowInDays is a multi-Region primary's (PendingReplicaDeletion); a single-Region key shows its DeletionDate.
    expect(m.PendingDeletionWindowInDays).toBeUndefined();
    expect(m.DeletionDate).toBeInstanceOf(Date);
    expect(m.DeletionDate!.getTime()).toBe(out.DeletionDate!.getTime());
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: bytes('x') })))).toBe('KMSInvalidStateException');
    expect(await errorName(kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 })))).toBe('KMSInvalidStateException');
    expect(await errorName(kms.send(new EnableKeyCommand({ KeyId: k.KeyId })))).toBe('KMSInvalidStateException');
    expect(await errorName(kms.send(new DisableKeyCommand({ KeyId: k.KeyId })))).toBe('KMSInvalidStateException');

    const cancelled = await kms.send(new CancelKeyDeletionCommand({ KeyId: k.KeyId }));
    expect(cancelled.KeyId).toBe(k.Arn);
    const after = await describe_(k.KeyId!);
    expect(after).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    expect(after.DeletionDate).toBeUndefined();
    expect(after.PendingDeletionWindowInDays).toBeUndefined();
  });

  it('CancelKeyDeletion of a key not pending deletion is KMSInvalidStateException', async () => {
    const k = await createKey();
    expect(await errorName(kms.send(new CancelKeyDeletionCommand({ KeyId: k.KeyId })))).toBe('KMSInvalidStateException');
  });

  it('ScheduleKeyDeletion without a window uses 30 days', async () => {
    const k = await createKey();
    const out = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId }));
    expect(out.PendingWindowInDays).toBe(30);
    expect((await describe_(k.KeyId!)).DeletionDate!.getTime()).toBe(out.DeletionDate!.getTime());
  });
});

describe('rotation', () => {
  it('EnableKeyRotation accepts 90..2560 days; GetKeyRotationStatus reports it; DisableKeyRotation turns it off', async () => {
    const k = await createKey(kms, 'rotating');
    const initial = await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
    expect(initial.KeyRotationEnabled).toBe(false);

    expect(await errorName(kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 89 })))).toBe('ValidationException');
    expect(await errorName(kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 2561 })))).toBe('ValidationException');
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }))).KeyRotationEnabled).toBe(false);

    const before = Date.now();
    await kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 90 }));
    const on = await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.Arn }));
    expect(on.KeyRotationEnabled).toBe(true);
    expect(on.KeyId).toBe(k.Arn);
    expect(on.RotationPeriodInDays).toBe(90);
    expect(on.NextRotationDate).toBeInstanceOf(Date);
    expect(on.NextRotationDate!.getTime()).toBeGreaterThanOrEqual(before + 90 * DAY_MS - 5000);
    expect(on.NextRotationDate!.getTime()).toBeLessThanOrEqual(Date.now() + 90 * DAY_MS + 5000);

    await kms.send(new DisableKeyRotationCommand({ KeyId: k.KeyId }));
    const off = await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
    expect(off.KeyRotationEnabled).toBe(false);
    expect(off.NextRotationDate).toBeUndefined();
  });

  it('a key pending deletion reports rotation off; cancelling the deletion brings the rotation status back', async () => {
    const k = await createKey(kms, 'rotating, then deleted');
    await kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId }));
    const on = await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
    expect(on.KeyRotationEnabled).toBe(true);
    expect(on.RotationPeriodInDays).toBe(365);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }));
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }))).KeyRotationEnabled).toBe(false);
    await kms.send(new CancelKeyDeletionCommand({ KeyId: k.KeyId }));
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }))).KeyRotationEnabled).toBe(true);
  });

  it('RotateKeyOnDemand adds a CURRENT ON_DEMAND material; old ciphertexts still decrypt, under the old material', async () => {
    const k = await createKey(kms, 'on demand');
    const originalMaterial = k.CurrentKeyMaterialId;
    const before = await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: bytes('before rotation'), EncryptionContext: { r: '1' } }));
    const beforeDec = await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: { r: '1' } }));
    expect(typeof beforeDec.KeyMaterialId).toBe('string');
    if (originalMaterial !== undefined) expect(beforeDec.KeyMaterialId).toBe(originalMaterial);

    const none = await kms.send(new ListKeyRotationsCommand({ KeyId: k.KeyId }));
    expect(none.Rotations).toEqual([]);
    expect(none.Truncated).toBe(false);

    const rotated = await kms.send(new RotateKeyOnDemandCommand({ KeyId: k.KeyId }));
    expect(rotated.KeyId).toBe(k.Arn);

    const list = await kms.send(new ListKeyRotationsCommand({ KeyId: k.KeyId }));
    expect(list.Truncated).toBe(false);
    expect(list.Rotations).toHaveLength(1);
    const r = list.Rotations![0]!;
    expect(r.RotationType).toBe('ON_DEMAND');
    expect(r.KeyMaterialState).toBe('CURRENT');
    expect(r.KeyId).toBe(k.KeyId);
    expect(r.RotationDate).toBeInstanceOf(Date);
    expect(r.KeyMaterialId).not.toBe(beforeDec.KeyMaterialId);

    const all = await kms.send(new ListKeyRotationsCommand({ KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(all.Rotations).toHaveLength(2);
    const original = all.Rotations!.find((x) => x.KeyMaterialId === beforeDec.KeyMaterialId);
    expect(original?.KeyMaterialState).toBe('NON_CURRENT');
    const current = all.Rotations!.find((x) => x.KeyMaterialId === r.KeyMaterialId);
    expect(current).toMatchObject({ KeyMaterialState: 'CURRENT', RotationType: 'ON_DEMAND' });

    expect((await describe_(k.KeyId!)).CurrentKeyMaterialId).toBe(r.KeyMaterialId);

    const oldAgain = await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: { r: '1' } }));
    expect(Buffer.from(oldAgain.Plaintext!).toString()).toBe('before rotation');
    expect(oldAgain.KeyMaterialId).toBe(beforeDec.KeyMaterialId);

    const after = await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: bytes('after rotation') }));
    const afterDec = await kms.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob }));
    expect(Buffer.from(afterDec.Plaintext!).toString()).toBe('after rotation');
    expect(afterDec.KeyMaterialId).toBe(r.KeyMaterialId);
    expect(afterDec.KeyMaterialId).not.toBe(oldAgain.KeyMaterialId);
  });

  it('ListKeyRotations pages with Limit', async () => {
    const k = await createKey(kms, 'rotated thrice');
    for (let i = 0; i < 3; i++) await kms.send(new RotateKeyOnDemandCommand({ KeyId: k.KeyId }));
    const ids: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (; pages < 10; ) {
      const page = await kms.send(new ListKeyRotationsCommand({ KeyId: k.KeyId, Limit: 2, Marker: marker }));
      pages++;
      expect(page.Rotations!.length).toBeLessThanOrEqual(2);
      ids.push(...page.Rotations!.map((x) => x.KeyMaterialId!));
      if (!page.Truncated) break;
      marker = page.NextMarker;
    }
    expect(pages).toBe(2);
    expect(new Set(ids).size).toBe(3);
    expect(await errorName(kms.send(new ListKeyRotationsCommand({ KeyId: k.KeyId, Marker: 'garbage' })))).toBe('InvalidMarkerException');
  });
});

describe('key policies', () => {
  let k: KeyMetadata;
  beforeAll(async () => {
    k = await createKey(kms, 'policy key');
  });

  it('GetKeyPolicy returns the default policy as JSON under the name "default"', async () => {
    const out = await kms.send(new GetKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default' }));
    expect(out.PolicyName).toBe('default');
    const doc = JSON.parse(out.Policy!) as { Statement: { Effect: string; Principal: { AWS: string } }[] };
    expect(doc.Statement[0]).toMatchObject({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` } });
    const unnamed = await kms.send(new GetKeyPolicyCommand({ KeyId: k.Arn }));
    expect(unnamed.Policy).toBe(out.Policy);
  });

  it('PutKeyPolicy stores a policy; malformed JSON is MalformedPolicyDocumentException', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Id: 'sdk-test',
      Statement: [{ Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
    });
    await kms.send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: policy }));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: k.KeyId }))).Policy).toBe(policy);
    expect(await errorName(kms.send(new PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: '{"Statement": [' })))).toBe(
      'MalformedPolicyDocumentException',
    );
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: k.KeyId }))).Policy).toBe(policy);
  });

  it('ListKeyPolicies lists "default"', async () => {
    const out = await kms.send(new ListKeyPoliciesCommand({ KeyId: k.KeyId }));
    expect(out.PolicyNames).toEqual(['default']);
    expect(out.Truncated).toBe(false);
  });
});

describe('Regions, and operations Kura does not implement', () => {
  it('a key made in us-east-1 is not found from eu-west-1 and not listed there', async () => {
    const k = await createKey(kms, 'us-east-1 only');
    const eu = kmsClient(kura, { region: 'eu-west-1' });
    try {
      expect(await errorName(eu.send(new DescribeKeyCommand({ KeyId: k.KeyId })))).toBe('NotFoundException');
      expect(await errorName(eu.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: bytes('x') })))).toBe('NotFoundException');
      const listed = await eu.send(new ListKeysCommand({}));
      expect(listed.Keys!.some((x) => x.KeyId === k.KeyId)).toBe(false);
      const home = await kms.send(new ListKeysCommand({}));
      expect(home.Keys!.some((x) => x.KeyId === k.KeyId)).toBe(true);
    } finally {
      eu.destroy();
    }
  });

  it('CreateGrant is UnsupportedOperationException; Sign with a symmetric key is InvalidKeyUsageException', async () => {
    const k = await createKey();
    expect(
      await errorName(kms.send(new CreateGrantCommand({ KeyId: k.KeyId, GranteePrincipal: `arn:aws:iam::${account}:root`, Operations: ['Encrypt'] }))),
    ).toBe('UnsupportedOperationException');
    expect(await errorName(kms.send(new SignCommand({ KeyId: k.KeyId, Message: bytes('m'), SigningAlgorithm: 'ECDSA_SHA_256' })))).toBe(
      'InvalidKeyUsageException',
    );
  });
});
