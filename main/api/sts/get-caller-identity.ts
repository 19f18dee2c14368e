// The one STS call Kura answers on its loopback listener: sts:GetCallerIdentity (AWS STS API
// reference, GetCallerIdentity; Query protocol, version 2011-06-15). Tools such as Terraform's AWS
// provider call it before anything else to learn the account; answering it lets them be pointed at
// Kura with `endpoints { kms, sts }` alone. The request is SigV4-verified for service `sts` with the
// same credentials as the KMS API; the answer is STS's XML. Every other STS action is refused with
// InvalidAction, saying that Kura is not an STS.
import { createHash, randomUUID } from 'node:crypto';
import type { AuditLog } from '../../audit/audit-log.js';
import type { RefusalLog } from '../../audit/refusals.js';
import type { CredentialService } from '../../auth/credentials.js';
import type { Clock } from '../../common/clock.js';
import { KMS_ERROR_CODES, KmsError, isKmsError, type KmsErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { loggedError, storageFailureAnswer } from '../../kms/index.js';
import { authenticate } from '../authenticate.js';
import type { JsonResponse, RawRequest } from '../http.js';

export interface StsDeps {
  credentials: CredentialService;
  audit: AuditLog;
  refusals: RefusalLog;
  clock: Clock;
  log: Logger;
  allowedRegions?: ReadonlySet<string>;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// KmsError codes → STS's Query-protocol error codes and statuses (STS names some auth errors
// differently from the JSON services: SignatureDoesNotMatch, InvalidClientTokenId).
const STS_OVERRIDES: Partial<Record<KmsErrorCode, { code: string; status: number }>> = {
  MissingAuthenticationToken: { code: 'MissingAuthenticationToken', status: 403 },
  IncompleteSignature: { code: 'IncompleteSignature', status: 403 },
  InvalidSignature: { code: 'SignatureDoesNotMatch', status: 403 },
  UnrecognizedClient: { code: 'InvalidClientTokenId', status: 403 },
  AccessDenied: { code: 'AccessDenied', status: 403 },
  Sealed: { code: 'ServiceUnavailable', status: 503 },
  NotInitialized: { code: 'ServiceUnavailable', status: 503 },
  UnknownOperation: { code: 'InvalidAction', status: 400 },
  UnsupportedOperation: { code: 'InvalidAction', status: 400 },
  Validation: { code: 'ValidationError', status: 400 },
  Serialization: { code: 'MalformedInput', status: 400 },
  RequestTooLarge: { code: 'RequestEntityTooLarge', status: 413 },
};
/** Every code maps somewhere: what STS has no name for is an internal failure. */
export const STS_WIRE_ERRORS = Object.fromEntries(
  KMS_ERROR_CODES.map((c) => [c, STS_OVERRIDES[c] ?? { code: 'InternalFailure', status: 500 }]),
) as Record<KmsErrorCode, { code: string; status: number }>;

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function xml(status: number, body: string, requestId: string): JsonResponse {
  return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}` };
}

function errorXml(e: KmsError, requestId: string): JsonResponse {
  const wire = STS_WIRE_ERRORS[e.code];
  const type = wire.status >= 500 ? 'Receiver' : 'Sender';
  return xml(
    wire.status,
    `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${wire.code}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    requestId,
  );
}

/**
 * STS's UserId, as IAM's unique identifiers and `aws:userid` have it (IAM User Guide, "IAM identifiers",
 * unique IDs): the account for the root user; AIDA… for a user; `<role ID>:<session name>` for a role
 * session, the role's ID (AROA…) the same for every session of it; `<account>:<name>` for a federated
 * user. IAM's IDs are random; Kura's are a hash of the partition-free identity (the account and the
 * user's or role's name, unique in the account whatever its path), so a principal keeps its ID in every
 * Region and partition it signs for, and a role's ID does not depend on who assumed it.
 */
export function userIdOf(principalArn: string, accountId: string): string {
  const resource = principalArn.split(':').slice(5).join(':');
  if (resource === 'root') return accountId;
  const [type = '', ...rest] = resource.split('/');
  if (type === 'federated-user') return `${accountId}:${rest.join('/')}`;
  const uniqueId = (prefix: string, kind: string, name: string): string => {
    const digest = createHash('sha256').update(`${accountId}:${kind}/${name}`, 'utf8').digest();
    let id = prefix;
    for (let i = 0; i < 17; i++) id += BASE32[digest[i]! % 32];
    return id;
  };
  // assumed-role/<role name>/<session name>: the ARN carries the role's name without its path.
  if (type === 'assumed-role') return `${uniqueId('AROA', 'role', rest[0] ?? '')}:${rest.slice(1).join('/') || 'session'}`;
  if (type === 'role') return uniqueId('AROA', 'role', rest.at(-1) ?? '');
  return uniqueId('AIDA', type, rest.at(-1) ?? '');
}

/**
 * Whether a request to / is meant for STS rather than KMS: no X-Amz-Target, and a form body, an sts
 * scope or an Action in the query. The Query protocol allows GET with the parameters in the query
 * string, so the query's Action counts as well as the body's.
 */
export function isStsRequest(req: RawRequest): boolean {
  if (req.headers['x-amz-target'] !== undefined) return false;
  const type = req.headers['content-type'];
  if (typeof type === 'string' && type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return true;
  if (/(?:^|&)Action=/.test(req.query.slice(0, 4096))) return true;
  const auth = req.headers.authorization;
  return typeof auth === 'string' && /Credential=[^/]*\/[^/]*\/[^/]*\/sts\//.test(auth.slice(0, 2048));
}

export async function handleStsRequest(deps: StsDeps, req: RawRequest): Promise<JsonResponse> {
  const requestId = randomUUID();
  let principal = 'anonymous';
  let accessKeyId: string | undefined;
  try {
    const authenticated = await authenticate(req, { service: 'sts', nowMs: deps.clock.nowMs(), credentials: deps.credentials, allowedRegions: deps.allowedRegions });
    const { verified, identity } = authenticated;
    principal = authenticated.principal;
    accessKeyId = verified.accessKeyId;
    const params = new URLSearchParams(req.body.toString('utf8').slice(0, 4096));
    const action = params.get('Action') ?? new URLSearchParams(req.query).get('Action');
    if (action !== 'GetCallerIdentity') {
      throw new KmsError(
        'UnknownOperation',
        `Kura answers only sts:GetCallerIdentity (for tools that ask who they are before calling KMS); ${action ? `${action.slice(0, 64)} is` : 'other actions are'} not supported.`,
      );
    }
    await deps.audit.append({ principal, accessKeyId, source: 'kms', operation: 'sts:GetCallerIdentity', outcome: 'ok', requestId });
    return xml(
      200,
      `<GetCallerIdentityResponse xmlns="${NS}"><GetCallerIdentityResult><Arn>${xmlEscape(principal)}</Arn><UserId>${userIdOf(principal, identity.accountId)}</UserId><Account>${identity.accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      requestId,
    );
  } catch (err) {
    let e: KmsError;
    if (isKmsError(err)) e = err;
    else {
      const storage = storageFailureAnswer(err);
      deps.log.error(storage ? 'sts storage failure' : 'sts internal error', { requestId, ...loggedError(err) });
      e = storage?.error ?? new KmsError('Internal', 'An internal error occurred in Kura; see its log.');
    }
    // Refusals before anyone was identified are coalesced, as on the KMS API.
    const recorded =
      accessKeyId === undefined
        ? deps.refusals.record({ source: 'kms', remote: req.remoteAddress ?? 'unknown', reason: e.code, operation: 'sts:GetCallerIdentity', requestId })
        : deps.audit.append({ principal, accessKeyId, source: 'kms', operation: 'sts:GetCallerIdentity', outcome: 'error', errorCode: e.code, requestId });
    await recorded.catch((auditErr: unknown) => deps.log.error('audit append failed', { requestId, ...loggedError(auditErr) }));
    return errorXml(e, requestId);
  }
}
