// The life of a KMS key in an AWS_CLOUDHSM key store over the wire: a real `kura serve --dev` process,
// a SoftHSM2 token registered with `kura hsm add`, and @aws-sdk/client-kms, checked against what AWS KMS
// answers (the API model's errors, with their HTTP status, and the key states of the Developer Guide):
// what such a key refuses (rotation, GetKeyRotationStatus included; HMAC, signing, multi-Region; a
// mismatched Origin), ReEncrypt between it and a standard key, and, with its store disconnected,
// deletion scheduled and cancelled (PendingDeletion stays PendingDeletion, a cancelled key is
// Unavailable until the store connects, then Disabled), ListKeys and ListAliases unaffected, and
// DeleteCustomKeyStore refused while a key pending deletion is still there. Then a key of an
// EXTERNAL_KEY_STORE store (on another Kura's XKS proxy, test/support/xks-peer.ts) next to one on the
// token: what DescribeKey says of each, GetKeyRotationStatus refused for both, ReEncrypt across the
// three kinds of key, and the same deletion rules while the external key store is disconnected.
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
  EnableKeyCommand,
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
import { startXksPeer, type XksPeer } from '../support/xks-peer.js';

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

let kura: KuraProcess;
let kms: KMSClient;
let peer: XksPeer;
let storeId: string;
let hsmId: string;
let keyId: string;
let standardKeyId: string;

const state = async (id: string) => (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.KeyState;

beforeAll(async () => {
  const token = soft.makeToken('kura-life', '3141592');
  const peerToken = soft.makeToken('kura-life-peer', '2718281');
  peer = await startXksPeer({ token: { modulePath: SOFTHSM_MODULE, label: peerToken.label, pin: peerToken.pin } });
  kura = await startKura({ args: ['--xks-client-ca', peer.caFile, '--xks-connect-to', peer.connectTo, '--xks-client-timeout', '3000'] });
  kms = kmsClient(kura);
  const r = await runKura(['hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', token.label, '--data-dir', kura.dataDir, '--json']);
  expect(r.code).toBe(0);
  hsmId = (JSON.parse(r.stdout) as { hsmId: string }).hsmId;
  storeId = (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'life', CloudHsmClusterId: hsmId, TrustAnchorCertificate: trustAnchorPem(), KeyStorePassword: token.pin }))).CustomKeyStoreId!;
  await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  keyId = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!.KeyId!;
  standardKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/on-the-token', TargetKeyId: keyId }));
}, 90_000);

afterAll(async () => {
  await kura?.stop();
  await peer?.close();
  soft.cleanup();
});

describe('a KMS key in an AWS_CLOUDHSM key store, through the KMS API', () => {
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

describe('a KMS key in an EXTERNAL_KEY_STORE key store, next to one on the token', () => {
  let xksStoreId: string;
  let xksKeyId: string;
  let externalKeyId: string;

  beforeAll(async () => {
    externalKeyId = await peer.createKey();
    xksStoreId = (
      await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'life-xks',
          CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
          XksProxyUriEndpoint: peer.uriEndpoint,
          XksProxyUriPath: peer.store.uriPath,
          XksProxyConnectivity: 'PUBLIC_ENDPOINT',
          XksProxyAuthenticationCredential: { AccessKeyId: peer.store.accessKeyId, RawSecretAccessKey: peer.store.secretAccessKey },
        }),
      )
    ).CustomKeyStoreId!;
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: xksStoreId }));
    // The key on the token is Disabled since its deletion was cancelled above.
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    xksKeyId = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: xksStoreId, Origin: 'EXTERNAL_KEY_STORE', XksKeyId: externalKeyId }))).KeyMetadata!.KeyId!;
  }, 60_000);

  it('DescribeKey names each key\'s store: CloudHsmClusterId for the one on the token, XksKeyConfiguration for the external one', async () => {
    const onToken = (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/on-the-token' }))).KeyMetadata!;
    expect(onToken).toMatchObject({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId, CloudHsmClusterId: hsmId });
    expect(onToken.XksKeyConfiguration).toBeUndefined();
    const external = (await kms.send(new DescribeKeyCommand({ KeyId: xksKeyId }))).KeyMetadata!;
    expect(external).toMatchObject({ Origin: 'EXTERNAL_KEY_STORE', CustomKeyStoreId: xksStoreId, XksKeyConfiguration: { Id: externalKeyId }, KeyState: 'Enabled' });
    expect(external.CloudHsmClusterId).toBeUndefined();
    const standard = (await kms.send(new DescribeKeyCommand({ KeyId: standardKeyId }))).KeyMetadata!;
    expect([standard.CustomKeyStoreId, standard.CloudHsmClusterId, standard.XksKeyConfiguration]).toEqual([undefined, undefined, undefined]);
    expect(await failure(kms.send(new GetKeyRotationStatusCommand({ KeyId: xksKeyId })))).toEqual({ name: 'UnsupportedOperationException', status: 400 });
  });

  it('refuses a mismatched Origin for either store, and an Origin of a custom key store without one', async () => {
    const validation = { name: 'ValidationException', status: 400 };
    expect(await failure(kms.send(new CreateKeyCommand({ CustomKeyStoreId: xksStoreId, Origin: 'AWS_CLOUDHSM' })))).toEqual(validation);
    expect(await failure(kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'EXTERNAL_KEY_STORE', XksKeyId: externalKeyId })))).toEqual(validation);
    expect(await failure(kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL_KEY_STORE', XksKeyId: externalKeyId })))).toEqual(validation);
  });

  it('re-encrypts from a standard key to the external key, to the key on the token, and back', async () => {
    const first = (await kms.send(new EncryptCommand({ KeyId: standardKeyId, Plaintext: Buffer.from('three stores'), EncryptionContext: { hop: 'all' } }))).CiphertextBlob!;
    const toExternal = await kms.send(new ReEncryptCommand({ CiphertextBlob: first, SourceEncryptionContext: { hop: 'all' }, DestinationEncryptionContext: { hop: 'all' }, DestinationKeyId: xksKeyId }));
    expect(toExternal.KeyId).toContain(xksKeyId);
    const toToken = await kms.send(new ReEncryptCommand({ CiphertextBlob: toExternal.CiphertextBlob, SourceEncryptionContext: { hop: 'all' }, DestinationEncryptionContext: { hop: 'all' }, DestinationKeyId: keyId }));
    expect(toToken.SourceKeyId).toContain(xksKeyId);
    const toExternalAgain = await kms.send(new ReEncryptCommand({ CiphertextBlob: toToken.CiphertextBlob, SourceEncryptionContext: { hop: 'all' }, DestinationEncryptionContext: { hop: 'all' }, DestinationKeyId: xksKeyId }));
    const back = await kms.send(new ReEncryptCommand({ CiphertextBlob: toExternalAgain.CiphertextBlob, SourceEncryptionContext: { hop: 'all' }, DestinationEncryptionContext: { hop: 'all' }, DestinationKeyId: standardKeyId }));
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob, EncryptionContext: { hop: 'all' } }));
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('three stores');
  });

  it('disconnected: deletion is scheduled and cancelled as for a key on the token, and the store is not deleted meanwhile', async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: xksStoreId }));
    expect(await state(xksKeyId)).toBe('Unavailable');
    expect(await failure(kms.send(new EncryptCommand({ KeyId: xksKeyId, Plaintext: Buffer.from('x') })))).toEqual({ name: 'KMSInvalidStateException', status: 400 });
    expect((await kms.send(new ScheduleKeyDeletionCommand({ KeyId: xksKeyId, PendingWindowInDays: 7 }))).KeyState).toBe('PendingDeletion');
    expect(await state(xksKeyId)).toBe('PendingDeletion');
    expect(await failure(kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: xksStoreId })))).toEqual({ name: 'CustomKeyStoreHasCMKsException', status: 400 });
    await kms.send(new CancelKeyDeletionCommand({ KeyId: xksKeyId }));
    expect(await state(xksKeyId)).toBe('Unavailable');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: xksStoreId }));
    expect(await state(xksKeyId)).toBe('Disabled');
  });
});
