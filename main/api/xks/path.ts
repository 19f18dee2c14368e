// The XKS proxy API's request paths (XKS Proxy API v1.0.3, "API operations"):
//   [/<prefix>]/kms/xks/v1/keys/<externalKeyId>/metadata|encrypt|decrypt   and   [/<prefix>]/kms/xks/v1/health
// The prefix is optional and may have several segments (XksProxyUriPath: at most 128 characters of
// a-z A-Z 0-9 / - _, ending in /kms/xks/v1); an externalKeyId is 1-128 characters of A-Z a-z 0-9 . - _.
// Paths are compared as sent, never percent-decoded: none of these characters needs encoding.
import type { XksOperation } from './decode.js';

export interface XksTarget {
  /** '' when there is none; 'a/b' for /a/b/kms/xks/v1. */
  uriPathPrefix: string;
  operation: XksOperation;
  /** Present for the key routes. */
  externalKeyId?: string;
}

const API_ROOT = '/kms/xks/v1';
const MAX_URI_PATH_CHARS = 128;
const PREFIX_SEGMENT = /^[A-Za-z0-9_-]+$/;
const EXTERNAL_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;
const KEY_OPERATIONS: Readonly<Record<string, XksOperation>> = { metadata: 'GetKeyMetadata', encrypt: 'Encrypt', decrypt: 'Decrypt' };

/** The route a path names, or a reason it names none (answered InvalidUriPathException). */
export function parseXksPath(path: string): XksTarget | { invalid: string } {
  const at = path.indexOf(`${API_ROOT}/`);
  if (at < 0) return { invalid: 'The path does not contain /kms/xks/v1/.' };
  const prefixPath = path.slice(0, at);
  const rest = path.slice(at + API_ROOT.length + 1);
  if (prefixPath.length + API_ROOT.length > MAX_URI_PATH_CHARS) return { invalid: 'The URI path prefix is longer than 128 characters.' };
  const uriPathPrefix = prefixPath.slice(1);
  if (prefixPath !== '' && !uriPathPrefix.split('/').every((s) => PREFIX_SEGMENT.test(s))) {
    return { invalid: 'The URI path prefix has characters other than a-z, A-Z, 0-9, -, _ or empty segments.' };
  }
  if (rest === 'health') return { uriPathPrefix, operation: 'GetHealthStatus' };
  const parts = rest.split('/');
  const [keys, externalKeyId = '', op = ''] = parts;
  const operation = KEY_OPERATIONS[op];
  if (parts.length !== 3 || keys !== 'keys' || !Object.hasOwn(KEY_OPERATIONS, op) || operation === undefined) {
    return { invalid: 'The path names no XKS operation: expected /kms/xks/v1/health or /kms/xks/v1/keys/<externalKeyId>/metadata|encrypt|decrypt.' };
  }
  if (!EXTERNAL_KEY_ID.test(externalKeyId)) {
    return { invalid: 'The externalKeyId must be 1 to 128 characters of A-Z, a-z, 0-9, period, hyphen or underscore.' };
  }
  return { uriPathPrefix, operation, externalKeyId };
}
