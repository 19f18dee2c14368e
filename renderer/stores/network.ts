// Whether this machine is off-line (no non-loopback interface up), for the indicator and the warning a
// ceremony shows: pushed by the desktop's main process, or in a browser asked of the appliance with
// `network.status` every 10 s. A poll refused because the session ended signs the console out.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { NetworkStatusView } from '../../main/console/index.js';
import { CommandError, useClient } from '../client/index.js';
import { useSessionStore } from './session.js';

export const POLL_MS = 10_000;

export const useNetworkStore = defineStore('network', () => {
  const client = useClient();
  const session = useSessionStore();
  const status = ref<NetworkStatusView | null>(null);
  const error = ref<unknown>(null);
  let stop: (() => void) | null = null;

  async function poll(): Promise<void> {
    try {
      status.value = await client.run('network.status', {});
      error.value = null;
    } catch (e) {
      error.value = e;
      // What the appliance said last no longer holds: the badge says "unknown", not the old "up".
      status.value = null;
      if (e instanceof CommandError && e.code === 'AccessDenied') session.ended();
    }
  }

  function start(): void {
    if (stop) return;
    if (client.onNetwork) {
      stop = client.onNetwork((s) => (status.value = s));
      void poll();
      return;
    }
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    stop = () => clearInterval(timer);
  }

  function halt(): void {
    stop?.();
    stop = null;
  }

  return { status, error, start, halt, poll };
});
