// `kura quorum show|set`: how many of which operators must approve each action class (issue 13):
// key-import, key-deletion, backup, key-store, operators, credentials, rekey. A class without a policy
// is not gated. Changing a policy is itself an `operators` action: once that class has a policy, a
// change is an approval request (on a dev appliance it takes effect at once, so a script can set up a
// 2-of-3 policy and then exercise it). The names and the --json fields are kept as issue 13 gives them.
// These commands talk to the running appliance with the admin token (the operator commands of main/console).
import type { PolicyView } from '../../console/index.js';
import { ACTION_CLASSES } from '../../ceremony/quorum.js';
import { adminClient } from '../locate.js';
import { CLIENT_OPTIONS, HELP_OPTION, intOption, oneArgument, print, printJson, requiredOption, UsageError, type CommandSpec, type Invocation } from '../command.js';
import { printChange, type ChangeBody } from './approvals.js';

/** A policy as GET /quorum shows it. */
type PolicyBody = PolicyView;

/** A week, as the appliance allows. */
const MAX_EXPIRY_MINUTES = 7 * 24 * 60;

const policyLine = (p: PolicyBody): string =>
  `${p.threshold} of ${p.operators.join(', ')}; requests expire after ${p.expiryMinutes} minute(s) (set ${p.updatedAt})`;

async function show(inv: Invocation): Promise<number> {
  const r = await adminClient(inv).call<{ policies: PolicyBody[]; classes: string[] }>('GET', '/quorum', undefined, true);
  if (inv.json) return (printJson(r), 0);
  const width = Math.max(...r.classes.map((c) => c.length));
  for (const c of r.classes) {
    const p = r.policies.find((x) => x.actionClass === c);
    print(`${c.padEnd(width)}  ${p ? policyLine(p) : 'no policy: not gated'}`);
  }
  return 0;
}

async function set(inv: Invocation): Promise<number> {
  const actionClass = oneArgument(inv, `action class (${ACTION_CLASSES.join(', ')})`);
  if (!(ACTION_CLASSES as readonly string[]).includes(actionClass)) throw new UsageError(`"${actionClass}" is not an action class (${ACTION_CLASSES.join(', ')})`);
  const threshold = intOption(inv, 'threshold', 1, 100);
  if (threshold === undefined) throw new UsageError('--threshold is required');
  const operators = requiredOption(inv, 'operators').split(',').map((n) => n.trim());
  if (operators.some((n) => n === '')) throw new UsageError('--operators is a comma-separated list of operator names, e.g. alice,bob,carol');
  const expiryMinutes = intOption(inv, 'expiry-minutes', 1, MAX_EXPIRY_MINUTES);
  const body = { threshold, operators, ...(expiryMinutes !== undefined ? { expiryMinutes } : {}) };
  const r = await adminClient(inv).call<ChangeBody & { policy?: PolicyBody }>('PUT', `/quorum/${actionClass}`, body, true);
  return printChange(inv, r, () => `${actionClass}: ${policyLine(r.policy!)}.`);
}

export const quorum: CommandSpec = {
  name: 'quorum',
  summary: 'how many of which operators must approve each action class (show|set)',
  description: `A quorum policy gives an action class (${ACTION_CLASSES.join(', ')}) its threshold M and
the operators who may approve it: a gated action becomes an approval request that runs once M of them
have signed it (kura approvals). A class without a policy is not gated. These commands need the admin
token from the data directory (or KURA_ADMIN_TOKEN) and a running appliance.`,
  options: [HELP_OPTION],
  subcommands: [
    {
      name: 'show',
      summary: 'every action class and its policy',
      description: 'Shows each action class and its policy. With --json: {"policies":[{"actionClass","threshold","operators","expiryMinutes","updatedAt"}],"classes":[…]}.',
      options: CLIENT_OPTIONS,
      run: show,
    },
    {
      name: 'set',
      summary: 'set a class\'s threshold and approvers',
      args: 'CLASS',
      description: `Sets CLASS's policy: --threshold M of --operators a,b,… (enrolled operators, at least M). Requests of
the class expire after --expiry-minutes (default 30). Once the operators class has a policy, this is
itself an approval request. With --json: {"applied":true,"policy":{…}} or {"applied":false,"approvalRequest":{…}}.`,
      options: [
        { name: 'threshold', value: 'M', help: 'how many approvals the class needs, required' },
        { name: 'operators', value: 'a,b,…', help: 'the operators who may approve, comma-separated, required' },
        { name: 'expiry-minutes', value: 'N', help: `how long a request waits for its approvals (1 to ${MAX_EXPIRY_MINUTES}; default 30)` },
        ...CLIENT_OPTIONS,
      ],
      completeArgs: ACTION_CLASSES,
      run: set,
    },
  ],
};
