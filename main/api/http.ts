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
