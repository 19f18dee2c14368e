// `kura approvals list|show|export|sign|submit|cancel`: approval requests, the gated actions waiting
// for a quorum of custodians (issue 13). An approval is an enrolled operator's signature over the
// request's statement (ceremony/statement.ts): made here with the operator's private key (`sign`,
// for a custodian at the appliance), or off-line with openssl over the file `export` writes, and
// handed back with `submit`. The private key is read here and never leaves this process: only the
// signature is sent. Before signing or exporting, the statement is checked to name the request and
// the digest of the parameters the appliance shows, so that what is signed is what was shown.
// Scripts use these commands: the names and the --json fields are kept as issue 13 gives them.
// These commands talk to the running appliance with the admin token (the operator commands of main/console).
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import path from 'node:path';
import type { ApprovalSummaryView, ApprovalView } from '../../console/index.js';
import { operatorKeyFromSpki } from '../../ceremony/operator-keys.js';
import { adminClient } from '../locate.js';
import { writeOutFile } from '../out-file.js';
import {
  CliError,
  CLIENT_OPTIONS,
  HELP_OPTION,
  oneArgument,
  print,
  printJson,
  readUserFile,
  requiredOption,
  stringOption,
  type CommandSpec,
  type Invocation,
} from '../command.js';

/** GET /approvals/ID: an approval request as the admin API shows it (its statement, the bytes to sign, in base64). */
export type RequestView = ApprovalView;

/** GET /approvals: one request of the list. */
type RequestSummary = ApprovalSummaryView;

/** A signature is 64 bytes (Ed25519, P-256 r || s) or about 70 (P-256 DER); the admin API takes 384 at most. */
const MAX_SIGNATURE_BYTES = 384;

const requestPath = (id: string, rest = ''): string => `/approvals/${encodeURIComponent(id)}${rest}`;
const requestId = (inv: Invocation): string => oneArgument(inv, 'approval request ID (apr-…; see kura approvals list)');

/** What a change that became an approval request prints (kura operators add|remove, kura quorum set). */
function requestCreated(v: Pick<RequestView, 'id' | 'threshold' | 'operators' | 'expiresAt'>): string {
  return [
    `approval request ${v.id} created: needs ${v.threshold} of ${v.operators.join(', ')}, until ${v.expiresAt}.`,
    `Each approver runs \`kura approvals sign ${v.id} --key KEY.pem\`, or signs off-line what \`kura approvals export ${v.id} --out F\` writes.`,
  ].join('\n');
}

/** What a change answers: 200 {applied: true, …} or 202 {applied: false, approvalRequest}. */
export interface ChangeBody {
  applied: boolean;
  approvalRequest?: RequestView;
}

/** Prints a change's answer: as is with --json; else `applied()`, or the request it became. */
export function printChange(inv: Invocation, body: ChangeBody, applied: () => string): number {
  if (inv.json) printJson(body);
  else print(!body.applied && body.approvalRequest ? requestCreated(body.approvalRequest) : applied());
  return 0;
}

/**
 * A change a quorum policy may gate (kura hsm, kura xks, kura credentials): its answer, less `applied`,
 * when it took effect; undefined when it became an approval request, which is then printed (--json: the
 * whole answer, {"applied":false,"approvalRequest":{…}}).
 */
export async function gatedChange<T extends object>(inv: Invocation, method: string, path: string, body: unknown): Promise<T | undefined> {
  const r = await adminClient(inv).call<ChangeBody & T>(method, path, body, true);
  if (!r.applied && r.approvalRequest) {
    printChange(inv, r, () => '');
    return undefined;
  }
  const { applied: _applied, approvalRequest: _none, ...rest } = r;
  return rest as unknown as T;
}

/** Where a request stands, in one line. */
function standing(v: RequestView): string {
  const count = `${v.approvals.length} of ${v.threshold} approval(s)`;
  if (v.status === 'PENDING') return `${count}; PENDING until ${v.expiresAt}`;
  // The callers end the line with a full stop; an error's outcome has its own ("…enrolled already..").
  if (v.status === 'EXECUTED' || v.status === 'FAILED') return `${count}; ${v.status} at ${v.executedAt ?? '?'}: ${(v.outcome ?? '').replace(/\.$/, '')}`;
  return `${count}; ${v.status}${v.outcome ? ` (${v.outcome})` : ''}`;
}

/**
 * The statement's bytes, once they are seen to name this request, its action, and the digest of the
 * parameters shown (SHA-256 of their canonical JSON): a custodian signs what they were shown.
 */
function checkedStatement(v: RequestView, id: string): Buffer {
  const bytes = Buffer.from(v.statement, 'base64');
  let s: Record<string, unknown> = {};
  try {
    s = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    // refused below
  }
  const digest = createHash('sha256').update(v.parameters, 'utf8').digest('hex');
  if (v.id !== id || s.requestId !== id || s.action !== v.action || s.parametersDigest !== v.parametersDigest || digest !== v.parametersDigest) {
    throw new CliError('Statement', `The appliance's statement for ${id} does not name that request and the digest of its parameters; nothing was signed or written.`);
  }
  return bytes;
}

async function list(inv: Invocation): Promise<number> {
  const { approvals } = await adminClient(inv).call<{ approvals: RequestSummary[] }>('GET', '/approvals', undefined, true);
  if (inv.json) return (printJson(approvals.map((a) => ({ id: a.id, action: a.action, status: a.status, approvals: a.approvals, threshold: a.threshold, expiresAt: a.expiresAt }))), 0);
  if (approvals.length === 0) print('No approval requests.');
  for (const a of approvals) print(`${a.id}  ${a.status.padEnd(9)}  ${a.approvals}/${a.threshold}  ${a.action}  expires ${a.expiresAt}`);
  return 0;
}

async function show(inv: Invocation): Promise<number> {
  const id = requestId(inv);
  const v = await adminClient(inv).call<RequestView>('GET', requestPath(id), undefined, true);
  if (inv.json) return (printJson(v), 0);
  print(
    [
      `Request:       ${v.id}`,
      `Action:        ${v.action} (class ${v.actionClass})`,
      `Status:        ${standing(v)}`,
      `Requested by:  ${v.requester} at ${v.createdAt}`,
      `Parameters:    ${v.parameters}`,
      `Digest:        ${v.parametersDigest} (SHA-256 of the parameters)`,
      `Approvers:     ${v.threshold} of ${v.operators.join(', ') || '(no policy)'}`,
      ...v.approvals.map((a) => `Approved by:   ${a.operator} (${a.fingerprint}) at ${a.createdAt}`),
      ...(v.status === 'PENDING' ? ['', `Approve with \`kura approvals sign ${v.id} --key KEY.pem\`, or off-line: \`kura approvals export ${v.id} --out F\`.`] : []),
    ].join('\n'),
  );
  return 0;
}

async function exportStatement(inv: Invocation): Promise<number> {
  const id = requestId(inv);
  const out = requiredOption(inv, 'out');
  const v = await adminClient(inv).call<RequestView>('GET', requestPath(id), undefined, true);
  const bytes = checkedStatement(v, id);
  try {
    // The mode as given whatever the umask, and for a file that was there already: a statement is no
    // secret. Never through a symbolic link (out-file.ts).
    writeOutFile(out, bytes, 0o644, { setMode: true });
  } catch (e) {
    throw new CliError('File', `Cannot write ${out} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  if (inv.json) return (printJson({ id, out: path.resolve(out), bytes: bytes.length }), 0);
  print(
    [
      `Wrote the statement of ${id} (${v.action}, ${bytes.length} bytes) to ${out}. Sign it where the key is:`,
      `  Ed25519:  openssl pkeyutl -sign -inkey key.pem -rawin -in ${out} -out ${out}.sig`,
      `  P-256:    openssl dgst -sha256 -sign key.pem -out ${out}.sig ${out}`,
      `then hand the signature back: kura approvals submit ${id} --signature ${out}.sig [--operator NAME]`,
    ].join('\n'),
  );
  return 0;
}

/** A custodian's private key: PEM, unencrypted, Ed25519 or ECDSA P-256; its bytes are zeroed once parsed. */
function readSigningKey(file: string): { key: KeyObject; fingerprint: string } {
  const pem = readUserFile(file, 'the private key');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    const encrypted = (e as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE';
    throw new CliError('Key', encrypted
      ? `${file} is an encrypted private key; kura approvals sign reads unencrypted PEM keys only (or sign off-line: kura approvals export).`
      : `${file} is not a PEM private key (-----BEGIN PRIVATE KEY-----, as openssl genpkey writes one).`);
  } finally {
    pem.fill(0);
  }
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type !== 'ed25519' && !(type === 'ec' && curve === 'prime256v1')) {
    throw new CliError('Key', `${file} is ${type === 'ec' ? `an EC key on ${curve ?? 'an unnamed curve'}` : `an ${type ?? 'unknown'} key`}: operators sign with Ed25519 or ECDSA P-256 keys only.`);
  }
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return { key, fingerprint: operatorKeyFromSpki(spki).fingerprint };
}

/** Submits a signature; prints the request as it stands (the whole view with --json). */
async function approve(inv: Invocation, id: string, signature: Buffer, operator: string | undefined, signer?: string): Promise<number> {
  const v = await adminClient(inv).call<RequestView>('POST', requestPath(id, '/approvals'), { signature: signature.toString('base64'), ...(operator !== undefined ? { operator } : {}) }, true);
  if (inv.json) return (printJson(v), 0);
  const by = v.approvals.find((a) => (signer !== undefined ? a.fingerprint === signer : a.operator === operator));
  print(`Approved ${id}${by ? ` as ${by.operator} (${by.fingerprint})` : ''}: ${standing(v)}.`);
  return 0;
}

async function signRequest(inv: Invocation): Promise<number> {
  const id = requestId(inv);
  const { key, fingerprint } = readSigningKey(requiredOption(inv, 'key'));
  const v = await adminClient(inv).call<RequestView>('GET', requestPath(id), undefined, true);
  const statement = checkedStatement(v, id);
  // Ed25519 signs the statement itself (RFC 8032 "pure"); ECDSA P-256 its SHA-256, DER-encoded, as openssl does.
  const signature = key.asymmetricKeyType === 'ed25519' ? sign(null, statement, key) : sign('sha256', statement, key);
  return approve(inv, id, signature, undefined, fingerprint);
}

async function submit(inv: Invocation): Promise<number> {
  const id = requestId(inv);
  const file = requiredOption(inv, 'signature');
  const signature = readUserFile(file, 'the signature');
  if (signature.length === 0 || signature.length > MAX_SIGNATURE_BYTES) {
    throw new CliError('Signature', `${file} holds ${signature.length} bytes: not a signature (Ed25519: 64 bytes; P-256: about 70, as openssl writes them).`);
  }
  return approve(inv, id, signature, stringOption(inv, 'operator'));
}

async function result(inv: Invocation): Promise<number> {
  const id = requestId(inv);
  const r = await adminClient(inv).call<{ id: string; action: string; result: unknown }>('POST', requestPath(id, '/result'), {}, true);
  if (inv.json) return (printJson(r), 0);
  print(`${r.action} (${r.id}) answered, shown once:`);
  print(JSON.stringify(r.result, null, 2));
  return 0;
}

async function cancel(inv: Invocation): Promise<number> {
  const id = requestId(inv);
  const v = await adminClient(inv).call<RequestView>('POST', requestPath(id, '/cancel'), {}, true);
  if (inv.json) return (printJson(v), 0);
  print(`Cancelled ${id}: it will not run.`);
  return 0;
}

export const approvals: CommandSpec = {
  name: 'approvals',
  summary: 'approval requests waiting for a quorum of custodians (list|show|export|sign|submit|result|cancel)',
  description: `A gated action (kura quorum show) does not run when asked: it becomes an approval request, which
runs once the policy's quorum of operators have each signed its statement with their own key, and
never after it expires. These commands need the admin token from the data directory (or
KURA_ADMIN_TOKEN) and a running appliance.`,
  options: [HELP_OPTION],
  subcommands: [
    {
      name: 'list',
      summary: 'the approval requests, newest first',
      description: 'Lists the approval requests. With --json: [{"id","action","status","approvals","threshold","expiresAt"}].',
      options: CLIENT_OPTIONS,
      run: list,
    },
    {
      name: 'show',
      summary: 'one request: its action, parameters, digest, approvals and outcome',
      args: 'ID',
      description: 'Shows a request: action, canonical parameters and their SHA-256 digest, who asked, its approvals, its outcome.',
      options: CLIENT_OPTIONS,
      run: show,
    },
    {
      name: 'export',
      summary: 'write the statement to sign off-line',
      args: 'ID',
      description: `Writes the request's statement, the exact bytes an approver signs (mode 0644), and nothing else.
Sign it with openssl pkeyutl -sign -inkey key.pem -rawin -in F -out F.sig (Ed25519) or
openssl dgst -sha256 -sign key.pem -out F.sig F (ECDSA P-256), then: kura approvals submit ID --signature F.sig.
With --json: {"id","out","bytes"}.`,
      options: [{ name: 'out', value: 'F', help: 'the file to write, required', complete: 'file' }, ...CLIENT_OPTIONS],
      run: exportStatement,
    },
    {
      name: 'sign',
      summary: 'sign a request here with an operator\'s private key, and submit the signature',
      args: 'ID',
      description: `Signs the request's statement with KEY.pem (an unencrypted PEM Ed25519 or ECDSA P-256 private key)
and submits the signature. The key is read by this command only; it is never sent.`,
      options: [{ name: 'key', value: 'KEY.pem', help: 'the operator\'s private key, required', complete: 'file' }, ...CLIENT_OPTIONS],
      run: signRequest,
    },
    {
      name: 'result',
      summary: "what an approved command answered (a new secret, …), once, to its requester",
      args: 'ID',
      description: `An approved operator command (kura hsm add, kura xks stores create, kura credentials create, …)
runs when its last approval arrives; what it answered — a new secret access key, say — is kept sealed
under the root key until the requester (or the admin token's holder) takes it with this command, once.
With --json: {"id","action","result"}.`,
      options: CLIENT_OPTIONS,
      run: result,
    },
    {
      name: 'submit',
      summary: 'hand over a signature made off-line',
      args: 'ID',
      description: `Submits a signature over the statement kura approvals export wrote: the raw bytes openssl writes
(Ed25519: 64 bytes; P-256: DER, or 64 bytes r || s). --operator names whose it is; without it, the
enrolled operator whose key it verifies under.`,
      options: [
        { name: 'signature', value: 'F', help: 'the file holding the signature, required', complete: 'file' },
        { name: 'operator', value: 'NAME', help: 'the operator who signed' },
        ...CLIENT_OPTIONS,
      ],
      run: submit,
    },
    {
      name: 'cancel',
      summary: 'cancel a pending request; it never runs',
      args: 'ID',
      description: 'Cancels a pending request (audited). An executed, failed or cancelled request is not changed.',
      options: CLIENT_OPTIONS,
      run: cancel,
    },
  ],
};
