// What the ceremonies (BYOK, deletion, key store) share: the current step and how it moves (the last
// step's error stays behind, and so does the word that the ceremony was resumed after a reload —
// lib/resume.ts keeps where each was), what they do when their approval request changes — go on to done once it
// ran — and how a request that ended without running its action is told to the operator: an error with
// a code of the console's own and the request's recorded outcome.
import { ref, type Ref } from 'vue';
import type { ApprovalView } from '../../main/console/index.js';
import type { Task } from './task.js';

/**
 * A ceremony's step, starting at `first`; `go`, which moves it and clears the step's error; and
 * `resumed`, what the ceremony says when it resumed after a reload ("Resumed at step 3 of 4: …"), until
 * it moves on.
 */
export function useSteps<S extends string>(first: S, task: Task): { step: Ref<S>; go: (to: S) => void; resumed: Ref<string | null> } {
  const step = ref(first) as Ref<S>;
  const resumed = ref<string | null>(null);
  const go = (to: S): void => {
    task.clear();
    resumed.value = null;
    step.value = to;
  };
  return { step, go, resumed };
}

/** Whether an approval request will never run now (the ceremony it belongs to has ended without it). */
export const endedWithoutRunning = (v: ApprovalView | null): boolean => v !== null && (v.status === 'FAILED' || v.status === 'CANCELLED');

/** A ceremony that ended without its action running (the request failed or was cancelled). */
export class CeremonyError extends Error {
  override readonly name = 'CeremonyError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Why the request's action did not (and will not) run, or null while it may still run or has run. */
export function whyNotRun(v: ApprovalView, failedCode: string, what: string): CeremonyError | null {
  if (v.status === 'FAILED') return new CeremonyError(failedCode, `The approved ${what} ran and failed: ${v.outcome ?? 'no reason recorded'}.`);
  if (v.status === 'CANCELLED') return new CeremonyError('RequestCancelled', `Approval request ${v.id} was cancelled (${v.outcome ?? 'no reason recorded'}); nothing was changed.`);
  return null;
}

/**
 * A ceremony's approvals step saw its request change: `finish` once it ran; the step's error says why
 * when it will not (failed or cancelled); nothing while it waits for more approvals.
 */
export async function afterApproval(v: ApprovalView, task: Task, failed: { failedCode: string; what: string }, finish: () => Promise<void> | void): Promise<void> {
  if (v.status === 'EXECUTED') return finish();
  const why = whyNotRun(v, failed.failedCode, failed.what);
  if (why) task.error.value = why;
}
