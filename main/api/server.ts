// Kura's loopback HTTP listener: POST / with X-Amz-Target is the KMS API, POST / with a form body (or
// GET /?Action=…) STS's GetCallerIdentity, /admin/v1/ the admin API, /console/ the operator console's
// files.
//
// Nothing a client sends may stop the appliance (a production Kura restarts sealed, so a crash is an
// outage that needs a quorum of custodians) or hold its file descriptors:
// - the request-target is split by hand (request-target.ts), never through `new URL`, which throws on
//   targets such as `//a:99999`; every target gets an answer in the shape of the route it names;
// - one guard wraps every request and every socket: an exception is logged by its type, never by
//   content, and answered; sockets are destroyed, not half-closed, after an error or a timeout;
// - connections beyond `maxConnections` are answered 503 and closed, well before the fd limit;
// - request bodies are read up to MAX_BODY_BYTES each, and up to a budget shared by every connection
//   (body-budget.ts): past it a request is answered 503, so connections cannot add up to an OOM kill;
// - slow clients are cut off by the headers, request and idle timeouts (checked every 250 ms);
// - a graceful stop stops accepting, answers what arrives on open connections for a short grace (503,
//   Connection: close; a kept-alive client's next request may already be on its way, and a reset
//   would tell it nothing), then closes idle and half-received connections, lets requests being
//   handled finish within `drainMs`, then closes the rest.
// Why one file of this length: every rule above acts on the same per-socket phase map and the same
// request path (accept, headers, body, answer, close), and each is only safe read beside the others;
// the pieces that stand alone (the request-target, the body budget, the browser guard) are files of
// their own.
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KmsError } from '../common/errors.js';
import { coalescedLines, errorTrace, type Logger } from '../common/log.js';
import { kmsErrorResponse } from './kms/errors.js';
import { isStsRequest } from './sts/get-caller-identity.js';
import { xksErrorResponse } from './xks/errors.js';
import { browserGuard } from './browser-guard.js';
import { BodyBudget, BodyReservation, DEFAULT_MAX_BUFFERED_BODY_BYTES } from './body-budget.js';
import type { JsonResponse, RawRequest, RawResponse } from './http.js';
import { routeOf, splitRequestTarget } from './request-target.js';

// Well above the largest body any route needs (a KMS ImportKeyMaterial or a 32 KiB key policy as
// JSON, an XKS Encrypt's 4,300-byte plaintext and 8,192-byte AAD in base64): a request's own cap.
// What all requests hold at once is bounded by the body budget (limits.maxBufferedBodyBytes).
export const MAX_BODY_BYTES = 1024 * 1024;
/** How long a client whose body was refused may go on sending before its socket is destroyed. */
const REFUSED_BODY_GRACE_MS = 2_000;

export interface Routes {
  kms: (req: RawRequest) => Promise<JsonResponse>;
  admin: (req: RawRequest) => Promise<JsonResponse>;
  /** The XKS proxy API ([/prefix]/kms/xks/v1/...); without it those paths answer "not served". */
  xks?: (req: RawRequest) => Promise<JsonResponse>;
  /** GET /console/…: the operator console's files (absent: 404). */
  console?: (req: RawRequest) => Promise<RawResponse>;
  /**
   * A listener that serves the XKS proxy API only: every request whose path is not the API's is answered
   * by this (InvalidUriPathException in the spec's error shape), whatever its method, instead of by the
   * KMS, admin or console routes or their 404s and 405s.
   */
  notXks?: (req: RawRequest) => Promise<JsonResponse>;
}

export interface ServerLimits {
  /** Open connections served at once; more are answered 503 and closed. */
  maxConnections: number;
  /** From connection (or the end of the previous request) to complete request headers. */
  headersTimeoutMs: number;
  /** From the start of a request to its complete body. */
  requestTimeoutMs: number;
  /** A kept-alive connection with no request in progress. */
  idleTimeoutMs: number;
  /** On stop: how long requests already being handled may take to finish. */
  drainMs: number;
  /**
   * Bytes of request bodies held at once across all connections (default
   * DEFAULT_MAX_BUFFERED_BODY_BYTES, 64 MiB); a request whose body would go past it is answered 503.
   */
  maxBufferedBodyBytes?: number;
}

export const DEFAULT_LIMITS: Omit<ServerLimits, 'maxConnections'> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
  drainMs: 5_000,
};

/**
 * A listener with TLS (the XKS proxy's own, for AWS KMS, which reaches a proxy over HTTPS only): the
 * certificate chain and key in PEM; with `clientCa`, mutual TLS (a client must present a certificate
 * that CA issued, or the handshake fails), and with `clientSubjects` as well, a certificate whose
 * subject common name is one of them (or the connection is closed as the handshake ends, before any
 * request is read).
 */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
  clientSubjects?: readonly string[];
}

export interface RunningServer {
  url: string;
  port: number;
  /** Open connections right now (for status and tests). */
  connections(): number;
  /** Bytes of request bodies held right now against the body budget (for status and tests). */
  bufferedBodyBytes(): number;
  /**
   * A TLS listener only: new certificate, key, client CA and subjects for the connections made from now
   * on (a renewed certificate without a restart, which would leave a production appliance sealed).
   * Throws, keeping what it had, when the pair does not match, or when mutual TLS would be turned on or
   * off (that takes a restart).
   */
  reloadTls(next: ServerTls): void;
  close(): Promise<void>;
}

/** What a connection is doing: a graceful stop waits only for 'handling'. */
type Phase = 'idle' | 'receiving' | 'handling';

const KMS_JSON = 'application/x-amz-json-1.1';

/** Whether a mutual-TLS client's certificate has one of the subject common names the listener takes. */
function clientSubjectAllowed(socket: TLSSocket, subjects: readonly string[]): boolean {
  const cn: unknown = socket.getPeerCertificate().subject?.CN;
  // A certificate may carry several CNs (an array): each must be one of the names.
  const names = Array.isArray(cn) ? cn : [cn];
  return names.length > 0 && names.every((n) => typeof n === 'string' && subjects.includes(n));
}

function rawKmsError(status: number, reason: string, name: string, message: string): string {
  const body = JSON.stringify({ __type: name, message });
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: ${KMS_JSON}\r\nx-amzn-errortype: ${name}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Writes a last answer, then closes; the socket is destroyed even if the peer never reads or closes. */
function answerAndDestroy(socket: Socket, raw: string | undefined, graceMs = 1_000): void {
  if (socket.destroyed) return;
  if (!raw || !socket.writable) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.end(raw, () => {
    clearTimeout(timer);
    socket.destroy();
  });
}

/** Parser errors and timeouts that Node reports through 'clientError', as the answer they get. */
function clientErrorAnswer(code: string | undefined): string | undefined {
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return rawKmsError(408, 'Request Timeout', 'RequestTimeoutException', 'The request was not received in time.');
    case 'HPE_HEADER_OVERFLOW':
      return rawKmsError(431, 'Request Header Fields Too Large', 'ValidationException', 'The request headers are too large.');
    default:
      return rawKmsError(400, 'Bad Request', 'SerializationException', 'The request is not well-formed HTTP/1.1.');
  }
}

/** Requests that may wait behind the one being answered on a connection (HTTP/1.1 pipelining). */
const MAX_PIPELINED = 8;

/** How long a TLS client has to finish its handshake. */
const TLS_HANDSHAKE_TIMEOUT_MS = 3_000;

/**
 * On stop, how long connections with nothing in progress stay open: a request already sent on a
 * kept-alive connection arrives within it and is answered (503, Connection: close) instead of reset.
 */
const STOP_GRACE_MS = 200;

/** What a request answers when Kura cannot take it now (stopping, over a capacity), in its route's shape: 503, retryable. */
function unavailable(route: ReturnType<typeof routeOf>, message: string): JsonResponse {
  // AWS KMS retries an XKS proxy's 503 as it does KMS's own.
  return route === 'xks' ? xksErrorResponse('DependencyTimeoutException', message) : kmsErrorResponse(503, 'ServiceUnavailableException', message);
}

export async function startServer(opts: {
  host: string;
  port: number;
  routes: Routes;
  log: Logger;
  limits: ServerLimits;
  tls?: ServerTls;
  /** A budget shared with the process's other listeners (the XKS proxy's); without it, one of this listener's own. */
  bodyBudget?: BodyBudget;
}): Promise<RunningServer> {
  const { log, limits } = opts;
  const budget = opts.bodyBudget ?? new BodyBudget(limits.maxBufferedBodyBytes ?? DEFAULT_MAX_BUFFERED_BODY_BYTES);
  const phases = new Map<Socket, Phase>();
  let stopping = false;
  /** Called when a connection's phase changes or it closes (a stop waits on these). */
  let onChange: (() => void) | undefined;
  const handling = () => [...phases.values()].filter((p) => p === 'handling').length;

  const { tls } = opts;
  /** The TLS settings in force (reloadTls replaces them). */
  let current = tls;
  const tlsOptions: https.ServerOptions = tls
    ? {
        cert: tls.cert,
        key: tls.key,
        minVersion: 'TLSv1.2',
        // A handshake that never ends is a slowloris too; a real client's takes milliseconds.
        handshakeTimeout: Math.min(limits.headersTimeoutMs, TLS_HANDSHAKE_TIMEOUT_MS),
        ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      }
    : {};
  const serverOptions: http.ServerOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks the two timeouts above on this interval (default 30 s, which would let a
    // slowloris client keep its socket for up to twice the configured time).
    connectionsCheckingInterval: Math.max(50, Math.min(250, limits.headersTimeoutMs / 4)),
    // Kura's API has no use for large headers; Node's default is 16 KiB.
    maxHeaderSize: 16 * 1024,
  };
  // One request at a time per connection. Node parses pipelined requests as they arrive and would hand
  // them all over at once: each would read its body (up to 1 MiB) and hold it until answered, so one
  // client could pipeline its way past every connection limit, and a graceful stop could not tell a
  // call in progress behind an answered one. A request that arrives while another on its connection is
  // not answered yet waits, unread (Node stops reading the socket once its buffer is full), and starts
  // when the one before it has been answered; past MAX_PIPELINED waiting, the connection is closed.
  const lines = new Map<Socket, (() => void)[]>();
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const socket = req.socket;
    const waiting = lines.get(socket);
    if (waiting) {
      if (waiting.length >= MAX_PIPELINED) socket.destroy();
      else waiting.push(() => start(req, res));
      return;
    }
    lines.set(socket, []);
    start(req, res);
  };
  function start(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    try {
      handleRequest(req, res);
    } catch (e) {
      // A throw here is a bug in Kura: answer it, log its type, keep serving.
      const requestId = randomUUID();
      log.error('request guard: a bug in Kura; the request was answered 500 and Kura goes on serving', { requestId, error: errorTrace(e) });
      if (!res.headersSent) send(res, kmsErrorResponse(500, 'KMSInternalException', 'An internal error occurred in Kura; see its log.', requestId));
      else socket.destroy();
      setPhase(socket, 'idle');
    }
    // After handleRequest's own listeners, so that the next request's phase is not overwritten by this one's end.
    let done = false;
    const next = () => {
      if (done) return;
      done = true;
      // A connection that closed answers nothing more: what waited on it goes with it.
      const following = socket.destroyed ? undefined : lines.get(socket)?.shift();
      if (following) following();
      else lines.delete(socket);
    };
    res.once('finish', next);
    res.once('close', next);
  }
  const server: http.Server = tls ? https.createServer({ ...tlsOptions, ...serverOptions }, onRequest) : http.createServer(serverOptions, onRequest);

  function setPhase(socket: Socket, phase: Phase): void {
    if (!phases.has(socket)) return;
    phases.set(socket, phase);
    onChange?.();
  }

  function send(res: http.ServerResponse, r: RawResponse): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = { ...r.headers, 'content-length': Buffer.byteLength(r.body) };
    if (stopping) headers.connection = 'close';
    res.writeHead(r.status, headers);
    res.end(r.body);
  }

  function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    setPhase(socket, 'receiving');
    res.on('finish', () => setPhase(socket, 'idle'));
    res.on('close', () => setPhase(socket, 'idle'));
    req.on('error', () => socket.destroy());

    // A request line without a version is HTTP/0.9 to Node, which closes the socket as soon as this
    // handler returns: answer at once.
    if (req.httpVersionMajor < 1) {
      res.shouldKeepAlive = false;
      send(res, kmsErrorResponse(400, 'ValidationException', 'Kura serves HTTP/1.1; the request line has no HTTP version.'));
      return;
    }
    const target = splitRequestTarget(req.url ?? '');
    // On a listener that serves the XKS proxy API only, every refusal is in that API's error shape.
    const route = opts.routes.notXks ? 'xks' : target ? routeOf(target.path) : 'kms';
    const tooLarge = (): JsonResponse =>
      route === 'admin'
        ? { status: 413, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'RequestTooLarge', message: `Request body is larger than ${MAX_BODY_BYTES} bytes.` }) }
        : route === 'xks'
          ? xksErrorResponse('ValidationException', `Request body is larger than ${MAX_BODY_BYTES} bytes.`)
          : kmsErrorResponse(413, 'RequestEntityTooLargeException', new KmsError('RequestTooLarge', `Request body is larger than ${MAX_BODY_BYTES} bytes.`).message);
    const refuseBody = (answer: JsonResponse) => {
      // Answer at once, drain the rest of the body, and close only once it has ended: closing a
      // socket with unread data resets the connection, and a client still sending would see
      // ECONNRESET/EPIPE instead of the 413 or 503. A client that keeps sending is cut off after a
      // grace period, so it cannot hold the socket. The answer says Connection: close, so that a
      // kept-alive client does not send its next request on a socket about to close. Node ends such a
      // socket's answer with destroySoon(), which destroys it once the answer is written, unread body
      // and all (the client's EPIPE): here it only ends the answer's side, and the socket goes when the
      // body has ended (half-open: http sockets allow it) or the grace period has passed.
      res.shouldKeepAlive = false;
      socket.destroySoon = () => socket.end();
      send(res, answer);
      req.resume();
      const timer = setTimeout(() => socket.destroy(), REFUSED_BODY_GRACE_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
      const close = () => socket.end();
      if (req.complete) close();
      else req.once('end', close);
    };

    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      refuseBody(tooLarge());
      return;
    }
    // The body's bytes count against the shared budget from their arrival until the request is
    // answered. Every way a request ends closes its response ('close' follows 'finish', and comes
    // alone when the socket goes: an abort, a timeout, an error), which returns them, unless the
    // handler holds the body by then: it returns them once it has answered and wiped the body.
    const reservation = new BodyReservation(budget);
    let handedOver = false;
    res.once('close', () => {
      if (!handedOver) reservation.release();
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    const reject = (answer: JsonResponse) => {
      rejected = true;
      for (const b of chunks) b.fill(0);
      chunks.length = 0;
      reservation.release();
      refuseBody(answer);
    };
    req.on('data', (c: Buffer) => {
      if (rejected) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(tooLarge());
        return;
      }
      if (!reservation.grow(c.length)) {
        reject(unavailable(route, 'Kura is receiving too many request bodies at once; try again.'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (rejected) return;
      handedOver = true;
      setPhase(socket, 'handling');
      const body = Buffer.concat(chunks);
      for (const b of chunks) b.fill(0);
      void answer(req, target, body)
        .catch((e: unknown) => {
          // A bug in Kura: the line says where (route, frames) and carries the request ID the client
          // was answered with, so its error can be matched to this line.
          const requestId = randomUUID();
          log.error('unhandled request failure: a bug in Kura; the request was answered 500 and Kura goes on serving', {
            requestId,
            route: target ? routeOf(target.path) : 'none',
            error: errorTrace(e),
          });
          return kmsErrorResponse(500, 'KMSInternalException', 'An internal error occurred in Kura; see its log.', requestId);
        })
        .then((r) => send(res, r))
        .finally(() => {
          body.fill(0);
          reservation.release();
        });
    });
  }

  async function answer(req: http.IncomingMessage, target: ReturnType<typeof splitRequestTarget>, body: Buffer): Promise<RawResponse> {
    const method = req.method ?? 'GET';
    if (!target) return kmsErrorResponse(400, 'ValidationException', 'The request-target is not a path Kura serves.');
    if (stopping) return unavailable(opts.routes.notXks ? 'xks' : routeOf(target.path), 'Kura is stopping.');
    const raw: RawRequest = { method, path: target.path, query: target.query, headers: req.headers, headerLists: req.headersDistinct, body, remoteAddress: req.socket.remoteAddress ?? 'unknown' };
    if (opts.routes.notXks && routeOf(target.path) !== 'xks') return opts.routes.notXks(raw);
    switch (routeOf(target.path)) {
      case 'admin':
        return browserGuard(raw, opts.host, { checkOrigin: true }) ?? opts.routes.admin(raw);
      case 'kms':
        // STS's Query protocol also comes as GET /?Action=…; its handler answers it in STS's XML.
        if (method !== 'POST' && !(method === 'GET' && isStsRequest(raw))) {
          const r = kmsErrorResponse(405, 'UnknownOperationException', `The KMS API takes POST /, not ${method.slice(0, 16)}.`);
          return { ...r, headers: { ...r.headers, allow: 'POST' } };
        }
        return opts.routes.kms(raw);
      case 'console':
        if (opts.routes.console) return browserGuard(raw, opts.host, { checkOrigin: false }) ?? opts.routes.console(raw);
        return kmsErrorResponse(404, 'UnknownOperationException', 'This listener does not serve the operator console.');
      case 'xks':
        if (opts.routes.xks) return opts.routes.xks(raw);
        return {
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ errorName: 'InvalidUriPathException', errorMessage: 'Kura does not serve the XKS proxy API yet.' }),
        };
      default:
        return kmsErrorResponse(404, 'UnknownOperationException', 'Kura serves the KMS API at POST / and its admin API at /admin/v1/; nothing here.');
    }
  }

  // With TLS, a connection's TCP socket is counted from its accept (a client that never sends its hello
  // holds an open file all the same), and past the limit it is closed: nothing can be answered before a
  // handshake. Its TLS socket, once the handshake is done, is the one requests arrive on and answers go to.
  if (tls) {
    const unencrypted = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      socket.on('error', () => socket.destroy());
      if (stopping || unencrypted.size >= limits.maxConnections) {
        socket.destroy();
        return;
      }
      unencrypted.add(socket);
      socket.once('close', () => unencrypted.delete(socket));
    });
  }
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    // Every socket gets an error listener: an error is never unhandled, and the socket is freed.
    socket.on('error', () => socket.destroy());
    if (current?.clientSubjects && !clientSubjectAllowed(socket as TLSSocket, current.clientSubjects)) {
      // Anyone who reaches the listener with a certificate of the CA can do this as fast as they like: the
      // first refusal of a minute is written, the others counted (coalescedLines).
      coalescedLines(log).warn({ source: 'tls', refused: 'client-subject' }, 'TLS client certificate refused: its subject is not one the listener takes', { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    if (stopping || phases.size >= limits.maxConnections) {
      answerAndDestroy(
        socket,
        rawKmsError(503, 'Service Unavailable', 'ServiceUnavailableException', stopping ? 'Kura is stopping.' : 'Kura has too many open connections; try again.'),
      );
      return;
    }
    phases.set(socket, 'idle');
    socket.once('close', () => {
      phases.delete(socket);
      onChange?.();
    });
  });

  // Without these listeners Node closes CONNECT and upgrade requests (a PRI preface, Upgrade:
  // websocket) without a word; Kura answers them, then closes.
  server.on('connect', (_req: http.IncomingMessage, socket: Socket) => {
    setPhase(socket, 'idle');
    answerAndDestroy(socket, rawKmsError(405, 'Method Not Allowed', 'UnknownOperationException', 'Kura is not a proxy: CONNECT is not served.'));
  });
  server.on('upgrade', (_req: http.IncomingMessage, socket: Socket) => {
    setPhase(socket, 'idle');
    answerAndDestroy(socket, rawKmsError(400, 'Bad Request', 'ValidationException', 'Kura does not upgrade connections; send plain HTTP/1.1 requests.'));
  });
  // An Expect other than 100-continue: Node would answer a bare 417 with an empty body; Kura answers in
  // the API's error shape, and closes (the body, if any, was never asked for).
  server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.shouldKeepAlive = false;
    send(res, kmsErrorResponse(417, 'ValidationException', 'Kura takes no expectation but Expect: 100-continue.'));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    setPhase(socket, 'idle');
    answerAndDestroy(socket, clientErrorAnswer(err.code));
  });

  /** Resolves once `done()` holds (checked at each phase change and close) or after `ms`. */
  function until(done: () => boolean, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (done()) return resolve();
      const finish = () => {
        clearTimeout(timer);
        onChange = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      onChange = () => {
        if (done()) finish();
      };
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, an 'error' (EMFILE on accept, say) must not become an uncaught exception.
  server.on('error', (e: NodeJS.ErrnoException) => log.error('listener error', { error: e.code ?? e.name }));
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`,
    port,
    connections: () => phases.size,
    bufferedBodyBytes: () => budget.bytesHeld(),
    reloadTls(next: ServerTls) {
      if (!current) throw new Error('This listener has no TLS to reload.');
      if ((next.clientCa === undefined) !== (current.clientCa === undefined)) {
        throw new Error('Turning mutual TLS on or off (the client CA) takes a restart; the certificate was not reloaded.');
      }
      // Throws (and changes nothing) when the key is not the certificate's.
      (server as https.Server).setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2', ...(next.clientCa ? { ca: next.clientCa } : {}) });
      current = next;
    },
    close() {
      closing ??= (async () => {
        stopping = true;
        // Stop accepting, but not through http.Server#close: since Node 19 it destroys every kept-alive
        // connection with no request in progress at once, resetting a request already on its way.
        const closed = new Promise<void>((r) => net.Server.prototype.close.call(server, () => r()));
        // From now on every answer says Connection: close and a new request is answered 503 (answer()),
        // so a client that was between two requests learns to retry; after the grace, connections with
        // nothing in progress (idle, or a request still half-received) go, and only calls being handled drain.
        const graceMs = Math.min(STOP_GRACE_MS, limits.drainMs);
        await until(() => phases.size === 0, graceMs);
        for (const [socket, phase] of phases) if (phase !== 'handling') socket.destroy();
        await until(() => handling() === 0, limits.drainMs - graceMs);
        for (const socket of phases.keys()) socket.destroy();
        server.closeAllConnections();
        await closed;
        // http's own close, now that the listener is closed, only stops its timeout checker.
        server.close();
      })();
      return closing;
    },
  };
}
