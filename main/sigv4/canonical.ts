// The parts of AWS Signature Version 4 that signing and verifying share: the canonical request, the
// string to sign, the signing key and the signature (AWS IAM User Guide, "Create a signed AWS API
// request", steps 1-4). The canonical URI and query follow @smithy/signature-v4 — what the AWS SDKs
// actually sign — for non-S3 services. verify.ts checks incoming requests with these; sign.ts signs
// Kura's own requests (the XKS client) with the same code, so the two cannot disagree.
import { createHmac, hash } from 'node:crypto';
import { rememberLast } from '../common/remember-last.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const TERMINATOR = 'aws4_request';

/** 20240101T000000Z (the last one is kept: requests of the same second ask for the same). */
export const isoBasic = rememberLast((ms: number): string => {
  const d = new Date(ms);
  const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}T${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
});

/** RFC 3986 percent-encoding of everything but the unreserved set, as SigV4 (and @smithy's escapeUri) does. */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    // Not valid percent-encoding: keep the raw text, so the signature simply fails to match.
    return s;
  }
};

/** How many canonical URIs are kept, and the longest path that is. */
const CANONICAL_URI_CACHE_MAX = 1024;
const CANONICAL_URI_CACHE_PATH_MAX = 512;
const canonicalUris = new Map<string, string>();

/**
 * Non-S3 canonical URI: drop empty, "." and ".." segments, then encode the (already wire-encoded) path
 * once more — "%20" on the wire becomes "%2520" here, which is what AWS SDKs sign.
 * Every request is verified with it and the paths repeat (the KMS API's is always "/", the XKS proxy's
 * one per key and route), so the result for short paths is kept in a small bounded map.
 */
export function canonicalUri(path: string): string {
  const known = canonicalUris.get(path);
  if (known !== undefined) return known;
  const uri = computeCanonicalUri(path);
  if (path.length <= CANONICAL_URI_CACHE_PATH_MAX) {
    if (canonicalUris.size >= CANONICAL_URI_CACHE_MAX) canonicalUris.clear();
    canonicalUris.set(path, uri);
  }
  return uri;
}

function computeCanonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return normalized.split('/').map(uriEncode).join('/');
}

/** Pairs decoded and re-encoded per RFC 3986, sorted by encoded name, then encoded value. */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs: [string, string][] = [];
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = eq < 0 ? piece : piece.slice(0, eq);
    const value = eq < 0 ? '' : piece.slice(eq + 1);
    pairs.push([uriEncode(safeDecode(name)), uriEncode(safeDecode(value))]);
  }
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** Line breaks become spaces, runs of spaces and tabs collapse to one, the ends are trimmed. */
const canonicalHeaderValue = (v: string) => v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');

/** SHA-256 in hex, with node:crypto's one-shot hash (no Hash object per call: this runs three times a request). */
export const sha256Hex = (data: string | Uint8Array): string => hash('sha256', data, 'hex');

// ---- Signing keys ----------------------------------------------------------------------------------

const SIGNING_KEY_CACHE_MAX = 256;
// Keyed by a hash of the secret, so the secret itself is not kept as a map key for the process lifetime.
const signingKeys = new Map<string, Buffer>();

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${sha256Hex(secret)}/${date}/${region}/${service}`;
  const cached = signingKeys.get(cacheKey);
  if (cached) return cached;
  let key: Buffer = Buffer.from(`AWS4${secret}`, 'utf8');
  for (const part of [date, region, service, TERMINATOR]) key = createHmac('sha256', key).update(part, 'utf8').digest();
  if (signingKeys.size >= SIGNING_KEY_CACHE_MAX) {
    const oldest = signingKeys.keys().next();
    if (!oldest.done) signingKeys.delete(oldest.value);
  }
  signingKeys.set(cacheKey, key);
  return key;
}

/** The canonical request of SigV4's step 1, from the request's parts and the headers it signs. */
export function canonicalRequest(r: {
  method: string;
  path: string;
  query: string;
  signedHeaders: readonly string[];
  headerValue: (name: string) => string;
  payloadHash: string;
}): string {
  let headers = '';
  for (const name of r.signedHeaders) headers += `${name}:${canonicalHeaderValue(r.headerValue(name))}\n`;
  return [r.method, canonicalUri(r.path), canonicalQuery(r.query), headers, r.signedHeaders.join(';'), r.payloadHash].join('\n');
}

/** The hex signature of a canonical request (steps 2-4: string to sign, signing key, HMAC). */
export function requestSignature(r: { secret: string; date: string; region: string; service: string; amzDate: string; canonicalRequest: string }): string {
  const credentialScope = `${r.date}/${r.region}/${r.service}/${TERMINATOR}`;
  const stringToSign = `${ALGORITHM}\n${r.amzDate}\n${credentialScope}\n${sha256Hex(r.canonicalRequest)}`;
  return createHmac('sha256', signingKey(r.secret, r.date, r.region, r.service)).update(stringToSign, 'utf8').digest('hex');
}
