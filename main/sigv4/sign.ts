// SigV4 signing of Kura's own outgoing requests (the XKS client calling an external key store proxy):
// header authorization with AWS4-HMAC-SHA256, signing host, x-amz-date, x-amz-content-sha256 and any
// other headers given, over the same canonical request that verify.ts checks (canonical.ts).
import { ALGORITHM, canonicalRequest, isoBasic, requestSignature, sha256Hex } from './canonical.js';

export interface SignInput {
  method: string;
  /** Host header value (host[:port]). */
  host: string;
  /** Path as it goes on the wire (already percent-encoded once). */
  path: string;
  /** Query string without '?', '' if none. */
  query?: string;
  /** Further headers to send and sign (names any case). */
  headers?: Readonly<Record<string, string>>;
  body: Uint8Array | string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
  nowMs: number;
  /** Send and sign x-amz-content-sha256 (default true); without it the payload is still signed, in the canonical request. */
  contentSha256Header?: boolean;
}

/** The headers to send: the given ones (lower-cased), host, x-amz-date, x-amz-content-sha256 (unless left out) and authorization. */
export function signRequest(r: SignInput): Record<string, string> {
  const amzDate = isoBasic(r.nowMs);
  const payloadHash = sha256Hex(typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  headers.host = r.host;
  headers['x-amz-date'] = amzDate;
  if (r.contentSha256Header !== false) headers['x-amz-content-sha256'] = payloadHash;
  const signedHeaders = Object.keys(headers).sort();
  const canonical = canonicalRequest({ method: r.method, path: r.path, query: r.query ?? '', signedHeaders, headerValue: (n) => headers[n] ?? '', payloadHash });
  const date = amzDate.slice(0, 8);
  const signature = requestSignature({ secret: r.secretAccessKey, date, region: r.region, service: r.service, amzDate, canonicalRequest: canonical });
  headers.authorization = `${ALGORITHM} Credential=${r.accessKeyId}/${date}/${r.region}/${r.service}/aws4_request, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return headers;
}
