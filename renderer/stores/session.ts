// Who is signed in to the console. The session token itself stays with the transport (the HTTP client,
// or the desktop's main process); this store knows only the operator and when the session ends. The
// passphrase passes through signIn and is never kept. It also keeps the session's idle clock as the
// appliance does — ended 15 minutes after its last use (client/activity.ts notes each use), and never
// after the cap a session has from sign-in — so that the console warns before the end and a keyboard
// user can extend it (`extend`: one call, which is a use), rather than lose a ceremony mid-step. The
// cap's end comes from the appliance (`session.show` answers how long is left), so a reloaded page,
// which did not see the sign-in, warns before it too. When a session ends (signed out, timed out, or
// found ended), the ceremonies kept in this tab for a reload (lib/resume.ts) are forgotten, and signing
// in forgets those of any other operator.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { SessionInfoView } from '../../main/console/index.js';
import { lastUse } from '../client/activity.js';
import { CommandError, useClient } from '../client/index.js';
import { forgetCeremonies } from '../lib/resume.js';
import { useTask } from './task.js';

/** As main/ceremony/sign-in.ts has them (test/renderer/session-timeout.test.ts holds them equal): a session ends this long after its last use… */
export const SESSION_IDLE_MS = 15 * 60_000;
/** …and never later than this after sign-in. */
export const SESSION_MAX_MS = 8 * 60 * 60_000;

export const useSessionStore = defineStore('session', () => {
  const client = useClient();
  const operator = ref<string | null>(null);
  const expiresAt = ref<string | null>(null);
  /** True once restore() has asked the transport whether a session lives. */
  const checked = ref(false);
  const task = useTask();
  /** The page's own clock when the session was last answered as used here: signing in, restoring, extending. */
  const answeredAt = ref(0);
  /** When the session's cap ends it (this page's clock): from sign-in here, or as the appliance last said how long is left. */
  const capEnd = ref<number | null>(null);

  /**
   * When the session ends unless it is used again (ms on this page's clock), or null when none lives.
   * Counted on this page's clock from its own last use, not from the appliance's `expiresAt`: the two
   * clocks need not agree, and a warning a few minutes off is no warning.
   */
  const deadline = computed(() => {
    if (!operator.value || !expiresAt.value) return null;
    const byIdle = Math.max(answeredAt.value, lastUse.value) + SESSION_IDLE_MS;
    return capEnd.value === null ? byIdle : Math.min(byIdle, capEnd.value);
  });

  /** Whether the cap, not idleness, is what ends the session next: no use can extend it then. */
  const capped = computed(() => capEnd.value !== null && deadline.value === capEnd.value);

  async function signIn(name: string, passphrase: string): Promise<boolean> {
    const out = await task.run(() => client.run('session.login', { operator: name, passphrase }));
    if (!out) return false;
    forgetCeremonies(out.operator);
    operator.value = out.operator;
    expiresAt.value = out.expiresAt;
    timedOut.value = false;
    answeredAt.value = Date.now();
    capEnd.value = answeredAt.value + SESSION_MAX_MS;
    return true;
  }

  /** Uses the session once (asking the appliance how it stands), which moves its idle end on; false when it had already ended. */
  async function extend(): Promise<boolean> {
    try {
      answered(await client.run('session.show', {}));
      return true;
    } catch (e) {
      if (e instanceof CommandError && e.code === 'AccessDenied') ended();
      return false;
    }
  }

  /** Why the session ran out here, for the sign-in screen to say (unused, or at its cap); cleared by signing in. */
  const timedOut = ref<false | 'idle' | 'cap'>(false);
  /** The session's time is up: it ended unused, or at its cap. */
  function expired(): void {
    const why = capped.value ? 'cap' : 'idle';
    ended();
    timedOut.value = why;
  }

  /** Asks the appliance whether the remembered session still lives (after a reload, or in the desktop app). */
  async function restore(): Promise<void> {
    try {
      if (client.transport === 'ipc' || client.hasSession()) {
        const s = await client.run('session.show', {});
        operator.value = s.operator;
        answered(s);
      }
    } catch {
      ended();
    } finally {
      // No session lives: nothing kept in this tab may be resumed by whoever signs in next.
      if (!operator.value) forgetCeremonies();
      checked.value = true;
    }
  }

  /** The appliance said how the session stands, just now: its idle end moved on, and how long its cap has left. */
  function answered(s: SessionInfoView): void {
    expiresAt.value = s.expiresAt;
    answeredAt.value = Date.now();
    capEnd.value = s.endsInMs === null ? null : answeredAt.value + s.endsInMs;
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
    forgetCeremonies();
    client.forgetSession();
    operator.value = null;
    expiresAt.value = null;
  }

  return { operator, expiresAt, deadline, capped, timedOut, checked, busy: task.busy, error: task.error, signIn, restore, signOut, ended, expired, extend };
});
