// HSM key stores end to end on SoftHSM2: a real `kura serve --dev` process, tokens made with
// softhsm2-util in a temporary directory (SOFTHSM2_CONF set in this process before Kura starts, so the
// appliance inherits it), the HSM registered with `kura hsm add`, and the custom key store driven through
// @aws-sdk/client-kms and Debian's AWS CLI v2 as AWS documents it: CreateCustomKeyStore,
// ConnectCustomKeyStore, CreateKey with Origin AWS_CLOUDHSM, Encrypt/Decrypt/GenerateDataKey, then
// pkcs11-tool confirms that the key is on the token, labelled with its ARN, sensitive and never
// extractable. Then what goes wrong: a disconnected store (KMSInvalidStateException), a wrong PIN
// (FAILED, INVALID_CREDENTIALS), a token pulled out while connected (errors, then FAILED; the appliance
// keeps serving), reconnecting, and deleting (refused while keys live in the store).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  GenerateRandomCommand,
  ListKeysCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBlob } from '../../main/kms/ciphertext.js';
import { cliRoundTrip, debianKmsCli, runProgram } from '../support/aws-cli.js';
import { errorName, kmsClient } from '../support/kms-client.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE, trustAnchorPem, type SoftHsmToken } from '../support/tokens.js';

const soft = softHsm();

describe('HSM key stores on SoftHSM2 through the KMS API', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let trustAnchor: string;
  const tokens: Record<string, SoftHsmToken> = {};

  /** `kura hsm add` against the running appliance: the HSM ID. */
  const addHsm = async (label: string): Promise<string> => {
    const r = await runKura(['hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', label, '--data-dir', kura.dataDir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { hsmId: string; token: { label: string } };
    expect(body.token.label).toBe(label);
    return body.hsmId;
  };
  const createStore = async (name: string, hsmId: string, pin: string): Promise<string> =>
    (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: name, CloudHsmClusterId: hsmId, TrustAnchorCertificate: trustAnchor, KeyStorePassword: pin }))).CustomKeyStoreId!;
  const storeView = async (id: string) => (await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))).CustomKeyStores![0]!;
  const hsmKey = async (storeId: string) =>
    (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM', Description: 'on SoftHSM2' }))).KeyMetadata!;
  const roundTrip = async (keyId: string, text: string) => {
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text), EncryptionContext: { app: 'hsm-test' } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: 'hsm-test' } }));
    return Buffer.from(dec.Plaintext!).toString();
  };

  beforeAll(async () => {
    for (const [name, pin] of [['kura-main', '7654321'], ['kura-wrong-pin', '1111111'], ['kura-pulled', '2222222']] as const) tokens[name] = soft.makeToken(name, pin);
    trustAnchor = trustAnchorPem();
    kura = await startKura();
    kms = kmsClient(kura);
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
    soft.cleanup();
  });

  let storeId: string;
  let keyId: string;
  let keyArn: string;

  it('creates a store on a registered token, connects it, and makes a key there that the SDK encrypts and decrypts with', async () => {
    const hsmId = await addHsm('kura-main');
    expect(hsmId).toMatch(/^cluster-[2-7a-z]{11}$/);
    storeId = await createStore('softhsm-main', hsmId, tokens['kura-main']!.pin);
    expect((await storeView(storeId)).ConnectionState).toBe('DISCONNECTED');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const view = await storeView(storeId);
    expect(view).toMatchObject({ CustomKeyStoreName: 'softhsm-main', CustomKeyStoreType: 'AWS_CLOUDHSM', CloudHsmClusterId: hsmId, ConnectionState: 'CONNECTED' });
    expect(view.ConnectionErrorCode).toBeUndefined();
    const key = await hsmKey(storeId);
    expect(key).toMatchObject({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId, CloudHsmClusterId: hsmId, KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT' });
    const described = (await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId! }))).KeyMetadata!;
    expect(described.CloudHsmClusterId).toBe(hsmId);
    // A key in a custom key store does not rotate: AWS names no current key material for it.
    expect(key.CurrentKeyMaterialId).toBeUndefined();
    expect(described.CurrentKeyMaterialId).toBeUndefined();
    keyId = key.KeyId!;
    keyArn = key.Arn!;
    expect(await roundTrip(keyId, 'sealed on the token')).toBe('sealed on the token');
    const random = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 64, CustomKeyStoreId: storeId }));
    expect(random.Plaintext).toHaveLength(64);
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    expect(Buffer.from(back.Plaintext!)).toEqual(Buffer.from(dk.Plaintext!));
  });

  it('serves the AWS CLI v2 (Debian\'s /usr/bin/aws) with the same key', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-hsm-cli-'));
    try {
      const cli = debianKmsCli(kura, work);
      const trip = await cliRoundTrip(cli, work, keyArn, 'from the AWS CLI');
      expect(trip.stderr).toEqual(['', '']);
      expect(trip.plaintext).toBe('from the AWS CLI');
      const stores = await cli(['describe-custom-key-stores', '--custom-key-store-id', storeId]);
      expect((JSON.parse(stores.stdout) as { CustomKeyStores: { ConnectionState: string }[] }).CustomKeyStores[0]!.ConnectionState).toBe('CONNECTED');
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('two concurrent bursts of 200 encrypts share the token sessions: every call succeeds, none sees CKR_OPERATION_ACTIVE', async () => {
    const burst = (tag: string) =>
      Promise.allSettled(Array.from({ length: 200 }, (_, i) => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`${tag}-${i}`) }))));
    const [a, b] = await Promise.all([burst('a'), burst('b')]);
    const failures = [...a, ...b].filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    // Every ciphertext opens to its own plaintext (no call got another's session state).
    const sample = (a[17] as PromiseFulfilledResult<{ CiphertextBlob?: Uint8Array }>).value.CiphertextBlob!;
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: sample }))).Plaintext!).toString()).toBe('a-17');
    expect(kura.stderr()).not.toMatch(/OPERATION_ACTIVE/);
  });

  it('shares one derived key among the blobs of an epoch: the same header nonce, a different IV each, every blob its own ciphertext', async () => {
    const blobs = await Promise.all(
      Array.from({ length: 20 }, async () => parseBlob(Buffer.from((await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('same') }))).CiphertextBlob!))),
    );
    expect(new Set(blobs.map((b) => b.nonce!.toString('hex'))).size).toBe(1);
    expect(new Set(blobs.map((b) => b.iv.toString('hex'))).size).toBe(20);
    expect(new Set(blobs.map((b) => b.sealed.toString('hex'))).size).toBe(20);
  });

  it('keeps the key on the token, labelled with its ARN, sensitive and never extractable (pkcs11-tool says so)', async () => {
    const t = tokens['kura-main']!;
    const r = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', t.label, '--login', '--pin', t.pin, '--list-objects', '--type', 'secrkey'], soft.env);
    expect(r.code).toBe(0);
    const objects = r.stdout.split(/\n(?=Secret Key Object)/).filter((o) => o.includes(`label:      ${keyArn}`));
    expect(objects).toHaveLength(1);
    const access = /Access:\s*(.*)/.exec(objects[0]!)?.[1] ?? '';
    expect(access).toMatch(/\bsensitive\b/);
    expect(access).toMatch(/never extractable/);
    expect(access.replace('never extractable', '')).not.toMatch(/extractable/);
    expect(objects[0]).toMatch(/AES length 32/);
    // It only derives per-blob keys: it encrypts nothing itself, wraps and signs nothing.
    expect(objects[0]).toMatch(/Usage:\s*derive\s*$/m);
  });

  it('makes the key Unavailable while its store is disconnected, usable again once connected; a store with keys is not deleted', async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect((await storeView(storeId)).ConnectionState).toBe('DISCONNECTED');
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Unavailable');
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).toBe('KMSInvalidStateException');
    expect(await errorName(kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })))).toBe('CustomKeyStoreInvalidStateException');
    expect(await errorName(kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })))).toBe('CustomKeyStoreHasCMKsException');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect(await roundTrip(keyId, 'back again')).toBe('back again');
    expect(await errorName(kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })))).toBe('CustomKeyStoreInvalidStateException');
  });

  it('kura hsm list|test|remove, the module path rules, and the devices route for the console', async () => {
    const dataDir = ['--data-dir', kura.dataDir];
    const listed = JSON.parse((await runKura(['hsm', 'list', ...dataDir, '--json'])).stdout) as { hsmId: string; tokenLabel: string }[];
    const main = listed.find((h) => h.tokenLabel === 'kura-main')!;
    expect(main.hsmId).toMatch(/^cluster-/);
    const tested = await runKura(['hsm', 'test', main.hsmId, ...dataDir]);
    expect(tested.code).toBe(0);
    expect(tested.stdout).toMatch(/token "kura-main" is present/);
    // In use by a custom key store: not removed.
    const inUse = await runKura(['hsm', 'remove', main.hsmId, ...dataDir, '--json']);
    expect(inUse.code).not.toBe(0);
    expect(inUse.stderr).toMatch(/CloudHsmClusterInUse/);
    // A module in a world-writable directory is never loaded.
    const open = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ww-'));
    try {
      fs.chmodSync(open, 0o777);
      fs.copyFileSync(SOFTHSM_MODULE, path.join(open, 'libsofthsm2.so'));
      const refused = await runKura(['hsm', 'add', '--module', path.join(open, 'libsofthsm2.so'), '--token-label', 'kura-main', ...dataDir, '--json']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/CloudHsmClusterInvalidConfiguration/);
      expect(refused.stderr).toMatch(/writable/);
    } finally {
      fs.rmSync(open, { recursive: true, force: true });
    }
    expect((await runKura(['hsm', 'list', ...dataDir, '--json'])).stdout).not.toMatch(/kura-ww-/);
    // --pin-file checks a login when the HSM is added; a wrong PIN registers nothing.
    const pinFile = path.join(os.tmpdir(), `kura-pin-${process.pid}`);
    fs.writeFileSync(pinFile, 'wrong-pin\n', { mode: 0o600 });
    try {
      const wrong = await runKura(['hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', 'kura-pulled', '--pin-file', pinFile, ...dataDir, '--json']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/logging in to it failed \(INVALID_CREDENTIALS\)/);
      expect(wrong.stderr).not.toContain('wrong-pin');
    } finally {
      fs.rmSync(pinFile, { force: true });
    }
    expect((await runKura(['hsm', 'list', ...dataDir, '--json'])).stdout).not.toMatch(/kura-pulled/);
    const token = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
    const devices = await fetch(`${kura.url}/admin/v1/devices`, { headers: { authorization: `Bearer ${token}` } });
    expect(devices.status).toBe(200);
    expect(await devices.json()).toBeTypeOf('object');
  });

  it('a wrong PIN leaves the store FAILED with INVALID_CREDENTIALS', async () => {
    const hsmId = await addHsm('kura-wrong-pin');
    const id = await createStore('softhsm-wrong-pin', hsmId, 'not-the-pin');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    expect(await storeView(id)).toMatchObject({ ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' });
    expect(await errorName(kms.send(new CreateKeyCommand({ CustomKeyStoreId: id, Origin: 'AWS_CLOUDHSM' })))).toBe('CustomKeyStoreInvalidStateException');
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    await kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    expect(await errorName(kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id })))).toBe('CustomKeyStoreNotFoundException');
  });

  it('a token pulled out while connected gives errors, then FAILED, and the appliance keeps serving', async () => {
    const t = tokens['kura-pulled']!;
    const id = await createStore('softhsm-pulled', await addHsm(t.label), t.pin);
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }));
    const key = await hsmKey(id);
    expect(await roundTrip(key.KeyId!, 'before')).toBe('before');
    fs.rmSync(t.dir, { recursive: true, force: true });
    // SoftHSM2 keeps answering from memory (the blob keys of the login session): Kura notices at its
    // next presence check, at most PRESENCE_CHECK_MS later; from then on every call fails.
    const encrypt = () => errorName(kms.send(new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from('after') })));
    await expect.poll(encrypt, { timeout: 5_000, interval: 50 }).not.toBe('ok');
    const errors = new Set<string>();
    for (let i = 0; i < 5; i++) errors.add(await encrypt());
    expect([...errors].every((e) => ['KeyUnavailableException', 'KMSInvalidStateException'].includes(e))).toBe(true);
    await expect.poll(async () => (await storeView(id)).ConnectionState, { timeout: 10_000 }).toBe('FAILED');
    expect((await storeView(id)).ConnectionErrorCode).toBeDefined();
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId! }))).KeyMetadata!.KeyState).toBe('Unavailable');
    // The other store and the appliance are untouched.
    expect(await roundTrip(keyId, 'still here')).toBe('still here');
    expect((await kms.send(new ListKeysCommand({}))).Keys!.length).toBeGreaterThanOrEqual(2);
    expect(kura.proc.exitCode).toBeNull();
  });
});
