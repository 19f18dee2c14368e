// A question asked in place of the button that asks it ("Remove alice?" — "Yes, remove" / "Keep"): the
// asking button is replaced, so keyboard focus has to be moved on purpose or it falls to the page's
// start. Asking moves focus to the safe answer (marked data-confirm="safe"); keeping — its button, or
// Escape anywhere in the question — closes it and gives focus back to the button that asked (found again
// by its id: Vue renders a new one). The answer that acts leaves focus to the caller (focusOutcome).
import { nextTick, ref } from 'vue';
import { focusHeading, focusLost } from './focus.js';

export function useConfirm() {
  /** What is being asked about (an operator's name, an access key ID…), or null. */
  const asking = ref<string | null>(null);

  async function ask(what: string): Promise<void> {
    asking.value = what;
    await nextTick();
    document.querySelector<HTMLElement>('[data-confirm="safe"]')?.focus();
  }

  /** Closes the question and focuses the element with id `openerId`, which asked it. */
  async function keep(openerId: string): Promise<void> {
    asking.value = null;
    await nextTick();
    document.getElementById(openerId)?.focus();
  }

  return { asking, ask, keep };
}

/**
 * After a change whose control is gone, focus goes to what it did — the first alert or status in
 * `within`, else its first `fallback` heading — if it has nowhere else to be.
 */
export async function focusOutcome(within: ParentNode | null | undefined, fallback = 'h2'): Promise<void> {
  await nextTick();
  if (!focusLost()) return;
  if (!focusHeading(within, '[role="alert"], [role="status"]')) focusHeading(within, fallback);
}
