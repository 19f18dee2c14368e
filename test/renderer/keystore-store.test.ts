// The key store ceremony's store (renderer/stores/keystore.ts) on its own, for giving a store on an HSM its
// token's PIN again (xks.stores.update): only the stores on an HSM are offered, the PIN goes from submit()
// to the command and is kept in no store after the call (applied, gated or refused), and nothing is sent
// without one.
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { createApp } from 'vue';
import { describe, expect, it } from 'vitest';
import { CLIENT } from '../../renderer/client/index.js';
import { useKeyStoreCeremony } from '../../renderer/stores/keystore.js';
import { approval, HSM_ID, REQUEST_ID, STORE_ID, xksStore } from './fixtures.js';
import { fakeClient, refuse, type FakeClient, type Handlers } from './support.js';

const PIN = '8765-4321-pin';
const ON_HSM = 'xks-3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a';

function ceremony(over: Handlers = {}): { client: FakeClient; pinia: Pinia; keystore: ReturnType<typeof useKeyStoreCeremony> } {
  const client = fakeClient({
    'xks.stores.list': () => ({ stores: [xksStore(), xksStore({ storeId: ON_HSM, hsmId: HSM_ID })] }),
    'xks.stores.update': (i) => ({ applied: true, storeId: i.storeId, hsmId: HSM_ID }),
    ...over,
  });
  const pinia = createPinia();
  const app = createApp({});
  app.use(pinia);
  app.provide(CLIENT as symbol, client);
  setActivePinia(pinia);
  return { client, pinia, keystore: app.runWithContext(() => useKeyStoreCeremony()) };
}

/** Chooses the change and its store, as the first two steps do. */
async function chosen(keystore: ReturnType<typeof useKeyStoreCeremony>): Promise<void> {
  keystore.choose('xks.stores.update');
  await keystore.next();
  keystore.form.storeId = ON_HSM;
}

describe("the key store ceremony's store: a store's new PIN", () => {
  it('offers only the stores on an HSM, where deleting a store offers them all', async () => {
    const { keystore } = ceremony();
    await chosen(keystore);
    expect(keystore.stores.map((s) => s.storeId)).toEqual([ON_HSM]);
    keystore.start();
    keystore.choose('xks.stores.delete');
    await keystore.next();
    expect(keystore.stores.map((s) => s.storeId)).toEqual([STORE_ID, ON_HSM]);
  });

  it('sends the store and the PIN, ends done with the IDs, and keeps the PIN nowhere', async () => {
    const { client, pinia, keystore } = ceremony();
    await chosen(keystore);
    expect(keystore.ready).toBe(true);
    // No PIN: nothing is sent.
    expect(await keystore.submit()).toBeNull();
    expect(client.inputsOf('xks.stores.update')).toEqual([]);
    expect(keystore.step).toBe('details');
    expect(await keystore.submit(PIN)).toBeNull();
    expect(client.inputsOf('xks.stores.update')).toEqual([{ storeId: ON_HSM, pin: PIN }]);
    expect(keystore.step).toBe('done');
    expect(keystore.made).toEqual([['HSM ID', HSM_ID], ['XKS store ID', ON_HSM]]);
    expect(JSON.stringify(pinia.state.value)).not.toContain(PIN);
  });

  it('a refusal stays on the details with its error; a 202 goes to approvals; neither keeps the PIN', async () => {
    const refused = ceremony({
      'xks.stores.update': () => refuse('CloudHsmClusterInvalidConfiguration', `Logging in to the token "kura" of HSM ${HSM_ID} failed (INVALID_CREDENTIALS).`),
    });
    await chosen(refused.keystore);
    await refused.keystore.submit(PIN);
    expect(refused.keystore.step).toBe('details');
    expect((refused.keystore.error as Error).message).toContain('INVALID_CREDENTIALS');
    expect(JSON.stringify(refused.pinia.state.value)).not.toContain(PIN);

    const gated = ceremony({ 'xks.stores.update': () => ({ applied: false, approvalRequest: approval({ action: 'kura:xks.stores.update', actionClass: 'key-store' }) }) });
    await chosen(gated.keystore);
    await gated.keystore.submit(PIN);
    expect(gated.keystore.step).toBe('approvals');
    expect(gated.keystore.request?.id).toBe(REQUEST_ID);
    expect(JSON.stringify(gated.pinia.state.value)).not.toContain(PIN);
  });
});
