// Drives a real Kura (dev mode) with the unchanged AWS CLI: Debian's v2 at /usr/bin/aws (2.9.19, which
// does not read AWS_ENDPOINT_URL_KMS, so every call passes --endpoint-url), and, for the operations its
// older model lacks (RotateKeyOnDemand, ListKeyRotations, RotationPeriodInDays), the newer v1 `aws`
// found on PATH. Outputs are checked as parsed JSON and decoded bytes, not only exit codes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli, DEBIAN_AWS, REGION } from '../support/aws-cli.js';

const ACCOUNT = '111122223333';
const CALL_TIMEOUT_MS = 30_000;
const DAY_MS = 24 * 60 * 60 * 1000;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const KEY_ARN = new RegExp(`^arn:aws:kms:${REGION}:${ACCOUNT}:key/(${UUID})$`);

// ---- output shapes (the fields these tests read, as the CLI prints them) ----

/** v2 prints timestamps as ISO strings, v1 as epoch seconds. */
type Timestamp = string | number;

interface KeyMetadata {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: Timestamp;
  Enabled: boolean;
  Description: string;
  KeyUsage: string;
  KeyState: string;
  DeletionDate?: Timestamp;
  Origin: string;
  KeyManager: string;
  KeySpec: string;
  EncryptionAlgorithms: string[];
}
interface KeyOut { KeyMetadata: KeyMetadata }
interface CiphertextOut { CiphertextBlob: string; KeyId: string; EncryptionAlgorithm?: string }
interface PlaintextOut { Plaintext: string; KeyId: string; EncryptionAlgorithm?: string; KeyMaterialId?: string }
interface DataKeyOut { CiphertextBlob: string; Plaintext?: string; KeyId: string }
interface ReEncryptOut { CiphertextBlob: string; SourceKeyId: string; KeyId: string; SourceEncryptionAlgorithm: string; DestinationEncryptionAlgorithm: string }
interface Tag { TagKey: string; TagValue: string }
interface AliasEntry { AliasName: string; AliasArn: string; TargetKeyId?: string }
interface ScheduleOut { KeyId: string; DeletionDate: Timestamp; KeyState: string; PendingWindowInDays: number }
interface RotationStatusOut { KeyRotationEnabled: boolean; RotationPeriodInDays?: number; NextRotationDate?: Timestamp }
interface RotationEntry { KeyId: string; KeyMaterialId: string; KeyMaterialState: string; RotationDate?: Timestamp; RotationType?: string }

// ---- the CLI harness ----

const cli = new AwsCli('kura-aws-cli-', CALL_TIMEOUT_MS);
const { awsRun, awsJson, awsFail, findNewerAws } = cli;
/** A key for the stateless crypto tests; tests that change a key's state make their own. */
let shared: KeyMetadata;

/** Writes bytes to a fresh file in the work dir and returns a `fileb://` reference to it. */
let fileSeq = 0;
function fileb(bytes: Buffer): string {
  const p = path.join(cli.work, `blob-${++fileSeq}.bin`);
  fs.writeFileSync(p, bytes);
  return `fileb://${p}`;
}

const b64 = (s: string) => Buffer.from(s, 'base64');
const toMs = (t: Timestamp) => (typeof t === 'number' ? t * 1000 : Date.parse(t));

async function createKey(description = 'aws-cli test key'): Promise<KeyMetadata> {
  return (await awsJson<KeyOut>(['kms', 'create-key', '--description', description])).KeyMetadata;
}

async function describeKey(keyId: string): Promise<KeyMetadata> {
  return (await awsJson<KeyOut>(['kms', 'describe-key', '--key-id', keyId])).KeyMetadata;
}

async function encrypt(keyId: string, plaintext: Buffer, extra: string[] = [], bin = DEBIAN_AWS): Promise<CiphertextOut> {
  return awsJson<CiphertextOut>(['kms', 'encrypt', '--key-id', keyId, '--plaintext', fileb(plaintext), ...extra], bin);
}

async function decrypt(ciphertext: Buffer, extra: string[] = [], bin = DEBIAN_AWS): Promise<PlaintextOut> {
  return awsJson<PlaintextOut>(['kms', 'decrypt', '--ciphertext-blob', fileb(ciphertext), ...extra], bin);
}

beforeAll(async () => {
  await cli.start();
  expect(cli.kura.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
  shared = await createKey('shared by the stateless tests');
});

afterAll(() => cli.stop());

describe('AWS CLI against Kura', { timeout: 180_000 }, () => {
  describe('keys', () => {
    it('create-key with description and tags, describe-key, list-keys', async () => {
      const created = (
        await awsJson<KeyOut>([
          'kms', 'create-key', '--description', 'made by the aws cli',
          '--tags', 'TagKey=project,TagValue=kura', 'TagKey=owner,TagValue=cli',
        ])
      ).KeyMetadata;
      expect(created.KeyId).toMatch(new RegExp(`^${UUID}$`));
      expect(created.Arn).toBe(`arn:aws:kms:${REGION}:${ACCOUNT}:key/${created.KeyId}`);
      expect(created).toMatchObject({
        AWSAccountId: ACCOUNT,
        Description: 'made by the aws cli',
        KeyState: 'Enabled',
        Enabled: true,
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeySpec: 'SYMMETRIC_DEFAULT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
      });
      expect(Math.abs(toMs(created.CreationDate) - Date.now())).toBeLessThan(5 * 60_000);

      const described = await describeKey(created.KeyId);
      expect(described.Arn).toMatch(KEY_ARN);
      expect(described.Arn).toBe(created.Arn);
      expect(described).toMatchObject({ KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], Description: 'made by the aws cli' });

      const tags = await awsJson<{ Tags: Tag[] }>(['kms', 'list-resource-tags', '--key-id', created.KeyId]);
      expect(tags.Tags).toEqual(expect.arrayContaining([{ TagKey: 'project', TagValue: 'kura' }, { TagKey: 'owner', TagValue: 'cli' }]));
      expect(tags.Tags).toHaveLength(2);

      const listed = await awsJson<{ Keys: { KeyId: string; KeyArn: string }[] }>(['kms', 'list-keys']);
      expect(listed.Keys).toContainEqual({ KeyId: created.KeyId, KeyArn: created.Arn });
    });

    it('update-key-description', async () => {
      const key = await createKey('before');
      expect(await awsRun(['kms', 'update-key-description', '--key-id', key.KeyId, '--description', 'after'])).toBe('');
      expect((await describeKey(key.KeyId)).Description).toBe('after');
    });

    it('an unknown key id gives NotFoundException', async () => {
      const unknown = '0badc0de-0000-4000-8000-000000000000';
      const stderr = await awsFail(['kms', 'describe-key', '--key-id', unknown]);
      expect(stderr).toContain('An error occurred (NotFoundException) when calling the DescribeKey operation');
      expect(stderr).toContain(unknown);
      const encStderr = await awsFail(['kms', 'encrypt', '--key-id', unknown, '--plaintext', fileb(Buffer.from('x'))]);
      expect(encStderr).toContain('(NotFoundException) when calling the Encrypt operation');
    });
  });

  describe('encrypt and decrypt', () => {
    // Every byte value, including 0x00 and 0xff, then some random bytes.
    const binary = Buffer.concat([Buffer.from([0x00, 0xff, 0x00, 0xff]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(100)]);

    it('round-trips binary data through fileb:// files', async () => {
      const key = shared;
      const enc = await encrypt(key.KeyId, binary);
      expect(enc.KeyId).toBe(key.Arn);
      expect(enc.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
      const blob = b64(enc.CiphertextBlob);
      expect(blob.length).toBeGreaterThan(binary.length);
      expect(blob.includes(binary)).toBe(false);

      const dec = await decrypt(blob);
      expect(dec.KeyId).toBe(key.Arn);
      expect(dec.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
      expect(b64(dec.Plaintext).equals(binary)).toBe(true);

      // Naming the key (by ARN) on decrypt works too.
      const named = await decrypt(blob, ['--key-id', key.Arn]);
      expect(b64(named.Plaintext).equals(binary)).toBe(true);
    });

    it('binds the encryption context: only the same context decrypts', async () => {
      const key = shared;
      const blob = b64((await encrypt(key.KeyId, binary, ['--encryption-context', 'purpose=test,team=blue'])).CiphertextBlob);

      // Same pairs, other order and JSON syntax: same context.
      const dec = await decrypt(blob, ['--encryption-context', '{"team":"blue","purpose":"test"}']);
      expect(b64(dec.Plaintext).equals(binary)).toBe(true);

      const wrong = await awsFail(['kms', 'decrypt', '--ciphertext-blob', fileb(blob), '--encryption-context', 'purpose=test,team=red']);
      expect(wrong).toContain('An error occurred (InvalidCiphertextException) when calling the Decrypt operation');
      const missing = await awsFail(['kms', 'decrypt', '--ciphertext-blob', fileb(blob)]);
      expect(missing).toContain('(InvalidCiphertextException)');

      // {"a":"bc"} and {"ab":"c"} must not authenticate each other.
      const ambiguous = b64((await encrypt(key.KeyId, binary, ['--encryption-context', '{"a":"bc"}'])).CiphertextBlob);
      expect(await awsFail(['kms', 'decrypt', '--ciphertext-blob', fileb(ambiguous), '--encryption-context', '{"ab":"c"}'])).toContain('(InvalidCiphertextException)');
    });
  });

  describe('data keys and random', () => {
    it('generate-data-key: AES_256 and --number-of-bytes 64, each decrypting to its Plaintext', async () => {
      const key = shared;
      const aes = await awsJson<DataKeyOut>(['kms', 'generate-data-key', '--key-id', key.KeyId, '--key-spec', 'AES_256']);
      expect(aes.KeyId).toBe(key.Arn);
      const aesPlain = b64(aes.Plaintext!);
      expect(aesPlain).toHaveLength(32);
      expect(b64((await decrypt(b64(aes.CiphertextBlob))).Plaintext).equals(aesPlain)).toBe(true);

      const big = await awsJson<DataKeyOut>(['kms', 'generate-data-key', '--key-id', key.KeyId, '--number-of-bytes', '64', '--encryption-context', 'use=big']);
      const bigPlain = b64(big.Plaintext!);
      expect(bigPlain).toHaveLength(64);
      const bigDec = await decrypt(b64(big.CiphertextBlob), ['--encryption-context', 'use=big']);
      expect(b64(bigDec.Plaintext).equals(bigPlain)).toBe(true);
      expect(bigPlain.subarray(0, 32).equals(aesPlain)).toBe(false);
    });

    it('generate-data-key-without-plaintext returns only a ciphertext of a 32-byte key', async () => {
      const key = shared;
      const out = await awsJson<DataKeyOut>(['kms', 'generate-data-key-without-plaintext', '--key-id', key.KeyId, '--key-spec', 'AES_256']);
      expect(out.KeyId).toBe(key.Arn);
      expect(out).not.toHaveProperty('Plaintext');
      expect(b64((await decrypt(b64(out.CiphertextBlob))).Plaintext)).toHaveLength(32);
    });

    it('generate-random --number-of-bytes 32', async () => {
      const random = async () => b64((await awsJson<{ Plaintext: string }>(['kms', 'generate-random', '--number-of-bytes', '32'])).Plaintext);
      const [a, b] = await Promise.all([random(), random()]);
      expect(a).toHaveLength(32);
      expect(b).toHaveLength(32);
      expect(a.equals(b)).toBe(false);
    });
  });

  describe('re-encrypt', () => {
    it('moves a ciphertext to a second key that alone then decrypts it', async () => {
      const first = shared;
      const second = await createKey('re-encrypt destination');
      const secret = Buffer.from([0x00, 0x01, 0xfe, 0xff, ...Buffer.from('re-encrypt me')]);
      const original = b64((await encrypt(first.KeyId, secret, ['--encryption-context', 'stage=one'])).CiphertextBlob);

      const re = await awsJson<ReEncryptOut>([
        'kms', 're-encrypt', '--ciphertext-blob', fileb(original),
        '--source-encryption-context', 'stage=one',
        '--destination-key-id', second.KeyId,
        '--destination-encryption-context', 'stage=two',
      ]);
      expect(re.SourceKeyId).toBe(first.Arn);
      expect(re.KeyId).toBe(second.Arn);
      expect(re.SourceEncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
      expect(re.DestinationEncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');

      const moved = b64(re.CiphertextBlob);
      const dec = await decrypt(moved, ['--encryption-context', 'stage=two']);
      expect(dec.KeyId).toBe(second.Arn);
      expect(b64(dec.Plaintext).equals(secret)).toBe(true);

      const wrongKey = await awsFail(['kms', 'decrypt', '--ciphertext-blob', fileb(moved), '--encryption-context', 'stage=two', '--key-id', first.KeyId]);
      expect(wrongKey).toContain('(IncorrectKeyException)');
    });
  });

  describe('aliases', () => {
    it('create, list by key, use by name and ARN, update, duplicate, delete', async () => {
      const [first, second] = await Promise.all([createKey('alias first'), createKey('alias second')]);
      const name = `alias/aws-cli-${randomBytes(4).toString('hex')}`;
      const arn = `arn:aws:kms:${REGION}:${ACCOUNT}:${name}`;
      const data = Buffer.from('via an alias');

      expect(await awsRun(['kms', 'create-alias', '--alias-name', name, '--target-key-id', first.KeyId])).toBe('');

      const listed = await awsJson<{ Aliases: AliasEntry[] }>(['kms', 'list-aliases', '--key-id', first.KeyId]);
      expect(listed.Aliases).toHaveLength(1);
      expect(listed.Aliases[0]).toMatchObject({ AliasName: name, AliasArn: arn, TargetKeyId: first.KeyId });
      expect((await awsJson<{ Aliases: AliasEntry[] }>(['kms', 'list-aliases', '--key-id', second.KeyId])).Aliases).toEqual([]);

      for (const ref of [name, arn]) {
        const enc = await encrypt(ref, data);
        expect(enc.KeyId).toBe(first.Arn);
        const dec = await decrypt(b64(enc.CiphertextBlob));
        expect(b64(dec.Plaintext).equals(data)).toBe(true);
      }
      expect((await describeKey(name)).KeyId).toBe(first.KeyId);

      const dup = await awsFail(['kms', 'create-alias', '--alias-name', name, '--target-key-id', second.KeyId]);
      expect(dup).toContain('An error occurred (AlreadyExistsException) when calling the CreateAlias operation');

      expect(await awsRun(['kms', 'update-alias', '--alias-name', name, '--target-key-id', second.KeyId])).toBe('');
      expect((await encrypt(name, data)).KeyId).toBe(second.Arn);
      const afterUpdate = await awsJson<{ Aliases: AliasEntry[] }>(['kms', 'list-aliases', '--key-id', second.KeyId]);
      expect(afterUpdate.Aliases.map((a) => a.AliasName)).toEqual([name]);

      expect(await awsRun(['kms', 'delete-alias', '--alias-name', name])).toBe('');
      const all = await awsJson<{ Aliases: AliasEntry[] }>(['kms', 'list-aliases']);
      expect(all.Aliases.map((a) => a.AliasName)).not.toContain(name);
      expect(await awsFail(['kms', 'encrypt', '--key-id', name, '--plaintext', fileb(data)])).toContain('(NotFoundException)');
    });
  });

  describe('tags', () => {
    it('tag-resource, list-resource-tags, untag-resource', async () => {
      const key = await createKey();
      const listTags = async () => (await awsJson<{ Tags: Tag[] }>(['kms', 'list-resource-tags', '--key-id', key.KeyId])).Tags;
      expect(await listTags()).toEqual([]);

      expect(await awsRun(['kms', 'tag-resource', '--key-id', key.KeyId, '--tags', 'TagKey=env,TagValue=prod', 'TagKey=team,TagValue=crypto'])).toBe('');
      const tagged = await listTags();
      expect(tagged).toHaveLength(2);
      expect(tagged).toEqual(expect.arrayContaining([{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'crypto' }]));

      // Tagging an existing key replaces its value.
      await awsRun(['kms', 'tag-resource', '--key-id', key.Arn, '--tags', 'TagKey=env,TagValue=staging']);
      expect(await listTags()).toEqual(expect.arrayContaining([{ TagKey: 'env', TagValue: 'staging' }]));

      expect(await awsRun(['kms', 'untag-resource', '--key-id', key.KeyId, '--tag-keys', 'env'])).toBe('');
      expect(await listTags()).toEqual([{ TagKey: 'team', TagValue: 'crypto' }]);
    });
  });

  describe('key states', () => {
    it('disable-key makes encrypt fail with DisabledException; enable-key restores it', async () => {
      const key = await createKey();
      const data = Buffer.from('state check');
      const before = b64((await encrypt(key.KeyId, data)).CiphertextBlob);

      expect(await awsRun(['kms', 'disable-key', '--key-id', key.KeyId])).toBe('');
      expect(await describeKey(key.KeyId)).toMatchObject({ KeyState: 'Disabled', Enabled: false });
      const stderr = await awsFail(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb(data)]);
      expect(stderr).toContain('An error occurred (DisabledException) when calling the Encrypt operation');
      expect(await awsFail(['kms', 'decrypt', '--ciphertext-blob', fileb(before)])).toContain('(DisabledException)');

      expect(await awsRun(['kms', 'enable-key', '--key-id', key.KeyId])).toBe('');
      expect(await describeKey(key.KeyId)).toMatchObject({ KeyState: 'Enabled', Enabled: true });
      const after = await encrypt(key.KeyId, data);
      expect(b64((await decrypt(b64(after.CiphertextBlob))).Plaintext).equals(data)).toBe(true);
      expect(b64((await decrypt(before)).Plaintext).equals(data)).toBe(true);
    });

    it('schedule-key-deletion for 7 days, then cancel-key-deletion leaves the key Disabled', async () => {
      const key = await createKey();
      const data = Buffer.from('pending deletion');
      const scheduledAt = Date.now();
      const scheduled = await awsJson<ScheduleOut>(['kms', 'schedule-key-deletion', '--key-id', key.KeyId, '--pending-window-in-days', '7']);
      expect(scheduled.KeyId).toBe(key.Arn);
      expect(scheduled.KeyState).toBe('PendingDeletion');
      expect(scheduled.PendingWindowInDays).toBe(7);
      expect(Math.abs(toMs(scheduled.DeletionDate) - (scheduledAt + 7 * DAY_MS))).toBeLessThan(10 * 60_000);

      const pending = await describeKey(key.KeyId);
      expect(pending).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false });
      expect(toMs(pending.DeletionDate!)).toBe(toMs(scheduled.DeletionDate));

      const stderr = await awsFail(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb(data)]);
      expect(stderr).toContain('An error occurred (KMSInvalidStateException) when calling the Encrypt operation');

      const cancelled = await awsJson<{ KeyId: string }>(['kms', 'cancel-key-deletion', '--key-id', key.KeyId]);
      expect(cancelled.KeyId).toBe(key.Arn);
      const disabled = await describeKey(key.KeyId);
      expect(disabled).toMatchObject({ KeyState: 'Disabled', Enabled: false });
      expect(disabled).not.toHaveProperty('DeletionDate');
      expect(await awsFail(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb(data)])).toContain('(DisabledException)');

      await awsRun(['kms', 'enable-key', '--key-id', key.KeyId]);
      expect((await describeKey(key.KeyId)).KeyState).toBe('Enabled');
      expect(b64((await decrypt(b64((await encrypt(key.KeyId, data)).CiphertextBlob))).Plaintext).equals(data)).toBe(true);
    });
  });

  describe('key policies', () => {
    it('get-key-policy names the account root; put-key-policy replaces it; list-key-policies', async () => {
      const key = await createKey();
      const got = await awsJson<{ Policy: string }>(['kms', 'get-key-policy', '--key-id', key.KeyId, '--policy-name', 'default']);
      const policy = JSON.parse(got.Policy) as { Version: string; Statement: { Effect: string; Principal: { AWS: string | string[] }; Action: string | string[]; Resource: string }[] };
      expect(policy.Version).toBe('2012-10-17');
      const rootStatement = policy.Statement.find((s) => [s.Principal?.AWS].flat().includes(`arn:aws:iam::${ACCOUNT}:root`));
      expect(rootStatement, got.Policy).toBeDefined();
      expect(rootStatement).toMatchObject({ Effect: 'Allow', Resource: '*' });
      expect([rootStatement!.Action].flat()).toContain('kms:*');

      const replacement = {
        Version: '2012-10-17',
        Id: 'aws-cli-test-policy',
        Statement: [
          { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
          { Sid: 'Describe for auditors', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/auditor` }, Action: 'kms:DescribeKey', Resource: '*' },
        ],
      };
      const policyFile = path.join(cli.work, 'policy.json');
      fs.writeFileSync(policyFile, JSON.stringify(replacement, null, 2));
      expect(await awsRun(['kms', 'put-key-policy', '--key-id', key.KeyId, '--policy-name', 'default', '--policy', `file://${policyFile}`])).toBe('');
      const after = await awsJson<{ Policy: string }>(['kms', 'get-key-policy', '--key-id', key.KeyId, '--policy-name', 'default']);
      expect(JSON.parse(after.Policy)).toEqual(replacement);

      const names = await awsJson<{ PolicyNames: string[] }>(['kms', 'list-key-policies', '--key-id', key.KeyId]);
      expect(names.PolicyNames).toEqual(['default']);

      // The root statement kept our access.
      expect((await encrypt(key.KeyId, Buffer.from('still allowed'))).KeyId).toBe(key.Arn);
    });
  });

  describe('rotation', () => {
    it('enable-key-rotation, get-key-rotation-status, disable-key-rotation (Debian v2)', async () => {
      const key = await createKey();
      const status = async () => awsJson<RotationStatusOut>(['kms', 'get-key-rotation-status', '--key-id', key.KeyId]);
      expect((await status()).KeyRotationEnabled).toBe(false);
      expect(await awsRun(['kms', 'enable-key-rotation', '--key-id', key.KeyId])).toBe('');
      expect((await status()).KeyRotationEnabled).toBe(true);
      expect(await awsRun(['kms', 'disable-key-rotation', '--key-id', key.KeyId])).toBe('');
      expect((await status()).KeyRotationEnabled).toBe(false);
    });

    // Debian's v2 (2.9.19) has no --rotation-period-in-days, rotate-key-on-demand or list-key-rotations.
    it('rotation period, rotate-key-on-demand and list-key-rotations (newer v1 aws)', async () => {
      const v1 = await findNewerAws();
      if (v1 === undefined) {
        throw new Error(
          `No AWS CLI other than Debian's ${DEBIAN_AWS} is on PATH (\`which -a aws\`). This test needs a newer aws ` +
            '(e.g. v1 with botocore >= 1.34, at /root/.pyenv/shims/aws) for --rotation-period-in-days, rotate-key-on-demand and list-key-rotations.',
        );
      }
      const key = await createKey('rotated by the v1 cli');

      const enabledAt = Date.now();
      expect(await awsRun(['kms', 'enable-key-rotation', '--key-id', key.KeyId, '--rotation-period-in-days', '180'], v1)).toBe('');
      const status = await awsJson<RotationStatusOut>(['kms', 'get-key-rotation-status', '--key-id', key.KeyId], v1);
      expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 180 });
      expect(status.NextRotationDate, JSON.stringify(status)).toBeDefined();
      expect(Math.abs(toMs(status.NextRotationDate!) - (enabledAt + 180 * DAY_MS))).toBeLessThan(10 * 60_000);

      const data = Buffer.from([0x00, 0xff, ...Buffer.from('before rotation')]);
      const before = b64((await encrypt(key.KeyId, data, [], v1)).CiphertextBlob);
      const originalMaterial = (await decrypt(before, [], v1)).KeyMaterialId;
      expect(originalMaterial, 'v1 decrypt output should carry KeyMaterialId').toMatch(/^[0-9a-f]{64}$/);

      expect((await awsJson<{ Rotations: RotationEntry[] }>(['kms', 'list-key-rotations', '--key-id', key.KeyId], v1)).Rotations).toEqual([]);

      const rotated = await awsJson<{ KeyId: string }>(['kms', 'rotate-key-on-demand', '--key-id', key.KeyId], v1);
      expect(rotated.KeyId).toBe(key.Arn);

      const rotations = (await awsJson<{ Rotations: RotationEntry[] }>(['kms', 'list-key-rotations', '--key-id', key.KeyId], v1)).Rotations;
      expect(rotations).toHaveLength(1);
      const rotation = rotations[0]!;
      expect(rotation).toMatchObject({ KeyId: key.KeyId, RotationType: 'ON_DEMAND', KeyMaterialState: 'CURRENT' });
      expect(rotation.KeyMaterialId).not.toBe(originalMaterial);
      expect(Math.abs(toMs(rotation.RotationDate!) - Date.now())).toBeLessThan(5 * 60_000);

      const allMaterial = (await awsJson<{ Rotations: RotationEntry[] }>(['kms', 'list-key-rotations', '--key-id', key.KeyId, '--include-key-material', 'ALL_KEY_MATERIAL'], v1)).Rotations;
      expect(allMaterial.map((r) => [r.KeyMaterialId, r.KeyMaterialState])).toEqual(
        expect.arrayContaining([[originalMaterial, 'NON_CURRENT'], [rotation.KeyMaterialId, 'CURRENT']]),
      );
      expect(allMaterial).toHaveLength(2);

      // The old ciphertext still decrypts with its own material; new ones use the new material.
      const old = await decrypt(before, [], v1);
      expect(b64(old.Plaintext).equals(data)).toBe(true);
      expect(old.KeyMaterialId).toBe(originalMaterial);
      const fresh = await decrypt(b64((await encrypt(key.KeyId, data, [], v1)).CiphertextBlob), [], v1);
      expect(b64(fresh.Plaintext).equals(data)).toBe(true);
      expect(fresh.KeyMaterialId).toBe(rotation.KeyMaterialId);

      // Debian's v2 decrypts both too (its model just does not print KeyMaterialId).
      expect(b64((await decrypt(before)).Plaintext).equals(data)).toBe(true);
    });
  });
});
