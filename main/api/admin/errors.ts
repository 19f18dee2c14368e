// The admin API's answers: its JSON (and the headers every answer carries), and its error shape
// {"error","message"} with the KmsError code's HTTP status from one exhaustive table. An error's message
// is made readable before it goes out: a message may quote what the request gave (a key ID, an action
// class, a path), and the CLI prints it to a terminal and the console shows it, so control characters
// (an escape sequence that rewrites the terminal, a NUL, a line break that forges a second line) and
// bidirectional overrides are shown escaped, and a message is cut at MAX_MESSAGE characters.
import type { KmsErrorCode } from '../../common/errors.js';
import type { JsonResponse } from '../http.js';

// KmsError codes → the admin API's HTTP statuses, in one exhaustive table like the KMS one
// (api/kms/errors.ts): a new code does not compile until it is mapped here.
export const ADMIN_STATUS: Record<KmsErrorCode, number> = {
  Validation: 400,
  Serialization: 400,
  UnknownOperation: 404,
  RequestTooLarge: 413,
  MissingAuthenticationToken: 401,
  IncompleteSignature: 401,
  UnrecognizedClient: 401,
  InvalidSignature: 401,
  AccessDenied: 403,
  Sealed: 503,
  NotInitialized: 409,
  Internal: 500,
  NotFound: 404,
  AlreadyExists: 409,
  Disabled: 409,
  InvalidState: 409,
  IncorrectKey: 400,
  InvalidCiphertext: 400,
  InvalidKeyUsage: 400,
  InvalidMarker: 400,
  InvalidArn: 400,
  InvalidAliasName: 400,
  InvalidGrantToken: 400,
  MalformedPolicyDocument: 400,
  Tag: 400,
  LimitExceeded: 409,
  UnsupportedOperation: 501,
  CustomKeyStoreNotFound: 404,
  DryRunOperation: 412,
  KeyUnavailable: 503,
  KmsInvalidSignature: 400,
  KmsInvalidMac: 400,
  ExpiredImportToken: 400,
  InvalidImportToken: 400,
  IncorrectKeyMaterial: 400,
  CustomKeyStoreInvalidState: 409,
  CustomKeyStoreNameInUse: 409,
  CustomKeyStoreHasCMKs: 409,
  CloudHsmClusterNotFound: 404,
  CloudHsmClusterInUse: 409,
  CloudHsmClusterNotRelated: 409,
  CloudHsmClusterInvalidConfiguration: 400,
  IncorrectTrustAnchor: 400,
  DependencyTimeout: 503,
  XksKeyNotFound: 404,
  XksKeyInvalidConfiguration: 400,
  XksKeyAlreadyInUse: 409,
  XksProxyUriInUse: 409,
  XksProxyUriUnreachable: 502,
  XksProxyIncorrectAuthenticationCredential: 502,
  XksProxyInvalidResponse: 502,
  XksProxyInvalidConfiguration: 400,
};

// Answers may carry secrets shown once (a session token, a new secret access key, shares, an approved
// command's result): nothing may keep them — no cache, no sniffing, no referrer.
export const json = (status: number, body: unknown): JsonResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' },
  body: JSON.stringify(body),
});

/** The longest message an error answer carries: what a person reads, whatever the request quoted. */
export const MAX_MESSAGE = 1024;

// C0 and C1 controls, DEL, the bidirectional embeddings, overrides and isolates, line and paragraph
// separators, and UTF-16 halves without their other half (which JSON would carry as a lone \uD8xx).
// eslint-disable-next-line no-control-regex
const UNREADABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A message as a person may read it: each unreadable character as \uXXXX, at most MAX_MESSAGE characters. */
export function readableMessage(message: string): string {
  const shown = message.replace(UNREADABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (shown.length <= MAX_MESSAGE) return shown;
  // Not between the two halves of a character outside the BMP.
  const cut = /[\ud800-\udbff]/.test(shown[MAX_MESSAGE - 2]!) ? MAX_MESSAGE - 2 : MAX_MESSAGE - 1;
  return `${shown.slice(0, cut)}…`;
}

/** An error answer: {"error","message"}, the message made readable. */
export const adminError = (status: number, code: string, message: string): JsonResponse => json(status, { error: code, message: readableMessage(message) });
