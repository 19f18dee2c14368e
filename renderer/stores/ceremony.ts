// What the ceremonies (BYOK, deletion) share: how a request that ended without running its action is
// told to the operator — an error with a code of the console's own and the request's recorded outcome.
import type { ApprovalView } from '../../main/console/index.js';

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
