// `kura hsm keys --store ID [--orphans] [--json]` end to end, on a real SoftHSM2 token in a temporary
// directory and a real `kura serve --dev` process: a connected AWS_CLOUDHSM store with two KMS keys, a
// key labelled as CreateKey labels keys but that no KMS key uses (an orphan, made here with pkcs11-tool
// as a CreateKey killed before its commit leaves one), another application's key, and an XKS proxy store
// on the same HSM (sharing the token's login) with a key of its own. The listing names each key's user
// by key ID or external key ID, the orphan as used by nothing, and the XKS store as sharing the token;
// --orphans shows the orphan alone; a disconnected store is refused with a message saying to connect
// it; --help describes the command. Nothing is removed from the token.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConnectCustomKeyStoreCommand, CreateCustomKeyStoreCommand, CreateKeyCommand, DisconnectCustomKeyStoreCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { secretKeysOn, softHsm, SOFTHSM_MODULE, trustAnchorPem } from '../support/tokens.js';

const soft = softHsm();
const token = soft.makeToken('kura-hsm-keys', '5555555');
const ORPHAN_LABEL = `arn:aws:kms:us-east-1:111122223333:key/${randomUUID()}`;
const ORPHAN_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

let kura: KuraProcess;
let storeId: string;
let keyIds: string[];
let xksStoreId: string;
let externalKeyId: string;

const kuraCli = (...args: string[]) => runKura([...args, '--data-dir', kura.dataDir]);
const tool = (...args: string[]) => execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', token.label, '--login', '--pin', token.pin, ...args], { env: soft.env, stdio: 'pipe' });

interface Listed {
  customKeyStoreId: string;
  hsmId: string;
  tokenLabel: string;
  sharedWith: string[];
  truncated: boolean;
  keys: { label: string; ckaId: string; materialId: string; use: string; keyId?: string; xksStoreId?: string; externalKeyId?: string }[];
}

beforeAll(async () => {
  kura = await startKura();
  const kms = kmsClient(kura);
  const added = await kuraCli('hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', token.label, '--json');
  expect(added.stderr).toBe('');
  const hsmId = (JSON.parse(added.stdout) as { hsmId: string }).hsmId;
  storeId = (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'keys', CloudHsmClusterId: hsmId, TrustAnchorCertificate: trustAnchorPem(), KeyStorePassword: token.pin }))).CustomKeyStoreId!;
  await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  keyIds = [];
  for (let i = 0; i < 2; i++) keyIds.push((await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!.KeyId!);
  // What a CreateKey killed between the token and the database leaves: an AES key labelled with an ARN no key has.
  tool('--keygen', '--key-type', 'AES:32', '--label', ORPHAN_LABEL, '--id', ORPHAN_ID);
  tool('--keygen', '--key-type', 'AES:32', '--label', 'another-application', '--id', 'beef');
  // An XKS proxy store on the same HSM: one login, shared.
  // Beside the token directory: soft.cleanup() removes it with the tokens.
  const pinFile = path.join(path.dirname(soft.tokenDir), 'pin');
  fs.writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
  const made = await kuraCli('xks', 'stores', 'create', '--uri-path-prefix', 'shared', '--hsm', hsmId, '--pin-file', pinFile, '--json');
  expect(made.stderr).toBe('');
  xksStoreId = (JSON.parse(made.stdout) as { storeId: string }).storeId;
  const key = await kuraCli('xks', 'keys', 'create', '--store', xksStoreId, '--json');
  expect(key.stderr).toBe('');
  externalKeyId = (JSON.parse(key.stdout) as { externalKeyId: string }).externalKeyId;
}, 90_000);

afterAll(async () => {
  await kura?.stop();
  soft.cleanup();
});

it('lists every key on the token with what uses it, the orphan as used by nothing, in padded columns', async () => {
  const r = await kuraCli('hsm', 'keys', '--store', storeId);
  expect([r.code, r.stderr]).toEqual([0, '']);
  const lines = r.stdout.split('\n');
  expect(lines[0]).toContain(`Custom key store ${storeId}`);
  expect(r.stdout).toContain(`shared with XKS proxy store(s) ${xksStoreId}`);
  const header = lines.find((l) => l.startsWith('LABEL'))!;
  const usedByColumn = header.indexOf('USED BY');
  const materialColumn = header.indexOf('MATERIAL ID');
  const row = (text: string) => {
    const found = lines.filter((l) => l.includes(text));
    expect(found, text).toHaveLength(1);
    return found[0]!;
  };
  const onToken = secretKeysOn(soft, token);
  for (const keyId of keyIds) {
    const line = row(`KMS key ${keyId}`);
    // Columns line up: the use and the material ID start where the header's do.
    expect(line.indexOf('KMS key')).toBe(usedByColumn);
    expect(line.slice(materialColumn)).toMatch(/^[0-9a-f]{64}$/);
    const label = line.slice(0, line.indexOf(' '));
    expect(label).toMatch(new RegExp(`:key/${keyId}$`));
    expect(line).toContain(onToken.get(label)!);
  }
  const orphan = row(ORPHAN_LABEL);
  expect(orphan).toContain(ORPHAN_ID);
  expect(orphan.indexOf('nothing (orphan)')).toBe(usedByColumn);
  expect(row('another-application')).toContain("nothing of Kura's");
  expect(row(`XKS key ${externalKeyId} (store ${xksStoreId})`).startsWith(externalKeyId)).toBe(true);
  expect(row(`health check of XKS store ${xksStoreId}`)).toContain(`kura-xks-health-${xksStoreId}`);
  expect(r.stdout).toContain('1 orphan(s)');
  expect(r.stdout).toContain('pkcs11-tool');
  // Nothing was removed.
  expect(secretKeysOn(soft, token).get(ORPHAN_LABEL)).toBe(ORPHAN_ID);
});

it('--json gives each key its label, CKA_ID, material ID and use, for scripts', async () => {
  const r = await kuraCli('hsm', 'keys', '--store', storeId, '--json');
  expect([r.code, r.stderr]).toEqual([0, '']);
  const listed = JSON.parse(r.stdout) as Listed;
  expect(listed).toMatchObject({ customKeyStoreId: storeId, tokenLabel: token.label, sharedWith: [xksStoreId], truncated: false });
  expect(listed.keys).toHaveLength(6);
  const byUse = (use: string) => listed.keys.filter((k) => k.use === use);
  expect(byUse('kms-key').map((k) => k.keyId).sort()).toEqual([...keyIds].sort());
  expect(byUse('orphan')).toEqual([{ label: ORPHAN_LABEL, ckaId: ORPHAN_ID, materialId: expect.stringMatching(/^[0-9a-f]{64}$/), use: 'orphan' }]);
  expect(byUse('xks-key')).toEqual([expect.objectContaining({ label: externalKeyId, externalKeyId, xksStoreId })]);
  expect(byUse('xks-health-check')).toEqual([expect.objectContaining({ xksStoreId })]);
  expect(byUse('not-kura')).toEqual([expect.objectContaining({ label: 'another-application', ckaId: 'beef' })]);
  expect(r.stdout).not.toMatch(/"value"/);
});

it('--orphans shows the orphan alone, in text and JSON', async () => {
  const text = await kuraCli('hsm', 'keys', '--store', storeId, '--orphans');
  expect(text.code).toBe(0);
  const rows = text.stdout.split('\n').filter((l) => /^(arn:|kura-|another)/.test(l));
  expect(rows).toEqual([expect.stringContaining(ORPHAN_LABEL)]);
  const json = JSON.parse((await kuraCli('hsm', 'keys', '--store', storeId, '--orphans', '--json')).stdout) as Listed;
  expect(json.keys.map((k) => k.label)).toEqual([ORPHAN_LABEL]);
});

it('refuses a store that is not connected, saying to connect it; and an ID that is not one', async () => {
  const kms = kmsClient(kura);
  await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  try {
    const text = await kuraCli('hsm', 'keys', '--store', storeId);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`${storeId} is not connected`);
    expect(text.stderr).toContain('connect-custom-key-store');
    const json = await kuraCli('hsm', 'keys', '--store', storeId, '--json');
    expect((JSON.parse(json.stderr) as { error: { code: string } }).error.code).toBe('CustomKeyStoreInvalidState');
  } finally {
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  }
  const none = await kuraCli('hsm', 'keys', '--store', 'cks-0123456789abcdef0', '--json');
  expect((JSON.parse(none.stderr) as { error: { code: string } }).error.code).toBe('CustomKeyStoreNotFound');
  const bad = await kuraCli('hsm', 'keys', '--store', 'nope');
  expect(bad.code).toBe(2);
  const missing = await kuraCli('hsm', 'keys');
  expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('--store or --hsm is required')]);
});

it('--help describes the command and its options', async () => {
  const r = await runKura(['hsm', 'keys', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('kura hsm keys');
  expect(r.stdout).toContain('--store');
  expect(r.stdout).toContain('--orphans');
  expect(r.stdout).toContain('orphan');
});
