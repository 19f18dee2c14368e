// XKS proxy stores on an HSM, end to end on SoftHSM2 (issue 12: "Encrypt: AES-256-GCM on the key's
// backing (HSM key store via PKCS#11 …)"): a real `kura serve --dev` process, tokens made with
// softhsm2-util in a temporary directory (SOFTHSM2_CONF set in this process before Kura starts, so the
// appliance inherits it), HSMs registered with `kura hsm add`, stores made with
// `kura xks stores create --hsm ID --pin-file F`, and the XKS proxy API called as AWS KMS calls it (SigV4,
// kms-xks-proxy). A store's key is on its token (pkcs11-tool lists it by its external key ID); encrypt,
// decrypt and tampering; health naming the HSM ACTIVE; a wrong PIN or an unknown HSM refused with
// nothing stored; a token that goes away (its files deleted) answered with DependencyTimeoutException
// and UNAVAILABLE; a key whose token object was deleted answered KeyNotFoundException; and one token behind an AWS_CLOUDHSM custom key store and an XKS store at once, both
// working on the one login PKCS#11 allows a process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DisconnectCustomKeyStoreCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '../support/aws-cli.js';
import { kmsClient } from '../support/kms-client.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE, trustAnchorPem, type SoftHsmToken } from '../support/tokens.js';
import { adminCaller, xksCall, type XksStoreCredential } from '../support/xks-client.js';

const soft = softHsm();

const META = { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd', kmsOperation: 'Encrypt', kmsRequestId: 'xks-hsm-1' };
const HEALTH = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'h-1' } };
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

describe('XKS proxy stores on SoftHSM2', () => {
  let kura: KuraProcess;
  let admin: ReturnType<typeof adminCaller>;
  let work: string;
  const tokens: Record<string, SoftHsmToken> = {};

  const kuraCli = (args: string[]) => runKura([...args, '--data-dir', kura.dataDir]);
  const pinFile = (name: string, pin: string) => {
    const f = path.join(work, `${name.replace(/\//g, '-')}.pin`);
    fs.writeFileSync(f, `${pin}\n`, { mode: 0o600 });
    return f;
  };
  const addHsm = async (label: string): Promise<string> => {
    const r = await kuraCli(['hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', label, '--json']);
    expect(r.stderr).toBe('');
    return (JSON.parse(r.stdout) as { hsmId: string }).hsmId;
  };
  /** `kura xks stores create --hsm … --pin-file …`: its --json answer, or the failed run. */
  const createStore = (prefix: string, hsmId: string, pin: string) => kuraCli(['xks', 'stores', 'create', '--uri-path-prefix', prefix, '--hsm', hsmId, '--pin-file', pinFile(prefix, pin), '--json']);
  const storeOn = async (prefix: string, hsmId: string, pin: string): Promise<XksStoreCredential & { storeId: string }> => {
    const r = await createStore(prefix, hsmId, pin);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const made = JSON.parse(r.stdout) as XksStoreCredential & { storeId: string };
    expect(Object.keys(made)).toEqual(['storeId', 'uriPath', 'accessKeyId', 'secretAccessKey']);
    return made;
  };
  const newKey = async (storeId: string): Promise<string> => {
    const r = await admin('POST', `/xks/stores/${storeId}/keys`, { usage: ['ENCRYPT', 'DECRYPT'] });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json.externalKeyId as string;
  };
  const encrypt = (store: XksStoreCredential, key: string, text: string, aad: Buffer) =>
    xksCall(kura, store, `/keys/${key}/encrypt`, { requestMetadata: META, plaintext: b64(text), encryptionAlgorithm: 'AES_GCM', additionalAuthenticatedData: b64(aad) });
  const decryptBody = (enc: Record<string, string>, aad: Buffer) => ({
    requestMetadata: { ...META, kmsOperation: 'Decrypt' },
    ciphertext: enc.ciphertext,
    // A key on an HSM returns its epoch as ciphertextMetadata, which a client sends back (as AWS KMS does).
    ...(enc.ciphertextMetadata !== undefined ? { ciphertextMetadata: enc.ciphertextMetadata } : {}),
    initializationVector: enc.initializationVector,
    authenticationTag: enc.authenticationTag,
    encryptionAlgorithm: 'AES_GCM',
    additionalAuthenticatedData: b64(aad),
  });
  const roundTrip = async (store: XksStoreCredential, key: string, text: string): Promise<string> => {
    const aad = Buffer.from(`aad of ${text}`);
    const enc = await encrypt(store, key, text, aad);
    expect(enc.status, JSON.stringify(enc.json)).toBe(200);
    const dec = await xksCall(kura, store, `/keys/${key}/decrypt`, decryptBody(enc.json, aad));
    expect(dec.status, JSON.stringify(dec.json)).toBe(200);
    return Buffer.from(dec.json.plaintext!, 'base64').toString();
  };
  const fleet = async (store: XksStoreCredential) => {
    const h = await xksCall(kura, store, '/health', HEALTH);
    expect(h.status).toBe(200);
    return (h.json as unknown as { ekmFleetDetails: { id: string; model: string; healthStatus: string }[] }).ekmFleetDetails;
  };
  const stores = async () => (await admin('GET', '/xks/stores')).json.stores as { storeId: string; uriPath: string; hsmId: string | null }[];

  beforeAll(async () => {
    // No label is the start of another: pkcs11-tool's --token-label takes the first token whose label starts with it.
    for (const [name, pin] of [['kura-xks-main', '7654321'], ['kura-xks-pulled', '3333333'], ['kura-xks-shared', '4444444']] as const) tokens[name] = soft.makeToken(name, pin);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-xks-hsm-'));
    kura = await startKura();
    admin = adminCaller(kura);
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    soft.cleanup();
  });

  it('refuses a store on an unknown HSM, or with a wrong PIN, storing nothing; --hsm needs a PIN', async () => {
    const hsmId = await addHsm('kura-xks-main');
    const unknown = await createStore('nowhere', 'cluster-aaaaaaaaaaa', '7654321');
    expect(unknown.code).not.toBe(0);
    expect((JSON.parse(unknown.stderr) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'CloudHsmClusterNotFound', message: expect.stringContaining('kura hsm list') });
    const wrong = await createStore('wrong-pin', hsmId, 'not-the-pin');
    expect(wrong.code).not.toBe(0);
    expect((JSON.parse(wrong.stderr) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'CloudHsmClusterInvalidConfiguration', message: expect.stringContaining('INVALID_CREDENTIALS') });
    expect(wrong.stderr).not.toContain('not-the-pin');
    const noPin = await kuraCli(['xks', 'stores', 'create', '--uri-path-prefix', 'no-pin', '--hsm', hsmId, '--json']);
    expect((JSON.parse(noPin.stderr) as { error: { code: string } }).error.code).toBe('Usage');
    expect(await stores()).toEqual([]);
    // Through the admin API as well.
    const r = await admin('POST', '/xks/stores', { uriPathPrefix: 'wrong-pin', hsmId, pin: '0000000' });
    expect([r.status, r.json.error]).toEqual([400, 'CloudHsmClusterInvalidConfiguration']);
    expect(await stores()).toEqual([]);
  });

  let main: XksStoreCredential & { storeId: string };
  let hsmId: string;
  let key: string;

  it('makes a store on the token, with keys generated there (pkcs11-tool sees them), and encrypts and decrypts on it', async () => {
    hsmId = (JSON.parse((await kuraCli(['hsm', 'list', '--json'])).stdout) as { hsmId: string; tokenLabel: string }[]).find((h) => h.tokenLabel === 'kura-xks-main')!.hsmId;
    main = await storeOn('tenant/hsm', hsmId, tokens['kura-xks-main']!.pin);
    expect(main.uriPath).toBe('/tenant/hsm/kms/xks/v1');
    expect(await stores()).toEqual([expect.objectContaining({ storeId: main.storeId, hsmId })]);
    const listed = await kuraCli(['xks', 'stores', 'list']);
    expect(listed.stdout).toContain(`${main.storeId}  /tenant/hsm/kms/xks/v1  ${hsmId}  `);
    key = await newKey(main.storeId);

    const t = tokens['kura-xks-main']!;
    const objects = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', t.label, '--login', '--pin', t.pin, '--list-objects', '--type', 'secrkey'], soft.env);
    expect(objects.code, objects.stderr).toBe(0);
    const keyObject = objects.stdout.split(/\n(?=Secret Key Object)/).find((o) => o.includes(`label:      ${key}`));
    expect(keyObject, objects.stdout).toBeDefined();
    expect(keyObject).toMatch(/AES length 32/);
    expect(keyObject).toMatch(/never extractable/);
    expect(objects.stdout).toContain(`label:      kura-xks-health-${main.storeId}`);

    expect(await roundTrip(main, key, 'a data key from AWS KMS')).toBe('a data key from AWS KMS');
    const aad = Buffer.from('context');
    const enc = await encrypt(main, key, 'tamper with me', aad);
    const flipped = Buffer.from(enc.json.ciphertext!, 'base64');
    flipped[0]! ^= 1;
    const tampered = await xksCall(kura, main, `/keys/${key}/decrypt`, { ...decryptBody(enc.json, aad), ciphertext: b64(flipped) });
    expect([tampered.status, tampered.json.errorName]).toEqual([400, 'InvalidCiphertextException']);
    const otherAad = await xksCall(kura, main, `/keys/${key}/decrypt`, decryptBody(enc.json, Buffer.from('another context')));
    expect(otherAad.json.errorName).toBe('InvalidCiphertextException');
    // Plaintexts as large as the spec asks (4,300 bytes) go through the token too.
    expect(await roundTrip(main, key, 'x'.repeat(4_300))).toBe('x'.repeat(4_300));
  });

  it('encrypts under a key derived once per epoch: the epoch is the ciphertextMetadata, which decryption needs back unchanged', async () => {
    const aad = Buffer.from('epoch');
    const encs = await Promise.all(Array.from({ length: 10 }, () => encrypt(main, key, 'same', aad)));
    const epochs = new Set(encs.map((e) => e.json.ciphertextMetadata));
    expect(epochs.size).toBe(1);
    const cm = Buffer.from([...epochs][0]!, 'base64');
    expect(cm).toHaveLength(17);
    expect(cm[0]).toBe(1);
    expect(new Set(encs.map((e) => e.json.initializationVector)).size).toBe(10);
    const body = decryptBody(encs[0]!.json, aad);
    const altered = Buffer.from(cm);
    altered[16]! ^= 1;
    for (const wrong of [{ ...body, ciphertextMetadata: b64(altered) }, { ...body, ciphertextMetadata: undefined }]) {
      const r = await xksCall(kura, main, `/keys/${key}/decrypt`, wrong);
      expect([r.status, r.json.errorName]).toEqual([400, 'InvalidCiphertextException']);
    }
    const ok = await xksCall(kura, main, `/keys/${key}/decrypt`, body);
    expect(Buffer.from(ok.json.plaintext!, 'base64').toString()).toBe('same');
  });

  it("a key whose token object was deleted behind Kura's back answers KeyNotFoundException (404), not a retry; the store's other keys work", async () => {
    const doomed = await newKey(main.storeId);
    const aad = Buffer.from('doomed');
    const enc = await encrypt(main, doomed, 'sealed before', aad);
    expect(enc.status).toBe(200);
    const t = tokens['kura-xks-main']!;
    const del = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', t.label, '--login', '--pin', t.pin, '--delete-object', '--type', 'secrkey', '--label', doomed], soft.env);
    expect(del.code, del.stderr).toBe(0);
    // Kura looks the key up again at most PRESENCE_CHECK_MS after its last lookup.
    await expect.poll(async () => (await encrypt(main, doomed, 'after', aad)).status, { timeout: 5_000, interval: 50 }).toBe(404);
    const after = await encrypt(main, doomed, 'after', aad);
    expect([after.json.errorName, after.json.errorMessage]).toEqual(['KeyNotFoundException', expect.stringContaining('is not on the HSM token')]);
    const dec = await xksCall(kura, main, `/keys/${doomed}/decrypt`, decryptBody(enc.json, aad));
    expect([dec.status, dec.json.errorName]).toEqual([404, 'KeyNotFoundException']);
    expect(await roundTrip(main, key, 'the other key')).toBe('the other key');
    // Its key is deleted like any other: the token object it would destroy is gone already.
    const gone = await admin('DELETE', `/xks/stores/${main.storeId}/keys/${doomed}`);
    expect(gone.status, JSON.stringify(gone.json)).toBe(200);
    expect(kura.proc.exitCode).toBeNull();
  });

  it('reports the HSM ACTIVE in its health, from a test on the token', async () => {
    expect(await fleet(main)).toEqual([{ id: hsmId, model: 'SoftHSM project SoftHSM v2', healthStatus: 'ACTIVE' }]);
  });

  it("names the HSM's manufacturer as the ekmVendor (the spec: the external key manager's vendor), Kura as the proxy's", async () => {
    const h = await xksCall(kura, main, '/health', HEALTH);
    expect([h.status, (h.json as { xksProxyVendor?: string }).xksProxyVendor, (h.json as { ekmVendor?: string }).ekmVendor]).toEqual([200, 'Kura', 'SoftHSM project']);
  });

  it('a token that goes away answers DependencyTimeoutException (503) and UNAVAILABLE; the other store keeps working', async () => {
    const t = tokens['kura-xks-pulled']!;
    const pulledHsm = await addHsm(t.label);
    const pulled = await storeOn('pulled', pulledHsm, t.pin);
    const pulledKey = await newKey(pulled.storeId);
    expect(await roundTrip(pulled, pulledKey, 'before')).toBe('before');

    fs.rmSync(t.dir, { recursive: true, force: true });

    // SoftHSM2 keeps answering from memory (the epoch's key is a login-session object): Kura notices at
    // its next presence check, at most PRESENCE_CHECK_MS later; from then on every call fails.
    await expect.poll(async () => (await encrypt(pulled, pulledKey, 'after', Buffer.alloc(0))).status, { timeout: 5_000, interval: 50 }).toBe(503);
    for (let i = 0; i < 3; i++) {
      const enc = await encrypt(pulled, pulledKey, 'after', Buffer.alloc(0));
      expect([enc.status, enc.json.errorName], JSON.stringify(enc.json)).toEqual([503, 'DependencyTimeoutException']);
      expect(enc.json.errorMessage).toContain(pulledHsm);
    }
    expect(await fleet(pulled)).toEqual([{ id: pulledHsm, model: 'SoftHSM project SoftHSM v2', healthStatus: 'UNAVAILABLE' }]);
    expect(await roundTrip(main, key, 'still here')).toBe('still here');
    expect(kura.proc.exitCode).toBeNull();
  });

  it('one token behind an AWS_CLOUDHSM custom key store and an XKS store at once: both work on the one login', async () => {
    const t = tokens['kura-xks-shared']!;
    const sharedHsm = await addHsm(t.label);
    const kms: KMSClient = kmsClient(kura);
    const cks = (await kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'shared-token', CloudHsmClusterId: sharedHsm, TrustAnchorCertificate: trustAnchorPem(), KeyStorePassword: t.pin }))).CustomKeyStoreId!;
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: cks }));
    const kmsKey = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: cks, Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!.KeyId!;
    const kmsRoundTrip = async (text: string) => {
      const enc = await kms.send(new EncryptCommand({ KeyId: kmsKey, Plaintext: Buffer.from(text) }));
      return Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).toString();
    };
    expect(await kmsRoundTrip('custom key store first')).toBe('custom key store first');

    // The token is logged in to already: the XKS store shares that login, and only with its PIN.
    const wrong = await admin('POST', '/xks/stores', { uriPathPrefix: 'shared', hsmId: sharedHsm, pin: '9999999' });
    expect([wrong.status, wrong.json.error]).toEqual([400, 'CloudHsmClusterInvalidConfiguration']);
    const shared = await storeOn('shared', sharedHsm, t.pin);
    const xksKey = await newKey(shared.storeId);
    expect(await roundTrip(shared, xksKey, 'XKS on the same token')).toBe('XKS on the same token');
    expect(await kmsRoundTrip('custom key store still')).toBe('custom key store still');
    expect(await fleet(shared)).toEqual([{ id: sharedHsm, model: 'SoftHSM project SoftHSM v2', healthStatus: 'ACTIVE' }]);

    // Disconnecting the custom key store gives back its share only: the XKS store stays logged in.
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: cks }));
    expect(await roundTrip(shared, xksKey, 'after the disconnect')).toBe('after the disconnect');
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: cks }));
    expect(await kmsRoundTrip('reconnected')).toBe('reconnected');
    expect(await roundTrip(shared, xksKey, 'both again')).toBe('both again');
    expect(kura.stderr()).not.toMatch(/USER_ALREADY_LOGGED_IN|USER_LOGGED_IN/);
  });

  it('deletes keys and the store from the token', async () => {
    expect((await admin('DELETE', `/xks/stores/${main.storeId}/keys/${key}`)).status).toBe(200);
    expect((await admin('DELETE', `/xks/stores/${main.storeId}`)).status).toBe(200);
    const t = tokens['kura-xks-main']!;
    const objects = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', t.label, '--login', '--pin', t.pin, '--list-objects', '--type', 'secrkey'], soft.env);
    expect(objects.stdout).not.toContain(key);
    expect(objects.stdout).not.toContain(`kura-xks-health-${main.storeId}`);
  });
});
