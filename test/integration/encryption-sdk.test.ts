// The AWS Encryption SDK for JavaScript (@aws-crypto/client-node v5), unchanged, with its AWS KMS keyring
// pointed at a real dev-mode `kura serve`. The keyring calls GenerateDataKey, Encrypt and Decrypt and
// checks that the KeyId Kura answers with is the key ARN it records in each encrypted data key.
import { randomBytes } from 'node:crypto';
import { buildClient, CommitmentPolicy, KMS, KmsKeyringNode, type KmsNodeClientSupplier } from '@aws-crypto/client-node';
import { CreateAliasCommand, CreateKeyCommand, type KeyMetadata, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const REGION = 'us-east-1';
const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

let kura: KuraProcess;
let kms: KMSClient;
let keyA: KeyMetadata;
let keyB: KeyMetadata;
let keyC: KeyMetadata;
let aliasArnA: string;
const clients: InstanceType<typeof KMS>[] = [];

/**
 * The keyring asks for a client per Region (taken from the key ARN); every one of them goes to Kura.
 * A KMS client, not the default cached supplier, so that the endpoint and the test credential apply.
 */
const clientProvider: KmsNodeClientSupplier = (region: string) => {
  const client = new KMS({
    endpoint: kura.url,
    region: region || REGION,
    credentials: { accessKeyId: kura.accessKeyId, secretAccessKey: kura.secretAccessKey },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
};

const context = { purpose: 'esdk-integration', tenant: 'kura', 'ünïcode key': 'välue ✓' };

beforeAll(async () => {
  kura = await startKura();
  kms = kmsClient(kura);
  const create = async (d: string) => (await kms.send(new CreateKeyCommand({ Description: d }))).KeyMetadata!;
  keyA = await create('esdk A');
  keyB = await create('esdk B');
  keyC = await create('esdk C (unrelated)');
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/esdk/generator', TargetKeyId: keyA.KeyId }));
  aliasArnA = `arn:aws:kms:${REGION}:${keyA.AWSAccountId}:alias/esdk/generator`;
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  kms?.destroy();
  await kura?.stop();
});

describe('AWS Encryption SDK with KmsKeyringNode', () => {
  it('encrypts and decrypts 100 KiB with the key ARN as generator; the header keeps the context and the key ARN', async () => {
    const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: keyA.Arn });
    const plaintext = randomBytes(100 * 1024);
    const { result, messageHeader } = await encrypt(keyring, plaintext, { encryptionContext: context });
    expect(result.length).toBeGreaterThan(plaintext.length);
    expect(result.includes(plaintext.subarray(0, 64))).toBe(false);
    expect(messageHeader.encryptionContext).toMatchObject(context);
    expect(messageHeader.encryptedDataKeys.map((e) => [e.providerId, e.providerInfo])).toEqual([['aws-kms', keyA.Arn]]);

    const out = await decrypt(keyring, result);
    expect(out.plaintext.equals(plaintext)).toBe(true);
    expect(out.messageHeader.encryptionContext).toMatchObject(context);
    expect(out.messageHeader.encryptedDataKeys.map((e) => e.providerInfo)).toEqual([keyA.Arn]);
  });

  it('an alias ARN as generator plus a second key ARN: both keys can decrypt, each EDK names a key ARN', async () => {
    const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: aliasArnA, keyIds: [keyB.Arn!] });
    const plaintext = randomBytes(100 * 1024);
    const { result, messageHeader } = await encrypt(keyring, plaintext, { encryptionContext: context });
    // The EDK of the generator records the key ARN that GenerateDataKey answered with, not the alias.
    expect(messageHeader.encryptedDataKeys.map((e) => e.providerInfo)).toEqual([keyA.Arn, keyB.Arn]);

    // The same keyring decrypts (its alias ARN matches no EDK, so it uses key B's).
    const same = await decrypt(keyring, result);
    expect(same.plaintext.equals(plaintext)).toBe(true);
    expect(same.messageHeader.encryptionContext).toMatchObject(context);

    for (const arn of [keyA.Arn!, keyB.Arn!]) {
      const single = await decrypt(new KmsKeyringNode({ clientProvider, keyIds: [arn] }), result);
      expect(single.plaintext.equals(plaintext)).toBe(true);
    }

    const discovery = new KmsKeyringNode({
      clientProvider,
      discovery: true,
      discoveryFilter: { accountIDs: [keyA.AWSAccountId!], partition: 'aws' },
    });
    expect((await decrypt(discovery, result)).plaintext.equals(plaintext)).toBe(true);
  });

  it('a keyring for another key cannot decrypt', async () => {
    const { result } = await encrypt(new KmsKeyringNode({ clientProvider, generatorKeyId: keyA.Arn }), randomBytes(1024), { encryptionContext: context });
    // No EDK names key C, so the keyring makes no KMS call and the SDK ends without a data key.
    await expect(decrypt(new KmsKeyringNode({ clientProvider, keyIds: [keyC.Arn!] }), result)).rejects.toThrow(/unencryptedDataKey has not been set/);
  });

  it('a tampered message fails to decrypt: a flipped body byte, and a flipped byte in the KMS-encrypted data key', async () => {
    const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: keyA.Arn });
    const plaintext = randomBytes(100 * 1024);
    const { result, messageHeader } = await encrypt(keyring, plaintext, { encryptionContext: context });

    const body = Buffer.from(result);
    body[Math.floor(body.length / 2)]! ^= 0x01;
    await expect(decrypt(keyring, body)).rejects.toThrow(/unable to authenticate data/);

    // Inside the EDK: the keyring's Decrypt call reaches Kura, which must refuse the ciphertext.
    const edk = Buffer.from(messageHeader.encryptedDataKeys[0]!.encryptedDataKey);
    const at = result.indexOf(edk);
    expect(at).toBeGreaterThan(0);
    const badEdk = Buffer.from(result);
    badEdk[at + edk.length - 1]! ^= 0x01;
    await expect(decrypt(keyring, badEdk)).rejects.toThrow(/InvalidCiphertextException/);

    // The untouched message still decrypts.
    expect((await decrypt(keyring, result)).plaintext.equals(plaintext)).toBe(true);
  });
});
