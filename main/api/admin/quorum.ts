// /admin/v1/operators, /quorum and /approvals: custodians, quorum policies and approval requests (issue
// 13; `kura operators|quorum|approvals`, and later the console). The service is ceremony/quorum.ts,
// which checks, audits and gates everything; this file only checks the wire shapes and names who asks.
//
// Who asks is the admin token's holder, `kura:admin`, unless a body names "operator": an enrolled
// operator (checked here) who is then recorded as the requester. On POST /approvals/ID/approvals
// "operator" is also the signer to check the signature against (`kura approvals submit --operator`);
// without it the signer is whichever enrolled operator's key the signature verifies under.
//
// A change that is itself gated (operator and policy changes once the `operators` class has a policy,
// on an appliance that is not a dev one) answers 202 {applied:false, approvalRequest:{…the request's
// view…}}; one that took effect answers 200 {applied:true, …}. Times are ISO 8601; an approval request's
// statement (the exact bytes its approvers sign, ceremony/statement.ts) is base64.
//
// An ended request's ceremony transcript (ceremony/transcript.ts) is GET /approvals/ID/transcript (409
// InvalidState while it is pending or running); POST /audit/verify-transcript with a transcript as the
// body answers {ok, problems} from checking it against the audit log and the request's record.
import { KmsError } from '../../common/errors.js';
import { operatorKeyFromSpki } from '../../ceremony/operator-keys.js';
import { ACTION_CLASSES, type OperatorActor, type Outcome, type Quorum, type RequestView } from '../../ceremony/quorum.js';
import type { JsonResponse } from '../http.js';
import { onlyFields } from './xks.js';

// The service's records, by way of its own signatures (main/api does not import main/store).
type OperatorRecord = Awaited<ReturnType<Quorum['showOperator']>>;
type QuorumPolicyRecord = Awaited<ReturnType<Quorum['listPolicies']>>[number];

const ADMIN: OperatorActor = { operator: 'kura:admin' };
const iso = (ms: number): string => new Date(ms).toISOString();

export const operatorJson = (o: OperatorRecord) => ({ name: o.name, algorithm: o.algorithm, fingerprint: o.fingerprint, createdAt: iso(o.createdAt) });

/** One operator with their public key as the PEM SubjectPublicKeyInfo `openssl pkey -pubout` writes. */
export const operatorDetailJson = (o: OperatorRecord) => ({
  ...operatorJson(o),
  publicKey: operatorKeyFromSpki(o.publicKey).keyObject.export({ format: 'pem', type: 'spki' }).toString(),
});

export const policyJson = (p: QuorumPolicyRecord) => ({
  actionClass: p.actionClass,
  threshold: p.threshold,
  operators: [...p.operators],
  expiryMinutes: p.expiryMs / 60_000,
  updatedAt: iso(p.updatedAt),
});

/** A request in a list: what `kura approvals list --json` prints (issue 13 keeps these names). */
export const requestSummaryJson = (v: RequestView) => ({
  id: v.request.id,
  action: v.request.action,
  status: v.request.status,
  approvals: v.approvals.length,
  threshold: v.threshold,
  expiresAt: iso(v.request.expiresAt),
});

export const requestViewJson = (v: RequestView) => {
  const r = v.request;
  return {
    id: r.id,
    action: r.action,
    actionClass: r.actionClass,
    status: r.status,
    parameters: r.parameters,
    parametersDigest: r.digest,
    requester: r.requester,
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
    executedAt: r.executedAt === null ? null : iso(r.executedAt),
    outcome: r.outcome,
    threshold: v.threshold,
    operators: [...v.operators],
    approvals: v.approvals.map((a) => ({ operator: a.operator, fingerprint: a.fingerprint, createdAt: iso(a.createdAt) })),
    statement: v.statement.toString('base64'),
  };
};

// Path segments: operator names, action classes and request IDs are all within this set; anything
// outside it cannot be one and is not a route.
const SEG = '([A-Za-z0-9._~-]{1,128})';
const OPERATOR = new RegExp(`^(GET|DELETE) /operators/${SEG}$`);
const POLICY = new RegExp(`^PUT /quorum/${SEG}$`);
const REQUEST = new RegExp(`^GET /approvals/${SEG}$`);
const REQUEST_ACTION = new RegExp(`^POST /approvals/${SEG}/(approvals|cancel)$`);
const TRANSCRIPT = new RegExp(`^GET /approvals/${SEG}/transcript$`);
const VERIFY_TRANSCRIPT = 'POST /audit/verify-transcript';
const FAMILY = /^[A-Z]+ \/(operators|quorum|approvals)(\/|$)/;

/** Standard base64 with its padding; a signature is 64 to 72 bytes, so 512 characters is plenty. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_SIGNATURE_BASE64 = 512;

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Who asks: the admin token's holder, or the enrolled operator the body names. */
async function actor(quorum: Quorum, b: Record<string, unknown>): Promise<OperatorActor> {
  if (b.operator === undefined) return ADMIN;
  if (typeof b.operator !== 'string') throw new KmsError('Validation', '"operator" is the name of an enrolled operator (a string).');
  return { operator: (await quorum.showOperator(b.operator)).name };
}

/** 200 with the change's result under `key`, or 202 with the approval request it became. */
async function outcome<T>(quorum: Quorum, o: Outcome<T>, key: string, shown: (v: T) => unknown, json: (status: number, body: unknown) => JsonResponse): Promise<JsonResponse> {
  if (o.applied) return json(200, { applied: true, [key]: shown(o.value) });
  return json(202, { applied: false, approvalRequest: requestViewJson(await quorum.showRequest(o.request.id)) });
}

/** Answers an /operators, /quorum or /approvals route, or undefined when the route is not one of them. */
export async function handleQuorumRoute(
  quorum: Quorum,
  route: string,
  body: () => Record<string, unknown>,
  json: (status: number, body: unknown) => JsonResponse,
): Promise<JsonResponse | undefined> {
  // The transcript's own check: its body is the transcript as GET …/transcript gave it.
  if (route === VERIFY_TRANSCRIPT) return json(200, await quorum.verifyTranscript(body()));
  if (!FAMILY.test(route)) return undefined;
  if (route === 'GET /operators') return json(200, { operators: (await quorum.listOperators()).map(operatorJson) });
  if (route === 'POST /operators') {
    const b = body();
    onlyFields(b, ['name', 'publicKey', 'operator'], 'A new operator');
    if (typeof b.name !== 'string' || typeof b.publicKey !== 'string') {
      throw new KmsError('Validation', 'A new operator needs "name" and "publicKey" (an Ed25519 or ECDSA P-256 public key in PEM), both strings.');
    }
    const o = await quorum.addOperator(await actor(quorum, b), b.name, b.publicKey);
    return outcome(quorum, o, 'operator', operatorDetailJson, json);
  }
  const operator = OPERATOR.exec(route);
  if (operator) {
    const name = operator[2]!;
    if (operator[1] === 'GET') return json(200, operatorDetailJson(await quorum.showOperator(name)));
    const b = body();
    onlyFields(b, ['operator'], 'Removing an operator');
    return outcome(quorum, await quorum.removeOperator(await actor(quorum, b), name), 'removed', (n) => n, json);
  }
  if (route === 'GET /quorum') return json(200, { policies: (await quorum.listPolicies()).map(policyJson), classes: [...ACTION_CLASSES] });
  const policy = POLICY.exec(route);
  if (policy) {
    const b = body();
    onlyFields(b, ['threshold', 'operators', 'expiryMinutes', 'operator'], 'A quorum policy');
    const { threshold, operators, expiryMinutes } = b;
    if (typeof threshold !== 'number' || !isStringList(operators) || (expiryMinutes !== undefined && typeof expiryMinutes !== 'number')) {
      throw new KmsError('Validation', 'A quorum policy needs "threshold" (a number) and "operators" (a list of operator names); "expiryMinutes" (a number) is optional.');
    }
    const o = await quorum.setPolicy(await actor(quorum, b), policy[1]!, threshold, operators, expiryMinutes);
    return outcome(quorum, o, 'policy', policyJson, json);
  }
  if (route === 'GET /approvals') {
    const views = await Promise.all((await quorum.listRequests()).map((r) => quorum.showRequest(r.id)));
    return json(200, { approvals: views.map(requestSummaryJson) });
  }
  const transcript = TRANSCRIPT.exec(route);
  if (transcript) return json(200, await quorum.transcript(transcript[1]!));
  const request = REQUEST.exec(route);
  if (request) return json(200, requestViewJson(await quorum.showRequest(request[1]!)));
  const action = REQUEST_ACTION.exec(route);
  if (action) {
    const id = action[1]!;
    const b = body();
    if (action[2] === 'cancel') {
      onlyFields(b, ['operator'], 'Cancelling an approval request');
      return json(200, requestViewJson(await quorum.cancel(await actor(quorum, b), id)));
    }
    onlyFields(b, ['signature', 'operator'], 'An approval');
    const { signature, operator: signer } = b;
    if (typeof signature !== 'string' || signature === '' || signature.length > MAX_SIGNATURE_BASE64 || !BASE64.test(signature)) {
      throw new KmsError('Validation', 'An approval needs "signature": the signature\'s bytes in base64 (Ed25519: 64 bytes; ECDSA P-256: DER, or r || s).');
    }
    if (signer !== undefined && typeof signer !== 'string') throw new KmsError('Validation', '"operator" is the name of the operator who signed (a string).');
    // The operator, when named, is checked by the service, which audits a refusal.
    const by = signer === undefined ? ADMIN : { operator: signer };
    return json(200, requestViewJson(await quorum.submit(by, id, Buffer.from(signature, 'base64'), signer)));
  }
  return undefined;
}
