// The KMS JSON 1.1 endpoint: POST / with X-Amz-Target: TrentService.<Action>.
// Order of checks, as AWS applies them: authentication (SigV4) → target → body shape (model
// validation) → the operation. Every call, accepted or refused, is audited exactly once: a request
// refused here, before it reaches the KMS façade, by this endpoint; every call the façade serves, by
// the façade's unit of work (main/kms/key-directory.ts), whatever its outcome.
import { createHash, randomUUID } from 'node:crypto';
import type { AuditLog } from '../../audit/audit-log.js';
import type { RefusalLog } from '../../audit/refusals.js';
import type { CredentialService } from '../../auth/credentials.js';
import type { Clock } from '../../common/clock.js';
import { KmsError, isKmsError } from '../../common/errors.js';
import { coalescedLines, errorTrace, type Logger } from '../../common/log.js';
import { loggedError, storageFailureAnswer, type CallContext, type Kms } from '../../kms/index.js';
import { handleStsRequest, isStsRequest } from '../sts/get-caller-identity.js';
import { authenticate } from '../authenticate.js';
import type { JsonResponse, RawRequest } from '../http.js';
import { KMS_WIRE_ERRORS, kmsErrorResponse } from './errors.js';
import { checkJsonBounds } from '../json-bounds.js';
import type { KmsHandler } from './handler.js';
import { KMS_HANDLERS } from './index.js';
import { decodeRequest, encodeResponse, encodeResponseJson, OPERATIONS } from './model/validate.js';
import { splitSensitive, withSensitive } from './model/sensitive.js';

export interface KmsEndpointDeps {
  kms: Kms;
  credentials: CredentialService;
  audit: AuditLog;
  refusals: RefusalLog;
  clock: Clock;
  log: Logger;
  /** Regions a request's credential scope may name (default: every AWS region). */
  allowedRegions?: ReadonlySet<string>;
}

export type { JsonResponse, RawRequest } from '../http.js';

const TARGET_PREFIX = 'TrentService.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

function errorResponse(requestId: string, e: KmsError): JsonResponse {
  const wire = KMS_WIRE_ERRORS[e.code];
  return kmsErrorResponse(wire.status, wire.name, e.message, requestId);
}

/**
 * The operation a request names, as the audit log may hold it: a known action's name, or a short
 * hash of whatever the header said (bounded, so a 15 KB X-Amz-Target costs the log 24 bytes).
 */
export function auditedOperation(target: string): string {
  if (target === '') return 'Unknown';
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  if (OPERATIONS.has(name)) return name;
  return `unknown:${createHash('sha256').update(target, 'utf8').digest('hex').slice(0, 16)}`;
}

/** An access key ID as the audit log may hold it: AWS's shape (16–128 of A-Z0-9), else a short hash. */
function auditedAccessKeyId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  if (/^[A-Z0-9]{16,128}$/.test(id)) return id;
  return `invalid:${createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 16)}`;
}

/** The access key a request claims in its Authorization header (before it is verified). */
function claimedAccessKeyId(headers: RawRequest['headers']): string | undefined {
  const h = headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /Credential=([^/,\s]{1,256})/.exec(h.slice(0, 2048));
  return m?.[1];
}

export async function handleKmsRequest(deps: KmsEndpointDeps, req: RawRequest): Promise<JsonResponse> {
  // The loopback listener also answers sts:GetCallerIdentity on POST / (Terraform asks it first).
  if (isStsRequest(req)) return handleStsRequest(deps, req);
  const startedAt = performance.now();
  const requestId = randomUUID();
  const targetHeader = req.headers['x-amz-target'];
  const target = typeof targetHeader === 'string' ? targetHeader : '';
  const operation = auditedOperation(target);
  let ctx: CallContext | undefined;
  let keyId: string | undefined;
  let handler: KmsHandler;
  let input: Record<string, unknown>;
  try {
    const { verified, identity, principal } = await authenticate(req, { service: 'kms', nowMs: deps.clock.nowMs(), credentials: deps.credentials, allowedRegions: deps.allowedRegions });
    ctx = {
      accountId: identity.accountId,
      region: verified.region,
      principal,
      accessKeyId: verified.accessKeyId,
      requestId,
      operation,
    };
    if (!target.startsWith(TARGET_PREFIX) || !OPERATIONS.has(operation)) {
      throw new KmsError('UnknownOperation', '');
    }
    const known = KMS_HANDLERS[operation];
    if (!known) throw new KmsError('UnsupportedOperation', `Kura does not implement ${operation} yet.`);
    handler = known;
    let parsed: unknown;
    checkJsonBounds(req.body);
    try {
      parsed = req.body.length === 0 ? {} : JSON.parse(req.body.toString('utf8'));
    } catch {
      throw new KmsError('Serialization', 'The request body is not valid JSON.');
    }
    input = decodeRequest(operation, parsed);
    keyId = typeof input.KeyId === 'string' ? input.KeyId : undefined;
    // What an approval request records if the call is gated (main/ceremony): the body as it came, its
    // sensitive values taken out (only then: most calls are not gated).
    const body = parsed as Record<string, unknown>;
    ctx.input = body;
    ctx.splitInput = () => splitSensitive(operation, body);
  } catch (err) {
    // Refused before the façade: this endpoint audits it.
    const e = isKmsError(err) ? err : internal(deps.log, requestId, operation, err);
    const recorded = ctx
      ? audit(deps, ctx, operation, keyId, e.code)
      : deps.refusals.record({
          source: 'kms',
          remote: req.remoteAddress ?? 'unknown',
          reason: e.code,
          operation,
          accessKeyId: auditedAccessKeyId(claimedAccessKeyId(req.headers)),
          requestId,
        });
    await recorded.catch((auditErr: unknown) =>
      deps.log.error('audit append failed', { requestId, ...loggedError(auditErr) }),
    );
    const line = { requestId, operation, keyId, principal: ctx?.principal ?? 'anonymous', outcome: 'error' as const, error: e.code };
    // Refused before anyone was identified: anyone can send these, as fast as they like; their lines are
    // coalesced, as their audit entries are (their count is in both).
    logCall(ctx ? deps.log : { info: (msg, fields) => coalescedLines(deps.log).info({ source: 'kms', error: e.code }, msg, fields ?? {}) }, startedAt, line);
    return errorResponse(requestId, e);
  }
  // From here the façade has audited the call, whatever happens: nothing below audits again.
  let output: Record<string, unknown> | undefined;
  try {
    output = await handler({ kms: deps.kms }, ctx, input);
    const body = encodeResponseJson(operation, output);
    logCall(deps.log, startedAt, { requestId, operation, ...loggedKeys(ctx, keyId), principal: ctx.principal, outcome: 'ok' });
    return { status: 200, headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': requestId }, body };
  } catch (err) {
    const e = isKmsError(err) ? err : internal(deps.log, requestId, operation, err);
    logCall(deps.log, startedAt, { requestId, operation, ...loggedKeys(ctx, keyId), principal: ctx.principal, outcome: 'error', error: e.code });
    return errorResponse(requestId, e);
  } finally {
    // Whatever the outcome: a refused or dry-run Encrypt, GenerateMac or VerifyMac was handed its
    // plaintext or message decoded all the same.
    if (output) zeroizeBuffers(output, SECRET_OUTPUTS);
    zeroizeBuffers(input);
  }
}

/**
 * Runs an approved request's KMS call again, as it was asked: the caller it was asked by (with the
 * request's ID, which the approval gate admits once) and the body it came with, through the same
 * handler. Resolves with a short summary of the answer (gated operations answer no secrets); rejects
 * with the call's error. The façade audits the call.
 */
export async function replayApprovedCall(deps: Pick<KmsEndpointDeps, 'kms'>, caller: CallContext): Promise<string> {
  return JSON.stringify(await runKmsCall(deps, caller)).slice(0, 500);
}

/**
 * A KMS call in process, as the endpoint runs it after authentication: `caller.input` is the request's
 * JSON (as the wire has it), checked against the API model, run by the action's handler through the
 * façade (whose unit of work authorizes, gates and audits it), and answered as the wire's JSON. For an
 * approved request's run and the operator console's key commands; never for a call with a plaintext
 * answer (the console has none).
 */
export async function runKmsCall(deps: Pick<KmsEndpointDeps, 'kms'>, caller: CallContext): Promise<Record<string, unknown>> {
  const handler = KMS_HANDLERS[caller.operation];
  if (!handler || !OPERATIONS.has(caller.operation)) throw new KmsError('UnknownOperation', `${caller.operation} is not a KMS operation Kura runs.`);
  // An approved call's sensitive values come back only now, for the handler: its `input` stays as signed.
  const input = decodeRequest(caller.operation, caller.secrets ? withSensitive(caller.input ?? {}, caller.secrets) : (caller.input ?? {}));
  try {
    const output = await handler({ kms: deps.kms }, { ...caller, requestId: caller.requestId ?? randomUUID() }, input);
    return encodeResponse(caller.operation, output) as Record<string, unknown>;
  } finally {
    zeroizeBuffers(input);
  }
}

/**
 * One line per call at info: who, what, which key, how it ended and how long it took; never a body,
 * plaintext or key material. The key is as the caller named it (an ID, ARN or alias, bounded) when the
 * call was refused before the façade; else as loggedKeys says.
 */
function logCall(
  log: Pick<Logger, 'info'>,
  startedAt: number,
  fields: { requestId: string; operation: string; keyId?: string; keyRef?: string; sourceKeyId?: string; principal: string; outcome: 'ok' | 'error'; error?: string },
) {
  log.info('kms call', { ...fields, keyId: fields.keyId?.slice(0, 256), keyRef: fields.keyRef?.slice(0, 256), latencyMs: Math.round((performance.now() - startedAt) * 10) / 10 });
}

/**
 * For a call the façade served: the key IDs its audit entry names (ReEncrypt's source too), and the
 * KeyId sent beside them where it was something else (an alias, an ARN, a key that was not found).
 */
function loggedKeys(ctx: CallContext, sent: string | undefined): { keyId?: string; keyRef?: string; sourceKeyId?: string } {
  if (!ctx.auditedKeys) return { keyId: sent };
  const { keyId, sourceKeyId } = ctx.auditedKeys;
  return { keyId, sourceKeyId, keyRef: sent !== keyId ? sent : undefined };
}

function internal(log: Logger, requestId: string, operation: string, err: unknown): KmsError {
  // A full disk, an I/O error, a database file gone: answered as such, logged by the SQLite code.
  const storage = storageFailureAnswer(err);
  if (storage) {
    log.error('storage failure', { requestId, operation, code: storage.code });
    return storage.error;
  }
  // The message of an unexpected error may say anything; it goes to the log by type and frames only (errorTrace).
  log.error('internal error', { requestId, operation, error: errorTrace(err) });
  return new KmsError('Internal', 'An internal error occurred in Kura; see its log.');
}

/**
 * The audit entry of a request refused before it reached the façade (unknown operation, unsupported
 * operation, malformed body): on the disk before the answer.
 */
function audit(deps: KmsEndpointDeps, ctx: CallContext, operation: string, keyId: string | undefined, errorCode: string) {
  return deps.audit.append({ principal: ctx.principal, accessKeyId: ctx.accessKeyId, source: 'kms', operation, keyId, outcome: 'error', errorCode, requestId: ctx.requestId });
}

/** Response members that carry secrets: wiped once the response body is serialized. */
const SECRET_OUTPUTS = ['Plaintext', 'PrivateKeyPlaintext', 'SharedSecret'] as const;

/**
 * Wipes the secrets of a response, and every buffer of a request (all decoded for this call alone).
 * Only named members of a response: others may be shared, cached values (a public key).
 */
function zeroizeBuffers(obj: Record<string, unknown>, only?: readonly string[]): void {
  for (const [k, v] of Object.entries(obj)) if (Buffer.isBuffer(v) && (!only || only.includes(k))) v.fill(0);
}
