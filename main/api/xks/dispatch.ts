// The XKS proxy API endpoint: [/<prefix>]/kms/xks/v1/... (XKS Proxy API v1.0.3). Order of checks:
// the path names an operation (InvalidUriPathException 404) → POST (405, as "API operations"
// requires for GET) → the prefix names a store (InvalidUriPathException) → SigV4 with service
// kms-xks-proxy against that store's credentials and regions (AuthenticationFailedException 401,
// Appendix A) → the body (ValidationException) → the route. The prefix is resolved before the
// signature because the store's credentials are what the signature is checked against.
// Every request gets an answer in the spec's error shape, whatever is thrown, and is recorded once
// through the audit port (request metadata, never plaintext); a successful call whose record fails
// is answered InternalException, so nothing is served unaudited.
// AWS KMS gives up on a proxy that has not answered within 250 ms ("GetHealthStatus", KMS
// considerations). A route's work on the key manager (a token that stopped answering, a slow deep health
// check) therefore has XKS_ANSWER_DEADLINE_MS to finish; past it, the call answers
// DependencyTimeoutException, which KMS reports as the proxy's dependency timing out, rather than
// leaving KMS to time out on a proxy that says nothing. The work itself goes on (a call on a token cannot
// be taken back): what it gives later is dropped, and a request's plaintext is wiped only once it ends.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { isKmsError } from '../../common/errors.js';
import { coalescedLines, errorTrace, type Logger, type LogFields } from '../../common/log.js';
import { loggedError, storageFailureAnswer } from '../../kms/index.js';
import { verifySigV4 } from '../../sigv4/verify.js';
import type { JsonResponse, RawRequest } from '../http.js';
import type { XksBackend } from './backend.js';
import { decodeDecrypt, decrypt } from './decrypt.js';
import { parseBody, type XksOperation } from './decode.js';
import { decodeEncrypt, encrypt } from './encrypt.js';
import { isXksError, XKS_CONTENT_TYPE, XksError, xksErrorResponse, type XksErrorName } from './errors.js';
import { decodeGetHealthStatus, getHealthStatus } from './health.js';
import { decodeGetKeyMetadata, getKeyMetadata } from './metadata.js';
import { parseXksPath } from './path.js';
import { base64MembersJson } from './wire.js';

export const XKS_SIGV4_SERVICE = 'kms-xks-proxy';
const DEFAULT_PROXY_MODEL = 'Kura XKS proxy';
/** Bound on caller-supplied strings kept in a record (ARNs may be 2,048 characters). */
const RECORD_FIELD_LIMIT = 2048;
/**
 * How long a route's work on the key manager may take: AWS KMS's 250 ms, less 50 ms for the rest of the
 * call (the network and TLS, finding the store, SigV4, the body, the audit entry), which is not counted.
 */
export const XKS_ANSWER_DEADLINE_MS = 200;

/** One XKS call as the audit log keeps it: who, what, which store and key, how it ended. */
export interface XksCallRecord {
  requestId: string;
  operation: XksOperation | 'Unknown';
  remote: string;
  storeId?: string;
  externalKeyId?: string;
  /** The verified access key; absent when authentication failed. */
  accessKeyId?: string;
  kmsRequestId?: string;
  kmsOperation?: string;
  awsPrincipalArn?: string;
  kmsKeyArn?: string;
  outcome: 'ok' | 'error';
  errorName?: XksErrorName;
}

/** The audit port (the composition root adapts main/audit's log to it). */
export interface XksAuditSink {
  record(call: XksCallRecord): Promise<void>;
}

export interface XksEndpointDeps {
  backend: XksBackend;
  clock: Clock;
  log: Logger;
  audit: XksAuditSink;
  /** GetHealthStatus's xksProxyModel: product and version. */
  proxyModel?: string;
  /** How long a route's work may take before the call answers DependencyTimeoutException (default XKS_ANSWER_DEADLINE_MS). */
  answerDeadlineMs?: number;
  /** The regions a credential scope may name (the appliance's --regions) where a store names none; default every AWS region. */
  allowedRegions?: ReadonlySet<string>;
}

const METHOD_NOT_ALLOWED = Symbol('method not allowed');

export async function handleXksRequest(deps: XksEndpointDeps, req: RawRequest): Promise<JsonResponse> {
  const startedAt = performance.now();
  const call: XksCallRecord = { requestId: randomUUID(), operation: 'Unknown', remote: req.remoteAddress ?? 'unknown', outcome: 'error' };
  let response: JsonResponse;
  try {
    const served = await serve(deps, req, call);
    if (served === METHOD_NOT_ALLOWED) {
      call.errorName = 'UnsupportedOperationException';
      response = { ...xksErrorResponse('UnsupportedOperationException', `The XKS proxy API takes POST, not ${req.method.slice(0, 16)}.`, { allow: 'POST' }), status: 405 };
    } else {
      response = { status: 200, headers: { 'content-type': XKS_CONTENT_TYPE }, body: served };
      call.outcome = 'ok';
    }
  } catch (err) {
    const e = isXksError(err) ? err : internal(deps.log, call, err);
    call.errorName = e.errorName;
    response = xksErrorResponse(e.errorName, e.message);
  }
  try {
    await deps.audit.record(call);
  } catch (err) {
    deps.log.error('xks audit append failed', { requestId: call.requestId, ...loggedError(err) });
    if (call.outcome === 'ok') {
      call.outcome = 'error';
      call.errorName = 'InternalException';
      const storage = storageFailureAnswer(err);
      response = xksErrorResponse('InternalException', `The call could not be audited, so nothing was served.${storage ? ` ${storage.error.message}` : ''}`);
    }
  }
  const line: LogFields = {
    requestId: call.requestId,
    operation: call.operation,
    xksStoreId: call.storeId,
    externalKeyId: call.externalKeyId,
    kmsRequestId: call.kmsRequestId?.slice(0, 256),
    outcome: call.outcome,
    error: call.errorName,
    latencyMs: Math.round((performance.now() - startedAt) * 10) / 10,
  };
  // Refused before the caller was identified (audited as a coalesced refusal): coalesced here too, as
  // anyone who reaches the listener can send these as fast as they like.
  if (call.accessKeyId === undefined && call.outcome === 'error') coalescedLines(deps.log).info({ source: 'xks', error: call.errorName }, 'xks call', line);
  else deps.log.info('xks call', line);
  return { ...response, headers: { ...response.headers, 'x-kura-request-id': call.requestId } };
}

async function serve(deps: XksEndpointDeps, req: RawRequest, call: XksCallRecord): Promise<string | typeof METHOD_NOT_ALLOWED> {
  const target = parseXksPath(req.path);
  if ('invalid' in target) throw new XksError('InvalidUriPathException', target.invalid);
  call.operation = target.operation;
  call.externalKeyId = target.externalKeyId;
  if (req.method !== 'POST') return METHOD_NOT_ALLOWED;

  const store = await deps.backend.resolveStore(target.uriPathPrefix);
  if (!store) throw new XksError('InvalidUriPathException', 'No external key store is served under this URI path prefix.');
  call.storeId = store.storeId;
  if (store.sealed) throw new XksError('DependencyTimeoutException', 'The key manager is sealed; it serves again once its custodians unseal it.');
  try {
    const verified = await verifySigV4(req, {
      service: XKS_SIGV4_SERVICE,
      nowMs: deps.clock.nowMs(),
      lookupSecret: (id) => store.secretFor(id),
      allowedRegions: store.regions ?? deps.allowedRegions,
    });
    call.accessKeyId = verified.accessKeyId;
  } catch (err) {
    if (isKmsError(err)) throw new XksError('AuthenticationFailedException', err.message);
    throw err;
  }

  const body = parseBody(req.body);
  remember(call, body);
  const keyCtx = { backend: deps.backend, storeId: store.storeId, externalKeyId: target.externalKeyId ?? '' };
  // An unexpected error of work that was answered already goes to the log, as one in time would.
  const within = <T>(work: Promise<T>) =>
    answerWithin(deps.answerDeadlineMs ?? XKS_ANSWER_DEADLINE_MS, work, (late) => {
      if (!isXksError(late)) internal(deps.log, call, late);
    });
  switch (target.operation) {
    case 'GetHealthStatus': {
      decodeGetHealthStatus(body);
      return JSON.stringify(await within(getHealthStatus({ backend: deps.backend, storeId: store.storeId, proxyModel: deps.proxyModel ?? DEFAULT_PROXY_MODEL })));
    }
    case 'GetKeyMetadata': {
      decodeGetKeyMetadata(body);
      return JSON.stringify(await within(getKeyMetadata(keyCtx)));
    }
    case 'Encrypt': {
      const decoded = decodeEncrypt(body);
      // Wiped when the encryption ends, which may be after the call was answered.
      const work = encrypt(keyCtx, decoded).finally(() => decoded.plaintext.fill(0));
      return base64MembersJson(await within(work));
    }
    case 'Decrypt': {
      return base64MembersJson(await within(decrypt(keyCtx, decodeDecrypt(body))));
    }
  }
}

/**
 * `work`'s result, or DependencyTimeoutException once `ms` have passed. The work goes on: its result is
 * dropped, and an error it ends with is given to `lateError`.
 */
async function answerWithin<T>(ms: number, work: Promise<T>, lateError: (e: unknown) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      work.catch(lateError);
      reject(new XksError('DependencyTimeoutException', `The key manager did not answer within ${ms} ms (AWS KMS waits 250 ms for the proxy).`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Copies the request metadata's strings into the record, bounded, before the body is validated: a call
 * refused for its other fields is still recorded with the kmsRequestId that names it in CloudTrail.
 */
function remember(call: XksCallRecord, body: Record<string, unknown>): void {
  const meta: unknown = body.requestMetadata;
  if (typeof meta !== 'object' || meta === null) return;
  const pick = (name: string): string | undefined => {
    const v: unknown = Object.hasOwn(meta, name) ? (meta as Record<string, unknown>)[name] : undefined;
    return typeof v === 'string' ? v.slice(0, RECORD_FIELD_LIMIT) : undefined;
  };
  call.kmsRequestId = pick('kmsRequestId');
  call.kmsOperation = pick('kmsOperation');
  call.awsPrincipalArn = pick('awsPrincipalArn');
  call.kmsKeyArn = pick('kmsKeyArn');
}

function internal(log: Logger, call: XksCallRecord, err: unknown): XksError {
  // A failing disk under the database (full, read-only, I/O errors) is said as such, with its SQLite
  // code in the log; any other unexpected error's message may say anything: it goes to the log by type
  // and frames only (errorTrace).
  const storage = storageFailureAnswer(err);
  if (storage) {
    log.error('xks storage failure', { requestId: call.requestId, operation: call.operation, ...loggedError(err) });
    return new XksError('InternalException', storage.error.message);
  }
  log.error('xks internal error', { requestId: call.requestId, operation: call.operation, error: errorTrace(err) });
  return new XksError('InternalException', 'An internal error occurred in Kura; see its log.');
}
