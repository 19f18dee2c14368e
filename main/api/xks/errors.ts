// The XKS proxy API's errors: every error name of the spec's "Error codes" table (XKS Proxy API
// v1.0.3) with its HTTP status, in one exhaustive table, and the `{errorName, errorMessage}` body they
// are answered with. A name missing from the table does not compile; a name that is not the spec's
// cannot be thrown. The backend's failure names (backend.ts) map onto these in one table too.
import type { JsonResponse } from '../http.js';
import type { XksBackendFailure } from './backend.js';

export const XKS_ERROR_NAMES = [
  'ValidationException',
  'InvalidStateException',
  'InvalidCiphertextException',
  'InvalidKeyUsageException',
  'AuthenticationFailedException',
  'AccessDeniedException',
  'KeyNotFoundException',
  'InvalidUriPathException',
  'ThrottlingException',
  'InternalException',
  'UnsupportedOperationException',
  'DependencyTimeoutException',
] as const;

export type XksErrorName = (typeof XKS_ERROR_NAMES)[number];

export const XKS_ERROR_STATUS: Readonly<Record<XksErrorName, number>> = {
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  InternalException: 500,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
};

/** What a backend failure is called on the wire. */
export const BACKEND_FAILURE_ERRORS: Readonly<Record<XksBackendFailure, XksErrorName>> = {
  KeyNotFound: 'KeyNotFoundException',
  InvalidState: 'InvalidStateException',
  InvalidKeyUsage: 'InvalidKeyUsageException',
  InvalidCiphertext: 'InvalidCiphertextException',
  AccessDenied: 'AccessDeniedException',
  UnsupportedOperation: 'UnsupportedOperationException',
  Throttling: 'ThrottlingException',
  DependencyTimeout: 'DependencyTimeoutException',
  Internal: 'InternalException',
};

/** An error a route answers with. Messages go to AWS KMS's CloudWatch logs: never key material or plaintext. */
export class XksError extends Error {
  override readonly name = 'XksError';
  constructor(
    readonly errorName: XksErrorName,
    message: string,
  ) {
    super(message);
  }
}

export const isXksError = (e: unknown): e is XksError => e instanceof XksError;

/** The spec's limit on errorMessage: under 512 characters, printable ASCII (0x20-0x7e) only. */
export const MAX_ERROR_MESSAGE_CHARS = 511;

export function sanitizeErrorMessage(message: string): string {
  const printable = message.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > MAX_ERROR_MESSAGE_CHARS ? `${printable.slice(0, MAX_ERROR_MESSAGE_CHARS - 3)}...` : printable;
}

export const XKS_CONTENT_TYPE = 'application/json';

export function xksErrorResponse(errorName: XksErrorName, message: string, extraHeaders: Record<string, string> = {}): JsonResponse {
  return {
    status: XKS_ERROR_STATUS[errorName],
    headers: { 'content-type': XKS_CONTENT_TYPE, ...extraHeaders },
    body: JSON.stringify({ errorName, errorMessage: sanitizeErrorMessage(message) }),
  };
}

/** A backend outcome's value, or its failure as the spec's error. */
export function unwrap<T>(outcome: { ok: true; value: T } | { ok: false; failure: XksBackendFailure; message: string }): T {
  if (outcome.ok) return outcome.value;
  throw new XksError(BACKEND_FAILURE_ERRORS[outcome.failure], outcome.message);
}
