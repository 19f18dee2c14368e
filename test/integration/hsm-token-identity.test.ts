// An HSM's token is its serial number as well as its label: a real `kura serve --dev` on SoftHSM2
// (tokens made with softhsm2-util in a temporary directory), the HSM registered with `kura hsm add`, the
// store driven through @aws-sdk/client-kms. The registered token is deleted and another initialised with
// the same label (softhsm2-util --delete-token, then --init-token): ConnectCustomKeyStore leaves the store
// FAILED with CLUSTER_NOT_FOUND, `kura hsm test` names both serial numbers, and the PIN never reached the
// impostor — SoftHSM sets CKF_USER_PIN_COUNT_LOW on a token after a wrong PIN, and pkcs11-tool (another
// process) finds it unset; an impostor given the same PIN gets no key either. The module file is checked
// again at every connect: one made writable by others after registration is refused (CLUSTER_NOT_FOUND).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DescribeCustomKeyStoresCommand,
  DisconnectCustomKeyStoreCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '../support/aws-cli.js';
import { errorName, kmsClient } from '../support/kms-client.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE, trustAnchorPem } from '../support/tokens.js';

const soft = softHsm();

/** Deletes the token labelled `label` and initialises another with the same label and this user PIN. */
function reinitialise(label: string, pin: string): void {
  execFileSync('softhsm2-util', ['--delete-token', '--token', label], { env: soft.env, stdio: 'pipe' });
  soft.makeToken(label, pin);
}

/** What pkcs11-tool (OpenSC, another process) says of the token labelled `label`: its serial number and flags. */
async function tokenAsListed(label: string): Promise<{ serial: string; flags: string }> {
  const r = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--list-token-slots'], soft.env);
  expect(r.code).toBe(0);
  const slot = r.stdout.split(/\n(?=Slot )/).find((s) => new RegExp(`token label\\s*: ${label}\\s*$`, 'm').test(s));
  expect(slot).toBeDefined();
  return { serial: /serial num\s*: (\S+)/.exec(slot!)![1]!, flags: /token flags\s*: (.*)/.exec(slot!)![1]! };
}

describe('a token that is not the one registered', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let trustAnchor: string;

  const addHsm = async (label: string): Promise<{ hsmId: string; serial: string }> => {
    const r = await runKura(['hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', label, '--data-dir', kura.dataDir, '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { hsmId: string; token: { serialNumber: string } };
    return { hsmId: body.hsmId, serial: body.token.serialNumber };
  };
  const storeOn = async (name: string, hsmId: string, pin: string): Promise<string> =>
    (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: name, CloudHsmClusterId: hsmId, TrustAnchorCertificate: trustAnchor, KeyStorePassword: pin }))).CustomKeyStoreId!;
  const storeView = async (id: string) => (await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))).CustomKeyStores![0]!;

  beforeAll(async () => {
    soft.makeToken('kura-registered', '7654321');
    soft.makeToken('kura-same-pin', '2345678');
    soft.makeToken('kura-module', '3456789');
    trustAnchor = trustAnchorPem();
    kura = await startKura();
    kms = kmsClient(kura);
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
    soft.cleanup();
  });

  it('refuses a re-initialised token with the same label before logging in: FAILED, CLUSTER_NOT_FOUND, its PIN counter untouched', async () => {
    const { hsmId, serial } = await addHsm('kura-registered');
    const storeId = await storeOn('registered', hsmId, '7654321');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const key = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!;
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));

    // Another token, the same label, another PIN: had Kura offered it the store's PIN, SoftHSM would say "user PIN count low".
    reinitialise('kura-registered', '1111111');
    const impostor = await tokenAsListed('kura-registered');
    expect(impostor.serial).not.toBe(serial);
    expect(impostor.flags).not.toMatch(/user PIN count low/);

    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect(await storeView(storeId)).toMatchObject({ ConnectionState: 'FAILED', ConnectionErrorCode: 'CLUSTER_NOT_FOUND' });
    expect((await tokenAsListed('kura-registered')).flags).not.toMatch(/user PIN count low/);
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from('x') })))).toBe('KMSInvalidStateException');

    const tested = await runKura(['hsm', 'test', hsmId, '--data-dir', kura.dataDir, '--json']);
    expect(tested.code).toBe(1);
    expect(tested.stderr).toMatch(/CloudHsmClusterInvalidConfiguration/);
    expect(tested.stderr).toContain(`serial number ${impostor.serial}, not ${serial}`);
    expect(tested.stderr).toMatch(/register it as a new HSM \(kura hsm add; its module and label are taken until this registration is removed with kura hsm remove\)/);
  });

  it('gives an impostor that knows the PIN no login and no key: CreateKey is refused, nothing is made on it', async () => {
    const { hsmId } = await addHsm('kura-same-pin');
    const storeId = await storeOn('same-pin', hsmId, '2345678');
    reinitialise('kura-same-pin', '2345678');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect(await storeView(storeId)).toMatchObject({ ConnectionState: 'FAILED', ConnectionErrorCode: 'CLUSTER_NOT_FOUND' });
    expect(await errorName(kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' })))).toBe('CustomKeyStoreInvalidStateException');
    const objects = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', 'kura-same-pin', '--login', '--pin', '2345678', '--list-objects'], soft.env);
    expect(objects.code).toBe(0);
    expect(objects.stdout).not.toMatch(/Secret Key Object/);
    expect(kura.proc.exitCode).toBeNull();
  });

  it('checks the module file again at each connect: made writable by others after registration, it is not loaded', async () => {
    // Not under /tmp: a module in a world-writable directory, sticky or not, is refused from the start.
    const cache = path.join(os.homedir(), '.cache');
    fs.mkdirSync(cache, { recursive: true, mode: 0o700 });
    const dir = fs.mkdtempSync(path.join(cache, 'kura-module-recheck-'));
    try {
      const module = path.join(dir, 'libsofthsm2.so');
      fs.copyFileSync(SOFTHSM_MODULE, module);
      fs.chmodSync(module, 0o755);
      const added = await runKura(['hsm', 'add', '--module', module, '--token-label', 'kura-module', '--data-dir', kura.dataDir, '--json']);
      expect(added.code, added.stderr).toBe(0);
      const hsmId = (JSON.parse(added.stdout) as { hsmId: string }).hsmId;
      const storeId = await storeOn('module', hsmId, '3456789');
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
      expect((await storeView(storeId)).ConnectionState).toBe('CONNECTED');
      await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));

      fs.chmodSync(module, 0o666);
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
      expect(await storeView(storeId)).toMatchObject({ ConnectionState: 'FAILED', ConnectionErrorCode: 'CLUSTER_NOT_FOUND' });
      const tested = await runKura(['hsm', 'test', hsmId, '--data-dir', kura.dataDir]);
      expect(tested.code).toBe(1);
      expect(tested.stderr).toMatch(/the file is writable by group or others/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
