// AWS Signature Version 4 verification of incoming HTTP requests (header auth, AWS4-HMAC-SHA256), with
// node:crypto only. The canonical request and the signature are computed by canonical.ts, which the
// signer (sign.ts, for Kura's own outgoing requests) shares.
//
// Spec: AWS IAM User Guide, "Create a signed AWS API request" (canonical request, string to sign, signing
// key) and "Troubleshoot Signature Version 4 errors". The canonical URI and query follow
// @smithy/signature-v4 — what the AWS SDKs actually sign — for non-S3 services: the path as it arrived
// on the wire (encoded once by the client) is normalized and URI-encoded once more.
//
// Error names, texts and their order follow AWS's front end as observed and recorded by
// scratchstack-aws-signature (dacut, "AWS Auth Error Ordering"): Authorization syntax, then the
// SignedHeaders rules, then the date's format, then expiry, then the credential scope, then the key
// lookup, then the signature. Messages never carry the secret, the signature we computed, the request
// body, or (when an Authorization header is echoed) the signature the client sent.

import { timingSafeEqual } from 'node:crypto';
import { KmsError } from '../common/errors.js';
import { rememberLast } from '../common/remember-last.js';
import { AWS_REGIONS } from '../common/regions.js';
import { ALGORITHM, canonicalRequest, isoBasic, requestSignature, sha256Hex, TERMINATOR } from './canonical.js';

export interface SigV4Request {
  method: string;
  /** Raw request target path, e.g. "/" (no query). */
  path: string;
  /** Raw query string without '?', '' if none. */
  query: string;
  /** As node:http gives them (lower-case names). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * Every value of every header, in order (node:http's headersDistinct), where the transport has them:
   * a header sent on several lines is signed as its values joined with ',' (SigV4), which node:http's
   * own join (', ', or only the first value for some names) does not give.
   */
  headerLists?: Readonly<Record<string, string[] | undefined>>;
  body: Buffer;
}

export interface SigV4Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

export interface SigV4Verified {
  accessKeyId: string;
  region: string;
  service: string;
  /** Epoch ms of the request's signing time (X-Amz-Date or Date). */
  signedAt: number;
}

export interface SigV4Options {
  service: string;
  nowMs: number;
  lookupSecret: (accessKeyId: string) => Promise<string | undefined> | string | undefined;
  /** Allowed clock skew either way; AWS uses 5 minutes. */
  maxSkewMs?: number;
  /** The regions a credential scope may name; by default every AWS region. */
  allowedRegions?: ReadonlySet<string>;
}

const DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000;
const ECHO_LIMIT = 200;
const AUTHORIZATION_ECHO_LIMIT = 1024;

const ISO_BASIC_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const IMF_FIXDATE_PATTERN =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const MSG_MISSING_TOKEN = 'Missing Authentication Token';
const MSG_UNRECOGNIZED_CLIENT = 'The security token included in the request is invalid.';
const MSG_SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const MSG_CONTENT_SHA256_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed.";

const incomplete = (message: string) => new KmsError('IncompleteSignature', message);
const invalid = (message: string) => new KmsError('InvalidSignature', message);

/** Caller-supplied text echoed in a message: bounded, so a huge header cannot bloat responses and logs. */
const echo = (s: string, limit = ECHO_LIMIT) => (s.length > limit ? `${s.slice(0, limit)}...` : s);

/** The Authorization header as AWS echoes it, minus the client's signature (a bearer proof for 5 minutes). */
const echoAuthorization = (header: string) =>
  echo(header.replace(/(Signature=)[^,\s]*/g, '$1<redacted>'), AUTHORIZATION_ECHO_LIMIT);

const headerValue = (headers: SigV4Request['headers'], name: string): string | undefined => {
  // Own properties only: SignedHeaders is caller input, and "constructor" must not find Object's.
  if (!Object.hasOwn(headers, name)) return undefined;
  const v = headers[name];
  if (Array.isArray(v)) return v.join(',');
  return typeof v === 'string' ? v : undefined;
};

/** A signed header's value for the canonical request: its lines' values, each trimmed, joined with ','. */
const signedValue = (req: SigV4Request, name: string): string => {
  const lines = req.headerLists && Object.hasOwn(req.headerLists, name) ? req.headerLists[name] : undefined;
  return lines ? lines.map((v) => v.trim()).join(',') : (headerValue(req.headers, name) ?? '');
};

// ---- Authorization header --------------------------------------------------------------------------

interface RawAuthorization {
  credential: string;
  signedHeaders: string[];
  signature: string;
  /** The header that carries the request time, and its raw value. */
  dateHeader: 'x-amz-date' | 'date';
  rawDate: string;
}

/** Algorithm, key=value syntax and required parts, in that order, as AWS checks them. */
function parseAuthorizationSyntax(req: SigV4Request): RawAuthorization {
  const header = headerValue(req.headers, 'authorization');
  if (header === undefined || header.trim() === '') throw new KmsError('MissingAuthenticationToken', MSG_MISSING_TOKEN);

  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    // Echo only something that looks like an algorithm name: a bare bearer token must not be reflected.
    const shown = /^[A-Za-z0-9_-]{1,40}$/.test(algorithm) ? `: '${algorithm}'` : '';
    throw incomplete(`Unsupported AWS 'algorithm'${shown}.`);
  }

  const params = new Map<string, string>();
  for (const piece of (space < 0 ? '' : trimmed.slice(space + 1)).split(',')) {
    const part = piece.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      throw incomplete(
        `'${echo(part)}' not a valid key=value pair (missing equal-sign) in Authorization header: '${echoAuthorization(trimmed)}'`,
      );
    }
    const key = part.slice(0, eq).trim();
    if (params.has(key)) {
      throw incomplete(`Authorization header has a duplicate '${echo(key)}' parameter. Authorization=${ALGORITHM}`);
    }
    params.set(key, part.slice(eq + 1).trim());
  }

  const amzDate = headerValue(req.headers, 'x-amz-date');
  const httpDate = headerValue(req.headers, 'date');
  const credential = params.get('Credential');
  const signature = params.get('Signature');
  const signedHeaders = params.get('SignedHeaders');
  const missing: string[] = [];
  if (!credential) missing.push("Authorization header requires 'Credential' parameter.");
  if (!signature) missing.push("Authorization header requires 'Signature' parameter.");
  if (!signedHeaders) missing.push("Authorization header requires 'SignedHeaders' parameter.");
  if (amzDate === undefined && httpDate === undefined) {
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (!credential || !signature || !signedHeaders || missing.length > 0) {
    throw incomplete(`${missing.join(' ')} Authorization=${ALGORITHM}`);
  }

  return {
    credential,
    signedHeaders: signedHeaders.split(';').map((h) => h.trim().toLowerCase()),
    signature,
    dateHeader: amzDate !== undefined ? 'x-amz-date' : 'date',
    rawDate: amzDate ?? httpDate ?? '',
  };
}

/**
 * SignedHeaders must cover host, the date header and every x-amz-* header the request has (AWS's
 * signing guide: "any x-amz-* headers that you plan to include in your request"), and name only headers
 * the request has. An unsigned X-Amz-Target would let anyone who saw a signed request replay its body
 * as another operation.
 */
function checkSignedHeaders(req: SigV4Request, auth: RawAuthorization): void {
  if (!auth.signedHeaders.includes('host')) {
    throw invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!auth.signedHeaders.includes(auth.dateHeader)) {
    const shown = auth.dateHeader === 'x-amz-date' ? 'X-Amz-Date' : 'Date';
    throw invalid(`'${shown}' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  for (const name of auth.signedHeaders) {
    if (name === '' || headerValue(req.headers, name) === undefined) {
      throw incomplete(`Header '${echo(name)}' is named in SignedHeaders but is not in the request. Authorization=${ALGORITHM}`);
    }
  }
  const unsigned = Object.keys(req.headers).find((name) => name.startsWith('x-amz-') && !auth.signedHeaders.includes(name) && headerValue(req.headers, name) !== undefined);
  if (unsigned !== undefined) {
    throw invalid(`Header '${echo(unsigned)}' is in the request but not in SignedHeaders; every x-amz-* header must be signed.`);
  }
}

/**
 * Epoch ms of an ISO 8601 basic UTC time (20240101T000000Z) or an HTTP IMF-fixdate, or undefined. The
 * last one is kept: requests signed within the same second carry the same date.
 */
const parseRequestTime = rememberLast((raw: string): number | undefined => {
  let fields: number[];
  const iso = ISO_BASIC_PATTERN.exec(raw);
  if (iso) {
    fields = iso.slice(1).map(Number);
  } else {
    const imf = IMF_FIXDATE_PATTERN.exec(raw);
    if (!imf) return undefined;
    fields = [Number(imf[3]), MONTHS.indexOf(imf[2] ?? '') + 1, Number(imf[1]), Number(imf[4]), Number(imf[5]), Number(imf[6])];
  }
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = fields;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 20240231 over to March; a date that does not round-trip is not a date.
  const t = new Date(ms);
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== s) {
    return undefined;
  }
  return ms;
});

function requestTime(auth: RawAuthorization): number {
  const ms = parseRequestTime(auth.rawDate);
  if (ms === undefined) {
    throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${echo(auth.rawDate)}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  return ms;
}


function splitCredential(credential: string): SigV4Scope & { terminator: string } {
  const parts = credential.split('/');
  if (parts.length !== 5) {
    throw incomplete(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${echo(credential)}'`,
    );
  }
  const [accessKeyId = '', date = '', region = '', service = '', terminator = ''] = parts;
  return { accessKeyId, date, region, service, terminator };
}

/** Parses the Authorization header; throws KmsError for a missing or malformed one. Does not check the signature. */
export function parseAuthorization(req: SigV4Request): {
  scope: SigV4Scope;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
} {
  const auth = parseAuthorizationSyntax(req);
  const signedAt = requestTime(auth);
  const { accessKeyId, date, region, service } = splitCredential(auth.credential);
  return { scope: { accessKeyId, date, region, service }, signedHeaders: auth.signedHeaders, signature: auth.signature, amzDate: isoBasic(signedAt) };
}

// ---- Verification ----------------------------------------------------------------------------------

const skewText = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min.` : `${ms / 1000} sec.`);

/** Verifies the request. lookupSecret returns the secret access key for an access key id, or undefined if unknown. */
export async function verifySigV4(req: SigV4Request, opts: SigV4Options): Promise<SigV4Verified> {
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const auth = parseAuthorizationSyntax(req);
  checkSignedHeaders(req, auth);
  const signedAt = requestTime(auth);
  const amzDate = isoBasic(signedAt);

  if (signedAt < opts.nowMs - maxSkewMs) {
    throw invalid(`Signature expired: ${amzDate} is now earlier than ${isoBasic(opts.nowMs - maxSkewMs)} (${isoBasic(opts.nowMs)} - ${skewText(maxSkewMs)})`);
  }
  if (signedAt > opts.nowMs + maxSkewMs) {
    throw invalid(`Signature not yet current: ${amzDate} is still later than ${isoBasic(opts.nowMs + maxSkewMs)} (${isoBasic(opts.nowMs)} + ${skewText(maxSkewMs)})`);
  }

  const scope = splitCredential(auth.credential);
  // AWS reports every scope problem at once, each sentence followed by a space.
  let scopeErrors = '';
  if (!(opts.allowedRegions ?? AWS_REGIONS).has(scope.region)) scopeErrors += `Credential should be scoped to a valid region, not '${echo(scope.region)}'. `;
  if (scope.service !== opts.service) scopeErrors += `Credential should be scoped to correct service: '${opts.service}'. `;
  if (scope.terminator !== TERMINATOR) {
    scopeErrors += `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${echo(scope.terminator)}'. `;
  }
  if (scope.date !== amzDate.slice(0, 8)) {
    scopeErrors += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${echo(scope.date)}' != '${amzDate.slice(0, 8)}', from '${amzDate}'. `;
  }
  if (scopeErrors !== '') throw invalid(scopeErrors);

  // Kura issues no session credentials, so any session token names a credential we do not have.
  if (headerValue(req.headers, 'x-amz-security-token') !== undefined) throw new KmsError('UnrecognizedClient', MSG_UNRECOGNIZED_CLIENT);
  const secret = await opts.lookupSecret(scope.accessKeyId);
  if (secret === undefined) throw new KmsError('UnrecognizedClient', MSG_UNRECOGNIZED_CLIENT);

  const payloadHash = sha256Hex(req.body);
  // KMS signs every payload: UNSIGNED-PAYLOAD and streaming markers never equal a SHA-256, so they fail here.
  const claimedHash = headerValue(req.headers, 'x-amz-content-sha256');
  if (claimedHash !== undefined && claimedHash.trim() !== payloadHash) throw invalid(MSG_CONTENT_SHA256_MISMATCH);

  const canonical = canonicalRequest({
    method: req.method,
    path: req.path,
    query: req.query,
    signedHeaders: auth.signedHeaders,
    headerValue: (name) => signedValue(req, name),
    payloadHash,
  });
  const expected = Buffer.from(requestSignature({ secret, date: scope.date, region: scope.region, service: scope.service, amzDate, canonicalRequest: canonical }), 'utf8');
  const provided = Buffer.from(auth.signature, 'utf8');
  // Only the length is compared in variable time, and every valid signature has the same length.
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) throw invalid(MSG_SIGNATURE_MISMATCH);

  return { accessKeyId: scope.accessKeyId, region: scope.region, service: scope.service, signedAt };
}
