// The HSM key store on a module in a host process of its own, as Kura drives every device (a module the
// vendor table does not know: main/devices/pkcs11/vendors.ts, inProcess false), on a real SoftHSM2
// token: every PKCS#11 call crosses to the host (main/devices/pkcs11/module-host.ts). softhsm.test.ts
// runs SoftHSM in process, as it is driven in production; without this file the path every device takes
// would run in no test. device-faults.test.ts has what a device that hangs or crashes does.
// Its own file: it switches the SoftHSM row of this worker's vendor table before any module loads.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VENDORS, type Vendor } from '../../../main/devices/pkcs11/vendors.js';
import { connectHsmKeyStore, type HsmKeyStore } from '../../../main/keystores/hsm/index.js';
import { alive, hostProcesses, waitFor } from '../../support/processes.js';
import { hsmHarness, softHsm } from '../../support/tokens.js';
import { keyStoreContract, payloadFor, stored } from '../contract.js';

const softHsmRow = VENDORS.find((v) => v.name === 'SoftHSM') as { -readonly [K in keyof Vendor]: Vendor[K] };
softHsmRow.inProcess = false;

const env = softHsm();
const contractToken = env.makeToken('kura-hosted-contract');
const config = (label: string, pin: string) => ({ modulePath: env.modulePath, tokenLabel: label, pin });

afterAll(() => env.cleanup());

keyStoreContract('HsmKeyStore (SoftHSM2 in a host process)', () => hsmHarness(config(contractToken.label, contractToken.pin)));


describe('HsmKeyStore on SoftHSM2 in a host process', () => {
  let store: HsmKeyStore;
  beforeAll(async () => {
    const t = env.makeToken('kura-hosted');
    store = await connectHsmKeyStore(config(t.label, t.pin));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('runs two concurrent bursts of 200 encryptions over its session pool, and every blob opens', async () => {
    const keyId = randomUUID();
    const m = stored(keyId, 'SYMMETRIC_DEFAULT', await store.generate(keyId, 'SYMMETRIC_DEFAULT'));
    let most = 0;
    const burst = () =>
      Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const p = payloadFor(m, { i: String(i) });
          const plaintext = randomBytes(i % 64);
          const sealed = await store.encryptBlobPayload(m, p, plaintext);
          most = Math.max(most, store.sessionStats().busy);
          return { p, plaintext, sealed };
        }),
      );
    const results = (await Promise.all([burst(), burst()])).flat();
    const opened = await Promise.all(results.map(({ p, sealed }) => store.decryptBlobPayload(m, p, sealed)));
    opened.forEach((pt, i) => expect(pt.equals(results[i]!.plaintext)).toBe(true));
    expect(most).toBeGreaterThan(1);
    expect(store.sessionStats()).toMatchObject({ busy: 0, waiting: 0 });
  });

  it('shares one login between stores that connect to the token at the same moment', async () => {
    const t = env.makeToken('kura-hosted-together');
    await store.close();
    const together = await Promise.all(Array.from({ length: 3 }, () => connectHsmKeyStore(config(t.label, t.pin))));
    try {
      expect(together.map((s) => s.connectionState())).toEqual(['CONNECTED', 'CONNECTED', 'CONNECTED']);
      expect(together[0]!.sharedBy).toBe(3);
    } finally {
      for (const s of together) await s.close();
    }
    const back = env.makeToken('kura-hosted-after');
    store = await connectHsmKeyStore(config(back.label, back.pin));
  });

  it('reads a tampered blob as a bad tag, not as a failed token', async () => {
    const keyId = randomUUID();
    const m = stored(keyId, 'SYMMETRIC_DEFAULT', await store.generate(keyId, 'SYMMETRIC_DEFAULT'));
    const p = payloadFor(m, {});
    const sealed = await store.encryptBlobPayload(m, p, Buffer.from('tamper with me'));
    sealed[0]! ^= 1;
    const e = await store.decryptBlobPayload(m, p, sealed).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'AeadAuthenticationError' });
    expect(store.connectionState()).toBe('CONNECTED');
  });

  it('stops the host process when the last store on the module closes, and starts a new one on the next connect', async () => {
    // A token made after the module was initialised is found once no session is open: close the file's store first.
    await store.close();
    // The host exits once its channel closes.
    await waitFor(() => hostProcesses().length === 0);
    const t = env.makeToken('kura-hosted-restart');
    const first = await connectHsmKeyStore(config(t.label, t.pin));
    const [firstHost] = hostProcesses();
    expect(firstHost).toBeDefined();
    const keyId = randomUUID();
    const m = stored(keyId, 'SYMMETRIC_DEFAULT', await first.generate(keyId, 'SYMMETRIC_DEFAULT'));
    const p = payloadFor(m, {});
    const sealed = await first.encryptBlobPayload(m, p, Buffer.from('across hosts'));
    await first.close();
    await waitFor(() => !alive(firstHost!));
    store = await connectHsmKeyStore(config(t.label, t.pin));
    const [secondHost] = hostProcesses();
    expect(secondHost).toBeDefined();
    expect(secondHost).not.toBe(firstHost);
    expect((await store.decryptBlobPayload(m, p, sealed)).toString()).toBe('across hosts');
  });
});

