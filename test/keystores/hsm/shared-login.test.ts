// One login per token per process (main/keystores/hsm/connect.ts) on a real SoftHSM2 token: PKCS#11 logs an
// application in once per token (a second C_Login answers CKR_USER_ALREADY_LOGGED_IN, and one C_Logout logs
// every session out), so a second connect to a token this process is logged in to shares the login — only
// with the same PIN — each store closing its own share, the last one logging out; forgetAll (the appliance
// sealed) ends the login for every store on it. Whether the process is logged in is read from the token
// itself: a session of its own sees the store's private key objects only while some login holds.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isKmsError } from '../../../main/common/errors.js';
import { findToken, Pkcs11Module, Pkcs11Session } from '../../../main/devices/pkcs11/index.js';
import { connectHsmKeyStore, HsmConnectionError, type HsmKeyStore } from '../../../main/keystores/hsm/index.js';
import { decodeMaterialRef } from '../../../main/keystores/hsm/material-ref.js';
import type { StoredMaterial } from '../../../main/keystores/key-store.js';
import { softHsm } from '../../support/tokens.js';
import { payloadFor } from '../contract.js';

const env = softHsm();
const token = env.makeToken('kura-shared', '2468024');
const config = { modulePath: env.modulePath, tokenLabel: token.label, pin: token.pin };
afterAll(() => env.cleanup());

async function material(s: HsmKeyStore): Promise<StoredMaterial> {
  const keyId = randomUUID();
  const made = await s.generate(keyId, 'SYMMETRIC_DEFAULT');
  return { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: made.materialId, ref: made.ref, publicKey: null };
}

async function roundTrip(s: HsmKeyStore, m: StoredMaterial, text: string): Promise<string> {
  const p = payloadFor(m);
  return (await s.decryptBlobPayload(m, p, await s.encryptBlobPayload(m, p, Buffer.from(text)))).toString();
}

/** Whether this process is logged in to the token: a session of the test's own finds the (private) key object only then. */
async function loggedIn(m: StoredMaterial): Promise<boolean> {
  const module = await Pkcs11Module.acquire({ modulePath: env.modulePath });
  try {
    const t = (await findToken(module, token.label))!;
    const h = await module.openSession(t.slot);
    try {
      return (await new Pkcs11Session(t, h).findSecretKeys(decodeMaterialRef(m.ref))).length === 1;
    } finally {
      await module.closeSession(h);
    }
  } finally {
    await module.release();
  }
}

const connectError = async (p: Promise<unknown>): Promise<HsmConnectionError> => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HsmConnectionError);
  return e as HsmConnectionError;
};

describe('one login per SoftHSM2 token, shared by the stores of a process', () => {
  const open: HsmKeyStore[] = [];
  const connect = async (opts: { sessions?: number } = {}) => {
    const s = await connectHsmKeyStore(config, opts);
    open.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('a second connect with the same PIN shares the login: both stores work on the same keys', async () => {
    const a = await connect();
    const b = await connect();
    expect(b).not.toBe(a);
    expect(a.sharedBy).toBe(2);
    expect([a.connectionState(), b.connectionState()]).toEqual(['CONNECTED', 'CONNECTED']);
    const m = await material(a);
    expect(await roundTrip(b, m, 'made by a, used by b')).toBe('made by a, used by b');
    const p = payloadFor(m);
    expect((await a.decryptBlobPayload(m, p, await b.encryptBlobPayload(m, p, Buffer.from('across'))))?.toString()).toBe('across');
  });

  it('refuses another PIN for a second connect (INVALID_CREDENTIALS, no PIN in the message), and the first store is undisturbed', async () => {
    const a = await connect();
    const e = await connectError(connectHsmKeyStore({ ...config, pin: '1357913' }));
    expect(e.code).toBe('INVALID_CREDENTIALS');
    expect(e.message).not.toContain('1357913');
    expect(e.message).not.toContain(token.pin);
    // A PIN that differs only in what follows it is another PIN too.
    expect((await connectError(connectHsmKeyStore({ ...config, pin: `${token.pin} ` }))).code).toBe('INVALID_CREDENTIALS');
    expect(a.sharedBy).toBe(1);
    expect(await roundTrip(a, await material(a), 'still here')).toBe('still here');
  });

  it('closing one store leaves the other working; closing both logs out, and a fresh connect logs in again', async () => {
    const a = await connect();
    const b = await connect();
    const m = await material(a);
    await a.close();
    await a.close();
    expect(a.connectionState()).toBe('DISCONNECTED');
    const refused = await a.encryptBlobPayload(m, payloadFor(m), Buffer.from('x')).catch((e: unknown) => e);
    expect(isKmsError(refused) && refused.code).toBe('KeyUnavailable');
    expect(b.connectionState()).toBe('CONNECTED');
    expect(b.sharedBy).toBe(1);
    expect(await roundTrip(b, m, 'b alone')).toBe('b alone');
    expect(await loggedIn(m)).toBe(true);

    await b.close();
    expect(b.connectionState()).toBe('DISCONNECTED');
    expect(await loggedIn(m)).toBe(false);
    // A login of its own now: the token itself checks the PIN again (a wrong one is the token's refusal).
    expect((await connectError(connectHsmKeyStore({ ...config, pin: '0000000' }))).code).toBe('INVALID_CREDENTIALS');
    const c = await connect({ sessions: 1 });
    expect(c.sharedBy).toBe(1);
    expect(c.sessionStats().max).toBe(1);
    expect(await roundTrip(c, m, 'logged in afresh')).toBe('logged in afresh');
  });

  it('a connect while the last store is closing waits for its logout, then logs in', async () => {
    const a = await connect();
    const m = await material(a);
    const closing = a.close();
    const b = await connect();
    await closing;
    expect(b.connectionState()).toBe('CONNECTED');
    expect(await roundTrip(b, m, 'after the logout')).toBe('after the logout');
  });

  it('forgetAll (the appliance sealed) ends the login for every store on it', async () => {
    const a = await connect();
    const b = await connect();
    const m = await material(a);
    a.forgetAll();
    const e = await b.encryptBlobPayload(m, payloadFor(m), Buffer.from('x')).catch((x: unknown) => x);
    expect(isKmsError(e) && e.code).toBe('Sealed');
    await b.close();
    expect(await loggedIn(m)).toBe(false);
    const c = await connect();
    expect(c.sharedBy).toBe(1);
    expect(await roundTrip(c, m, 'unsealed again')).toBe('unsealed again');
  });
});
