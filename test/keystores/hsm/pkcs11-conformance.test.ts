// What PKCS #11 allows a module to answer, and Kura must take, shown with a real SoftHSM2 token behind
// the fault shim (test/support/pkcs11-shim), which runs in a host process of its own:
// - a module that cannot use the operating system's locks answers C_Initialize with CKF_OS_LOCKING_OK
//   by CKR_CANT_LOCK: it is initialised without it, and used one call at a time;
// - a module whose C_Finalize failed is still initialised, and answers the next C_Initialize (a rescan)
//   with CKR_CRYPTOKI_ALREADY_INITIALIZED, which is not fatal;
// - a search whose C_FindObjectsFinal fails may still be active in its session: the failure is the
//   call's (CKR_DEVICE_ERROR fails the store), not a CKR_OPERATION_ACTIVE from the next operation;
// - a C_GetTokenInfo that answers CKR_FUNCTION_FAILED (a call that may work when tried again) does not
//   say the token is gone: the store is not failed on it, as it is on CKR_GENERAL_ERROR;
// - CKR_PIN_EXPIRED may answer any call that needs the login: the login is of no use until the PIN is
//   changed, and the store fails as USER_LOCKED_OUT;
// - a token without a random number generator answers C_GenerateRandom with CKR_RANDOM_NO_RNG or
//   CKR_FUNCTION_NOT_SUPPORTED: GenerateRandom on its store is an operation it does not support;
// - a module may not offer C_GetSessionInfo: a key that is not found is then not on the token, as far
//   as Kura can tell (KeyUnavailable), rather than a failure to ask whether the login still holds;
// - the template asks, the token decides: a key made other than asked (one that stays modifiable) is
//   destroyed and refused, not used.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isKmsError } from '../../../main/common/errors.js';
import { findToken, Pkcs11Module } from '../../../main/devices/pkcs11/index.js';
import { connectHsmKeyStore, type HsmKeyStore } from '../../../main/keystores/hsm/index.js';
import { CKA_ID_BYTES, encodeMaterialRef } from '../../../main/keystores/hsm/material-ref.js';
import type { StoredMaterial } from '../../../main/keystores/key-store.js';
import { buildPkcs11Shim, setShimFault, SHIM_CONTROL_ENV, SHIM_TARGET_ENV } from '../../support/pkcs11-shim.js';
import { softHsm, SOFTHSM_MODULE } from '../../support/tokens.js';
import { payloadFor, stored } from '../contract.js';

const env = softHsm();
const shim = buildPkcs11Shim();
const control = path.join(path.dirname(env.tokenDir), 'shim-control');
process.env[SHIM_TARGET_ENV] = env.modulePath;
process.env[SHIM_CONTROL_ENV] = control;
const token = env.makeToken('kura-conformance');
const CKR_GENERAL_ERROR = 0x05;
const CKR_FUNCTION_FAILED = 0x06;
const CKR_PIN_EXPIRED = 0xa3;
const CKR_FUNCTION_NOT_SUPPORTED = 0x54;
const CKR_RANDOM_NO_RNG = 0x121;

const stores: HsmKeyStore[] = [];
async function connected(sessions?: number): Promise<HsmKeyStore> {
  const s = await connectHsmKeyStore({ modulePath: shim, tokenLabel: token.label, pin: token.pin }, { sessions });
  stores.push(s);
  return s;
}

afterEach(async () => {
  setShimFault(control, null);
  for (const s of stores.splice(0)) await s.close();
});
afterAll(() => env.cleanup());

async function newKey(store: HsmKeyStore): Promise<StoredMaterial> {
  const keyId = randomUUID();
  return stored(keyId, 'SYMMETRIC_DEFAULT', await store.generate(keyId, 'SYMMETRIC_DEFAULT'));
}

/** What a call that should fail threw (undefined if it did not fail). */
const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

async function roundTrip(store: HsmKeyStore, m: StoredMaterial, text: string): Promise<string> {
  const p = payloadFor(m);
  return (await store.decryptBlobPayload(m, p, await store.encryptBlobPayload(m, p, Buffer.from(text)))).toString();
}

describe('a module as PKCS #11 lets it be', () => {
  it('initialises a module that cannot lock without OS locking, and works with it', async () => {
    setShimFault(control, { action: 'nolock', fn: 'C_Initialize' });
    const store = await connected();
    expect(store.connectionState()).toBe('CONNECTED');
    const m = await newKey(store);
    const texts = ['one', 'two', 'three', 'four'];
    expect(await Promise.all(texts.map((t) => roundTrip(store, m, t)))).toEqual(texts);
  });

  it('takes a module whose C_Finalize failed as initialised when a rescan initialises it again', async () => {
    const module = await Pkcs11Module.acquire({ modulePath: shim });
    try {
      expect(await findToken(module, token.label)).toBeDefined();
      setShimFault(control, { action: 'fail', fn: 'C_Finalize' });
      // Not there: the module rescans (no session is open), its C_Finalize fails, its C_Initialize says it is initialised.
      expect(await findToken(module, 'kura-no-such-token')).toBeUndefined();
      expect(await module.rescan()).toBe(true);
      setShimFault(control, null);
      expect((await (await findToken(module, token.label))!.describe()).label).toBe(token.label);
      // Once C_Finalize works again, a rescan sees a token made since.
      env.makeToken('kura-conformance-late');
      expect(await findToken(module, 'kura-conformance-late')).toBeDefined();
    } finally {
      await module.release();
    }
  });

  it('reports a search the module could not end as the failure it is, not as the next operation\'s CKR_OPERATION_ACTIVE', async () => {
    const store = await connected(1);
    const m = await newKey(store);
    setShimFault(control, { action: 'fail', fn: 'C_FindObjectsFinal' });
    // The key is looked up (the first use of its handle): the search finds it, and its end answers CKR_DEVICE_ERROR.
    const e = await failure(roundTrip(store, m, 'lost'));
    expect(isKmsError(e) && e.code).toBe('KeyUnavailable');
    expect((e as Error).message).not.toMatch(/OPERATION_ACTIVE/);
    // A device error: the store failed, as for any call the device fails.
    expect(store.failure()).toBe('INTERNAL_ERROR');
  });

  it('does not take a token that answers CKR_FUNCTION_FAILED as gone: the call fails, the store stays connected', async () => {
    const store = await connected();
    // A session of the pool open already, so that the call reaches C_GenerateRandom.
    expect(await store.generateRandom(16)).toHaveLength(16);
    setShimFault(control, { action: 'fail', fn: '*', rv: CKR_FUNCTION_FAILED });
    // C_GenerateRandom fails; so does the C_GetTokenInfo that asks whether the token is still there.
    const e = await failure(store.generateRandom(16));
    expect(isKmsError(e) && e.code).toBe('Internal');
    expect((e as Error).message).toMatch(/C_GenerateRandom failed: CKR_FUNCTION_FAILED/);
    expect(store.connectionState()).toBe('CONNECTED');
    setShimFault(control, null);
    expect(await store.generateRandom(16)).toHaveLength(16);
  });

  it('still takes a token whose C_GetTokenInfo answers CKR_GENERAL_ERROR (SoftHSM whose files are gone) as gone', async () => {
    const store = await connected();
    setShimFault(control, { action: 'fail', fn: '*', rv: CKR_GENERAL_ERROR });
    const e = await failure(store.generateRandom(16));
    expect(isKmsError(e) && e.code).toBe('KeyUnavailable');
    expect(store.failure()).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
  });

  it('fails the store as USER_LOCKED_OUT when the token says mid-use that the PIN has expired', async () => {
    const store = await connected();
    expect(await store.generateRandom(16)).toHaveLength(16);
    setShimFault(control, { action: 'fail', fn: 'C_GenerateRandom', rv: CKR_PIN_EXPIRED });
    const e = await failure(store.generateRandom(16));
    expect(isKmsError(e) && e.code).toBe('KeyUnavailable');
    expect(store.failure()).toBe('USER_LOCKED_OUT');
  });

  it('answers UnsupportedOperation when the token has no random number generator, and stays connected', async () => {
    const store = await connected();
    expect(await store.generateRandom(16)).toHaveLength(16);
    for (const rv of [CKR_FUNCTION_NOT_SUPPORTED, CKR_RANDOM_NO_RNG]) {
      setShimFault(control, { action: 'fail', fn: 'C_GenerateRandom', rv });
      const e = await failure(store.generateRandom(16));
      expect(isKmsError(e) && e.code).toBe('UnsupportedOperation');
      expect((e as Error).message).toMatch(/C_GenerateRandom failed: CKR_(FUNCTION_NOT_SUPPORTED|RANDOM_NO_RNG)/);
    }
    expect(store.connectionState()).toBe('CONNECTED');
  });

  it('tells a key that is not on the token from a lost login on a module without C_GetSessionInfo', async () => {
    const store = await connected();
    const absent: StoredMaterial = { keyId: randomUUID(), keySpec: 'SYMMETRIC_DEFAULT', materialId: 'absent', ref: encodeMaterialRef(randomBytes(CKA_ID_BYTES)), publicKey: null };
    setShimFault(control, { action: 'fail', fn: 'C_GetSessionInfo', rv: CKR_FUNCTION_NOT_SUPPORTED });
    const e = await failure(store.keyAttributes(absent));
    expect(isKmsError(e) && e.code).toBe('InvalidState');
    expect((e as Error).message).toMatch(/is not on the HSM token/);
    expect(store.connectionState()).toBe('CONNECTED');
  });

  it('refuses a key the token made other than asked (modifiable), and leaves it on no token', async () => {
    const store = await connected();
    const secretKeys = (): number =>
      execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', token.label, '--login', '--pin', token.pin, '--list-objects', '--type', 'secrkey'], {
        env: env.env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).split('Secret Key Object').length - 1;
    const before = secretKeys();
    setShimFault(control, { action: 'lax', fn: 'C_GenerateKey' });
    const e = await failure(newKey(store));
    expect(isKmsError(e) && e.code).toBe('CloudHsmClusterInvalidConfiguration');
    expect((e as Error).message).toMatch(/did not make .* as asked/);
    setShimFault(control, null);
    expect(store.connectionState()).toBe('CONNECTED');
    expect(secretKeys()).toBe(before);
    const m = await newKey(store);
    expect((await store.keyAttributes(m)).modifiable).toBe(false);
  });
});
