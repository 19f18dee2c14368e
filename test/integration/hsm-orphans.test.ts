// A `kura serve` killed outright (SIGKILL: no exit handler runs) between a CreateKey's C_GenerateKey on an
// HSM token and its commit to SQLite, end to end: a real appliance on a SoftHSM2 token behind
// test/support/pkcs11-shim, which holds the CreateKey in the C_GetAttributeValue that follows the
// generate, while the key is on the token already. The key stays on the token with no row to name it.
// After a restart on the same data directory the store reconnects, the KMS API knows no such key, the
// keys it does know work, and the log names the orphan by its label (the ARN it was to have) and
// CKA_ID for the operator (main/kms/custom-key-stores.ts, reportOrphans).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConnectCustomKeyStoreCommand, CreateCustomKeyStoreCommand, CreateKeyCommand, DecryptCommand, DescribeCustomKeyStoresCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterAll, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { setShimFault, shimOver } from '../support/pkcs11-shim.js';
import { waitFor } from '../support/processes.js';
import { secretKeysOn, softHsm, SOFTHSM_MODULE, trustAnchorPem } from '../support/tokens.js';

const soft = softHsm();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-hsm-orphans-'));
// Kura and the module hosts it starts inherit the shim's environment.
const { shim, control } = shimOver(SOFTHSM_MODULE, path.join(work, 'shim-control'));
const token = soft.makeToken('kura-orphans', '4444444');

const running: KuraProcess[] = [];
afterAll(async () => {
  setShimFault(control, null);
  for (const k of running) await k.stop();
  fs.rmSync(work, { recursive: true, force: true });
  soft.cleanup();
});

const onToken = () => secretKeysOn(soft, token);

it('a key generated on the token by a CreateKey killed before its commit is unknown to the API after a restart, and the log names it by label and CKA_ID', async () => {
  const first = await startKura();
  running.push(first);
  const kms = kmsClient(first);
  const added = await runKura(['hsm', 'add', '--module', shim, '--token-label', token.label, '--json', '--data-dir', first.dataDir]);
  expect(added.stderr).toBe('');
  const hsmId = (JSON.parse(added.stdout) as { hsmId: string }).hsmId;
  const storeId = (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'orphans', CloudHsmClusterId: hsmId, TrustAnchorCertificate: trustAnchorPem(), KeyStorePassword: token.pin }))).CustomKeyStoreId!;
  await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  const kept = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!;
  const sealed = (await kms.send(new EncryptCommand({ KeyId: kept.KeyId, Plaintext: Buffer.from('before the kill') }))).CiphertextBlob!;

  setShimFault(control, { action: 'hang', fn: 'C_GetAttributeValue' });
  const cutOff = kmsClient(first).send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' })).catch(() => undefined);
  // Each look is a pkcs11-tool process: on a loaded machine (the suite on two cores) a few take seconds.
  await waitFor(() => onToken().size === 2, 20_000);
  await first.kill9();
  await cutOff;
  setShimFault(control, null);
  const [orphanLabel, orphanId] = [...onToken()].find(([label]) => label !== kept.Arn)!;

  const second = await startKura({ dataDir: first.dataDir });
  running.push(second);
  const again = kmsClient(second);
  expect((await again.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }))).CustomKeyStores![0]!.ConnectionState).toBe('CONNECTED');
  expect((await again.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId)).toEqual([kept.KeyId]);
  expect(Buffer.from((await again.send(new DecryptCommand({ CiphertextBlob: sealed }))).Plaintext!).toString()).toBe('before the kill');
  // Still on the token: Kura destroys nothing it did not commit. The log says what and where.
  expect(onToken().get(orphanLabel)).toBe(orphanId);
  const lines = second.stderr().split('\n').filter((l) => l.includes('HSM token key that no KMS key of this appliance uses'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(orphanLabel);
  expect(lines[0]).toContain(orphanId);
  expect(second.stderr()).not.toContain(`${kept.Arn}`);
}, 60_000);
