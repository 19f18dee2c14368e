// The secret keys on one HSM's token and what uses each (hsms.tokenKeys: label, CKA_ID, material ID —
// the appliance never answers a value), for the HSMs screen. The appliance lists a token only through a
// login of its own that is live and never logs in for it: with none it refuses, saying what to connect,
// and `error` holds that refusal for the screen to show as it came.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { HsmTokenKeysView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';

export const useTokenKeysStore = defineStore('tokenKeys', () => {
  const client = useClient();
  /** The HSM whose token keys are asked for (shown while they load, or with the refusal). */
  const hsmId = ref<string | null>(null);
  const listing = ref<HsmTokenKeysView | null>(null);
  const busy = ref(false);
  const error = ref<unknown>(null);
  /** Counts the listings asked for: an answer to one that a later one (or close) replaced is dropped. */
  let asked = 0;

  async function load(id: string): Promise<void> {
    const mine = ++asked;
    hsmId.value = id;
    listing.value = null;
    error.value = null;
    busy.value = true;
    try {
      const out = await client.run('hsms.tokenKeys', { hsmId: id });
      if (mine === asked) listing.value = out;
    } catch (e) {
      if (mine === asked) error.value = e;
    } finally {
      if (mine === asked) busy.value = false;
    }
  }

  function close(): void {
    asked++;
    hsmId.value = null;
    listing.value = null;
    error.value = null;
    busy.value = false;
  }

  return { hsmId, listing, busy, error, load, close };
});
