// Seal mode pkcs11 on the second vendor of the vendor table, NSS softokn (a database made with certutil
// in a temporary directory, reached through its C_Initialize library parameters): init makes the
// sealing key, a wrong PIN is refused, the PIN unseals a restarted holder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmAead } from '../../main/crypto/wasm-aead.js';
import { RootKeyHolder } from '../../main/seal/root-key.js';
import { kmsError, openDomain, type Domain } from '../support/domain.js';
import { nssDatabase, type NssDatabase } from '../support/tokens.js';

let nss: NssDatabase;
let d: Domain;

beforeAll(async () => {
  nss = nssDatabase();
  d = await openDomain({ unseal: 'none' });
});
afterAll(async () => {
  await d?.close();
  nss?.cleanup();
});

describe('RootKeyHolder (pkcs11, NSS softokn)', () => {
  it('init, wrong PIN refused, PIN unseals after a restart', async () => {
    const settings = { modulePath: nss.modulePath, tokenLabel: nss.tokenLabel, libraryParameters: nss.libraryParameters };
    const made = await d.root.initPkcs11({ ...settings, pin: nss.pin });
    expect(made.keyLabel).toBe(`kura-root-wrap:${d.applianceId}`);
    expect((await d.store.appliance.sealConfig())!.pkcs11).toMatchObject(settings);
    expect((await kmsError(d.root.unsealWithPin('not-the-pin'))).code).toBe('AccessDenied');
    expect((await d.root.status()).state).toBe('sealed');
    const restarted = new RootKeyHolder({ db: d.store.db, appliance: d.store.appliance, aead: wasmAead, clock: d.clock, applianceId: d.applianceId });
    await restarted.load();
    expect(await restarted.unsealWithPin(nss.pin)).toMatchObject({ state: 'unsealed', mode: 'pkcs11' });
    restarted.seal();
  });
});
