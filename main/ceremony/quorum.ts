// Custodians and quorum (issue 13): the approval gate of the unit of work (kms/approval-gate.ts), the
// operators who approve, the policy of each action class, and approval requests with their approvals.
//
// A gated call — one whose action class has a quorum policy — is not run: it becomes an approval
// request (its action, its parameters as canonical JSON and their SHA-256 digest, who asked, when it
// expires) and the call answers AccessDenied naming the request. Each operator the policy allows signs
// the request's statement (./statement.ts) with their own key, at the appliance (`kura approvals sign`)
// or off-line with openssl (`kura approvals export` / `submit`). When M distinct valid approvals are
// in, the request runs — exactly once: a compare-and-set moves it PENDING → EXECUTING, and only the
// caller that wins it runs the action, with the parameters it was asked with (a KMS call is run again
// through the API's own handler by the executor app.ts gives, with the request's ID, which this gate
// admits once). Never after its expiry; a failed run is recorded FAILED and is not retried. An
// approval counts while its operator is enrolled with the key that signed it, counted in the transaction
// that starts the run; a run a stop interrupted is ended at the next start by what its action's own audit
// entry says (recoverInterrupted), never run again.
//
// Operator commands (main/console: `kura hsm`, `kura xks`, `kura credentials` …) are gated the same way
// through admitCommand: the admin API asks before it runs one, and the executor runs an approved one
// again through the same handler (api/admin/commands.ts), its secrets sealed beside the request by the
// API and its answer sealed for its requester, who takes it once (takeResult).
//
// Operator and policy changes are themselves gated by the `operators` class. Until that class has a
// policy — and always on a dev appliance, whose dev operator approves them — they take effect at once,
// so that the first custodians and policies can be set up (a script can set a 2-of-3 policy, then use it).
//
// Every request, approval, refusal and execution is audited (source admin), naming the request
// (details.approvalRequestId): an ended request's transcript (./transcript.ts) is made from those entries.
//
// Why one file of this length (over 400 lines): the gate, the request's life (PENDING → EXECUTING →
// EXECUTED | FAILED | CANCELLED, each step one compare and set) and the changes a request runs all rest
// on the same invariant — a request runs once, with what was asked, by M of the approvers it was asked
// under — and reading it in one place is how a reviewer checks it. Statements, canonical JSON, keys,
// transcripts and console sign-in live in their own files.
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import { CLOCK_STEP_TOLERANCE_MS, type Clock } from '../common/clock.js';
import { isKmsError, KmsError, kmsErrors } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { ApprovalPendingError, type ApprovalGate, type ApprovalRequest, type CallContext, type SensitiveValue } from '../kms/index.js';
import type { ApprovalRecord, ApprovalRequestRecord, OperatorRecord, QuorumPolicyRecord, Store, Tx } from '../store/index.js';
import { canonicalJson, parametersDigest } from './canonical.js';
import { operatorKeyFromSpki, parseOperatorPublicKey, verifyApprovalSignature } from './operator-keys.js';
import { approvalStatement } from './statement.js';
import { buildTranscript, verifyTranscript, type Transcript, type TranscriptVerification } from './transcript.js';

export const ACTION_CLASSES = ['key-import', 'key-deletion', 'backup', 'key-store', 'operators', 'credentials', 'rekey'] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];

/** The gated actions and their classes. */
const CLASS_OF: Readonly<Record<string, ActionClass>> = {
  'kms:ImportKeyMaterial': 'key-import',
  'kms:ScheduleKeyDeletion': 'key-deletion',
  'kms:DeleteImportedKeyMaterial': 'key-deletion',
  'kms:CreateCustomKeyStore': 'key-store',
  'kms:UpdateCustomKeyStore': 'key-store',
  'kms:DeleteCustomKeyStore': 'key-store',
  'kms:ConnectCustomKeyStore': 'key-store',
  'kms:DisconnectCustomKeyStore': 'key-store',
  'kura:OperatorAdd': 'operators',
  'kura:OperatorRemove': 'operators',
  'kura:QuorumSet': 'operators',
  // Operator commands (main/console), run again by the admin API's executor once approved.
  'kura:hsms.add': 'key-store',
  'kura:hsms.remove': 'key-store',
  'kura:xks.stores.create': 'key-store',
  'kura:xks.stores.update': 'key-store',
  'kura:xks.stores.delete': 'key-store',
  'kura:xks.credentials.create': 'key-store',
  'kura:xks.credentials.delete': 'key-store',
  'kura:xks.keys.create': 'key-store',
  'kura:xks.keys.enable': 'key-store',
  'kura:xks.keys.disable': 'key-store',
  'kura:xks.keys.delete': 'key-store',
  'kura:credentials.create': 'credentials',
  'kura:credentials.delete': 'credentials',
};

export const classOfAction = (action: string): ActionClass | undefined => CLASS_OF[action];

/** Every gated action (`kms:…`, `kura:…`). */
export const gatedActions = (): string[] => Object.keys(CLASS_OF);

/** How long a request waits for its approvals unless its policy says otherwise. */
export const DEFAULT_EXPIRY_MS = 30 * 60_000;
/** How far before a request's creation the wall clock may read (a small step back) and the request still be live. */
export const STEPPED_BACK_TOLERANCE_MS = CLOCK_STEP_TOLERANCE_MS;
/** The admin token's holder, as the admin API and the CLI name them. */
export const ADMIN = 'kura:admin';
/** The quorum's own audit entries about a request, as opposed to the entry of the action it runs. */
const QUORUM_EVENTS: readonly string[] = ['ApprovalRequested', 'ApprovalSubmitted', 'ApprovalCancelled', 'ApprovalExecuted', 'ApprovalResultTaken'];
const OPERATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The principal the console's KMS calls are made as, in an account: its operator (the administrator as kura-admin) under the kura-console path. */
export const consolePrincipal = (operator: string, accountId: string): string => `arn:aws:iam::${accountId}:user/kura-console/${consoleUserName(operator)}`;
const consoleUserName = (operator: string): string => (operator.startsWith('kura:') ? `kura-${operator.slice(5)}` : operator);
const CONSOLE_PRINCIPAL = /^arn:aws:iam::\d{12}:user\/kura-console\/([^/]+)$/;

/**
 * Whether `by` asked for a request: by name (the CLI, the admin API, an operator command), or as the
 * principal of a KMS call they made in the console, which names them in its path.
 */
const askedBy = (by: OperatorActor, requester: string): boolean =>
  by.operator === requester || CONSOLE_PRINCIPAL.exec(requester)?.[1] === consoleUserName(by.operator);

export const OPERATOR_NAME_RULE = 'An operator name is 1 to 64 characters: letters, digits, ".", "_" and "-", starting with a letter or digit.';
/** The CLI checks names too, so that `kura init` refuses a bad one before it asks for anything. */
export const isOperatorName = (name: string): boolean => OPERATOR_NAME.test(name);

export type { ApprovalRecord, ApprovalRequestRecord, OperatorRecord, QuorumPolicyRecord } from '../store/index.js';

/** What an approved request runs: a KMS call as it was asked, or an operator command (main/console). */
export type ApprovedCall =
  | { kind: 'kms'; caller: CallContext }
  | { kind: 'command'; command: string; operator: string; input: Record<string, unknown>; sealedSecrets: string | null };

/** Runs an approved call again as it was asked (app.ts gives one that goes through the API's handlers). */
export interface ApprovalExecutor {
  /**
   * Resolves with a short summary of the result (kept in the clear: never a secret) and, for a command,
   * its whole answer sealed under the root key for its requester to take once; rejects with the call's error.
   */
  execute(r: ApprovalRequestRecord, call: ApprovedCall): Promise<{ summary: string; sealedResult?: string }>;
}

/** An operator command's admission: run it now, or the approval request it became. */
export type CommandAdmission = { admitted: true } | { admitted: false; request: ApprovalRequestRecord };

export interface QuorumDeps {
  store: Pick<Store, 'db' | 'ceremony'>;
  audit: AuditLog;
  clock: Clock;
  applianceId: string;
  /** A dev appliance: operator and policy changes take effect at once. */
  dev: boolean;
  /** Whether the appliance is unsealed: an approved KMS action can only run then. */
  isUnsealed?: () => boolean;
  /**
   * Seals and opens a gated KMS call's sensitive values (a PIN, a proxy's secret) under the root key,
   * bound to the request's parameters digest: kept beside the request, never in what it shows. Without
   * it, a call with such values is not made a request (Internal).
   */
  secrets?: { seal(text: string, digest: string): string; open(sealed: string, digest: string): string };
  log: Logger;
}

/** Who asks through the CLI or the admin API (the admin token's holder, or a named operator). */
export interface OperatorActor {
  operator: string;
}

/** A change that took effect, or the request it became. */
export type Outcome<T> = { applied: true; value: T } | { applied: false; request: ApprovalRequestRecord };

export interface RequestView {
  request: ApprovalRequestRecord;
  approvals: ApprovalRecord[];
  threshold: number;
  operators: string[];
  /** The bytes an operator signs. */
  statement: Buffer;
}

/** The kura:* actions Quorum runs itself; every other kura:* action is an operator command its executor runs. */
const KURA_ACTIONS: readonly string[] = ['kura:OperatorAdd', 'kura:OperatorRemove', 'kura:QuorumSet'];

/**
 * Why an approval request has no result to take. Only an executed kura command (credentials.create,
 * xks stores create, …) keeps its answer for its requester; a KMS call's or an operator or policy
 * change's outcome is its request's, in the clear. Saying "it was taken" of those sent the requester
 * looking for who took it.
 */
function noResultWhy(r: ApprovalRequestRecord): string {
  if (r.status !== 'EXECUTED') return `it is ${r.status}`;
  const keepsOne = r.action.startsWith('kura:') && !KURA_ACTIONS.includes(r.action);
  return keepsOne ? 'it was taken' : `${r.action} keeps no answer for its requester: what it did is the request's outcome, shown with the request`;
}

/** What kura:* requests carry. */
type KuraParameters =
  | { action: 'kura:OperatorAdd'; name: string; publicKey: string }
  | { action: 'kura:OperatorRemove'; name: string }
  | { action: 'kura:QuorumSet'; actionClass: ActionClass; threshold: number; operators: string[]; expiryMs: number };

/** JSON numbers that are not integers, as canonical JSON takes no others: `{"$decimal": "1.5"}`. */
function canonicalizable(v: unknown): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : { $decimal: String(v) };
  if (Array.isArray(v)) return v.map(canonicalizable);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonicalizable(x)]));
  return v;
}

/** An enrolment as its request carries it: a valid name, and the key re-encoded as the PEM of its SPKI. */
function operatorAddition(name: string, publicKeyPem: string): KuraParameters {
  if (!isOperatorName(name)) throw kmsErrors.validation(OPERATOR_NAME_RULE);
  const key = parseOperatorPublicKey(publicKeyPem);
  const pem = `-----BEGIN PUBLIC KEY-----\n${key.spki.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
  return { action: 'kura:OperatorAdd', name, publicKey: pem };
}

const isCallContext = (c: ApprovalRequest['caller']): c is CallContext => 'principal' in c;
const newRequestId = () => `apr-${randomBytes(12).toString('hex')}`;

export class Quorum implements ApprovalGate {
  private executor: ApprovalExecutor | undefined;

  constructor(private readonly deps: QuorumDeps) {}

  /** The composition root hands in the executor of KMS calls once the API is built. */
  setExecutor(executor: ApprovalExecutor): void {
    this.executor = executor;
  }

  private get repo() {
    return this.deps.store.ceremony;
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }

  /**
   * Why a request takes no approval and does not run now, on the wall clock, or undefined while it may:
   * from its creation to its expiry. Its expiry is wall-clock (the custodians sign it), so a clock
   * stepped back since the request was made would stretch its life by the step — by a year, for a
   * request made while the clock read a year ahead. A clock that reads more than
   * STEPPED_BACK_TOLERANCE_MS before the request was made is one stepped back: the request is refused
   * until it reads its creation time again (ask again rather than wait), never run on a stretched life.
   */
  private notLive(r: ApprovalRequestRecord): string | undefined {
    const now = this.now();
    if (now >= r.expiresAt) return `Approval request ${r.id} expired at ${new Date(r.expiresAt).toISOString()}.`;
    if (now < r.createdAt - STEPPED_BACK_TOLERANCE_MS) {
      return `Approval request ${r.id} was made at ${new Date(r.createdAt).toISOString()}, later than this appliance's clock now reads (${new Date(now).toISOString()}): the clock has been stepped back since, and its expiry can no longer be trusted. Check the clock, cancel the request and ask again.`;
    }
    return undefined;
  }

  // ---- the gate --------------------------------------------------------------------------------------

  async admit(request: ApprovalRequest): Promise<void> {
    const caller = request.caller;
    if (!isCallContext(caller)) return;
    const actionClass = classOfAction(request.action);
    if (!actionClass) return;
    if (caller.approvedRequest !== undefined) return this.admitApproved(caller, request.action);
    const policy = await this.repo.findPolicy(actionClass);
    if (!policy) return;
    // What the request shows, signs and keeps in the clear is the input without its sensitive values;
    // those are sealed beside it, and given back to the call only when it runs.
    const { open, secrets } = caller.splitInput ? caller.splitInput() : { open: { ...(caller.input ?? {}) }, secrets: [] };
    const parameters = canonicalJson(canonicalizable({ operation: caller.operation, input: open }));
    let sealedSecrets: string | null = null;
    if (secrets.length > 0) {
      if (!this.deps.secrets) throw new KmsError('Internal', `${request.action} carries secrets this appliance cannot keep sealed beside an approval request.`);
      sealedSecrets = this.deps.secrets.seal(JSON.stringify(secrets), parametersDigest(JSON.parse(parameters)));
    }
    const r = await this.createRequest({
      actionClass,
      action: request.action,
      parameters,
      requester: caller.principal,
      caller: JSON.stringify({ accountId: caller.accountId, region: caller.region, principal: caller.principal, accessKeyId: caller.accessKeyId, input: open }),
      sealedSecrets,
      policy,
    });
    throw new ApprovalPendingError(
      `${request.action} needs the approval of ${policy.threshold} of ${policy.operators.join(', ')} (quorum class ${actionClass}): it is approval request ${r.id}, ` +
        `which runs once approved (kura approvals show ${r.id}; kura approvals sign ${r.id} --key KEY.pem), until ${new Date(r.expiresAt).toISOString()}.`,
      r.id,
    );
  }

  /** The executor's call of an approved request: admitted only while that request is EXECUTING, for its own action and parameters. */
  private async admitApproved(caller: CallContext, action: string): Promise<void> {
    const parameters = canonicalJson(canonicalizable({ operation: caller.operation, input: caller.input ?? {} }));
    await this.checkApproved(caller.approvedRequest!, action, parameters);
  }

  private async checkApproved(id: string, action: string, parameters: string): Promise<void> {
    const r = await this.repo.findRequest(id);
    if (!r || r.status !== 'EXECUTING' || r.action !== action || r.digest !== parametersDigest(JSON.parse(parameters))) {
      throw new KmsError('AccessDenied', `Approval request ${id} does not approve this call.`);
    }
  }

  /**
   * The gate of an operator command (api/admin/commands.ts): admitted when its class has no policy;
   * otherwise it becomes an approval request over its public input (its secrets, `sealSecrets` of the
   * parameters' digest, are kept sealed beside it). `approvedRequest` is the executor's run of that
   * request, admitted only while it is EXECUTING with these very parameters.
   */
  async admitCommand(
    by: OperatorActor,
    command: string,
    input: Record<string, unknown>,
    opts: { approvedRequest?: string; sealSecrets?: (digest: string) => string } = {},
  ): Promise<CommandAdmission> {
    const action = `kura:${command}`;
    const actionClass = classOfAction(action);
    if (!actionClass) return { admitted: true };
    const parameters = canonicalJson(canonicalizable({ command, input }));
    if (opts.approvedRequest !== undefined) {
      await this.checkApproved(opts.approvedRequest, action, parameters);
      return { admitted: true };
    }
    const policy = await this.repo.findPolicy(actionClass);
    if (!policy) return { admitted: true };
    const sealedSecrets = opts.sealSecrets ? opts.sealSecrets(parametersDigest(JSON.parse(parameters))) : null;
    const request = await this.createRequest({
      actionClass,
      action,
      parameters,
      requester: by.operator,
      caller: JSON.stringify({ operator: by.operator }),
      sealedSecrets,
      policy,
    });
    return { admitted: false, request };
  }

  private async createRequest(p: {
    actionClass: ActionClass;
    action: string;
    parameters: string;
    requester: string;
    caller: string;
    sealedSecrets?: string | null;
    /** The class's policy now: the request keeps its threshold and operators, whatever changes later. */
    policy: QuorumPolicyRecord;
  }): Promise<ApprovalRequestRecord> {
    const now = this.now();
    const r: ApprovalRequestRecord = {
      id: newRequestId(),
      actionClass: p.actionClass,
      action: p.action,
      parameters: p.parameters,
      digest: parametersDigest(JSON.parse(p.parameters)),
      requester: p.requester,
      caller: p.caller,
      createdAt: now,
      expiresAt: now + p.policy.expiryMs,
      status: 'PENDING',
      outcome: null,
      executedAt: null,
      threshold: p.policy.threshold,
      approvers: [...p.policy.operators],
      sealedSecrets: p.sealedSecrets ?? null,
      sealedResult: null,
    };
    await this.deps.store.db.write(async (tx) => {
      await this.repo.insertRequest(tx, r);
      await this.deps.audit.appendIn(tx, this.event(p.requester, 'ApprovalRequested', 'ok', { approvalRequestId: r.id, action: r.action, parametersDigest: r.digest }));
    });
    return r;
  }

  // ---- operators and policies -------------------------------------------------------------------------

  listOperators(): Promise<OperatorRecord[]> {
    return this.repo.listOperators();
  }

  async showOperator(name: string, tx?: Tx): Promise<OperatorRecord> {
    const o = await this.repo.findOperator(name, tx);
    if (!o) throw kmsErrors.notFound(`No operator is named ${name} (kura operators list).`);
    return o;
  }

  listPolicies(): Promise<QuorumPolicyRecord[]> {
    return this.repo.listPolicies();
  }

  addOperator(by: OperatorActor, name: string, publicKeyPem: string): Promise<Outcome<OperatorRecord>> {
    return this.change(by, operatorAddition(name, publicKeyPem), async () => this.showOperator(name));
  }

  /**
   * Everything enrolling these first custodians could refuse, checked before init makes the root key:
   * a refusal after it would leave a root key whose shares are never handed out. Each name and key as
   * addOperator checks them, none enrolled already, and no `operators` policy yet (or the enrolment
   * would become approval requests rather than take effect).
   */
  async checkInitialCustodians(operators: readonly { name: string; publicKey: string }[]): Promise<void> {
    for (const o of operators) await this.checkKura(operatorAddition(o.name, o.publicKey));
    if (!this.deps.dev && (await this.repo.findPolicy('operators'))) {
      throw kmsErrors.invalidState('Operator changes here need the quorum of the operators policy already: enroll custodians with kura operators add, not at init.');
    }
  }

  removeOperator(by: OperatorActor, name: string): Promise<Outcome<string>> {
    return this.change(by, { action: 'kura:OperatorRemove', name }, async () => name);
  }

  setPolicy(by: OperatorActor, actionClass: string, threshold: number, operators: string[], expiryMinutes?: number): Promise<Outcome<QuorumPolicyRecord>> {
    if (!(ACTION_CLASSES as readonly string[]).includes(actionClass)) throw kmsErrors.validation(`${actionClass} is not an action class (${ACTION_CLASSES.join(', ')}).`);
    if (!Number.isSafeInteger(threshold) || threshold < 1) throw kmsErrors.validation('A threshold is a whole number of at least 1.');
    const twice = operators.filter((n, i) => operators.indexOf(n) !== i);
    if (twice.length > 0) throw kmsErrors.validation(`Each operator is named once: ${[...new Set(twice)].join(', ')} ${twice.length === 1 ? 'is' : 'are'} named more than once.`);
    if (operators.length < threshold) {
      throw kmsErrors.validation(`A threshold of ${threshold} needs at least ${threshold} distinct operators; ${operators.length} given.`);
    }
    if (expiryMinutes !== undefined && (!Number.isSafeInteger(expiryMinutes) || expiryMinutes < 1 || expiryMinutes > 7 * 24 * 60)) {
      throw kmsErrors.validation('An expiry is a whole number of minutes from 1 to 10080 (a week).');
    }
    const params: KuraParameters = { action: 'kura:QuorumSet', actionClass: actionClass as ActionClass, threshold, operators, expiryMs: (expiryMinutes ?? DEFAULT_EXPIRY_MS / 60_000) * 60_000 };
    return this.change(by, params, async () => (await this.repo.findPolicy(actionClass))!);
  }

  /** An operator or policy change: at once (dev, or no `operators` policy yet), or as an approval request. */
  private async change<T>(by: OperatorActor, params: KuraParameters, result: () => Promise<T>): Promise<Outcome<T>> {
    await this.checkKura(params);
    const policy = this.deps.dev ? undefined : await this.repo.findPolicy('operators');
    if (!policy) {
      await this.applyKura(params, by.operator);
      return { applied: true, value: await result() };
    }
    const request = await this.createRequest({
      actionClass: 'operators',
      action: params.action,
      parameters: canonicalJson(params),
      requester: by.operator,
      caller: JSON.stringify({ operator: by.operator }),
      policy,
    });
    return { applied: false, request };
  }

  /**
   * What must hold for a change to be asked, and again when it runs: then inside the transaction that
   * applies it (`tx`), so that two changes approved at once (two removals, a removal and a QuorumSet)
   * cannot both pass on what the other is about to change and leave a policy above its operators.
   */
  private async checkKura(p: KuraParameters, tx?: Tx): Promise<void> {
    if (p.action === 'kura:OperatorAdd') {
      if (await this.repo.findOperator(p.name, tx)) throw new KmsError('AlreadyExists', `An operator named ${p.name} is enrolled already.`);
      const fp = parseOperatorPublicKey(p.publicKey).fingerprint;
      const same = (await this.repo.listOperators(tx)).find((o) => o.fingerprint === fp);
      if (same) throw new KmsError('AlreadyExists', `That public key is ${same.name}'s already.`);
    } else if (p.action === 'kura:OperatorRemove') {
      await this.showOperator(p.name, tx);
      const uses = (await this.repo.listPolicies(tx)).filter((q) => q.operators.includes(p.name) && q.operators.length - 1 < q.threshold);
      if (uses.length > 0) throw kmsErrors.invalidState(`Removing ${p.name} would leave too few operators for the ${uses.map((q) => q.actionClass).join(', ')} policy: change it first.`);
    } else {
      const known = new Set((await this.repo.listOperators(tx)).map((o) => o.name));
      const unknown = p.operators.filter((n) => !known.has(n));
      if (unknown.length > 0) throw kmsErrors.validation(`Not enrolled: ${unknown.join(', ')} (kura operators add).`);
    }
  }

  private async applyKura(p: KuraParameters, by: string, approvalRequestId?: string): Promise<void> {
    const now = this.now();
    const details: Record<string, string | number | boolean> = approvalRequestId ? { approvalRequestId } : {};
    await this.deps.store.db.write(async (tx) => {
      await this.checkKura(p, tx);
      if (p.action === 'kura:OperatorAdd') {
        const key = parseOperatorPublicKey(p.publicKey);
        await this.repo.insertOperator(tx, { name: p.name, algorithm: key.algorithm, publicKey: key.spki, fingerprint: key.fingerprint, passphrase: null, createdAt: now });
        await this.deps.audit.appendIn(tx, this.event(by, 'OperatorAdd', 'ok', { ...details, operatorName: p.name, fingerprint: key.fingerprint }));
      } else if (p.action === 'kura:OperatorRemove') {
        await this.repo.deleteOperator(tx, p.name);
        // Policies no longer name them (checkKura made sure each keeps enough operators for its threshold).
        for (const q of await this.repo.listPolicies(tx)) {
          if (q.operators.includes(p.name)) await this.repo.putPolicy(tx, { ...q, operators: q.operators.filter((n) => n !== p.name), updatedAt: now });
        }
        await this.deps.audit.appendIn(tx, this.event(by, 'OperatorRemove', 'ok', { ...details, operatorName: p.name }));
      } else {
        await this.repo.putPolicy(tx, { actionClass: p.actionClass, threshold: p.threshold, operators: p.operators, expiryMs: p.expiryMs, updatedAt: now });
        await this.deps.audit.appendIn(tx, this.event(by, 'QuorumSet', 'ok', { ...details, actionClass: p.actionClass, threshold: p.threshold, operators: p.operators.join(',') }));
      }
    });
  }

  // ---- approval requests --------------------------------------------------------------------------------

  listRequests(): Promise<ApprovalRequestRecord[]> {
    return this.repo.listRequests();
  }

  /** Every request with its approval count and threshold, in two queries (whatever the number of requests). */
  async listRequestSummaries(): Promise<{ request: ApprovalRequestRecord; approvals: number; threshold: number }[]> {
    const [requests, counts, policies] = await Promise.all([this.repo.listRequests(), this.repo.countApprovals(), this.repo.listPolicies()]);
    const policyThreshold = new Map(policies.map((p) => [p.actionClass, p.threshold]));
    return requests.map((request) => ({
      request,
      approvals: counts.get(request.id) ?? 0,
      threshold: request.threshold ?? policyThreshold.get(request.actionClass) ?? 1,
    }));
  }

  statementOf(r: ApprovalRequestRecord): Buffer {
    return approvalStatement({ requestId: r.id, digest: r.digest, action: r.action, expiresAt: r.expiresAt, applianceId: this.deps.applianceId });
  }

  async showRequest(id: string): Promise<RequestView> {
    const request = await this.repo.findRequest(id);
    if (!request) throw kmsErrors.notFound(`No approval request ${id} (kura approvals list).`);
    // The quorum the request was made under; a request made before Kura kept it follows the current policy.
    const policy = request.threshold === null || request.approvers === null ? await this.repo.findPolicy(request.actionClass) : undefined;
    return {
      request,
      approvals: await this.repo.listApprovals(id),
      threshold: request.threshold ?? policy?.threshold ?? 1,
      operators: request.approvers ?? policy?.operators ?? [],
      statement: this.statementOf(request),
    };
  }

  /** The ceremony transcript of an ended request (./transcript.ts); InvalidState while it is pending or running. */
  transcript(id: string): Promise<Transcript> {
    return buildTranscript(this.deps, id);
  }

  /** Checks a transcript against this appliance's audit log and its record of the request. */
  verifyTranscript(t: unknown): Promise<TranscriptVerification> {
    return verifyTranscript(t, this.deps.audit, { findRequest: (id) => this.repo.findRequest(id), listApprovals: (id) => this.repo.listApprovals(id), applianceId: this.deps.applianceId });
  }

  /**
   * An operator's signature over a request's statement. Refused (and audited): a request that is not
   * pending or has expired, a signer who is not an enrolled operator the class's policy allows, the same
   * operator twice, a signature that does not verify. With the quorum reached, the request runs here.
   */
  async submit(by: OperatorActor, id: string, signature: Uint8Array, operatorName?: string): Promise<RequestView> {
    try {
      const view = await this.showRequest(id);
      const r = view.request;
      if (r.status !== 'PENDING') throw kmsErrors.invalidState(`Approval request ${id} is ${r.status}: it takes no more approvals.`);
      // A KMS action and an operator command run with the root key (a command's answer is sealed under
      // it): the quorum's last approval would run it sealed, and a failed run is never retried. Only the
      // quorum's own operator and policy changes run without it.
      if (!KURA_ACTIONS.includes(r.action) && this.deps.isUnsealed && !this.deps.isUnsealed()) {
        throw new KmsError('Sealed', `Kura is sealed: approvals of ${r.action} are taken once it is unsealed, when the action can run.`);
      }
      const notLive = this.notLive(r);
      if (notLive !== undefined) throw kmsErrors.invalidState(notLive);
      const candidates = operatorName !== undefined ? [await this.showOperator(operatorName)] : await this.repo.listOperators();
      const signer = candidates.find((o) => verifyApprovalSignature(operatorKeyFromSpki(o.publicKey), view.statement, signature));
      if (!signer) {
        throw new KmsError('AccessDenied', operatorName !== undefined
          ? `The signature is not ${operatorName}'s over approval request ${id} of this appliance.`
          : `The signature is no enrolled operator's over approval request ${id} of this appliance.`);
      }
      if (!view.operators.includes(signer.name)) throw new KmsError('AccessDenied', `${signer.name} may not approve ${r.actionClass} actions (kura quorum show).`);
      const earlier = view.approvals.find((a) => a.operator === signer.name);
      if (earlier) {
        throw new KmsError('AlreadyExists', earlier.fingerprint === signer.fingerprint
          ? `${signer.name} has approved ${id} already.`
          : `${signer.name} approved ${id} already, with a key no longer theirs (${earlier.fingerprint}): that approval does not count, and another operator's is needed.`);
      }
      await this.deps.store.db.write(async (tx) => {
        // Again inside the write: the same signature sent twice at once (a double click) passes the
        // checks above twice, and only one may be taken; the other is told so, not an internal error.
        const now = await this.repo.findRequest(id, tx);
        if (now?.status !== 'PENDING') throw kmsErrors.invalidState(`Approval request ${id} is ${now?.status ?? 'gone'}: it takes no more approvals.`);
        if ((await this.repo.listApprovals(id, tx)).some((a) => a.operator === signer.name)) throw new KmsError('AlreadyExists', `${signer.name} has approved ${id} already.`);
        await this.repo.insertApproval(tx, { requestId: id, operator: signer.name, fingerprint: signer.fingerprint, signature: Buffer.from(signature), createdAt: this.now() });
        await this.deps.audit.appendIn(tx, this.event(by.operator, 'ApprovalSubmitted', 'ok', { approvalRequestId: id, operatorName: signer.name, fingerprint: signer.fingerprint }));
      });
    } catch (e) {
      await this.refused(by.operator, 'ApprovalSubmitted', id, e);
      throw e;
    }
    await this.runIfApproved(id);
    return this.showRequest(id);
  }

  /** Cancels a pending request (audited), by its requester or the admin token's holder; it never runs. */
  async cancel(by: OperatorActor, id: string): Promise<RequestView> {
    const current = (await this.showRequest(id)).request;
    if (!askedBy(by, current.requester) && by.operator !== ADMIN) {
      const e = new KmsError('AccessDenied', `Only ${current.requester}, who asked for ${id}, or the appliance's administrator can cancel it.`);
      await this.refused(by.operator, 'ApprovalCancelled', id, e);
      throw e;
    }
    const moved = await this.deps.store.db.write(async (tx) => {
      const ok = await this.repo.transitionRequest(tx, id, ['PENDING'], 'CANCELLED', { outcome: `cancelled by ${by.operator}` });
      if (ok) await this.deps.audit.appendIn(tx, this.event(by.operator, 'ApprovalCancelled', 'ok', { approvalRequestId: id }));
      return ok;
    });
    if (!moved) {
      const r = await this.showRequest(id);
      const e = kmsErrors.invalidState(`Approval request ${id} is ${r.request.status}: only a pending request can be cancelled.`);
      await this.refused(by.operator, 'ApprovalCancelled', id, e);
      throw e;
    }
    return this.showRequest(id);
  }

  /**
   * Ends the approved requests a stop interrupted: those still EXECUTING when Kura starts, because it
   * stopped (a crash, a power cut, a failed last write) between starting the run and recording how it
   * ended. The action's own audit entry is written in the action's transaction and names the request, so
   * the log says whether it took effect: EXECUTED if it did (an answer it had, such as a new credential's
   * secret, was not kept), FAILED if not. Nothing runs again. Returns the requests ended.
   */
  async recoverInterrupted(): Promise<string[]> {
    const stuck = (await this.repo.listRequests()).filter((r) => r.status === 'EXECUTING');
    for (const r of stuck) {
      const entries = await this.deps.audit.list({ approvalRequestId: r.id });
      const ran = entries.some((e) => e.outcome === 'ok' && !QUORUM_EVENTS.includes(e.operation));
      const status = ran ? 'EXECUTED' : 'FAILED';
      const outcome = ran
        ? 'It took effect, but Kura stopped before recording its answer, which was not kept.'
        : 'Interrupted: Kura stopped while it ran, and it did not take effect. Ask for it again.';
      await this.deps.store.db.write(async (tx) => {
        if (!(await this.repo.transitionRequest(tx, r.id, ['EXECUTING'], status, { outcome, executedAt: this.now() }))) return;
        await this.deps.audit.appendIn(tx, this.event('kura:quorum', 'ApprovalExecuted', ran ? 'ok' : 'error', { approvalRequestId: r.id, action: r.action, recovered: true }));
      });
      this.deps.log.warn('an approved request interrupted by a stop was ended', { approvalRequestId: r.id, status });
    }
    return stuck.map((r) => r.id);
  }

  /**
   * With M approvals that count in and the request unexpired, runs it — once, whoever else races for it.
   * An approval counts while its operator is one the request allows and is still enrolled with the key
   * that signed it: a removed operator's approval, or one made under a key since replaced, stays on
   * record but counts no more. They are counted in the transaction that starts the run, so that a
   * removal committed just before cannot be counted past.
   */
  private async runIfApproved(id: string): Promise<void> {
    const view = await this.showRequest(id);
    const r = view.request;
    if (this.notLive(r) !== undefined) return;
    const counted = await this.deps.store.db.write(async (tx) => {
      const enrolled = new Map((await this.repo.listOperators(tx)).map((o) => [o.name, o.fingerprint]));
      const standing = (await this.repo.listApprovals(id, tx)).filter((a) => view.operators.includes(a.operator) && enrolled.get(a.operator) === a.fingerprint);
      if (standing.length < view.threshold) return undefined;
      return (await this.repo.transitionRequest(tx, id, ['PENDING'], 'EXECUTING')) ? standing : undefined;
    });
    if (!counted) return;
    let status: 'EXECUTED' | 'FAILED' = 'EXECUTED';
    let outcome: string;
    let sealedResult: string | undefined;
    try {
      ({ summary: outcome, sealedResult } = await this.execute(r));
    } catch (e) {
      status = 'FAILED';
      outcome = isKmsError(e) ? `${e.code}: ${e.message}` : 'Internal: the action failed unexpectedly';
      if (!isKmsError(e)) this.deps.log.error('approved action failed', { approvalRequestId: id, error: e instanceof Error ? e.name : typeof e });
    }
    await this.deps.store.db.write(async (tx) => {
      await this.repo.transitionRequest(tx, id, ['EXECUTING'], status, { outcome: outcome.slice(0, 1000), executedAt: this.now(), ...(sealedResult !== undefined ? { sealedResult } : {}) });
      await this.deps.audit.appendIn(tx, this.event('kura:quorum', 'ApprovalExecuted', status === 'EXECUTED' ? 'ok' : 'error', { approvalRequestId: id, action: r.action, approvals: counted.map((a) => a.operator).join(',') }));
    });
  }

  private async execute(r: ApprovalRequestRecord): Promise<{ summary: string; sealedResult?: string }> {
    if (KURA_ACTIONS.includes(r.action)) {
      const params = JSON.parse(r.parameters) as KuraParameters;
      await this.applyKura(params, 'kura:quorum', r.id);
      return { summary: 'applied' };
    }
    if (!this.executor) throw new KmsError('Internal', 'This appliance cannot run approved calls (no executor).');
    if (r.action.startsWith('kura:')) {
      const params = JSON.parse(r.parameters) as { command: string; input: Record<string, unknown> };
      const requester = (JSON.parse(r.caller) as { operator: string }).operator;
      return this.executor.execute(r, { kind: 'command', command: params.command, operator: requester, input: params.input, sealedSecrets: r.sealedSecrets });
    }
    const c = JSON.parse(r.caller) as { accountId: string; region: string; principal: string; accessKeyId?: string; input: Record<string, unknown> };
    const params = JSON.parse(r.parameters) as { operation: string };
    if (r.sealedSecrets !== null && !this.deps.secrets) throw new KmsError('Internal', `Approval request ${r.id} has sealed values this appliance cannot open.`);
    const secrets = r.sealedSecrets !== null ? (JSON.parse(this.deps.secrets!.open(r.sealedSecrets, r.digest)) as SensitiveValue[]) : undefined;
    const caller: CallContext = {
      accountId: c.accountId,
      region: c.region,
      principal: c.principal,
      ...(c.accessKeyId !== undefined ? { accessKeyId: c.accessKeyId } : {}),
      operation: params.operation,
      input: c.input,
      ...(secrets ? { secrets } : {}),
      approvedRequest: r.id,
    };
    return this.executor.execute(r, { kind: 'kms', caller });
  }

  /**
   * An executed command's sealed answer, given once to its requester or the admin token's holder (a new
   * secret access key is in it): audited; NotFound when there is none, or it was taken.
   */
  async takeResult(by: OperatorActor, id: string): Promise<{ request: ApprovalRequestRecord; sealed: string }> {
    const request = (await this.showRequest(id)).request;
    try {
      if (!askedBy(by, request.requester) && by.operator !== ADMIN) {
        throw new KmsError('AccessDenied', `Only ${request.requester}, who asked for ${id}, or the appliance's administrator can take its result.`);
      }
      const sealed = await this.deps.store.db.write(async (tx) => {
        const taken = await this.repo.takeResult(tx, id);
        if (taken !== undefined) await this.deps.audit.appendIn(tx, this.event(by.operator, 'ApprovalResultTaken', 'ok', { approvalRequestId: id }));
        return taken;
      });
      if (sealed === undefined) throw kmsErrors.notFound(`Approval request ${id} has no result to take (${noResultWhy(request)}).`);
      return { request, sealed };
    } catch (e) {
      await this.refused(by.operator, 'ApprovalResultTaken', id, e);
      throw e;
    }
  }

  private async refused(by: string, operation: string, id: string, e: unknown): Promise<void> {
    const errorCode = isKmsError(e) ? e.code : 'Internal';
    await this.deps.audit.append({ ...this.event(by, operation, 'error', { approvalRequestId: id }), errorCode }).catch(() => undefined);
  }

  private event(principal: string, operation: string, outcome: 'ok' | 'error', details: Record<string, string | number | boolean>) {
    return { principal, source: 'admin' as const, operation, outcome, details };
  }
}
