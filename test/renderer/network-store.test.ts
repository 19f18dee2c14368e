// The console's network badge (renderer/stores/network.ts): what the appliance said about the network
// holds only while it still answers. A poll that fails clears it, so the header says "Network unknown"
// rather than keep showing "Network up" for an appliance that is gone.
import { createPinia, setActivePinia } from 'pinia';
import { createApp } from 'vue';
import { describe, expect, it } from 'vitest';
import { CLIENT } from '../../renderer/client/index.js';
import { useNetworkStore } from '../../renderer/stores/network.js';
import { fakeClient, refuse } from './support.js';

describe('the network store', () => {
  it('forgets the last status when a poll fails', async () => {
    let up = true;
    const client = fakeClient({ 'network.status': () => (up ? { interfaces: [], offline: false } : refuse('Unreachable', 'No Kura answers.', 0)) });
    const pinia = createPinia();
    const app = createApp({});
    app.use(pinia);
    app.provide(CLIENT as symbol, client);
    setActivePinia(pinia);
    const network = app.runWithContext(() => useNetworkStore());
    await network.poll();
    expect(network.status).toEqual({ interfaces: [], offline: false });
    up = false;
    await network.poll();
    expect(network.status).toBeNull();
    expect(network.error).toBeTruthy();
  });
});
