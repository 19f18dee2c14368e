// External key stores end to end, Kura to Kura: one Kura (the peer, test/support/xks-peer.ts) serves the
// XKS proxy API over TLS at https://xks.kura.test, its external keys on a SoftHSM2 token; another Kura — started with --xks-client-ca (the
// peer's CA) and --xks-connect-to (the peer's loopback port), as AWS KMS with a public endpoint — holds
// an EXTERNAL_KEY_STORE custom key store pointing at it, driven through @aws-sdk/client-kms as AWS
// documents it: CreateCustomKeyStore (the proxy must pass a health check), ConnectCustomKeyStore,
// CreateKey with Origin EXTERNAL_KEY_STORE and XksKeyId, Encrypt/Decrypt/GenerateDataKey (but no data
// key pair: AWS refuses a key in a custom key store for one). Then what goes wrong: the proxy stops (KMSInvalidStateException; the store stays CONNECTED, as AWS's does), restarts
// (works again), a connection attempt while it is down (FAILED, XKS_PROXY_NOT_REACHABLE), wrong
// settings refused at creation with AWS's exceptions, and external keys that cannot back a KMS key.
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  UpdateCustomKeyStoreCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName, kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE } from '../support/tokens.js';
import { startXksPeer, type XksPeer } from '../support/xks-peer.js';

const soft = softHsm();

/** Long enough for a loaded CI machine; AWS's 250 ms default is tested on the XKS client itself (test/keystores/external.test.ts). */
const CLIENT_TIMEOUT_MS = '3000';

describe('an EXTERNAL_KEY_STORE custom key store on another Kura\'s XKS proxy', () => {
  let peer: XksPeer;
  let kura: KuraProcess;
  let kms: KMSClient;
  let storeId: string;
  let keyId: string;
  let externalKeyId: string;

  const settings = () => ({
    XksProxyUriEndpoint: peer.uriEndpoint,
    XksProxyUriPath: peer.store.uriPath,
    XksProxyConnectivity: 'PUBLIC_ENDPOINT' as const,
    XksProxyAuthenticationCredential: { AccessKeyId: peer.store.accessKeyId, RawSecretAccessKey: peer.store.secretAccessKey },
  });
  const storeView = async (id: string) => (await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))).CustomKeyStores![0]!;
  const roundTrip = async (id: string, text: string) => {
    const enc = await kms.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from(text), EncryptionContext: { app: 'xks-test' } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: 'xks-test' } }));
    return Buffer.from(dec.Plaintext!).toString();
  };

  beforeAll(async () => {
    const token = soft.makeToken('kura-xks-peer', '5432109');
    peer = await startXksPeer({ token: { modulePath: SOFTHSM_MODULE, label: token.label, pin: token.pin } });
    externalKeyId = await peer.createKey();
    kura = await startKura({ args: ['--xks-client-ca', peer.caFile, '--xks-connect-to', peer.connectTo, '--xks-client-timeout', CLIENT_TIMEOUT_MS] });
    kms = kmsClient(kura);
  }, 90_000);

  afterAll(async () => {
    await kura?.stop();
    await peer?.close();
    soft.cleanup();
  });

  it('refuses proxy settings the proxy does not accept, with AWS\'s exceptions, and creates nothing', async () => {
    const create = (over: Record<string, unknown>) => kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'refused', CustomKeyStoreType: 'EXTERNAL_KEY_STORE', ...settings(), ...over }));
    const wrongSecret = { XksProxyAuthenticationCredential: { AccessKeyId: peer.store.accessKeyId, RawSecretAccessKey: randomBytes(33).toString('base64') } };
    expect(await errorName(create(wrongSecret))).toBe('XksProxyIncorrectAuthenticationCredentialException');
    expect(await errorName(create({ XksProxyUriPath: '/nowhere/kms/xks/v1' }))).toBe('XksProxyInvalidConfigurationException');
    expect(await errorName(create({ XksProxyUriEndpoint: 'https://unknown.kura.test' }))).toBe('XksProxyUriUnreachableException');
    expect(await errorName(create({ XksProxyUriEndpoint: 'https://xks.kura.test:8443' }))).toBe('ValidationException');
    expect(await errorName(create({ XksProxyConnectivity: 'VPC_ENDPOINT_SERVICE', XksProxyVpcEndpointServiceName: 'com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0' }))).toBe('UnsupportedOperationException');
    expect((await kms.send(new DescribeCustomKeyStoresCommand({}))).CustomKeyStores).toEqual([]);
  });

  it('creates the store DISCONNECTED with its proxy settings (the secret never shown); a second store on the same proxy URI is refused', async () => {
    storeId = (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'peer', CustomKeyStoreType: 'EXTERNAL_KEY_STORE', ...settings() }))).CustomKeyStoreId!;
    const view = await storeView(storeId);
    expect(view).toMatchObject({
      CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
      ConnectionState: 'DISCONNECTED',
      XksProxyConfiguration: { Connectivity: 'PUBLIC_ENDPOINT', AccessKeyId: peer.store.accessKeyId, UriEndpoint: peer.uriEndpoint, UriPath: peer.store.uriPath },
    });
    expect(JSON.stringify(view)).not.toContain(peer.store.secretAccessKey);
    expect(await errorName(kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'again', CustomKeyStoreType: 'EXTERNAL_KEY_STORE', ...settings() })))).toBe('XksProxyUriInUseException');
    expect(await errorName(kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'EXTERNAL_KEY_STORE', XksKeyId: externalKeyId })))).toBe('CustomKeyStoreInvalidStateException');
  });

  it("is its Region's: another Region's caller does not find it, and may name its own store alike on the same proxy URI (AWS: one per URI in a Region)", async () => {
    const elsewhere = kmsClient(kura, { region: 'eu-west-1' });
    try {
      expect(await errorName(elsewhere.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId })))).toBe('CustomKeyStoreNotFoundException');
      expect(await errorName(elsewhere.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, NewCustomKeyStoreName: 'taken' })))).toBe('CustomKeyStoreNotFoundException');
      const theirs = (await elsewhere.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'peer', CustomKeyStoreType: 'EXTERNAL_KEY_STORE', ...settings() }))).CustomKeyStoreId!;
      expect((await elsewhere.send(new DescribeCustomKeyStoresCommand({}))).CustomKeyStores!.map((c) => c.CustomKeyStoreId)).toEqual([theirs]);
      expect(await errorName(elsewhere.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'again', CustomKeyStoreType: 'EXTERNAL_KEY_STORE', ...settings() })))).toBe('XksProxyUriInUseException');
      await elsewhere.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: theirs }));
      expect((await kms.send(new DescribeCustomKeyStoresCommand({}))).CustomKeyStores!.map((c) => [c.CustomKeyStoreId, c.CustomKeyStoreName])).toEqual([[storeId, 'peer']]);
    } finally {
      elsewhere.destroy();
    }
  });

  it('connects (a health check of the proxy), then creates a KMS key bound to the external key', async () => {
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect((await storeView(storeId)).ConnectionState).toBe('CONNECTED');
    const meta = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'EXTERNAL_KEY_STORE', XksKeyId: externalKeyId, Description: 'behind the peer' }))).KeyMetadata!;
    expect(meta).toMatchObject({ Origin: 'EXTERNAL_KEY_STORE', CustomKeyStoreId: storeId, XksKeyConfiguration: { Id: externalKeyId }, KeySpec: 'SYMMETRIC_DEFAULT', KeyState: 'Enabled' });
    keyId = meta.KeyId!;
    // The external key is the peer's, on its SoftHSM2 token.
    const peerStores = ((await peer.admin('GET', '/xks/stores')).body as { stores: { storeId: string; hsmId: string | null }[] }).stores;
    expect(peerStores.find((p) => p.storeId === peer.store.storeId)?.hsmId).toMatch(/^cluster-/);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.XksKeyConfiguration).toEqual({ Id: externalKeyId });
  });

  it('binds one KMS key per external key, and only to an AES_256 external key ENABLED for ENCRYPT and DECRYPT', async () => {
    const createWith = (xksKeyId: string, origin = 'EXTERNAL_KEY_STORE') => kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: origin as 'EXTERNAL_KEY_STORE', XksKeyId: xksKeyId }));
    expect(await errorName(createWith(externalKeyId))).toBe('XksKeyAlreadyInUseException');
    expect(await errorName(createWith('kura-xks-no-such-key'))).toBe('XksKeyNotFoundException');
    expect(await errorName(createWith(await peer.createKey('encrypt')))).toBe('XksKeyInvalidConfigurationException');
    expect(await errorName(createWith(await peer.createKey(), 'AWS_KMS'))).toBe('ValidationException');
    expect(await errorName(kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'EXTERNAL_KEY_STORE' })))).toBe('ValidationException');
    expect(await errorName(kms.send(new GenerateRandomCommand({ NumberOfBytes: 16, CustomKeyStoreId: storeId })))).toBe('UnsupportedOperationException');
  });

  it('encrypts, decrypts and makes data keys with the AWS SDK; a ciphertext under another encryption context does not decrypt', async () => {
    expect(await roundTrip(keyId, 'hello through the peer')).toBe('hello through the peer');
    const big = randomBytes(4096);
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: big }));
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).equals(big)).toBe(true);
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { app: 'xks-test' } }));
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { app: 'xks-test' } }));
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(dk.Plaintext!))).toBe(true);
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { app: 'other' } })))).toBe('InvalidCiphertextException');
    // AWS: a KMS key in a custom key store cannot protect a data key pair.
    expect(await errorName(kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' })))).toBe('UnsupportedOperationException');
    expect(await errorName(kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' })))).toBe('UnsupportedOperationException');
  });

  it('answers KMSInvalidStateException while the proxy is down, keeps the store CONNECTED as AWS does, and works again when the proxy is back', async () => {
    const before = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('across an outage') }));
    // A ciphertext of a key in Kura's own store: re-encrypting it to the external key stops before the
    // proxy too, though its source needs no key store.
    const standardKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const standard = await kms.send(new EncryptCommand({ KeyId: standardKey, Plaintext: Buffer.from('moving to the external key') }));
    const dryRuns = () => [
      () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), DryRun: true })),
      () => kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, DryRun: true })),
      () => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, DryRun: true })),
      () => kms.send(new ReEncryptCommand({ CiphertextBlob: before.CiphertextBlob, DestinationKeyId: keyId, DryRun: true })),
      () => kms.send(new ReEncryptCommand({ CiphertextBlob: standard.CiphertextBlob, DestinationKeyId: keyId, DryRun: true })),
    ];
    // The proxy's own log: each XKS call it served (the peer is a Kura, which audits every one).
    const proxied = async () => {
      const r = await peer.admin('POST', '/commands/audit.list', { keyId: externalKeyId, limit: 500 });
      return (r.body as { entries: { operation: string }[] }).entries.filter((e) => e.operation.startsWith('xks:')).length;
    };
    const served = await proxied();
    for (const dry of dryRuns()) expect(await errorName(dry())).toBe('DryRunOperationException');
    expect(await proxied()).toBe(served);
    await peer.stop();
    try {
      expect(await errorName(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).toBe('KMSInvalidStateException');
      expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob })))).toBe('KMSInvalidStateException');
      expect(await errorName(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32 })))).toBe('KMSInvalidStateException');
      // A dry run does not call the proxy (its log would record an operation that never ran, and the
      // call would count against the store's quota), so it cannot know the proxy is down.
      for (const dry of dryRuns()) expect(await errorName(dry())).toBe('DryRunOperationException');
      expect((await storeView(storeId)).ConnectionState).toBe('CONNECTED');
    } finally {
      await peer.start();
    }
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }))).Plaintext!).toString()).toBe('across an outage');
  }, 60_000);

  it('disconnected, its keys are unusable; connecting while the proxy is down ends FAILED with XKS_PROXY_NOT_REACHABLE; reconnected, it works', async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect((await storeView(storeId)).ConnectionState).toBe('DISCONNECTED');
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Unavailable');
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).toBe('KMSInvalidStateException');
    await peer.stop();
    try {
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
      expect(await storeView(storeId)).toMatchObject({ ConnectionState: 'FAILED', ConnectionErrorCode: 'XKS_PROXY_NOT_REACHABLE' });
      await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    } finally {
      await peer.start();
    }
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect((await storeView(storeId)).ConnectionState).toBe('CONNECTED');
    expect(await roundTrip(keyId, 'reconnected')).toBe('reconnected');
  }, 60_000);

  it('updates: a new name while connected; a new endpoint only while disconnected; a wrong new credential is refused', async () => {
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, NewCustomKeyStoreName: 'peer-renamed' }));
    expect((await storeView(storeId)).CustomKeyStoreName).toBe('peer-renamed');
    expect(await errorName(kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, XksProxyUriEndpoint: 'https://other.kura.test' })))).toBe('CustomKeyStoreInvalidStateException');
    const wrong = { AccessKeyId: peer.store.accessKeyId, RawSecretAccessKey: randomBytes(33).toString('base64') };
    expect(await errorName(kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, XksProxyAuthenticationCredential: wrong })))).toBe('XksProxyIncorrectAuthenticationCredentialException');
    expect(await roundTrip(keyId, 'still the old credential')).toBe('still the old credential');
    expect(await errorName(kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })))).toBe('CustomKeyStoreInvalidStateException');
  });

  it("names the KMS API behind each health check in its requestMetadata's kmsOperation (the XKS spec, GetHealthStatus), as the proxy's log shows", async () => {
    // A change of proxy settings is checked against the proxy (UpdateCustomKeyStore), on a disconnected store.
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, ...settings() }));
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const r = await peer.admin('POST', '/commands/audit.list', { operation: 'xks:GetHealthStatus', outcome: 'ok', limit: 500 });
    const operations = new Set((r.body as { entries: { details?: { kmsOperation?: string } }[] }).entries.map((e) => e.details?.kmsOperation));
    expect([...operations].sort()).toEqual(['ConnectCustomKeyStore', 'CreateCustomKeyStore', 'UpdateCustomKeyStore']);
  });
});
