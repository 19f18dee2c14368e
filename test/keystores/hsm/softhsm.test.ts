// The HSM key store on a real SoftHSM2 2.6 token (tokens made by softhsm2-util in a temporary
// directory, test/support/tokens.ts): the shared KeyStore contract, and what is the HSM store's own —
// connection errors with AWS's codes, keys that are on the token and never extractable (checked with
// OpenSC's pkcs11-tool as well as through the store), ciphertext that only the token can open, a
// bounded session pool under concurrent load, and failed calls that do not poison the next one.
import { execFileSync } from 'node:child_process';
import pkcs11js from 'pkcs11js';
import { createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../../main/common/errors.js';
import { AeadAuthenticationError } from '../../../main/crypto/aead.js';
import { connectHsmKeyStore, HsmConnectionError, probeHsmToken, type HsmKeyStore } from '../../../main/keystores/hsm/index.js';
import type { BlobPayload, StoredMaterial } from '../../../main/keystores/key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../../main/kms/ciphertext.js';
import { hsmHarness, softHsm, type SoftHsmToken } from '../../support/tokens.js';
import { keyStoreContract } from '../contract.js';

// Before anything initialises SoftHSM in this process: it reads SOFTHSM2_CONF at C_Initialize.
const env = softHsm();
const contractToken = env.makeToken('kura-contract');
// A token whose login a test ends behind its store's back; made now so that the module sees it at C_Initialize.
const logoutToken = env.makeToken('kura-logout');
const config = (t: SoftHsmToken) => ({ modulePath: env.modulePath, tokenLabel: t.label, pin: t.pin });

afterAll(() => env.cleanup());

/**
 * Ends the login on a token from elsewhere in the process. SoftHSM is loaded in this process once: a
 * second pkcs11js handle on the same library shares its state, and a login is the application's, so
 * C_Logout on a session of our own logs every store on the token out.
 */
function logOutElsewhere(label: string): void {
  const api = new pkcs11js.PKCS11();
  api.load(env.modulePath);
  try {
    api.C_Initialize();
  } catch (e) {
    if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
  }
  const slot = api.C_GetSlotList(true).find((sl) => api.C_GetTokenInfo(sl).label.trim() === label)!;
  const session = api.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
  api.C_Logout(session);
  api.C_CloseSession(session);
}

keyStoreContract('HsmKeyStore (SoftHSM2)', () => hsmHarness(config(contractToken)));

function payloadFor(m: Pick<StoredMaterial, 'keyId' | 'materialId'>, context: Record<string, string> = {}): BlobPayload & { header: Buffer } {
  const header = encodeHeader(m.keyId, m.materialId, randomBytes(NONCE_BYTES));
  return { version: 2, header, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, context) };
}

async function connectError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HsmConnectionError);
  return (e as HsmConnectionError).code;
}

describe('HsmKeyStore on SoftHSM2', () => {
  let token: SoftHsmToken;
  let idle: SoftHsmToken;
  let store: HsmKeyStore;
  const material = async (s: HsmKeyStore = store, label?: string): Promise<StoredMaterial> => {
    const keyId = randomUUID();
    const m = await s.generate(keyId, 'SYMMETRIC_DEFAULT', label === undefined ? undefined : { label });
    return { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: m.materialId, ref: m.ref, publicKey: null };
  };

  beforeAll(async () => {
    // Made after the contract's store initialised the module: found because the module rescans (no session is open now).
    token = env.makeToken('kura-main', '7654321');
    idle = env.makeToken('kura-pins');
    store = await connectHsmKeyStore(config(token));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('probes a token without logging in: its description and the vendor table\'s name', async () => {
    const info = await probeHsmToken({ modulePath: env.modulePath, tokenLabel: `  ${token.label} ` });
    expect(info).toMatchObject({ label: 'kura-main', manufacturerId: 'SoftHSM project', model: 'SoftHSM v2', vendor: 'SoftHSM', loginRequired: true, aesGcm: true });
    expect(info.serialNumber).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers AWS connection error codes: unknown label, wrong PIN, another PIN than the login\'s, refused module path', async () => {
    // A token made while sessions are open is not seen: the module cannot rescan under them.
    env.makeToken('kura-late');
    expect(await connectError(probeHsmToken({ modulePath: env.modulePath, tokenLabel: 'kura-late' }))).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
    expect(await connectError(probeHsmToken({ modulePath: env.modulePath, tokenLabel: 'no-such-token' }))).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
    expect(await connectError(connectHsmKeyStore({ ...config(token), tokenLabel: 'no-such-token' }))).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
    // On a token nobody in this process is logged in to (else the PIN is compared with the login's).
    const wrong = await connectHsmKeyStore({ ...config(idle), pin: '0000000' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(HsmConnectionError);
    expect((wrong as HsmConnectionError).code).toBe('INVALID_CREDENTIALS');
    expect((wrong as Error).message).not.toContain('0000000');
    // PKCS#11 logs in per token and process: a second store on the same token shares the first one's
    // login (test/keystores/hsm/shared-login.test.ts), and only with the PIN that logged in.
    const other = await connectHsmKeyStore({ ...config(token), pin: '0000000' }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(HsmConnectionError);
    expect((other as HsmConnectionError).code).toBe('INVALID_CREDENTIALS');
    expect((other as Error).message).not.toContain('0000000');
    expect(await connectError(connectHsmKeyStore({ ...config(token), modulePath: 'libsofthsm2.so' }))).toBe('CLUSTER_NOT_FOUND');
    expect(await connectError(probeHsmToken({ modulePath: '/usr/lib/no-such-module.so', tokenLabel: token.label }))).toBe('CLUSTER_NOT_FOUND');
    // The store that is connected is not disturbed by any of it.
    const m = await material();
    const p = payloadFor(m);
    expect((await store.decryptBlobPayload(m, p, await store.encryptBlobPayload(m, p, Buffer.from('still fine')))).toString()).toBe('still fine');
  });

  it('generates keys on the token that are sensitive and never extractable (pkcs11-tool agrees), labelled by the hint or the key ID', async () => {
    const m = await material(store, 'arn:aws:kms:eu-west-1:111122223333:key/hinted');
    const attributes = await store.keyAttributes(m);
    expect(attributes).toMatchObject({ token: true, private: true, sensitive: true, extractable: false, neverExtractable: true, alwaysSensitive: true });
    expect(attributes).toMatchObject({ encrypt: false, decrypt: false, derive: true, wrap: false, unwrap: false, sign: false, verify: false, valueBytes: 32 });
    expect(attributes.label).toBe('arn:aws:kms:eu-west-1:111122223333:key/hinted');
    const unlabelled = await material();
    expect((await store.keyAttributes(unlabelled)).label).toBe(`kura:${unlabelled.keyId}`);

    const listing = execFileSync('pkcs11-tool', ['--module', env.modulePath, '--token-label', token.label, '--login', '--pin', token.pin, '--list-objects', '--type', 'secrkey'], {
      env: env.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const objects = listing.split(/\n(?=Secret Key Object)/).filter((o) => o.includes('Secret Key Object'));
    const hinted = objects.find((o) => o.includes('key/hinted'));
    expect(hinted, listing).toBeDefined();
    expect(hinted).toMatch(/AES length 32/);
    const access = /Access:\s*(.*)/.exec(hinted!)?.[1] ?? '';
    expect(access).toContain('never extractable');
    expect(access).toContain('sensitive');
    expect(access.split(/,\s*/)).not.toContain('extractable');
    expect(hinted).toMatch(/Usage:\s*derive\s*$/m);
    expect(hinted).not.toMatch(/Usage:.*(wrap|sign)/);
  });

  it('seals on the token: node:crypto cannot open the payload under another key, and it opens after a reconnect', async () => {
    const m = await material();
    const p = payloadFor(m, { purpose: 'from the token' });
    const plaintext = Buffer.from('sealed by SoftHSM');
    const sealed = await store.encryptBlobPayload(m, p, plaintext);
    expect(sealed.length).toBe(plaintext.length + 16);
    const decipher = createDecipheriv('aes-256-gcm', randomBytes(32), p.iv);
    decipher.setAAD(p.aad);
    decipher.setAuthTag(sealed.subarray(-16));
    decipher.update(sealed.subarray(0, -16));
    expect(() => decipher.final()).toThrow();

    await store.close();
    expect(store.connectionState()).toBe('DISCONNECTED');
    const refused = await store.decryptBlobPayload(m, p, sealed).catch((e: unknown) => e);
    expect(isKmsError(refused) && refused.code).toBe('KeyUnavailable');
    store = await connectHsmKeyStore(config(token));
    expect((await store.decryptBlobPayload(m, p, sealed)).equals(plaintext)).toBe(true);
  });

  it('seals and opens an empty plaintext; refuses version-1 payloads and foreign references', async () => {
    const m = await material();
    const p = payloadFor(m);
    const sealed = await store.encryptBlobPayload(m, p, Buffer.alloc(0));
    expect(sealed.length).toBe(16);
    expect((await store.decryptBlobPayload(m, p, sealed)).length).toBe(0);
    const v1 = { version: 1 as const, derivation: null, iv: randomBytes(12), aad: Buffer.alloc(0) };
    for (const call of [store.encryptBlobPayload(m, v1, Buffer.from('x')), store.decryptBlobPayload(m, v1, Buffer.alloc(32))]) {
      const e = await call.catch((x: unknown) => x);
      expect(isKmsError(e) && e.code).toBe('UnsupportedOperation');
    }
    const foreign = await store.encryptBlobPayload({ ...m, ref: Buffer.from('not ours') as StoredMaterial['ref'] }, p, Buffer.from('x')).catch((e: unknown) => e);
    expect(isKmsError(foreign)).toBe(true);
  });

  it('shares a bounded session pool between two concurrent bursts of 200 encryptions, with no CKR_OPERATION_ACTIVE', async () => {
    const m = await material();
    const burst = () =>
      Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const p = payloadFor(m, { i: String(i) });
          const plaintext = randomBytes(i % 64);
          return { p, plaintext, sealed: await store.encryptBlobPayload(m, p, plaintext) };
        }),
      );
    const results = (await Promise.all([burst(), burst()])).flat();
    expect(results).toHaveLength(400);
    const stats = store.sessionStats();
    expect(stats.open).toBeLessThanOrEqual(stats.max);
    expect(stats.waiting).toBe(0);
    const opened = await Promise.all(results.map(({ p, sealed }) => store.decryptBlobPayload(m, p, sealed)));
    opened.forEach((pt, i) => expect(pt.equals(results[i]!.plaintext)).toBe(true));
  });

  it('does not let a failed decryption poison the next call on its session (a pool of one)', async () => {
    await store.close();
    store = await connectHsmKeyStore(config(token), { sessions: 1 });
    const m = await material();
    const p = payloadFor(m);
    const sealed = await store.encryptBlobPayload(m, p, Buffer.from('one session'));
    for (let i = 0; i < 3; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1;
      const results = await Promise.allSettled([store.decryptBlobPayload(m, p, bad), store.decryptBlobPayload(m, p, sealed), store.encryptBlobPayload(m, payloadFor(m), Buffer.from('next'))]);
      expect(results[0].status === 'rejected' && results[0].reason).toBeInstanceOf(AeadAuthenticationError);
      expect(results[1].status === 'fulfilled' && results[1].value.toString()).toBe('one session');
      expect(results[2].status).toBe('fulfilled');
    }
    expect(store.sessionStats()).toMatchObject({ max: 1, waiting: 0 });
    expect(store.connectionState()).toBe('CONNECTED');
  });

  it('a login ended behind the store\'s back fails the store: the call is KeyUnavailable and the store FAILED', async () => {
    const s = await connectHsmKeyStore(config(logoutToken));
    try {
      const m = await material(s);
      await s.encryptBlobPayload(m, payloadFor(m), Buffer.from('while logged in'));
      logOutElsewhere(logoutToken.label);
      // Making a private token key now answers CKR_USER_NOT_LOGGED_IN: the login is gone, and no later call
      // can succeed, so the store fails rather than answering that one call Internal.
      const e = await material(s).catch((x: unknown) => x);
      expect(isKmsError(e) && e.code).toBe('KeyUnavailable');
      expect(s.connectionState()).toBe('FAILED');
      const after = await s.encryptBlobPayload(m, payloadFor(m), Buffer.from('x')).catch((x: unknown) => x);
      expect(isKmsError(after) && after.code).toBe('KeyUnavailable');
    } finally {
      await s.close();
    }
  });

  it('a login ended behind its back fails the store at the next use of a key, rather than reading as every key gone', async () => {
    const s = await connectHsmKeyStore(config(logoutToken));
    try {
      const m = await material(s);
      const p = payloadFor(m);
      const sealed = await s.encryptBlobPayload(m, p, Buffer.from('while logged in'));
      logOutElsewhere(logoutToken.label);
      // The private key cannot be found without the login; the store fails (a reconnect logs in again)
      // instead of calling the key's material gone while reporting itself CONNECTED.
      for (const call of [() => s.encryptBlobPayload(m, payloadFor(m), Buffer.from('x')), () => s.decryptBlobPayload(m, p, sealed)]) {
        const e = await call().catch((x: unknown) => x);
        expect(isKmsError(e) && e.code).toBe('KeyUnavailable');
        expect(s.connectionState()).toBe('FAILED');
      }
    } finally {
      await s.close();
    }
  });

  it('destroys the token object: the material is then unavailable, and destroying again is fine', async () => {
    const m = await material();
    const p = payloadFor(m);
    await store.encryptBlobPayload(m, p, Buffer.from('x'));
    await store.destroy(m);
    await store.destroy(m);
    const e = await store.encryptBlobPayload(m, p, Buffer.from('x')).catch((x: unknown) => x);
    expect(isKmsError(e) && e.code).toBe('InvalidState');
    expect(store.connectionState()).toBe('CONNECTED');
  });
});
