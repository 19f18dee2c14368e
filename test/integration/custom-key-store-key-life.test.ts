// The life of a KMS key in an AWS_CLOUDHSM key store over the wire: a real `kura serve --dev` process,
// a SoftHSM2 token registered with `kura hsm add`, and @aws-sdk/client-kms, checked against what AWS KMS
// answers (the API model's errors, with their HTTP status, and the key states of the Developer Guide):
// what such a key refuses (rotation, GetKeyRotationStatus included; HMAC, signing, multi-Region; a
// mismatched Origin), ReEncrypt between it and a standard key, and, with its store disconnected,
// deletion scheduled and cancelled (PendingDeletion stays PendingDeletion, a cancelled key is
// Unavailable until the store connects, then Disabled), ListKeys and ListAliases unaffected, and
// DeleteCustomKeyStore refused while a key pending deletion is still there.
import {
  CancelKeyDeletionCommand,
  ConnectCustomKeyStoreCommand,
  CreateAliasCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteCustomKeyStoreCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE, trustAnchorPem } from '../support/tokens.js';

const soft = softHsm();

/** The error's name and HTTP status, as the SDK saw them ('ok' and 200 for a success). */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
    return { name: 'ok', status: 200 };
  } catch (e) {
    return { name: (e as Error).name, status: (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode };
  }
}

describe('a KMS key in an AWS_CLOUDHSM key store, through the KMS API', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let storeId: string;
  let keyId: string;
  let standardKeyId: string;

  const state = async (id: string) => (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.KeyState;

  beforeAll(async () => {
    const token = soft.makeToken('kura-life', '3141592');
    kura = await startKura();
    kms = kmsClient(kura);
    const r = await runKura(['hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', token.label, '--data-dir', kura.dataDir, '--json']);
    expect(r.code).toBe(0);
    const hsmId = (JSON.parse(r.stdout) as { hsmId: string }).hsmId;
    storeId = (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'life', CloudHsmClusterId: hsmId, TrustAnchorCertificate: trustAnchorPem(), KeyStorePassword: token.pin }))).CustomKeyStoreId!;
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    keyId = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!.KeyId!;
    standardKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/on-the-token', TargetKeyId: keyId }));
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
    soft.cleanup();
  });

  it('GetKeyRotationStatus is UnsupportedOperationException (400), as AWS answers for a key in a custom key store', async () => {
    expect(await failure(kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId })))).toEqual({ name: 'UnsupportedOperationException', status: 400 });
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: standardKeyId }))).KeyRotationEnabled).toBe(false);
  });

  it('refuses what AWS refuses for such a key, with its exceptions', async () => {
    const unsupported = { name: 'UnsupportedOperationException', status: 400 };
    expect(await failure(kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM', KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })))).toEqual(unsupported);
    expect(await failure(kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM', MultiRegion: true })))).toEqual(unsupported);
    expect(await failure(kms.send(new GenerateMacCommand({ KeyId: keyId, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' })))).toEqual({ name: 'InvalidKeyUsageException', status: 400 });
    expect(await failure(kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' })))).toEqual({ name: 'InvalidKeyUsageException', status: 400 });
    expect(await failure(kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM' })))).toEqual({ name: 'ValidationException', status: 400 });
  });

  it('re-encrypts between the key on the token and a standard key, both ways', async () => {
    const onToken = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('to and fro') }))).CiphertextBlob!;
    const moved = await kms.send(new ReEncryptCommand({ CiphertextBlob: onToken, DestinationKeyId: standardKeyId }));
    expect(moved.SourceKeyId).toContain(keyId);
    const back = await kms.send(new ReEncryptCommand({ CiphertextBlob: moved.CiphertextBlob, DestinationKeyId: 'alias/on-the-token' }));
    expect(back.KeyId).toContain(keyId);
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob }))).Plaintext!).toString()).toBe('to and fro');
  });

  it('while its store is disconnected: deletion is scheduled and cancelled, lists are unaffected, and the store is not deleted', async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect(await state(keyId)).toBe('Unavailable');
    expect((await kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId)).toContain(keyId);
    expect((await kms.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases!.map((a) => a.AliasName)).toEqual(['alias/on-the-token']);
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(scheduled.KeyState).toBe('PendingDeletion');
    // AWS: Unavailable "unless they are PendingDeletion".
    expect(await state(keyId)).toBe('PendingDeletion');
    expect(await failure(kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId })))).toEqual({ name: 'UnsupportedOperationException', status: 400 });
    expect(await failure(kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })))).toEqual({ name: 'CustomKeyStoreHasCMKsException', status: 400 });
    await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect(await state(keyId)).toBe('Unavailable');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect(await state(keyId)).toBe('Disabled');
    expect(await failure(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).toEqual({ name: 'DisabledException', status: 400 });
  });
});
