// The HTTP layer's request and response as every route sees them: the listener (server.ts) reads a
// request whole (bounded) into a RawRequest, and each route answers a RawResponse that the listener
// writes. Routes never touch node:http themselves.

export interface RawRequest {
  method: string;
  /** The request-target's path as sent (not percent-decoded). */
  path: string;
  /** The query string without '?', '' if none. */
  query: string;
  /** As node:http gives them (lower-case names). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Every value of every header, as node:http's headersDistinct (for the SigV4 canonical request). */
  headerLists?: Readonly<Record<string, string[] | undefined>>;
  body: Buffer;
  /** The peer's address, for the audit of refused requests. */
  remoteAddress?: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** Text, or bytes (the console's files). */
  body: string | Buffer;
}

/** What the API routes answer: a JSON (or text) body. */
export interface JsonResponse extends RawResponse {
  body: string;
}

/**
 * Base64 of some bytes (a view is encoded by its own bytes only). Its alphabet (A-Z a-z 0-9 + / =) has
 * nothing JSON escapes, so the KMS and XKS responses write such values between quotes as they are,
 * without JSON.stringify's scan of every character (14 µs for a 4 KiB ciphertext's 5.5 KB on Node 20,
 * more than the AES-GCM that made it).
 */
export type Base64 = string & { readonly __base64: true };

export const base64Of = (bytes: Uint8Array): Base64 => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') as Base64;
