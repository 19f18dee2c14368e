// `kura hsm keys --hsm HSM_ID [--orphans] [--json]` end to end, on real SoftHSM2 tokens in a temporary
// directory and a real `kura serve --dev` process. An HSM that backs an XKS proxy store only (no
// AWS_CLOUDHSM custom key store to list through): the store's two keys, made with `kura xks keys create`
// (whose first one connects the store's token, a login the store keeps), its health check key and a key
// labelled as an XKS key that no row holds (an orphan, made here with pkcs11-tool as an XKS CreateKey
// killed before its commit leaves one) are listed through the store's login, in text and JSON. Another
// HSM whose XKS store has had no call has no live login: the listing is refused, saying what to connect.
// --store and --hsm together, or an --hsm that is no HSM ID, are usage errors.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { secretKeysOn, softHsm, SOFTHSM_MODULE } from '../support/tokens.js';

const soft = softHsm();
const token = soft.makeToken('kura-xks-only', '6666666');
const idleToken = soft.makeToken('kura-xks-idle', '6666666');
const ORPHAN_LABEL = `kura-xks-${randomUUID()}`;
const ORPHAN_ID = 'c0ffee0123456789';

let kura: KuraProcess;
let hsmId: string;
let idleHsmId: string;
let xksStoreId: string;
let idleStoreId: string;
let externalKeyIds: string[];

const kuraCli = (...args: string[]) => runKura([...args, '--data-dir', kura.dataDir]);

interface Listed {
  customKeyStoreId: string | null;
  hsmId: string;
  tokenLabel: string;
  sharedWith: string[];
  truncated: boolean;
  keys: { label: string; ckaId: string; materialId: string; use: string; keyId?: string; xksStoreId?: string; externalKeyId?: string }[];
}

async function addHsm(label: string): Promise<string> {
  const added = await kuraCli('hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', label, '--json');
  expect(added.stderr).toBe('');
  return (JSON.parse(added.stdout) as { hsmId: string }).hsmId;
}

async function xksStoreOn(hsm: string, prefix: string, pinFile: string): Promise<string> {
  const made = await kuraCli('xks', 'stores', 'create', '--uri-path-prefix', prefix, '--hsm', hsm, '--pin-file', pinFile, '--json');
  expect(made.stderr).toBe('');
  return (JSON.parse(made.stdout) as { storeId: string }).storeId;
}

beforeAll(async () => {
  kura = await startKura();
  hsmId = await addHsm(token.label);
  idleHsmId = await addHsm(idleToken.label);
  // Beside the token directory: soft.cleanup() removes it with the tokens.
  const pinFile = path.join(path.dirname(soft.tokenDir), 'pin');
  fs.writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
  xksStoreId = await xksStoreOn(hsmId, 'only', pinFile);
  idleStoreId = await xksStoreOn(idleHsmId, 'idle', pinFile);
  externalKeyIds = [];
  for (let i = 0; i < 2; i++) {
    const key = await kuraCli('xks', 'keys', 'create', '--store', xksStoreId, '--json');
    expect(key.stderr).toBe('');
    externalKeyIds.push((JSON.parse(key.stdout) as { externalKeyId: string }).externalKeyId);
  }
  execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', token.label, '--login', '--pin', token.pin, '--keygen', '--key-type', 'AES:32', '--label', ORPHAN_LABEL, '--id', ORPHAN_ID], { env: soft.env, stdio: 'pipe' });
}, 90_000);

afterAll(async () => {
  await kura?.stop();
  soft.cleanup();
});

it('lists an HSM that backs an XKS store only: both XKS keys, the health check key and the orphan, in text', async () => {
  const r = await kuraCli('hsm', 'keys', '--hsm', hsmId);
  expect([r.code, r.stderr]).toEqual([0, '']);
  const lines = r.stdout.split('\n');
  expect(lines[0]).toBe(`HSM ${hsmId}, token "${token.label}": listed through the login of an XKS proxy store on it`);
  expect(r.stdout).toContain(`shared with XKS proxy store(s) ${xksStoreId}`);
  const row = (text: string) => {
    const found = lines.filter((l) => l.includes(text));
    expect(found, text).toHaveLength(1);
    return found[0]!;
  };
  const onToken = secretKeysOn(soft, token);
  for (const id of externalKeyIds) expect(row(`XKS key ${id} (store ${xksStoreId})`)).toContain(onToken.get(id)!);
  expect(row(`health check of XKS store ${xksStoreId}`)).toContain(`kura-xks-health-${xksStoreId}`);
  const orphan = row(ORPHAN_LABEL);
  expect(orphan).toContain(ORPHAN_ID);
  expect(orphan).toContain('nothing (orphan)');
  expect(r.stdout).toContain('1 orphan(s)');
  // Nothing was removed.
  expect(secretKeysOn(soft, token).get(ORPHAN_LABEL)).toBe(ORPHAN_ID);
});

it('--json gives the same shape as --store, customKeyStoreId null; --orphans the orphan alone', async () => {
  const r = await kuraCli('hsm', 'keys', '--hsm', hsmId, '--json');
  expect([r.code, r.stderr]).toEqual([0, '']);
  const listed = JSON.parse(r.stdout) as Listed;
  expect(Object.keys(listed).sort()).toEqual(['customKeyStoreId', 'hsmId', 'keys', 'sharedWith', 'tokenLabel', 'truncated']);
  expect(listed).toMatchObject({ customKeyStoreId: null, hsmId, tokenLabel: token.label, sharedWith: [xksStoreId], truncated: false });
  expect(listed.keys).toHaveLength(4);
  expect(listed.keys.filter((k) => k.use === 'xks-key').map((k) => k.externalKeyId).sort()).toEqual([...externalKeyIds].sort());
  expect(listed.keys.filter((k) => k.use === 'xks-key').every((k) => k.xksStoreId === xksStoreId)).toBe(true);
  expect(listed.keys.filter((k) => k.use === 'orphan')).toEqual([{ label: ORPHAN_LABEL, ckaId: ORPHAN_ID, materialId: expect.stringMatching(/^[0-9a-f]{64}$/), use: 'orphan' }]);
  const orphans = JSON.parse((await kuraCli('hsm', 'keys', '--hsm', hsmId, '--orphans', '--json')).stdout) as Listed;
  expect(orphans.keys.map((k) => k.label)).toEqual([ORPHAN_LABEL]);
});

it('refuses an HSM with no live login, saying what to connect, in text and JSON', async () => {
  const text = await kuraCli('hsm', 'keys', '--hsm', idleHsmId);
  expect(text.code).toBe(1);
  expect(text.stderr).toContain(`No login of Kura's to the token "${idleToken.label}" of HSM ${idleHsmId} is live`);
  expect(text.stderr).toContain(`XKS proxy store ${idleStoreId} connect its token: it does on its first call`);
  const json = await kuraCli('hsm', 'keys', '--hsm', idleHsmId, '--json');
  expect(json.code).toBe(1);
  expect((JSON.parse(json.stderr) as { error: { code: string } }).error.code).toBe('InvalidState');
  const none = await kuraCli('hsm', 'keys', '--hsm', 'cluster-abcdefghijk', '--json');
  expect((JSON.parse(none.stderr) as { error: { code: string } }).error.code).toBe('CloudHsmClusterNotFound');
});

it('--store and --hsm together, or an --hsm that is no HSM ID, are usage errors', async () => {
  const both = await kuraCli('hsm', 'keys', '--store', 'cks-0123456789abcdef0', '--hsm', hsmId);
  expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('give --store or --hsm, not both')]);
  const bad = await kuraCli('hsm', 'keys', '--hsm', 'nope');
  expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('"nope" is not an HSM ID')]);
  const help = await runKura(['hsm', 'keys', '--help']);
  expect(help.stdout).toContain('--hsm');
});
