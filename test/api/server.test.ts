// The listener itself (main/api/server.ts) with stub routes: HTTP/1.1 pipelining over a raw socket.
// Requests sent back to back on one connection are answered in order, one at a time: a request waits,
// unread, until the one before it is answered (so pipelined bodies are not all held at once), and a
// graceful stop waits for the call in progress behind an answered one.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../main/api/server.js';
import type { JsonResponse, RawRequest } from '../../main/api/http.js';
import { createLogger } from '../../main/common/log.js';

const LIMITS = { maxConnections: 16, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, idleTimeoutMs: 5_000, drainMs: 5_000 };

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A KMS route that answers after `delayMs` (from the body), counting the calls in progress at once. */
function slowRoute() {
  const seen = { inProgress: 0, most: 0, bodies: [] as string[] };
  const kms = async (req: RawRequest): Promise<JsonResponse> => {
    seen.inProgress++;
    seen.most = Math.max(seen.most, seen.inProgress);
    const { n, delayMs } = JSON.parse(req.body.toString('utf8')) as { n: number; delayMs: number };
    seen.bodies.push(String(n));
    await new Promise((r) => setTimeout(r, delayMs));
    seen.inProgress--;
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) };
  };
  return { seen, kms };
}

const request = (n: number, delayMs: number, pad = 0): string => {
  const body = JSON.stringify({ n, delayMs }) + ' '.repeat(pad);
  return `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

/** Sends `text` on one socket and collects what comes back until `count` answers have arrived or the socket closes. */
function pipeline(port: number, text: string, count: number, onAnswer?: (i: number) => void): Promise<{ answers: string[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    let seen = 0;
    const answers = () => received.split('HTTP/1.1 ').slice(1).map((a) => a.slice(0, 3) + ' ' + (/\{"n":(\d+)\}/.exec(a)?.[1] ?? '?'));
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
      const now = answers().length;
      for (; seen < now; seen++) onAnswer?.(seen);
      if (now >= count) {
        socket.end();
        resolve({ answers: answers(), closed: false });
      }
    });
    socket.on('close', () => resolve({ answers: answers(), closed: true }));
    socket.on('error', () => undefined);
    socket.write(text);
  });
}

describe('HTTP/1.1 pipelining', () => {
  it('answers pipelined requests in order, one at a time', async () => {
    const { seen, kms } = slowRoute();
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits: LIMITS, routes: { kms, admin: kms } });
    const { answers } = await pipeline(server.port, request(1, 60) + request(2, 10) + request(3, 30, 200_000), 3);
    expect(answers).toEqual(['200 1', '200 2', '200 3']);
    expect(seen.most).toBe(1);
    expect(seen.bodies).toEqual(['1', '2', '3']);
  });

  it('a stop waits for the call in progress behind an answered one', async () => {
    const { kms } = slowRoute();
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits: LIMITS, routes: { kms, admin: kms } });
    const running = server;
    let stopped: Promise<void> | undefined;
    const { answers } = await pipeline(running.port, request(1, 0) + request(2, 300), 2, (i) => {
      // The first answer is in: the second call is in progress now; stop.
      if (i === 0) setTimeout(() => (stopped = running.close()), 50);
    });
    expect(answers).toEqual(['200 1', '200 2']);
    await stopped;
  });
});

describe('expectations', () => {
  it('answers an Expect other than 100-continue with a 417 in the API error shape', async () => {
    const { kms } = slowRoute();
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits: LIMITS, routes: { kms, admin: kms } });
    const text = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-weird\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}`;
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: server!.port });
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
      socket.write(text);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 417 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ __type: 'ValidationException' });
  });
});

describe('a refused body', () => {
  // The admin fuzzer's keep-alive client sent its next request on the socket of a 413 that said
  // "Connection: keep-alive" and that the listener then closed: ECONNRESET, no answer
  // (test/fuzz/admin-routes.test.ts). An answer after which the connection closes says so.
  it('is answered 413 with Connection: close, and the connection closes once the body has ended', async () => {
    const { kms } = slowRoute();
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits: LIMITS, routes: { kms, admin: kms } });
    for (const path of ['/', '/admin/v1/operators']) {
      const body = `{"a":"${'z'.repeat(1024 * 1024)}"}`;
      const text = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}${request(1, 0)}`;
      const { answers, closed } = await pipeline(server.port, text, 2);
      expect(answers).toEqual(['413 ?']);
      expect(closed).toBe(true);
    }
    const head = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: server!.port });
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
      socket.write(`POST /admin/v1/operators HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
      socket.end();
    });
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head.slice(0, head.indexOf('\r\n\r\n') + 2).toLowerCase()).toContain('\r\nconnection: close\r\n');
  });
});

describe('a refused body sent after its answer', () => {
  // A client that sends its body only as the 413 arrives (a large upload in progress) must be able to
  // finish it, not be cut off: Node's "Connection: close" ending would close the socket as soon as the
  // answer was written, before the body, and the client's writes would fail (EPIPE/ECONNRESET).
  it('is drained: the server ends its side after the answer but reads the whole body; no write fails', async () => {
    const { kms } = slowRoute();
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits: LIMITS, routes: { kms, admin: kms } });
    const size = 2 * 1024 * 1024;
    const outcome = await new Promise<{ head: string; error: string | undefined; bodySent: boolean }>((resolve) => {
      // Half-open, so that the server's end of the answer does not end this side's writes.
      const socket = net.connect({ host: '127.0.0.1', port: server!.port, allowHalfOpen: true });
      let received = '';
      let error: string | undefined;
      let bodySent = false;
      let sending = false;
      socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      socket.on('close', () => resolve({ head: received, error, bodySent }));
      socket.on('data', (d: Buffer) => {
        received += d.toString('latin1');
        if (sending || !received.includes('\r\n\r\n')) return;
        sending = true;
        // The answer is in: only now the body, in pieces, each after the last was taken.
        const piece = Buffer.alloc(64 * 1024, 0x41);
        const more = (left: number) => {
          if (left <= 0) {
            bodySent = true;
            return void socket.end();
          }
          if (socket.destroyed) return;
          socket.write(piece.subarray(0, Math.min(piece.length, left)), (e) => {
            if (!e) setTimeout(() => more(left - piece.length), 2);
          });
        };
        more(size);
      });
      socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\n\r\n`);
    });
    expect(outcome.head).toMatch(/^HTTP\/1\.1 413 /);
    expect({ error: outcome.error, bodySent: outcome.bodySent }).toEqual({ error: undefined, bodySent: true });
  });
});

describe('the body budget shared by all connections', () => {
  /** A raw connection: sends `text`, collects what comes back. */
  function open(port: number, text: string | Buffer) {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
    const answered = new Promise<string>((resolve) =>
      socket.on('data', (d: Buffer) => {
        received += d.toString('utf8');
        if (received.includes('\r\n\r\n')) resolve(received);
      }),
    );
    socket.on('error', () => undefined);
    socket.write(text);
    return { socket, answered, closed };
  }
  /** Headers announcing a body of `length` bytes (the slow route's JSON, padded), then `sent` of them. */
  const partial = (length: number, sent: number) => {
    const body = Buffer.alloc(length, 0x20);
    body.write(JSON.stringify({ n: length, delayMs: 0 }));
    const head = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: ${length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head), body.subarray(0, sent)]);
  };
  const until = async (what: () => boolean) => {
    while (!what()) await new Promise((r) => setTimeout(r, 10));
  };

  it('answers 503 past the budget at once, takes a small request once bodies are let go, and returns every byte', async () => {
    const { kms } = slowRoute();
    const limits = { ...LIMITS, maxBufferedBodyBytes: 100_000 };
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits, routes: { kms, admin: kms } });
    const running = server;
    // Two bodies of 45,000 bytes held, their last byte never sent: 89,998 bytes of the 100,000.
    const held = [open(running.port, partial(45_000, 44_999)), open(running.port, partial(45_000, 44_999))];
    await until(() => running.bufferedBodyBytes() === 89_998);

    // A body that does not fit: 503, in the KMS error shape, while the others still hold theirs.
    const over = open(running.port, partial(20_000, 20_000));
    const answer = await over.answered;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toContain('ServiceUnavailableException');
    await over.closed;
    expect(running.bufferedBodyBytes()).toBe(89_998);

    // One client gives up: its bytes come back, and a small request is answered.
    held[0]!.socket.destroy();
    await until(() => running.bufferedBodyBytes() === 44_999);
    const { answers } = await pipeline(running.port, request(7, 0), 1);
    expect(answers).toEqual(['200 7']);
    expect(running.bufferedBodyBytes()).toBe(44_999);

    // The other completes its body: answered, and the budget is whole again.
    held[1]!.socket.write(' ');
    expect(await held[1]!.answered).toMatch(/^HTTP\/1\.1 200 /);
    held[1]!.socket.destroy();
    await until(() => running.bufferedBodyBytes() === 0);
  });

  it('returns the bytes of a body that timed out', async () => {
    const { kms } = slowRoute();
    const limits = { ...LIMITS, headersTimeoutMs: 400, requestTimeoutMs: 400, maxBufferedBodyBytes: 100_000 };
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits, routes: { kms, admin: kms } });
    const running = server;
    const slow = open(running.port, partial(10_000, 5_000));
    await until(() => running.bufferedBodyBytes() === 5_000);
    expect(await slow.closed).toMatch(/^HTTP\/1\.1 408 /);
    await until(() => running.bufferedBodyBytes() === 0);
  });

  it('returns the bytes of chunked bodies as well as of bodies refused as too large', async () => {
    const { kms } = slowRoute();
    const limits = { ...LIMITS, maxBufferedBodyBytes: 4 * 1024 * 1024 };
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits, routes: { kms, admin: kms } });
    const running = server;
    const body = JSON.stringify({ n: 3, delayMs: 0 });
    const chunked = open(running.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n`);
    await until(() => running.bufferedBodyBytes() === body.length);
    chunked.socket.write('0\r\n\r\n');
    expect(await chunked.answered).toMatch(/^HTTP\/1\.1 200 /);
    chunked.socket.destroy();
    // Past the per-request cap, sent without a Content-Length: refused with 413, the budget untouched after.
    const huge = open(running.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const piece = Buffer.alloc(64 * 1024, 0x20);
    for (let i = 0; i < 18; i++) huge.socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    expect(await huge.answered).toMatch(/^HTTP\/1\.1 413 /);
    huge.socket.destroy();
    await until(() => running.bufferedBodyBytes() === 0);
  });
});

describe('a graceful stop with kept-alive clients', () => {
  /**
   * A client sending requests back to back on one kept-alive connection until an answer says
   * Connection: close. What it saw: its answers' statuses, and whether the connection failed under it
   * (an error such as ECONNRESET, or a close while a request was waiting for its answer).
   */
  function client(port: number, onAnswer: () => void) {
    return new Promise<{ statuses: string[]; failed: string | undefined }>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const statuses: string[] = [];
      let received = '';
      let outstanding = false;
      let failed: string | undefined;
      const send = () => {
        outstanding = true;
        socket.write(request(statuses.length, Math.floor(Math.random() * 3)));
      };
      socket.on('connect', send);
      socket.on('data', (d: Buffer) => {
        received += d.toString('utf8');
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = received.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (received.length < end + 4 + length) return;
        received = received.slice(end + 4 + length);
        outstanding = false;
        statuses.push(head.slice(9, 12));
        onAnswer();
        if (/\r\nconnection: close/i.test(head)) socket.end();
        else send();
      });
      socket.on('error', (e: NodeJS.ErrnoException) => (failed ??= e.code ?? e.message));
      socket.on('close', () => {
        if (outstanding) failed ??= 'closed with a request unanswered';
        resolve({ statuses, failed });
      });
    });
  }

  it('answers every request in flight (200 or 503), never resets one', async () => {
    const { kms } = slowRoute();
    for (let round = 0; round < 20; round++) {
      const running = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', () => undefined), limits: LIMITS, routes: { kms, admin: kms } });
      // Stop once every client is under way (a connection still in the listen backlog when the
      // listener closes is refused by the kernel, which no server can answer), a little later each round.
      let answered = 0;
      let underWay: () => void = () => undefined;
      const allUnderWay = new Promise<void>((r) => (underWay = r));
      const clients = Array.from({ length: 16 }, () => {
        let first = true;
        return client(running.port, () => {
          if (first && ++answered === 16) underWay();
          first = false;
        });
      });
      await allUnderWay;
      await new Promise((r) => setTimeout(r, round));
      await running.close();
      const seen = await Promise.all(clients);
      expect(seen.filter((c) => c.failed).map((c) => `${round} ${c.failed} after ${c.statuses.join(",")}`)).toEqual([]);
      for (const c of seen) {
        expect(c.statuses.length).toBeGreaterThan(0);
        expect(c.statuses.every((s) => s === '200' || s === '503')).toBe(true);
      }
    }
  }, 30_000);
});

describe('a route that throws (a bug in Kura)', () => {
  it('is answered 500 with a request ID, and logged with that ID, its route and frames, not its message', async () => {
    const lines: string[] = [];
    const kms = (): Promise<JsonResponse> => Promise.reject(new TypeError('QUOTED-INPUT from the body'));
    server = await startServer({ host: '127.0.0.1', port: 0, log: createLogger('error', (l) => lines.push(l)), limits: LIMITS, routes: { kms, admin: kms } });
    const res = await fetch(`http://127.0.0.1:${server.port}/`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    const requestId = res.headers.get('x-amzn-requestid');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => lines.length).toBe(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'error', requestId, route: 'kms' });
    expect(line.error).toMatch(/^TypeError\n {4}at /);
    expect(lines[0]).not.toContain('QUOTED-INPUT');
  });
});
