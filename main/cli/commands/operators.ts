// `kura operators add|list|show|remove`: the custodians who approve quorum actions (issue 13), each
// with an Ed25519 or ECDSA P-256 public key of their own (ceremony/operator-keys.ts). Adding one prints
// the key's fingerprint (SHA-256 of its SubjectPublicKeyInfo in groups of four hex digits) to read aloud
// to its custodian. Once the `operators` class has a quorum policy, adding or removing an operator is
// itself an approval request (on a dev appliance it takes effect at once).
// The public key file is checked here before it is sent: a private key given by mistake never leaves
// this process. Scripts use these commands: the names and the --json fields are kept as issue 13 gives them.
// These commands talk to the running appliance with the admin token (the operator commands of main/console).
import type { OperatorDetailView, OperatorView } from '../../console/index.js';
import { isKmsError } from '../../common/errors.js';
import { parseOperatorPublicKey } from '../../ceremony/operator-keys.js';
import { adminClient } from '../locate.js';
import { CliError, CLIENT_OPTIONS, HELP_OPTION, oneArgument, print, printJson, readUserFile, requiredOption, UsageError, type CommandSpec, type Invocation } from '../command.js';
import { PASSPHRASE_OPTIONS, readPassphrase } from '../pin.js';
import { printChange, type ChangeBody } from './approvals.js';

/** An operator as GET /operators lists them; GET /operators/NAME adds the PEM public key. */
type OperatorBody = OperatorView;
type OperatorDetail = OperatorDetailView;

const operatorPath = (name: string): string => `/operators/${encodeURIComponent(name)}`;
const operatorName = (inv: Invocation): string => oneArgument(inv, 'operator name');

async function add(inv: Invocation): Promise<number> {
  const name = operatorName(inv);
  const file = requiredOption(inv, 'public-key');
  const pem = readUserFile(file, 'the public key').toString('utf8');
  try {
    parseOperatorPublicKey(pem);
  } catch (e) {
    if (isKmsError(e)) throw new CliError(e.code, `${file}: ${e.message}`);
    throw e;
  }
  const r = await adminClient(inv).call<ChangeBody & { operator?: OperatorDetail }>('POST', '/operators', { name, publicKey: pem }, true);
  return printChange(inv, r, () =>
    [
      `Enrolled ${r.operator!.name} (${r.operator!.algorithm}).`,
      `Fingerprint: ${r.operator!.fingerprint}`,
      `Read it aloud to ${r.operator!.name}, who checks it against: openssl pkey -pubin -in public.pem -outform DER | sha256sum`,
    ].join('\n'),
  );
}

async function list(inv: Invocation): Promise<number> {
  const { operators } = await adminClient(inv).call<{ operators: OperatorBody[] }>('GET', '/operators', undefined, true);
  if (inv.json) return (printJson(operators), 0);
  if (operators.length === 0) print('No operators (kura operators add NAME --public-key FILE.pem).');
  // One column each, so that fingerprints line up to be read back; whether each can sign in to the console.
  const width = Math.max(...operators.map((o) => o.name.length));
  const algorithmWidth = Math.max(...operators.map((o) => o.algorithm.length));
  for (const o of operators) {
    print(`${o.name.padEnd(width)}  ${o.algorithm.padEnd(algorithmWidth)}  ${o.fingerprint}  ${o.createdAt}  ${o.hasPassphrase ? 'console sign-in' : 'no console passphrase'}`);
  }
  return 0;
}

async function show(inv: Invocation): Promise<number> {
  const o = await adminClient(inv).call<OperatorDetail>('GET', operatorPath(operatorName(inv)), undefined, true);
  if (inv.json) return (printJson(o), 0);
  print([`Name:         ${o.name}`, `Algorithm:    ${o.algorithm}`, `Fingerprint:  ${o.fingerprint}`, `Enrolled:     ${o.createdAt}`, '', o.publicKey].join('\n'));
  return 0;
}

async function remove(inv: Invocation): Promise<number> {
  const name = operatorName(inv);
  const r = await adminClient(inv).call<ChangeBody>('DELETE', operatorPath(name), undefined, true);
  return printChange(inv, r, () => `Removed ${name}; approvals they made stay on record.`);
}

async function passphrase(inv: Invocation): Promise<number> {
  const name = operatorName(inv);
  const secret = await readPassphrase(inv);
  if (secret === undefined) throw new UsageError('give the new passphrase with --passphrase-file F or --passphrase-stdin');
  const r = await adminClient(inv).call<{ name: string; hasPassphrase: boolean }>('PUT', `${operatorPath(name)}/passphrase`, { passphrase: secret }, true);
  if (inv.json) return (printJson(r), 0);
  print(`${r.name} can now sign in to the console with it; their earlier sessions have ended.`);
  return 0;
}

export const operators: CommandSpec = {
  name: 'operators',
  summary: 'the custodians who approve quorum actions, and their public keys (add|list|show|passphrase|remove)',
  description: `Operators are key custodians: each approves quorum actions (kura quorum, kura approvals) by signing
with an Ed25519 or ECDSA P-256 key of their own. Once the operators class has a quorum policy, adding
or removing one needs that quorum. These commands need the admin token from the data directory (or
KURA_ADMIN_TOKEN) and a running appliance.`,
  options: [HELP_OPTION],
  subcommands: [
    {
      name: 'add',
      summary: 'enrol an operator\'s public key; prints its fingerprint',
      args: 'NAME',
      description: `Enrols NAME (1 to 64 letters, digits, ".", "_", "-") with the public key in FILE.pem (openssl pkey
-in key.pem -pubout -out public.pem). Prints the key's fingerprint to read aloud, or the approval
request the change became. With --json: {"applied":true,"operator":{…}} or {"applied":false,"approvalRequest":{…}}.`,
      options: [{ name: 'public-key', value: 'FILE.pem', help: 'the operator\'s public key (PEM), required', complete: 'file' }, ...CLIENT_OPTIONS],
      run: add,
    },
    {
      name: 'list',
      summary: 'the operators',
      description: `Lists the operators, oldest first, in columns: name, algorithm, fingerprint, enrolment time (ISO 8601),
and whether they can sign in to the console (kura operators passphrase). With --json: [{"name",
"algorithm","fingerprint","hasPassphrase","createdAt"}].`,
      options: CLIENT_OPTIONS,
      run: list,
    },
    {
      name: 'show',
      summary: 'one operator, with their public key',
      args: 'NAME',
      description: 'Shows an operator: algorithm, fingerprint, enrolment time and the public key in PEM.',
      options: CLIENT_OPTIONS,
      run: show,
    },
    {
      name: 'passphrase',
      summary: "set an operator's console passphrase",
      args: 'NAME',
      description: `Sets the passphrase NAME signs in to the operator console with (at least 12 characters; kept as an
scrypt hash, never in the clear). Read from --passphrase-file F or --passphrase-stdin (typed without
echo at a terminal), never from the command line. With the admin token; an operator changes their own
in the console with their current one. Their earlier console sessions end. With --json: {"name","hasPassphrase"}.`,
      options: [...PASSPHRASE_OPTIONS, ...CLIENT_OPTIONS],
      run: passphrase,
    },
    {
      name: 'remove',
      summary: 'remove an operator no policy needs',
      args: 'NAME',
      description: `Removes an operator; refused while a policy would be left with fewer operators than its threshold.
With --json: {"applied":true,"removed":NAME} or {"applied":false,"approvalRequest":{…}}.`,
      options: CLIENT_OPTIONS,
      run: remove,
    },
  ],
};
