// An XKS proxy store whose device stops answering, end to end: a real `kura serve --dev`, an HSM
// registered with `kura hsm add` whose module is test/support/pkcs11-shim (a SoftHSM2 token behind a
// module that hangs on request; Kura runs it in a host process of its own, as any module it does not
// know as a software token), and the XKS proxy API called as AWS KMS calls it. AWS KMS waits 250 ms for
// a proxy: while the token hangs in C_Encrypt, Encrypt and GetHealthStatus answer
// DependencyTimeoutException within Kura's 200 ms answer deadline instead of waiting on the token; a
// store in the standard key store goes on meanwhile; once the hung call passes its own deadline (10 s)
// the host is killed, the health report says UNAVAILABLE, and the next calls connect again and work.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_CALL_DEADLINE_MS } from '../../main/devices/pkcs11/index.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { buildPkcs11Shim, setShimFault, SHIM_CONTROL_ENV, SHIM_TARGET_ENV } from '../support/pkcs11-shim.js';
import { softHsm, SOFTHSM_MODULE } from '../support/tokens.js';
import { adminCaller, xksCall, type XksStoreCredential } from '../support/xks-client.js';

const soft = softHsm();
const shim = buildPkcs11Shim();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-xks-hang-'));
const control = path.join(work, 'shim-control');
// Kura, its CLI and the hosts they start inherit these (the shim reads them when it is loaded).
process.env[SHIM_TARGET_ENV] = SOFTHSM_MODULE;
process.env[SHIM_CONTROL_ENV] = control;

const META = { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd', kmsOperation: 'Encrypt', kmsRequestId: 'xks-hang-1' };
const HEALTH = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'h-1' } };
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('an XKS proxy store whose device stops answering', () => {
  let kura: KuraProcess;
  let admin: ReturnType<typeof adminCaller>;

  beforeAll(async () => {
    kura = await startKura({ args: ['--xks-answer-deadline', '200'] });
    admin = adminCaller(kura);
  }, 60_000);

  afterAll(async () => {
    setShimFault(control, null);
    await kura?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    soft.cleanup();
  });

  const newKey = async (storeId: string): Promise<string> => {
    const r = await admin('POST', `/xks/stores/${storeId}/keys`, { usage: ['ENCRYPT', 'DECRYPT'] });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json.externalKeyId as string;
  };
  const encrypt = (store: XksStoreCredential, key: string, text: string) =>
    xksCall(kura, store, `/keys/${key}/encrypt`, { requestMetadata: META, plaintext: b64(text), encryptionAlgorithm: 'AES_GCM' });
  const roundTrip = async (store: XksStoreCredential, key: string, text: string): Promise<string> => {
    const enc = await encrypt(store, key, text);
    if (enc.status !== 200) return `${enc.status} ${enc.json.errorName}`;
    const { ciphertextDataIntegrityValue: _cdiv, ...sealed } = enc.json;
    const dec = await xksCall(kura, store, `/keys/${key}/decrypt`, { requestMetadata: { ...META, kmsOperation: 'Decrypt' }, encryptionAlgorithm: 'AES_GCM', ...sealed });
    return dec.status === 200 ? Buffer.from(dec.json.plaintext!, 'base64').toString() : `${dec.status} ${dec.json.errorName}`;
  };
  const timed = async <T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> => {
    const started = performance.now();
    const result = await call();
    return { result, ms: performance.now() - started };
  };

  it('answers DependencyTimeoutException within the answer deadline while the token hangs, and works again once its call is given up', async () => {
    const token = soft.makeToken('kura-xks-hang', '5555555');
    const added = await runKura(['hsm', 'add', '--module', shim, '--token-label', token.label, '--json', '--data-dir', kura.dataDir]);
    expect(added.stderr).toBe('');
    const hsmId = (JSON.parse(added.stdout) as { hsmId: string }).hsmId;
    const pinFile = path.join(work, 'hang.pin');
    fs.writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
    const made = await runKura(['xks', 'stores', 'create', '--uri-path-prefix', 'hang', '--hsm', hsmId, '--pin-file', pinFile, '--json', '--data-dir', kura.dataDir]);
    expect(made.stderr).toBe('');
    const onHsm = JSON.parse(made.stdout) as XksStoreCredential & { storeId: string };
    const key = await newKey(onHsm.storeId);
    const standardStore = (await admin('POST', '/xks/stores', { uriPathPrefix: 'beside' })).json as unknown as XksStoreCredential & { storeId: string };
    const standardKey = await newKey(standardStore.storeId);
    expect(await roundTrip(onHsm, key, 'before')).toBe('before');

    setShimFault(control, { action: 'hang', fn: 'C_Encrypt' });
    const hung = await timed(() => encrypt(onHsm, key, 'hangs'));
    expect([hung.result.status, hung.result.json.errorName], JSON.stringify(hung.result.json)).toEqual([503, 'DependencyTimeoutException']);
    expect(hung.result.json.errorMessage).toMatch(/did not answer within 200 ms/);
    // Well inside AWS KMS's patience, and nowhere near the token call's own deadline.
    expect(hung.ms).toBeLessThan(TOKEN_CALL_DEADLINE_MS / 4);
    const health = await timed(() => xksCall(kura, onHsm, '/health', HEALTH));
    expect([health.result.status, health.result.json.errorName]).toEqual([503, 'DependencyTimeoutException']);
    expect(health.ms).toBeLessThan(TOKEN_CALL_DEADLINE_MS / 4);
    // The appliance goes on serving every other key meanwhile.
    expect(await roundTrip(standardStore, standardKey, 'beside')).toBe('beside');

    // The hung C_Encrypt passes its deadline: the host is killed, the store fails, and the health check
    // that was waiting on the token reports it UNAVAILABLE (a report served from then on).
    await expect
      .poll(async () => (await xksCall(kura, onHsm, '/health', HEALTH)).json as unknown, { timeout: TOKEN_CALL_DEADLINE_MS * 2, interval: 250 })
      .toMatchObject({ ekmFleetDetails: [{ id: hsmId, healthStatus: 'UNAVAILABLE' }] });
    setShimFault(control, null);
    // The next calls connect again, to a new host.
    await expect.poll(() => roundTrip(onHsm, key, 'after'), { timeout: 10_000, interval: 250 }).toBe('after');
    expect(kura.proc.exitCode).toBeNull();
  }, 60_000);
});
