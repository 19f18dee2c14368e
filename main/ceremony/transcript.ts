// Ceremony transcripts (issue 13, "Ceremony transcripts"): what an auditor keeps of one quorum action
// once it has ended (EXECUTED, FAILED or CANCELLED), and the check of such a document against the
// audit log. A transcript is JSON, format `kura-transcript/v1`:
//
//   request    the request as recorded: action, class, canonical parameters and their SHA-256 digest,
//              requester, created/expiry/executed times (ISO 8601), status and outcome;
//   statement  the exact text its approvers signed (ceremony/statement.ts);
//   policy     the quorum the request was made under (threshold and operators; for a request made
//              before Kura kept it, the class's policy when the transcript was made);
//   steps      requested, each approval (operator, key fingerprint, signature in base64, the operator's
//              public key while still enrolled), each refused attempt, the entries the action wrote as
//              it ran, and how it ended (executed, failed, cancelled), in the order the audit log recorded them;
//   material   the identifiers and fingerprints of what the action touched (KeyId, KeyMaterialId,
//              CustomKeyStoreId from its outcome and input; an enrolled operator's key fingerprint),
//              never key material;
//   audit      every audit entry that names the request (details.approvalRequestId) as stored — its
//              sequence number, hash and canonical JSON text — with the chain's head just before the
//              first of them (headBefore) and at the last (headAfter), as SEQ:HASH.
//
// verifyTranscript() holds a transcript against the log: the chain verifies up to headAfter, both heads
// are in the log with those hashes, each cited entry is there at its sequence number with that hash and
// that text and names the request, no entry up to headAfter that names it is left out, the request's
// digest is SHA-256 of its parameters, the cited entries say what the transcript says (the digest, each
// approval, how it ended), each approval's signature verifies over the statement under the public key
// the step gives — or, with none (its operator was removed since), is the signature the appliance
// recorded when it verified it; one that can be checked neither way is a problem — and, where the
// appliance's records are at hand, the request's record still matches. A transcript whose
// head, a cited hash or a cited entry's text was altered does not verify. A later entry (a replayed
// approval refused after the transcript was made) does not make it fail: the log only grows.
//
// Why one file of this length: a transcript's three faces — building it from the log, rendering it
// for print, and verifying it against the log — must agree field by field, and they change together
// whenever the format does; split apart, a field added to one would be missed by the others.
import { createHash } from 'node:crypto';
import { formatHead, parseHead, type AuditLog, type StoredEntry } from '../audit/audit-log.js';
import type { Clock } from '../common/clock.js';
import { KmsError, kmsErrors } from '../common/errors.js';
import type { ApprovalRecord, ApprovalRequestRecord, Store } from '../store/index.js';
import { canonicalJson } from './canonical.js';
import { operatorKeyFromSpki, parseOperatorPublicKey, verifyApprovalSignature } from './operator-keys.js';
import { approvalStatement } from './statement.js';

export const TRANSCRIPT_FORMAT = 'kura-transcript/v1';

/** The statuses a request has a transcript in: it has ended, and nothing but refusals will name it again. */
const ENDED: ReadonlySet<string> = new Set(['EXECUTED', 'FAILED', 'CANCELLED']);

export type TranscriptStep =
  | { step: 'requested'; at: string; by: string; parametersDigest: string }
  | { step: 'approved'; at: string; operator: string; fingerprint: string; signature: string; publicKey: string | null }
  | { step: 'refused'; at: string; by: string; operation: string; errorCode: string }
  /** An entry the action itself wrote (the KMS call it ran, OperatorAdd, QuorumSet, …). */
  | { step: 'action'; at: string; by: string; operation: string; result: string; keyId?: string }
  | { step: 'executed' | 'failed'; at: string; outcome: string }
  | { step: 'cancelled'; at: string; by: string };

export interface TranscriptRequest {
  id: string;
  action: string;
  actionClass: string;
  /** Canonical JSON (docs/canonical-json.md). */
  parameters: string;
  /** SHA-256 of `parameters`, hex. */
  parametersDigest: string;
  requester: string;
  createdAt: string;
  expiresAt: string;
  status: string;
  outcome: string | null;
  executedAt: string | null;
}

/** An identifier or fingerprint of what the action touched; never material. */
export interface TranscriptMaterial {
  name: string;
  value: string;
  from: 'outcome' | 'parameters';
}

export interface Transcript {
  format: typeof TRANSCRIPT_FORMAT;
  applianceId: string;
  generatedAt: string;
  request: TranscriptRequest;
  /** The approval statement's text, as signed (it ends with a newline). */
  statement: string;
  policy: { actionClass: string; threshold: number; operators: string[] };
  steps: TranscriptStep[];
  material: TranscriptMaterial[];
  audit: { headBefore: string; headAfter: string; entries: StoredEntry[] };
}

export interface TranscriptDeps {
  store: Pick<Store, 'ceremony'>;
  audit: AuditLog;
  clock: Clock;
  applianceId: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** An audit entry's text, decoded; what a transcript reads of it. */
interface EntryFields {
  operation?: string;
  keyId?: string;
  outcome?: string;
  principal?: string;
  errorCode?: string;
  at?: number;
  details?: Record<string, unknown>;
}

function entryFields(text: string): EntryFields | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as EntryFields) : undefined;
  } catch {
    return undefined;
  }
}

/** The fields of a request as a transcript shows them: times in ISO 8601. */
export function transcriptRequestOf(r: ApprovalRequestRecord): TranscriptRequest {
  return {
    id: r.id,
    action: r.action,
    actionClass: r.actionClass,
    parameters: r.parameters,
    parametersDigest: r.digest,
    requester: r.requester,
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
    status: r.status,
    outcome: r.outcome,
    executedAt: isoOrNull(r.executedAt),
  };
}

/** The statement a request's approvers signed; throws (Validation) on fields no request has. */
function statementOf(r: TranscriptRequest, applianceId: string): Buffer {
  return approvalStatement({ requestId: r.id, digest: r.parametersDigest, action: r.action, expiresAt: Date.parse(r.expiresAt), applianceId });
}

// ---- building --------------------------------------------------------------------------------------

/** The identifiers an action's input or output may name; only these are copied, so no material can be. */
const IDENTIFIERS = ['KeyId', 'KeyMaterialId', 'CurrentKeyMaterialId', 'CustomKeyStoreId', 'XksKeyId'] as const;

function identifiersIn(value: unknown, from: TranscriptMaterial['from']): TranscriptMaterial[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const o = value as Record<string, unknown>;
  const found = IDENTIFIERS.filter((name) => typeof o[name] === 'string').map((name) => ({ name, value: o[name] as string, from }));
  // CreateKey-shaped outputs name the key inside KeyMetadata.
  return o.KeyMetadata !== undefined ? [...found, ...identifiersIn(o.KeyMetadata, from)] : found;
}

function materialOf(r: Pick<ApprovalRequestRecord, 'action' | 'parameters' | 'outcome'>): TranscriptMaterial[] {
  const out: TranscriptMaterial[] = [];
  if (r.outcome !== null) {
    try {
      out.push(...identifiersIn(JSON.parse(r.outcome), 'outcome'));
    } catch {
      // An outcome that is not JSON (an error, "applied", or a result cut at its length limit) names nothing.
    }
  }
  const params = entryFields(r.parameters) as Record<string, unknown> | undefined;
  out.push(...identifiersIn(params?.input, 'parameters'));
  if (r.action === 'kura:OperatorAdd' && typeof params?.publicKey === 'string') {
    try {
      out.push({ name: 'OperatorKeyFingerprint', value: parseOperatorPublicKey(params.publicKey).fingerprint, from: 'parameters' });
    } catch {
      // checked when it was asked; nothing to show otherwise
    }
  }
  const seen = new Set<string>();
  return out.filter((m) => {
    const k = `${m.name}\u0000${m.value}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/**
 * The quorum of a transcript: the threshold and operators the request was made under, as the request
 * keeps them; for a request made before Kura kept them, the class's policy when the transcript is made.
 */
function policyOf(r: ApprovalRequestRecord, current: { threshold: number; operators: readonly string[] } | undefined): Transcript['policy'] {
  if (r.threshold !== null && r.approvers !== null) return { actionClass: r.actionClass, threshold: r.threshold, operators: [...r.approvers] };
  return { actionClass: r.actionClass, threshold: current?.threshold ?? 1, operators: [...(current?.operators ?? [])] };
}

/** A step with the sequence number of the audit entry that records it, which orders the steps. */
interface Sequenced {
  seq: number;
  step: TranscriptStep;
}

/**
 * What the store does not keep comes from the log: refused attempts, a cancellation, and the entries
 * the action itself wrote when it ran.
 */
function stepFromLog(e: StoredEntry): TranscriptStep | undefined {
  const f = entryFields(e.entry);
  if (!f || typeof f.at !== 'number' || typeof f.operation !== 'string') return undefined;
  const at = iso(f.at);
  const by = f.principal ?? '?';
  if (!f.operation.startsWith('Approval')) {
    const result = f.outcome === 'ok' ? 'ok' : `error${f.errorCode ? `: ${f.errorCode}` : ''}`;
    return { step: 'action', at, by, operation: f.operation, result, ...(typeof f.keyId === 'string' ? { keyId: f.keyId } : {}) };
  }
  if (f.outcome === 'error' && f.operation !== 'ApprovalExecuted') return { step: 'refused', at, by, operation: f.operation, errorCode: f.errorCode ?? '?' };
  if (f.operation === 'ApprovalCancelled' && f.outcome === 'ok') return { step: 'cancelled', at, by };
  return undefined;
}

/**
 * Every step, in the order the log recorded them (its sequence numbers), which is the order they
 * happened in; time orders only steps the log has no entry for. Not time first: a wall clock stepped
 * back during a ceremony gave later steps earlier times, and the printed record read "approved" before
 * "requested", "executed" before the approval that ran it.
 */
function stepsOf(r: ApprovalRequestRecord, approvals: ApprovalRecord[], entries: StoredEntry[], pemOf: (fingerprint: string) => string | null): TranscriptStep[] {
  const fields = entries.map((e) => ({ seq: e.seq, f: entryFields(e.entry) }));
  const seqOf = (match: (f: EntryFields) => boolean, otherwise: number) => fields.find((x) => x.f && match(x.f))?.seq ?? otherwise;
  const ok = (operation: string) => (f: EntryFields) => f.operation === operation && f.outcome === 'ok';
  const requestedSeq = seqOf(ok('ApprovalRequested'), 0);
  const steps: Sequenced[] = [
    { seq: requestedSeq, step: { step: 'requested', at: iso(r.createdAt), by: r.requester, parametersDigest: r.digest } },
    // An approval the log names no operator for (an entry from before it did) follows the request, by time.
    ...approvals.map((a): Sequenced => ({
      seq: seqOf((f) => ok('ApprovalSubmitted')(f) && f.details?.operatorName === a.operator, requestedSeq),
      step: { step: 'approved', at: iso(a.createdAt), operator: a.operator, fingerprint: a.fingerprint, signature: a.signature.toString('base64'), publicKey: pemOf(a.fingerprint) },
    })),
  ];
  for (const e of entries) {
    const step = stepFromLog(e);
    if (step) steps.push({ seq: e.seq, step });
  }
  if (r.status !== 'CANCELLED') {
    steps.push({ seq: seqOf((f) => f.operation === 'ApprovalExecuted', Number.MAX_SAFE_INTEGER), step: { step: r.status === 'EXECUTED' ? 'executed' : 'failed', at: iso(r.executedAt ?? r.createdAt), outcome: r.outcome ?? '' } });
  }
  steps.sort((x, y) => x.seq - y.seq || Date.parse(x.step.at) - Date.parse(y.step.at));
  return steps.map((x) => x.step);
}

/**
 * The transcript of an ended approval request: NotFound for no such request, InvalidState while it is
 * still PENDING or EXECUTING (its story is not over).
 */
export async function buildTranscript(deps: TranscriptDeps, id: string): Promise<Transcript> {
  const repo = deps.store.ceremony;
  const r = await repo.findRequest(id);
  if (!r) throw kmsErrors.notFound(`No approval request ${id} (kura approvals list).`);
  if (!ENDED.has(r.status)) throw kmsErrors.invalidState(`Approval request ${id} is ${r.status}: it has a transcript once it has executed, failed or been cancelled.`);
  const [approvals, policy, operators, entries] = await Promise.all([
    repo.listApprovals(id),
    repo.findPolicy(r.actionClass),
    repo.listOperators(),
    deps.audit.stored({ approvalRequestId: id }),
  ]);
  const first = entries[0];
  const last = entries[entries.length - 1];
  const before = first && (await deps.audit.headAt(first.seq - 1));
  if (!first || !last || !before) throw kmsErrors.invalidState(`The audit log does not hold the entries of approval request ${id}; check it with kura audit verify.`);
  const request = transcriptRequestOf(r);
  const pemOf = (fingerprint: string): string | null => {
    const o = operators.find((x) => x.fingerprint === fingerprint);
    return o ? operatorKeyFromSpki(o.publicKey).keyObject.export({ format: 'pem', type: 'spki' }).toString() : null;
  };
  return {
    format: TRANSCRIPT_FORMAT,
    applianceId: deps.applianceId,
    generatedAt: iso(deps.clock.nowMs()),
    request,
    statement: statementOf(request, deps.applianceId).toString('utf8'),
    policy: policyOf(r, policy),
    steps: stepsOf(r, approvals, entries, pemOf),
    material: materialOf(r),
    audit: { headBefore: formatHead(before), headAfter: formatHead(last), entries },
  };
}

// ---- verifying -------------------------------------------------------------------------------------

export interface TranscriptVerification {
  ok: boolean;
  problems: string[];
}

/** What verifyTranscript may also hold the transcript against: the appliance's own records. */
export interface TranscriptRecords {
  findRequest?: (id: string) => Promise<ApprovalRequestRecord | undefined>;
  /** The request's approvals as recorded (each signature verified when it was submitted). */
  listApprovals?: (id: string) => Promise<ApprovalRecord[]>;
  applianceId?: string;
}

const HASH = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const REQUEST_STRINGS = ['id', 'action', 'actionClass', 'parameters', 'parametersDigest', 'requester', 'createdAt', 'expiresAt', 'status'] as const;

/** The shape of a transcript (what verification reads of it); the problems when it is not one. */
function shapeProblems(t: unknown): string[] {
  if (!isObject(t)) return ['the transcript is not a JSON object'];
  if (t.format !== TRANSCRIPT_FORMAT) return [`the transcript's format is not ${TRANSCRIPT_FORMAT}`];
  const problems: string[] = [];
  const r = t.request;
  if (!isObject(r)) problems.push('the transcript has no request');
  else {
    for (const k of REQUEST_STRINGS) if (typeof r[k] !== 'string') problems.push(`request.${k} is not a string`);
    for (const k of ['outcome', 'executedAt'] as const) if (r[k] !== null && typeof r[k] !== 'string') problems.push(`request.${k} is neither a string nor null`);
  }
  if (typeof t.applianceId !== 'string') problems.push('applianceId is not a string');
  if (!Array.isArray(t.steps) || !t.steps.every(isObject)) problems.push('steps is not a list of objects');
  const a = t.audit;
  if (!isObject(a)) return [...problems, 'the transcript has no audit section'];
  for (const k of ['headBefore', 'headAfter'] as const) if (typeof a[k] !== 'string' || !parseHead(a[k])) problems.push(`audit.${k} is not SEQ:HASH`);
  const entries = a.entries;
  if (!Array.isArray(entries) || entries.length === 0) problems.push('audit.entries is not a non-empty list');
  else {
    entries.forEach((e: unknown, i) => {
      if (!isObject(e) || !Number.isSafeInteger(e.seq) || (e.seq as number) < 1 || typeof e.hash !== 'string' || !HASH.test(e.hash) || typeof e.entry !== 'string') {
        problems.push(`audit.entries[${i}] is not {seq, hash (64 lower-case hex digits), entry}`);
      } else if (i > 0 && (e.seq as number) <= ((entries[i - 1] as { seq: number }).seq ?? 0)) {
        problems.push(`audit.entries[${i}] is not in sequence order`);
      }
    });
  }
  return problems;
}

/** The cited entries say what the transcript says: its digest, each approval, how it ended. */
function contentProblems(t: Transcript, cited: { seq: number; fields: EntryFields }[]): string[] {
  const problems: string[] = [];
  const r = t.request;
  const ok = (op: string) => cited.filter((c) => c.fields.operation === op && c.fields.outcome === 'ok');
  const requested = ok('ApprovalRequested')[0];
  if (!requested) problems.push('no cited entry records the request (ApprovalRequested)');
  else if (requested.fields.details?.parametersDigest !== r.parametersDigest || requested.fields.details?.action !== r.action) {
    problems.push(`entry ${requested.seq} records another action or parameters digest than the transcript's request`);
  }
  const approved = t.steps.filter((s): s is Extract<TranscriptStep, { step: 'approved' }> => s.step === 'approved');
  const submitted = ok('ApprovalSubmitted');
  for (const s of approved) {
    if (!submitted.some((c) => c.fields.details?.operatorName === s.operator && c.fields.details?.fingerprint === s.fingerprint)) {
      problems.push(`no cited entry records ${s.operator}'s approval with key ${s.fingerprint}`);
    }
  }
  if (submitted.length !== approved.length) problems.push(`the log records ${submitted.length} approval(s), the transcript ${approved.length}`);
  const executed = cited.find((c) => c.fields.operation === 'ApprovalExecuted');
  const ended =
    r.status === 'CANCELLED' ? ok('ApprovalCancelled').length > 0 : r.status === 'EXECUTED' || r.status === 'FAILED' ? executed?.fields.outcome === (r.status === 'EXECUTED' ? 'ok' : 'error') : false;
  if (!ended) problems.push(`no cited entry records the request ending as ${r.status}`);
  return problems;
}

/**
 * Each approval: given with its operator's public key, the key has that fingerprint and the signature
 * verifies over the statement; given without (the operator was removed since), the signature and
 * fingerprint are those of the appliance's record of the approval (`recorded`, when at hand).
 */
function signatureProblems(t: Transcript, recorded: ApprovalRecord[] | undefined): string[] {
  let statement: Buffer;
  try {
    statement = statementOf(t.request, t.applianceId);
  } catch (e) {
    return [`the request's fields make no approval statement (${e instanceof KmsError ? e.message : 'malformed'})`];
  }
  const problems: string[] = [];
  if (typeof t.statement === 'string' && t.statement !== statement.toString('utf8')) problems.push('the statement is not the one the request\'s fields make');
  for (const s of t.steps) {
    if (s.step !== 'approved') continue;
    if (typeof s.publicKey !== 'string') {
      const record = recorded?.find((a) => a.operator === s.operator);
      if (!record || record.fingerprint !== s.fingerprint || record.signature.toString('base64') !== s.signature) {
        problems.push(`${s.operator}'s signature cannot be checked: the transcript gives no public key, and ${recorded ? "it is not the signature this appliance recorded" : 'no record of the approval is at hand'}`);
      }
      continue;
    }
    try {
      const key = parseOperatorPublicKey(s.publicKey);
      if (key.fingerprint !== s.fingerprint) problems.push(`${s.operator}'s public key does not have the fingerprint ${s.fingerprint}`);
      else if (!verifyApprovalSignature(key, statement, Buffer.from(String(s.signature), 'base64'))) problems.push(`${s.operator}'s signature does not verify over the statement`);
    } catch {
      problems.push(`${s.operator}'s public key is not an operator key`);
    }
  }
  return problems;
}

/** The request's record in the appliance's store still says what the transcript says. */
async function recordProblems(t: Transcript, records: TranscriptRecords): Promise<string[]> {
  const problems: string[] = [];
  if (records.applianceId !== undefined && t.applianceId !== records.applianceId) problems.push(`the transcript is appliance ${t.applianceId}'s, not this one's (${records.applianceId})`);
  if (!records.findRequest) return problems;
  const stored = await records.findRequest(t.request.id);
  if (!stored) return [...problems, `this appliance has no approval request ${t.request.id}`];
  const now = transcriptRequestOf(stored);
  const differ = (Object.keys(now) as (keyof TranscriptRequest)[]).filter((k) => now[k] !== t.request[k]);
  if (differ.length) problems.push(`the request's ${differ.join(', ')} differ(s) from the appliance's record`);
  // The quorum the request was made under is on record (for requests made since Kura keeps it).
  if (stored.threshold !== null && stored.approvers !== null && canonicalJson(policyOf(stored, undefined)) !== canonicalJson(t.policy)) {
    problems.push(`the policy section differs from the quorum request ${t.request.id} was made under (${stored.threshold} of ${stored.approvers.join(', ')})`);
  }
  return problems;
}

/**
 * Checks a transcript (as parsed from its JSON; anything else is reported, not thrown) against the
 * audit log, and against the appliance's records when given. ok when there is no problem.
 */
export async function verifyTranscript(t: unknown, log: AuditLog, records: TranscriptRecords = {}): Promise<TranscriptVerification> {
  const shape = shapeProblems(t);
  if (shape.length) return { ok: false, problems: shape };
  const tr = t as Transcript;
  const problems: string[] = [];
  const id = tr.request.id;
  if (sha256Hex(tr.request.parameters) !== tr.request.parametersDigest) problems.push('the parameters digest is not the SHA-256 of the parameters');

  const entries = tr.audit.entries;
  const before = parseHead(tr.audit.headBefore)!;
  const after = parseHead(tr.audit.headAfter)!;
  const last = entries[entries.length - 1]!;
  if (before.seq !== entries[0]!.seq - 1) problems.push(`headBefore ${formatHead(before)} is not the entry just before the first cited one (${entries[0]!.seq})`);
  if (after.seq !== last.seq || after.hash !== last.hash) problems.push(`headAfter ${formatHead(after)} is not the last cited entry (${formatHead(last)})`);

  const chain = await log.verify(undefined, { upTo: after.seq });
  if (!chain.ok) problems.push(`the audit chain does not verify: entry ${chain.firstBad!.seq}: ${chain.firstBad!.reason}`);
  for (const [name, head] of [['headBefore', before], ['headAfter', after]] as const) {
    const inLog = await log.headAt(head.seq);
    if (!inLog) problems.push(`${name}: the log has no entry ${head.seq}`);
    else if (inLog.hash !== head.hash) problems.push(`${name}: entry ${head.seq}'s hash in the log is ${inLog.hash}, not ${head.hash}`);
  }

  const naming = new Map((await log.stored({ approvalRequestId: id })).map((e) => [e.seq, e]));
  const cited: { seq: number; fields: EntryFields }[] = [];
  for (const e of entries) {
    const inLog = naming.get(e.seq) ?? (await log.entryAt(e.seq));
    if (!inLog) problems.push(`entry ${e.seq} is not in the log`);
    else if (inLog.hash !== e.hash) problems.push(`entry ${e.seq}: its hash in the log is ${inLog.hash}, not ${e.hash}`);
    else if (inLog.entry !== e.entry) problems.push(`entry ${e.seq}: its text differs from the log's`);
    const fields = entryFields(e.entry);
    if (fields?.details?.approvalRequestId !== id) problems.push(`entry ${e.seq} does not name approval request ${id}`);
    else cited.push({ seq: e.seq, fields });
  }
  const citedSeqs = new Set(entries.map((e) => e.seq));
  for (const seq of naming.keys()) {
    if (seq <= after.seq && !citedSeqs.has(seq)) problems.push(`entry ${seq} names approval request ${id} but the transcript leaves it out`);
  }

  // What the action touched follows from the request itself (its parameters, checked against their
  // digest above, and its outcome), so the section is checked with or without the appliance's records.
  if (canonicalJson(materialOf(tr.request)) !== canonicalJson(tr.material)) problems.push('the material section is not what the request names');
  const recorded = records.listApprovals ? await records.listApprovals(id) : undefined;
  problems.push(...contentProblems(tr, cited), ...signatureProblems(tr, recorded), ...(await recordProblems(tr, records)));
  return { ok: problems.length === 0, problems };
}

// ---- the readable rendering ------------------------------------------------------------------------

/** Text in a Markdown table cell: pipes escaped, line breaks as spaces. */
const cell = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** Text as inline code, whatever backticks it holds (CommonMark: a longer fence, padded with spaces). */
function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}${pad}${fence}`;
}

/** A fenced block whose fence no line of `text` can close. */
function block(text: string, info = ''): string[] {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}${info}`, text.replace(/\n$/, ''), fence];
}

const table = (head: string[], rows: string[][]): string[] => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];

function stepRow(s: TranscriptStep): string[] {
  switch (s.step) {
    case 'requested':
      return [s.at, 'requested', cell(s.by), `parameters digest ${code(s.parametersDigest)}`];
    case 'approved':
      return [s.at, 'approved', cell(s.operator), `key ${code(s.fingerprint)}`];
    case 'refused':
      return [s.at, 'refused', cell(s.by), `${cell(s.operation)}: ${cell(s.errorCode)}`];
    case 'action':
      return [s.at, cell(s.operation), cell(s.by), `${cell(s.result)}${s.keyId ? `; key ${code(s.keyId)}` : ''}`];
    case 'cancelled':
      return [s.at, 'cancelled', cell(s.by), ''];
    default:
      return [s.at, s.step, 'kura:quorum', code(s.outcome)];
  }
}

/** A printable Markdown rendering of a transcript, with the same facts as its JSON. */
export function renderTranscriptMarkdown(t: Transcript): string {
  const r = t.request;
  const approvals = t.steps.filter((s): s is Extract<TranscriptStep, { step: 'approved' }> => s.step === 'approved');
  const ended = r.status === 'CANCELLED' ? 'CANCELLED' : `${r.status} at ${r.executedAt ?? '?'}`;
  const lines = [
    `# Ceremony transcript: ${r.id}`,
    '',
    `Kura appliance ${code(t.applianceId)}; format ${t.format}; made at ${t.generatedAt}.`,
    '',
    '## Request',
    '',
    ...table(['Field', 'Value'], [
      ['Request', code(r.id)],
      ['Action', `${cell(r.action)} (class ${cell(r.actionClass)})`],
      ['Requested by', `${cell(r.requester)} at ${r.createdAt}`],
      ['Expires', r.expiresAt],
      ['Status', ended],
      ['Outcome', r.outcome === null ? '' : code(r.outcome)],
      ['Parameters digest', `${code(r.parametersDigest)} (SHA-256 of the parameters)`],
    ]),
    '',
    'Parameters (canonical JSON):',
    '',
    ...block(r.parameters, 'json'),
    '',
    'Statement signed by the approvers:',
    '',
    ...block(t.statement, 'json'),
    '',
    '## Policy',
    '',
    `${t.policy.threshold} of ${t.policy.operators.map(cell).join(', ') || '(no policy)'} approve ${cell(t.policy.actionClass)} actions (the quorum this request was made under).`,
    '',
    '## Approvals',
    '',
    ...(approvals.length
      ? table(['#', 'Operator', 'Key fingerprint', 'Time', 'Signature (base64)'], approvals.map((a, i) => [String(i + 1), cell(a.operator), code(a.fingerprint), a.at, code(a.signature)]))
      : ['None.']),
    '',
    '## Steps',
    '',
    ...table(['Time', 'Step', 'By', 'Detail'], t.steps.map(stepRow)),
    '',
    '## Material involved',
    '',
    ...(t.material.length ? table(['Name', 'Value', 'From'], t.material.map((m) => [cell(m.name), code(m.value), m.from])) : ['None named.']),
    '',
    '## Audit entries',
    '',
    `Chain head before: ${code(t.audit.headBefore)}`,
    '',
    `Chain head after: ${code(t.audit.headAfter)}`,
    '',
    ...table(['Seq', 'Hash', 'Entry'], t.audit.entries.map((e) => [String(e.seq), code(e.hash), code(e.entry)])),
    '',
    `Check this transcript against the appliance's audit log with \`kura audit verify --transcript FILE.json\` (its JSON form).`,
    '',
  ];
  return lines.join('\n');
}
