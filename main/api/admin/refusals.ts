// The audit of commands refused before a service that audits could refuse them: the admin API's body
// and contract checks (./routes.ts), and the handlers' own checks (./commands.ts, ./console-commands.ts)
// — a Region not served, an input the KMS API model refuses, a named operator who is not the caller, an
// operator or policy change the quorum refuses (it audits only those it makes). As the KMS endpoint
// audits the calls it refuses before the façade (api/kms/dispatch.ts), a command of an identified caller
// refused there is in the log once, beside the refusals the services audit themselves.
import { isKmsError } from '../../common/errors.js';
import type { CommandName } from '../../console/index.js';
import type { CommandDeps, Run } from './commands.js';

/**
 * The audit entry of a refused command: its caller, its name, the error's code (never its message, which
 * may quote the input). On the disk before the refusal is answered, as every call's entry is; a
 * failure to write it does not change the answer, which is the refusal.
 */
export async function auditRefusal(deps: CommandDeps, actor: string, command: CommandName, err: unknown): Promise<void> {
  const errorCode = isKmsError(err) ? err.code : 'Internal';
  await deps.audit.append({ principal: actor, source: 'admin', operation: command, outcome: 'error', errorCode }).catch(() => undefined);
}

/** What `run` answers; when it throws, the refusal is audited as the run's command first (see auditRefusal). */
export async function refusedHere<T>(r: Run, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    await auditRefusal(r.deps, r.caller.actor, r.name, e);
    throw e;
  }
}
