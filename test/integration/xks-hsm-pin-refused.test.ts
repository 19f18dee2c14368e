// An XKS proxy store on an HSM whose token no longer takes the store's PIN (changed with pkcs11-tool
// --change-pin while Kura was stopped), end to end on SoftHSM2: a real `kura serve --dev` restarted on
// the same data directory, the XKS proxy API called as AWS KMS calls it. Every XKS call connects a store
// whose token is not connected, and AWS KMS calls often (health checks, retries): a refused PIN is tried
// once, not once a call, since a real token locks its user PIN after a few wrong ones. Then `kura xks
// stores update` gives the store the token's new PIN: a wrong one is refused and changes nothing, the
// right one makes the store work at once and after a restart.
//
// The logins are counted where they cannot be missed: the HSM is registered through OpenSC's PKCS#11
// spy (pkcs11-spy.so, in front of SoftHSM2 by PKCS11SPY), which writes down every C_Login the appliance
// makes and what the token answered; and SoftHSM2's own "user PIN count low" flag (pkcs11-tool -L) says
// that the token saw a wrong PIN since its last good login.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '../support/aws-cli.js';
import { runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE } from '../support/tokens.js';
import { adminCaller, xksCall, type XksStoreCredential } from '../support/xks-client.js';

const soft = softHsm();
const SPY_MODULE = '/usr/lib/x86_64-linux-gnu/pkcs11-spy.so';
const META = { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd', kmsOperation: 'Encrypt', kmsRequestId: 'xks-pin-1' };
const HEALTH = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'h-1' } };

describe('an XKS proxy store whose token refuses its PIN', () => {
  let kura: KuraProcess | undefined;
  let work: string;
  let spyLog: string;
  const dataDir = tempDataDir();
  const start = async () => (kura = await startKura({ dataDir, env: { PKCS11SPY: SOFTHSM_MODULE, PKCS11SPY_OUTPUT: spyLog } }));
  const cli = (args: string[]) => runKura([...args, '--data-dir', dataDir, '--json']);
  /** What the token answered each C_Login the appliance made, in order (the spy's "Returned:" line). */
  const logins = (): string[] => {
    const text = fs.existsSync(spyLog) ? fs.readFileSync(spyLog, 'utf8') : '';
    return [...text.matchAll(/^\d+: C_Login\n[\s\S]*?^Returned:\s+\d+ (\w+)/gm)].map((m) => m[1]!);
  };
  const pinCountLow = async () => {
    const listed = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '-L'], soft.env);
    expect(listed.code, listed.stderr).toBe(0);
    return listed.stdout.includes('user PIN count low');
  };

  beforeAll(() => {
    soft.makeToken('kura-xks-pin', '1234567');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-xks-pin-'));
    spyLog = path.join(work, 'pkcs11-spy.log');
  });
  afterAll(async () => {
    await kura?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
    soft.cleanup();
  });

  it('tries the refused PIN once, answering every call DependencyTimeoutException and the health UNAVAILABLE, until `kura xks stores update` gives the new one', async () => {
    const k = await start();
    const hsmId = (JSON.parse((await cli(['hsm', 'add', '--module', SPY_MODULE, '--token-label', 'kura-xks-pin'])).stdout) as { hsmId: string }).hsmId;
    const pinFile = (name: string, pin: string) => {
      const f = path.join(work, name);
      fs.writeFileSync(f, `${pin}\n`, { mode: 0o600 });
      return f;
    };
    const made = await cli(['xks', 'stores', 'create', '--uri-path-prefix', 'pin', '--hsm', hsmId, '--pin-file', pinFile('old', '1234567')]);
    expect(made.code, made.stderr).toBe(0);
    const store = JSON.parse(made.stdout) as XksStoreCredential & { storeId: string };
    const key = (await adminCaller(k)('POST', `/xks/stores/${store.storeId}/keys`, { usage: ['ENCRYPT', 'DECRYPT'] })).json.externalKeyId as string;
    const encrypt = () => xksCall(kura!, store, `/keys/${key}/encrypt`, { requestMetadata: META, plaintext: Buffer.from('x').toString('base64'), encryptionAlgorithm: 'AES_GCM' });
    const health = async () => (await xksCall(kura!, store, '/health', HEALTH)).json as unknown as { ekmFleetDetails: { healthStatus: string }[] };
    expect((await encrypt()).status).toBe(200);
    expect(logins().every((r) => r === 'CKR_OK')).toBe(true);

    await k.stop();
    const changed = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', 'kura-xks-pin', '--login', '--pin', '1234567', '--change-pin', '--new-pin', '7654321'], soft.env);
    expect(changed.code, changed.stderr).toBe(0);
    expect(await pinCountLow()).toBe(false);
    fs.rmSync(spyLog, { force: true });
    await start();

    for (let i = 0; i < 4; i++) {
      const r = await encrypt();
      expect([r.status, r.json.errorName]).toEqual([503, 'DependencyTimeoutException']);
    }
    expect((await health()).ekmFleetDetails[0]!.healthStatus).toBe('UNAVAILABLE');
    expect(logins()).toEqual(['CKR_PIN_INCORRECT']);
    expect(await pinCountLow()).toBe(true);
    const tries = kura!.stderr().split('\n').filter((l) => l.includes('its HSM token cannot be connected'));
    expect(tries).toHaveLength(1);
    expect(tries[0]).toContain('INVALID_CREDENTIALS');

    // A wrong PIN given to the store: refused as at create, and nothing changes.
    const wrong = await cli(['xks', 'stores', 'update', '--store', store.storeId, '--pin-file', pinFile('wrong', '1111111')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/INVALID_CREDENTIALS/);
    expect(wrong.stderr + wrong.stdout).not.toContain('1111111');
    expect((await encrypt()).status).toBe(503);
    expect(logins()).toEqual(['CKR_PIN_INCORRECT', 'CKR_PIN_INCORRECT']);

    // The token's PIN now: the store works at once, and its health check is made afresh.
    const updated = await cli(['xks', 'stores', 'update', '--store', store.storeId, '--pin-file', pinFile('new', '7654321')]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toEqual({ storeId: store.storeId, hsmId });
    expect((await encrypt()).status).toBe(200);
    expect((await health()).ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
    expect(await pinCountLow()).toBe(false);
    for (const f of fs.readdirSync(dataDir).filter((n) => n.startsWith('kura.db'))) expect(fs.readFileSync(path.join(dataDir, f)).includes(Buffer.from('7654321'))).toBe(false);

    // Kept sealed: a restart logs in with it.
    await kura!.stop();
    await start();
    expect((await encrypt()).status).toBe(200);
    expect(logins().at(-1)).toBe('CKR_OK');
    expect(kura!.proc.exitCode).toBeNull();
  });
});
