// The HSM key store with its token calls off the event loop, as it drives a device (a module the vendor
// table does not know: main/devices/pkcs11/vendors.ts, inlineCalls false), on a real SoftHSM2 token:
// derive, encrypt and decrypt through pkcs11js's …Async calls on libuv's thread pool, through the gate
// of token calls (main/devices/pkcs11/thread-pool.ts). softhsm.test.ts runs them inline, as SoftHSM is
// driven in production; without this file the path every device takes would run in no test.
// Its own file: it switches the SoftHSM row of this worker's vendor table before any module loads.
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_CALL_WAIT_MS, tokenCalls } from '../../../main/devices/pkcs11/thread-pool.js';
import { VENDORS, type Vendor } from '../../../main/devices/pkcs11/vendors.js';
import { isKmsError } from '../../../main/common/errors.js';
import { connectHsmKeyStore, type HsmKeyStore } from '../../../main/keystores/hsm/index.js';
import type { StoredMaterial } from '../../../main/keystores/key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../../main/kms/ciphertext.js';
import { hsmHarness, softHsm } from '../../support/tokens.js';
import { keyStoreContract } from '../contract.js';

const softHsmRow = VENDORS.find((v) => v.name === 'SoftHSM') as { -readonly [K in keyof Vendor]: Vendor[K] };
softHsmRow.inlineCalls = false;

const env = softHsm();
const contractToken = env.makeToken('kura-offloop-contract');
const config = (label: string, pin: string) => ({ modulePath: env.modulePath, tokenLabel: label, pin });

afterAll(() => env.cleanup());

keyStoreContract('HsmKeyStore (SoftHSM2, calls on the thread pool)', () => hsmHarness(config(contractToken.label, contractToken.pin)));

describe('HsmKeyStore on SoftHSM2 with its calls on the thread pool', () => {
  let store: HsmKeyStore;
  beforeAll(async () => {
    const t = env.makeToken('kura-offloop');
    store = await connectHsmKeyStore(config(t.label, t.pin));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('runs two bursts of 200 encryptions through a gate of token calls that never runs more than its slots', async () => {
    const keyId = randomUUID();
    const g = await store.generate(keyId, 'SYMMETRIC_DEFAULT');
    const m: StoredMaterial = { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: g.materialId, ref: g.ref, publicKey: null };
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, tokenCalls.stats().running)), 0);
    const burst = () =>
      Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const header = encodeHeader(m.keyId, m.materialId, randomBytes(NONCE_BYTES));
          const p = { version: 2 as const, header, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, { i: String(i) }) };
          const plaintext = randomBytes(i % 64);
          most = Math.max(most, tokenCalls.stats().running);
          return { p, plaintext, sealed: await store.encryptBlobPayload(m, p, plaintext) };
        }),
      );
    const results = (await Promise.all([burst(), burst()])).flat();
    const opened = await Promise.all(results.map(({ p, sealed }) => store.decryptBlobPayload(m, p, sealed)));
    clearInterval(watch);
    opened.forEach((pt, i) => expect(pt.equals(results[i]!.plaintext)).toBe(true));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(tokenCalls.slots);
    expect(tokenCalls.stats()).toEqual({ running: 0, waiting: 0 });
  });

  // Last in this file: the calls it stands in for never return, so their slots stay taken.
  it("fails the store, with AWS's error, when the module's earlier calls never come back", async () => {
    const keyId = randomUUID();
    const g = await store.generate(keyId, 'SYMMETRIC_DEFAULT');
    const m: StoredMaterial = { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: g.materialId, ref: g.ref, publicKey: null };
    const header = encodeHeader(m.keyId, m.materialId, randomBytes(NONCE_BYTES));
    const p = { version: 2 as const, header, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, {}) };
    // Calls of this module that hang on the device: they hold the module's whole share of the gate.
    for (let i = 0; i < tokenCalls.perOwner; i++) void tokenCalls.run(fs.realpathSync(env.modulePath), () => new Promise<never>(() => undefined));
    const started = Date.now();
    const e = await store.encryptBlobPayload(m, p, Buffer.from('waits')).catch((x: unknown) => x);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TOKEN_CALL_WAIT_MS - 50);
    expect(isKmsError(e) && e.code, String(e)).toBe('KeyUnavailable');
    expect(store.connectionState()).toBe('FAILED');
    expect(store.failure()).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
    // From now on the store answers at once, without waiting for a slot.
    const quick = Date.now();
    const again = await store.encryptBlobPayload(m, p, Buffer.from('at once')).catch((x: unknown) => x);
    expect(isKmsError(again) && again.code).toBe('KeyUnavailable');
    expect(Date.now() - quick).toBeLessThan(1_000);
  }, TOKEN_CALL_WAIT_MS + 20_000);
});
