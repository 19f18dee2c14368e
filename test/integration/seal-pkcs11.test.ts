// Seal mode pkcs11 across real `kura serve` processes (not dev mode) with a SoftHSM2 token made in a
// temporary directory: `kura init --seal pkcs11` makes a sensitive, never-extractable key on the token
// (pkcs11-tool shows it) and leaves the appliance sealed; a wrong PIN is refused and the appliance stays
// sealed and serving; the PIN (from stdin, then from a file after a restart) unseals it and keys work
// through the AWS SDK; the sealed root key in SQLite is not the root key (the check value matches only
// after the token opens it); the PIN reaches no log, audit entry or database file.
import { CreateKeyCommand, DecryptCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAad } from '../../main/seal/at-rest.js';
import { Pkcs11RootKeyToken } from '../../main/seal/pkcs11-root-key-token.js';
import { rootKeyCheckValue } from '../../main/seal/root-key.js';
import { openStore } from '../../main/store/index.js';
import { kmsClient } from '../support/kms-client.js';
import { isolatedEnv, runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';
import { softHsm, type SoftHsmEnv, type SoftHsmToken } from '../support/tokens.js';

const SQLITE3 = '/usr/bin/sqlite3';
const PIN = 'kura-pin-5e1f27c9';

let hsm: SoftHsmEnv;
let token: SoftHsmToken;
const home = tempDataDir('kura-seal-pkcs11-home-');
const dataDir = tempDataDir('kura-seal-pkcs11-');
const pinFile = path.join(home, 'pin.txt');
const wrongPinFile = path.join(home, 'wrong-pin.txt');
let kura: KuraProcess;
let restarted: KuraProcess | undefined;
let env: NodeJS.ProcessEnv;

// --data-dir as well: a PKCS#11 init and a PIN unseal need the admin token kept there.
const kuraCli = (args: string[], input?: string) => runKura([...args, '--endpoint', (restarted ?? kura).url, '--data-dir', dataDir], { env, input });

async function status(): Promise<Record<string, unknown>> {
  const r = await kuraCli(['status', '--json']);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('the call succeeded; a failure was expected');
}

function tokenKeys(): string {
  return execFileSync('pkcs11-tool', ['--module', hsm.modulePath, '--token-label', token.label, '--login', '--pin', PIN, '--list-objects', '--type', 'secrkey'], {
    env: hsm.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

const sql = (query: string) => execFileSync(SQLITE3, [path.join(dataDir, 'kura.db'), query]).toString().trim();

beforeAll(async () => {
  hsm = softHsm();
  token = hsm.makeToken('kura-seal-it', PIN);
  env = { ...isolatedEnv(home), SOFTHSM2_CONF: hsm.conf };
  fs.writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
  fs.writeFileSync(wrongPinFile, '0000000\n', { mode: 0o600 });
  kura = await startKura({ dataDir, dev: false, env: { SOFTHSM2_CONF: hsm.conf } });
});

afterAll(async () => {
  await kura?.stop();
  await restarted?.stop();
  hsm?.cleanup();
  for (const d of [home, dataDir]) fs.rmSync(d, { recursive: true, force: true });
});

describe('seal mode pkcs11 (kura serve, SoftHSM2)', () => {
  let keyId = '';
  let ciphertext: Uint8Array = new Uint8Array();
  const plaintext = randomBytes(40);
  let credential = { accessKeyId: '', secretAccessKey: '' };

  it('init --seal pkcs11 makes a never-extractable key on the token and leaves the appliance sealed', async () => {
    expect(await status()).toMatchObject({ state: 'uninitialized' });
    const r = await kuraCli(['init', '--seal', 'pkcs11', '--module', hsm.modulePath, '--token-label', token.label, '--pin-file', pinFile, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as Record<string, string>;
    expect(body).toMatchObject({ mode: 'pkcs11', modulePath: hsm.modulePath, tokenLabel: token.label, state: 'sealed' });
    expect(body.keyLabel).toMatch(/^kura-root-wrap:/);
    expect(body.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(await status()).toMatchObject({ state: 'sealed', mode: 'pkcs11', threshold: null, shares: null });
    const text = await kuraCli(['status']);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('State: sealed (pkcs11)');
    expect(text.stdout).not.toContain('Shares:');

    const listed = tokenKeys();
    expect(listed).toContain(`label:      ${body.keyLabel}`);
    expect(listed).toContain(`ID:         ${body.keyId}`);
    const block = listed.split(/^Secret Key Object/m).find((b) => b.includes(body.keyId!))!;
    expect(block).toMatch(/Access:\s+sensitive, always sensitive, never extractable/);
    expect(block).toMatch(/Usage:\s+encrypt, decrypt\n/);

    // A second init is refused, whatever the mode.
    const again = await kuraCli(['init', '--seal', 'pkcs11', '--module', hsm.modulePath, '--token-label', token.label, '--pin-file', pinFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already initialized/i);
    expect((await kuraCli(['init', '--shares', '3', '--threshold', '2'])).stderr).toMatch(/already initialized/i);
  });

  it('a wrong PIN is refused; the appliance stays sealed and keeps serving', async () => {
    const r = await kuraCli(['unseal', '--pin-file', wrongPinFile, '--json']);
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('AccessDenied');
    expect(err.error.message).toMatch(/refused the PIN/);
    expect(await status()).toMatchObject({ state: 'sealed', mode: 'pkcs11' });
    const f = await failure(kmsClient(kura, { accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'a'.repeat(40) }).send(new ListKeysCommand({})));
    expect(f.name).toBe('ServiceUnavailableException');
    expect(f.message).toMatch(/sealed/i);
    // Shares are refused on a token-sealed appliance, and without a PIN the CLI says which to give.
    expect((await kuraCli(['unseal', 'kura-share-1-00000000-1-1-aaaa-00000000'])).stderr).toMatch(/PIN, not shares/);
    const none = await kuraCli(['unseal']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--pin-file F or --pin-stdin/);
    // A PIN can be guessed (and a real token locks its user after a few): a PIN unseal needs the admin token.
    const anonymous = await fetch(`${kura.url}/admin/v1/unseal`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pin: token.pin }) });
    expect(anonymous.status).toBe(403);
    expect(await status()).toMatchObject({ state: 'sealed', mode: 'pkcs11' });
  });

  it('the PIN on stdin unseals it; a credential and a KMS key work', async () => {
    const r = await kuraCli(['unseal', '--pin-stdin'], `${PIN}\n`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Unsealed.');
    expect(await status()).toMatchObject({ state: 'unsealed', mode: 'pkcs11' });
    const created = await kuraCli(['credentials', 'create', '--account', '123456789012', '--data-dir', dataDir, '--json']);
    expect(created.code).toBe(0);
    credential = JSON.parse(created.stdout) as typeof credential;
    const kms = kmsClient(kura, credential);
    keyId = (await kms.send(new CreateKeyCommand({ Description: 'pkcs11 seal' }))).KeyMetadata!.KeyId!;
    ciphertext = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))).CiphertextBlob!;
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext }));
    expect(Buffer.from(back.Plaintext!).equals(plaintext)).toBe(true);
  });

  it('after a restart it is sealed; the PIN from a file unseals it and old ciphertexts decrypt', async () => {
    expect(await kura.stop()).toBe(0);
    restarted = await startKura({ dataDir, dev: false, env: { SOFTHSM2_CONF: hsm.conf } });
    expect(restarted.stdout()).toMatch(/\(sealed\)/);
    expect(await status()).toMatchObject({ state: 'sealed', mode: 'pkcs11' });
    const kms = kmsClient(restarted, credential);
    expect((await failure(kms.send(new DecryptCommand({ CiphertextBlob: ciphertext })))).name).toBe('ServiceUnavailableException');

    // The banner's line works as printed (with the PIN file for F), from another directory: it named
    // only --endpoint, and a PIN unseal found no admin token there.
    const next = /^Next: kura (unseal --pin-file F .+?) {2}\(the PKCS#11 token's PIN\)$/m.exec(restarted.stdout())?.[1];
    expect(next).toBe(`unseal --pin-file F --data-dir ${dataDir}`);
    const words = next!.split(' ').map((w) => (w === 'F' ? pinFile : w));
    const r = await runKura([...words, '--json'], { env, cwd: home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'unsealed', mode: 'pkcs11' });
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertext }));
    expect(Buffer.from(back.Plaintext!).equals(plaintext)).toBe(true);
    expect(back.KeyId).toContain(keyId);
  });

  it('audits Init and Unseal (refused and done) without the PIN, and the PIN is in no log or database file', async () => {
    const entries = sql("SELECT entry FROM audit_log WHERE entry LIKE '%\"Init\"%' OR entry LIKE '%\"Unseal\"%' ORDER BY seq").split('\n');
    const ops = entries.map((e) => JSON.parse(e) as { operation: string; outcome: string; errorCode?: string; details?: Record<string, unknown> });
    expect(ops.map((e) => [e.operation, e.outcome, e.errorCode ?? null])).toEqual(
      expect.arrayContaining([
        ['Init', 'ok', null],
        ['Unseal', 'error', 'AccessDenied'],
        ['Unseal', 'ok', null],
      ]),
    );
    expect(ops.find((e) => e.operation === 'Init' && e.outcome === 'ok')!.details).toMatchObject({ mode: 'pkcs11', tokenLabel: token.label });
    expect(await restarted!.stop()).toBe(0);
    for (const out of [kura.stdout(), kura.stderr(), restarted!.stdout(), restarted!.stderr()]) expect(out).not.toContain(PIN);
    for (const f of fs.readdirSync(dataDir)) {
      const file = path.join(dataDir, f);
      if (fs.statSync(file).isFile()) expect(fs.readFileSync(file).includes(Buffer.from(PIN)), f).toBe(false);
    }
  });

  it('the sealed root key in SQLite is not the root key: the check value matches only after the token opens it', async () => {
    const s = await openStore(path.join(dataDir, 'kura.db'), { readonly: true });
    let cfg;
    let applianceId;
    try {
      cfg = (await s.appliance.sealConfig())!;
      applianceId = (await s.appliance.applianceId())!;
    } finally {
      await s.close();
    }
    const p = cfg.pkcs11!;
    for (let i = 0; i + 32 <= p.sealedRootKey.length; i++) expect(rootKeyCheckValue(p.sealedRootKey.subarray(i, i + 32)).equals(cfg.checkValue)).toBe(false);
    const { rootKey: root } = await new Pkcs11RootKeyToken().openRootKey({ modulePath: p.modulePath, tokenLabel: p.tokenLabel }, PIN, p, encodeAad('kura/seal/pkcs11/root-key/v1', applianceId));
    try {
      expect(rootKeyCheckValue(root).equals(cfg.checkValue)).toBe(true);
      // The root key itself is in no file of the data directory.
      for (const f of fs.readdirSync(dataDir)) {
        const file = path.join(dataDir, f);
        if (fs.statSync(file).isFile()) expect(fs.readFileSync(file).includes(root), f).toBe(false);
      }
    } finally {
      root.fill(0);
    }
  });
});
