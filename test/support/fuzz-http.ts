// What the fuzz and abuse tests (test/fuzz/) share on the wire: a raw TCP exchange that sends exact
// bytes and reads the answer (RFC 9112 framing: Content-Length, chunked, or until close; interim 1xx
// answers skipped), SigV4-signed KMS calls with node:crypto hashing (the signer the AWS SDKs use,
// @smithy/signature-v4), the checks every answer must pass (no 5xx but the documented 503, no stack
// trace or internal text, the JSON error shape of its route), and /proc readings of a server process.
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

export interface RawAnswer {
  /** The status of the first final (non-1xx) answer, or undefined when none arrived. */
  status: number | undefined;
  /** Its status line and headers (lower-cased names; repeated ones joined with ", "). */
  statusLine: string;
  headers: Record<string, string>;
  /** Its body (de-chunked), at most `maxBytes`. */
  body: Buffer;
  /** Every byte received (at most `maxBytes`), for messages. */
  raw: Buffer;
  /** How the exchange ended. */
  outcome: 'answered' | 'closed' | 'reset' | 'refused' | 'timeout' | 'oversize';
  /** The socket error, if any (ECONNRESET, ECONNREFUSED, EPIPE, …). */
  error?: string;
  /** Milliseconds from connect to the end of the answer. */
  ms: number;
}

export interface RawOptions {
  port: number;
  host?: string;
  /** The exchange gives up this long after the bytes were written (default 5 s). */
  timeoutMs?: number;
  /**
   * When nothing has arrived this long after the bytes were written, the client half-closes (FIN), so
   * that a server waiting for more of an incomplete request can see the end and answer its 400.
   * 0 half-closes at once; undefined never does.
   */
  halfCloseAfterMs?: number;
  /** Stop reading (outcome 'oversize') past this many bytes (default 1 MiB). */
  maxBytes?: number;
  /** The request was HEAD: its answer has no body whatever Content-Length says. */
  head?: boolean;
}

interface ParsedHead {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  bodyStart: number;
}

function parseHead(buf: Buffer, from: number): ParsedHead | undefined | 'garbage' {
  const end = buf.indexOf('\r\n\r\n', from, 'latin1');
  if (end < 0) {
    // A server that answers something that is not HTTP at all should be noticed, not waited for.
    const line = buf.subarray(from, Math.min(buf.length, from + 12)).toString('latin1');
    if (line.length >= 5 && !'HTTP/'.startsWith(line.slice(0, 5)) && !line.startsWith('HTTP/')) return 'garbage';
    return undefined;
  }
  const lines = buf.subarray(from, end).toString('latin1').split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!m) return 'garbage';
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(m[1]), statusLine, headers, bodyStart: end + 4 };
}

/** The body of a chunked message from `start`, or undefined while incomplete. */
function dechunk(buf: Buffer, start: number): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const eol = buf.indexOf('\r\n', at, 'latin1');
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) return Buffer.concat(parts);
    if (size === 0) return buf.indexOf('\r\n', eol + 2, 'latin1') >= 0 ? Buffer.concat(parts) : undefined;
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * Sends `bytes` on a new connection and reads the first final answer. Never throws: whatever happens
 * (refused, reset, closed without an answer, no answer in time) is the outcome.
 */
export function exchangeRaw(bytes: Buffer | string, opts: RawOptions): Promise<RawAnswer> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ port: opts.port, host: opts.host ?? '127.0.0.1' });
    const chunks: Buffer[] = [];
    let received = 0;
    let finished = false;
    let error: string | undefined;
    let halfCloseTimer: NodeJS.Timeout | undefined;
    let connected = false;
    // A 100 Continue is not the answer: the half-close waits for a final status line.
    let sawFinal = false;
    const timer = setTimeout(() => finish('timeout'), timeoutMs);

    const finish = (outcome: RawAnswer['outcome'], answer?: { head: ParsedHead; body: Buffer }) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(halfCloseTimer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      let head = answer?.head;
      let body = answer?.body ?? Buffer.alloc(0);
      if (!head) {
        // Closed, reset or timed out: report whatever final answer did arrive, complete or not.
        let from = 0;
        for (;;) {
          const h = parseHead(raw, from);
          if (h === undefined || h === 'garbage') break;
          if (h.status >= 200 || h.status < 100) {
            head = h;
            body = raw.subarray(h.bodyStart);
            break;
          }
          from = h.bodyStart;
        }
      }
      resolve({
        status: head?.status,
        statusLine: head?.statusLine ?? '',
        headers: head?.headers ?? {},
        body,
        raw,
        outcome: head && outcome !== 'oversize' && outcome !== 'timeout' ? 'answered' : outcome,
        ...(error === undefined ? {} : { error }),
        ms: Date.now() - started,
      });
    };

    const tryComplete = () => {
      const raw = Buffer.concat(chunks);
      let from = 0;
      for (;;) {
        const h = parseHead(raw, from);
        if (h === undefined) return;
        if (h === 'garbage') return finish('answered');
        if (h.status >= 100 && h.status < 200) {
          from = h.bodyStart;
          continue;
        }
        sawFinal = true;
        if (opts.head || h.status === 204 || h.status === 304) return finish('answered', { head: h, body: Buffer.alloc(0) });
        if (/chunked/i.test(h.headers['transfer-encoding'] ?? '')) {
          const body = dechunk(raw, h.bodyStart);
          if (body !== undefined) finish('answered', { head: h, body });
          return;
        }
        const length = h.headers['content-length'];
        if (length !== undefined && /^\d+$/.test(length)) {
          if (raw.length - h.bodyStart >= Number(length)) finish('answered', { head: h, body: raw.subarray(h.bodyStart, h.bodyStart + Number(length)) });
        }
        // No framing: the body runs to the close.
        return;
      }
    };

    socket.on('connect', () => {
      connected = true;
      socket.write(data, (err) => {
        if (err) return;
        if (opts.halfCloseAfterMs === 0) socket.end();
        else if (opts.halfCloseAfterMs !== undefined)
          halfCloseTimer = setTimeout(() => {
            if (!sawFinal && !socket.destroyed) socket.end();
          }, opts.halfCloseAfterMs);
      });
    });
    socket.on('data', (c: Buffer) => {
      received += c.length;
      if (received > maxBytes) {
        chunks.push(c.subarray(0, Math.max(0, c.length - (received - maxBytes))));
        return finish('oversize');
      }
      chunks.push(c);
      tryComplete();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
      finish(!connected && e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : 'closed');
    });
    socket.on('close', () => finish('closed'));
  });
}

// ---- what no answer may contain ----------------------------------------------------------------------------

/**
 * Signs of an internal error or a stack trace in an answer body. A match that the request itself
 * contains (a path echoed in a 404 message) is not a leak.
 */
const LEAK_PATTERNS: readonly RegExp[] = [
  /\bat [^\s()]*\s?\(?(?:file:\/\/)?\/[^\s)]*:\d+(?::\d+)?\)?/, // a stack frame with a path and line
  /\bat (?:async )?[\w$.<>[\] ]+ \((?:file:|node:|\/)/, // a stack frame with a function name
  /node:internal/,
  /\b\w*Error: [^"]*\//, // an error message that carries a path
  /\/work\//,
  /\bdist\//,
  /\bmain\/\w+/,
  /\bTypeError\b/,
  /\bSyntaxError\b/,
  /\bRangeError\b/,
  /\bReferenceError\b/,
  /\bERR_[A-Z_]{3,}/,
  /\binternal error\b/i,
  /\.(?:js|ts|mjs):\d+/,
];

/** The leak patterns that `body` matches and `request` does not contain. */
export function leaksIn(body: string, request: string): string[] {
  const found: string[] = [];
  for (const pattern of LEAK_PATTERNS) {
    const m = pattern.exec(body);
    // "nothing at GET /x:1" echoes the request's "GET /x:1": the echo is not a stack frame.
    if (m && !request.includes(m[0]) && !request.includes(m[0].replace(/^at\s+/, ''))) found.push(`${pattern.source} matched ${JSON.stringify(m[0])}`);
  }
  return found;
}

/** The status is one a client may ever see: anything below 500, or the documented 503. */
export const allowedStatus = (status: number): boolean => status < 500 || status === 503;

export type ErrorShape = 'kms' | 'admin' | 'xks';

const SHAPES: Record<ErrorShape, { keys: [string, string]; show: string }> = {
  kms: { keys: ['__type', 'message'], show: '{"__type","message"}' },
  admin: { keys: ['error', 'message'], show: '{"error","message"}' },
  xks: { keys: ['errorName', 'errorMessage'], show: '{"errorName","errorMessage"}' },
};

/**
 * What is wrong with the JSON body of an error answer, or undefined when it has one of the `allowed`
 * error shapes: the KMS JSON 1.1 `{"__type","message"}` (with a matching x-amzn-errortype header when it
 * has one), the admin API's `{"error","message"}`, the XKS proxy API's `{"errorName","errorMessage"}`.
 * An empty body passes (a HEAD answer, Node's own 417).
 */
export function errorShapeProblem(body: Buffer, headers: Record<string, string>, allowed: readonly ErrorShape[]): string | undefined {
  if (body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'the body is not a JSON object';
  const o = parsed as Record<string, unknown>;
  const fits = (shape: ErrorShape) => SHAPES[shape].keys.every((k) => typeof o[k] === 'string') && o[SHAPES[shape].keys[0]] !== '';
  if (!allowed.some(fits)) return `not ${allowed.map((a) => SHAPES[a].show).join(' or ')}: keys ${JSON.stringify(Object.keys(o))}`;
  const header = headers['x-amzn-errortype'];
  if (fits('kms') && header !== undefined && header.split(':')[0] !== o.__type) return `x-amzn-errortype ${header} differs from __type ${String(o.__type)}`;
  return undefined;
}

/** A request or answer shown in a message: printable ASCII kept, everything else escaped, long ones cut. */
export function show(bytes: Buffer | string, max = 300): string {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  let out = '';
  for (const byte of b.subarray(0, max)) {
    if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else if (byte === 0x0d) out += '\\r';
    else if (byte === 0x0a) out += '\\n';
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return b.length > max ? `${out}… (${b.length} bytes)` : out;
}

// ---- SigV4-signed KMS calls --------------------------------------------------------------------------------

/** node:crypto SHA-256 / HMAC-SHA-256 as a @smithy Checksum: far cheaper than the pure-JS sha256-js. */
class NodeSha256 {
  private readonly key: Buffer | undefined;
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.key =
      secret === undefined
        ? undefined
        : typeof secret === 'string'
          ? Buffer.from(secret, 'utf8')
          : ArrayBuffer.isView(secret)
            ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
            : Buffer.from(secret);
    this.hash = this.fresh();
  }
  private fresh() {
    return this.key === undefined ? createHash('sha256') : createHmac('sha256', this.key);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface KmsEndpoint {
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface KmsAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body, at most `maxBytes` of it. */
  body: Buffer;
  /** The whole body's size as far as it was read (past maxBytes the read stops: `oversize`). */
  bytes: number;
  oversize: boolean;
  ms: number;
}

/** The signed headers of `POST /` with `X-Amz-Target: TrentService.<operation>` and exactly `body`. */
export async function signKms(kura: KmsEndpoint, operation: string, body: Buffer): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 'kms',
    region: 'us-east-1',
    credentials: { accessKeyId: kura.accessKeyId, secretAccessKey: kura.secretAccessKey },
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: kura.port,
    path: '/',
    query: {},
    headers: {
      host: `127.0.0.1:${kura.port}`,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${operation}`,
      'content-length': String(body.length),
    },
    body,
  });
  return signed.headers as Record<string, string>;
}

/**
 * One signed KMS call with exactly `body`; resolves with the answer (status 0 when none came: the
 * headers say why). Stops reading past `maxBytes` so that a runaway answer costs the test little.
 */
export async function kmsCall(
  kura: KmsEndpoint,
  operation: string,
  body: Buffer | string,
  opts: { agent?: http.Agent; timeoutMs?: number; maxBytes?: number } = {},
): Promise<KmsAnswer> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers = await signKms(kura, operation, bytes);
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (a: Omit<KmsAnswer, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...a, ms: Date.now() - started });
    };
    const req = http.request(
      { host: '127.0.0.1', port: kura.port, method: 'POST', path: '/', headers, agent: opts.agent ?? false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const flat = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            settle({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks), bytes: size, oversize: true });
            req.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => settle({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks), bytes: size, oversize: false }));
        res.on('error', (e) => settle({ status: 0, headers: { error: e.message }, body: Buffer.concat(chunks), bytes: size, oversize: false }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => settle({ status: 0, headers: { error: e.code ?? e.message }, body: Buffer.alloc(0), bytes: 0, oversize: false }));
    req.end(bytes);
  });
}

/**
 * The exact bytes of a signed `POST /` for `operation` with `body` (and `connection: close`, which is
 * not signed), for exchangeRaw: an answer that comes while the body is still being sent is still read.
 */
export async function signedKmsBytes(kura: KmsEndpoint, operation: string, body: Buffer): Promise<Buffer> {
  const headers = await signKms(kura, operation, body);
  const head = `POST / HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** A signed call that must succeed (setup, liveness probes); returns the parsed output. */
export async function kmsOk(kura: KmsEndpoint, operation: string, input: unknown): Promise<Record<string, unknown>> {
  const a = await kmsCall(kura, operation, JSON.stringify(input));
  if (a.status !== 200) throw new Error(`${operation} answered ${a.status || a.headers.error}: ${show(a.body)}`);
  return JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
}

// ---- the server process, from /proc ------------------------------------------------------------------------

/** How many file descriptors the process has open (entries of /proc/<pid>/fd). */
export function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** The process's resident set size in KiB (VmRSS of /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** The soft and hard RLIMIT_NOFILE of the process (/proc/<pid>/limits). */
export function nofileLimit(pid: number): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const n = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}

/** Whether a child process is still running (neither exited nor killed by a signal). */
export const alive = (proc: { exitCode: number | null; signalCode: NodeJS.Signals | null }): boolean => proc.exitCode === null && proc.signalCode === null;
