// Who is signed in to the console. The session token itself stays with the transport (the HTTP client,
// or the desktop's main process); this store knows only the operator and when the session ends. The
// passphrase passes through signIn and is never kept.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { useClient } from '../client/index.js';
import { useTask } from './task.js';

export const useSessionStore = defineStore('session', () => {
  const client = useClient();
  const operator = ref<string | null>(null);
  const expiresAt = ref<string | null>(null);
  /** True once restore() has asked the transport whether a session lives. */
  const checked = ref(false);
  const task = useTask();

  async function signIn(name: string, passphrase: string): Promise<boolean> {
    const out = await task.run(() => client.run('session.login', { operator: name, passphrase }));
    if (!out) return false;
    operator.value = out.operator;
    expiresAt.value = out.expiresAt;
    return true;
  }

  /** Asks the appliance whether the remembered session still lives (after a reload, or in the desktop app). */
  async function restore(): Promise<void> {
    try {
      if (client.transport === 'ipc' || client.hasSession()) {
        const s = await client.run('session.show', {});
        operator.value = s.operator;
        expiresAt.value = s.expiresAt;
      }
    } catch {
      ended();
    } finally {
      checked.value = true;
    }
  }

  async function signOut(): Promise<void> {
    try {
      await client.run('session.logout', {});
    } catch {
      // Signed out here either way: the appliance ends an unused session by itself.
    }
    ended();
  }

  /** The session is over (signed out, expired, or the appliance said so). */
  function ended(): void {
    client.forgetSession();
    operator.value = null;
    expiresAt.value = null;
  }

  return { operator, expiresAt, checked, busy: task.busy, error: task.error, signIn, restore, signOut, ended };
});
