// HSM key stores end to end on a second PKCS#11 vendor, NSS softokn (libsoftokn3.so): a database made
// with certutil in a temporary directory (its password is the token's user PIN), registered with
// `kura hsm add --nss-db DIR`, then the custom key store through @aws-sdk/client-kms and Debian's AWS CLI
// v2. NSS takes one database per process, so the appliance here uses this one alone. NSS's own tool
// (symkeyutil) confirms that the key is in the database with its value withheld; the token attributes
// (sensitive, never extractable) are checked through Kura's PKCS#11 layer in test/keystores/hsm/nss.test.ts,
// since pkcs11-tool cannot pass softokn its database parameters.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRoundTrip, debianKmsCli, runProgram } from '../support/aws-cli.js';
import { errorName, kmsClient } from '../support/kms-client.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { nssDatabase, NSS_MODULE, type NssDatabase } from '../support/tokens.js';


describe('HSM key stores on NSS softokn through the KMS API', () => {
  let nss: NssDatabase;
  let kura: KuraProcess;
  let kms: KMSClient;
  let work: string;
  let storeId: string;
  let keyId: string;
  let keyArn: string;

  beforeAll(async () => {
    nss = nssDatabase('kura-nss-e2e-pin');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nss-e2e-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(work, 'k.pem'), '-out', path.join(work, 'ca.pem'), '-subj', '/CN=kura-nss-test-ca', '-days', '2'], { stdio: 'ignore' });
    kura = await startKura();
    kms = kmsClient(kura);
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
    nss?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('registers the NSS database, connects a store with its password, and encrypts with a key made there (JS SDK)', async () => {
    const added = await runKura(['hsm', 'add', '--module', NSS_MODULE, '--token-label', nss.tokenLabel, '--nss-db', nss.dir, '--data-dir', kura.dataDir, '--json']);
    expect(added.stderr).toBe('');
    const hsm = JSON.parse(added.stdout) as { hsmId: string; token: { vendor: string; label: string } };
    expect(hsm.token.label).toBe('NSS Certificate DB');
    storeId = (
      await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'nss',
          CloudHsmClusterId: hsm.hsmId,
          TrustAnchorCertificate: fs.readFileSync(path.join(work, 'ca.pem'), 'utf8'),
          KeyStorePassword: nss.pin,
        }),
      )
    ).CustomKeyStoreId!;
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect((await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }))).CustomKeyStores![0]!.ConnectionState).toBe('CONNECTED');
    const key = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!;
    keyId = key.KeyId!;
    keyArn = key.Arn!;
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('in NSS'), EncryptionContext: { vendor: 'nss' } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { vendor: 'nss' } }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('in NSS');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { vendor: 'other' } })))).toBe('InvalidCiphertextException');
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32 }));
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).Plaintext!)).toEqual(Buffer.from(dk.Plaintext!));
  });

  it('serves the AWS CLI v2 with the same key', async () => {
    const trip = await cliRoundTrip(debianKmsCli(kura, work), work, keyArn, 'NSS via the CLI');
    expect(trip.stderr).toEqual(['', '']);
    expect(trip.plaintext).toBe('NSS via the CLI');
  });

  it('keeps the key in the NSS database with its value withheld (symkeyutil), labelled with its ARN', async () => {
    const pw = path.join(work, 'pw.txt');
    fs.writeFileSync(pw, `${nss.pin}\n`, { mode: 0o600 });
    const listed = await runProgram('symkeyutil', ['-L', '-d', `sql:${nss.dir}`, '-f', pw]);
    expect(listed.code).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.includes(keyArn));
    expect(line).toBeDefined();
    expect(line).toMatch(/\baes\b/);
    expect(line).toMatch(/<restricted>/);
  });

  it('makes the key Unavailable while disconnected and usable again after reconnecting', async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Unavailable');
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).toBe('KMSInvalidStateException');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('again') }));
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).toString()).toBe('again');
  });
});
