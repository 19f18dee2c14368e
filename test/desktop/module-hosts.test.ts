// PKCS#11 module hosts in the desktop app (main/desktop/module-hosts.ts): started as Electron utility
// processes, whose channel turns Buffers into plain Uint8Arrays, here over real Node.js processes
// (support/fake-utility-process.ts), driving a real SoftHSM2 token as a device is driven (its vendor row
// switched to a host process). Its own file: it switches the row, and the launcher, for this worker.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setHostLauncher } from '../../main/app.js';
import { utilityProcessHosts } from '../../main/desktop/module-hosts.js';
import { VENDORS, type Vendor } from '../../main/devices/pkcs11/vendors.js';
import { connectHsmKeyStore, type HsmKeyStore } from '../../main/keystores/hsm/index.js';
import { alive, hostProcesses, waitFor } from '../support/processes.js';
import { softHsm } from '../support/tokens.js';
import { payloadFor, stored } from '../keystores/contract.js';
import { fakeUtilityProcess } from './support/fake-utility-process.js';

const softHsmRow = VENDORS.find((v) => v.name === 'SoftHSM') as { -readonly [K in keyof Vendor]: Vendor[K] };
softHsmRow.inProcess = false;
const utility = fakeUtilityProcess();
setHostLauncher(utilityProcessHosts(utility));

const env = softHsm();
afterAll(() => env.cleanup());

describe('PKCS#11 module hosts as Electron utility processes', () => {
  let store: HsmKeyStore;
  beforeAll(async () => {
    const t = env.makeToken('kura-utility');
    store = await connectHsmKeyStore({ modulePath: env.modulePath, tokenLabel: t.label, pin: t.pin });
  });

  it('drives a token through a utility process: keys, attributes, AES-GCM both ways, a tampered blob refused', async () => {
    expect(utility.started).toHaveLength(1);
    expect(utility.started[0]).toMatchObject({ modulePath: expect.stringMatching(/dist\/devices\/pkcs11\/host\.js$/), args: [expect.stringMatching(/libsofthsm2\.so$/)] });
    const keyId = randomUUID();
    const m = stored(keyId, 'SYMMETRIC_DEFAULT', await store.generate(keyId, 'SYMMETRIC_DEFAULT'));
    // Attribute values come back as Buffers (their lengths are read with readUInt32LE).
    expect(await store.keyAttributes(m)).toMatchObject({ sensitive: true, extractable: false, valueBytes: 32 });
    const p = payloadFor(m, { app: 'desktop' });
    const sealed = await store.encryptBlobPayload(m, p, Buffer.from('through the parent port'));
    expect((await store.decryptBlobPayload(m, p, sealed)).toString()).toBe('through the parent port');
    sealed[sealed.length - 1]! ^= 1;
    expect(await store.decryptBlobPayload(m, p, sealed).catch((e: unknown) => e)).toMatchObject({ name: 'AeadAuthenticationError' });
    expect(store.connectionState()).toBe('CONNECTED');
  });

  it('stops the utility process when the store closes', async () => {
    const [host] = hostProcesses();
    await store.close();
    await waitFor(() => !alive(host!));
  });
});

