// Kura's loopback HTTP listener: POST / with X-Amz-Target is the KMS API, /admin/v1/ the admin API.
// Bodies are read up to a limit (oversize → an AWS-shaped error, connection kept sane); shutdown stops
// accepting, lets in-flight requests finish, then resolves.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KmsError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { KMS_WIRE_ERRORS } from './kms/errors.js';
import type { JsonResponse, RawRequest } from './kms/dispatch.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface Routes {
  kms: (req: RawRequest) => Promise<JsonResponse>;
  admin: (req: RawRequest) => Promise<JsonResponse>;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function tooLarge(): JsonResponse {
  const wire = KMS_WIRE_ERRORS.RequestTooLarge;
  return {
    status: wire.status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': wire.name, connection: 'close' },
    body: JSON.stringify({ __type: wire.name, message: new KmsError('RequestTooLarge', `Request body is larger than ${MAX_BODY_BYTES} bytes.`).message }),
  };
}

export async function startServer(opts: { host: string; port: number; routes: Routes; log: Logger }): Promise<RunningServer> {
  let inFlight = 0;
  let onDrained: (() => void) | undefined;
  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, (req, res) => {
    inFlight++;
    const done = () => {
      inFlight--;
      if (inFlight === 0) onDrained?.();
    };
    const send = (r: JsonResponse) => {
      res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
      res.end(r.body);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      rejected = true;
      send(tooLarge());
      req.resume();
      done();
      return;
    }
    req.on('data', (c: Buffer) => {
      if (rejected) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        rejected = true;
        send(tooLarge());
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (rejected) {
        done();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const raw: RawRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search.replace(/^\?/, ''),
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      let route: Promise<JsonResponse>;
      if (raw.path.startsWith('/admin/v1/')) route = opts.routes.admin(raw);
      else if (raw.path === '/' && raw.method === 'POST') route = opts.routes.kms(raw);
      else route = Promise.resolve({ status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: `Kura serves the KMS API at POST / and its admin API at /admin/v1/; nothing at ${raw.method} ${raw.path}.` }) });
      route
        .catch((e: unknown) => {
          opts.log.error('unhandled request failure', { error: e instanceof Error ? e.stack ?? e.name : typeof e });
          return { status: 500, headers: { 'content-type': 'application/json' }, body: '{"message":"internal error"}' };
        })
        .then(send)
        .finally(() => {
          raw.body.fill(0);
          done();
        });
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const drained = () => server.closeAllConnections();
        if (inFlight === 0) drained();
        else onDrained = drained;
      }),
  };
}
