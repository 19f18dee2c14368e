// Connection abuse (issue #8, finding 2): a `kura serve --dev` started under `prlimit --nofile=256`
// (util-linux; lowering one's own limit needs no privilege) with `--max-connections 100
// --headers-timeout 1 --request-timeout 2 --idle-timeout 1`, attacked by idle, slow and garbage
// connections from loopback. It proves:
//  - 300 idle connections: those beyond the cap of 100 are answered 503 ServiceUnavailableException and
//    closed (or refused), the rest are closed at the headers timeout; a signed KMS call is served as
//    soon as they are gone; the process never dies;
//  - slowloris: headers dripped a byte per 200 ms are cut at the headers timeout, bodies dripped a byte
//    per 200 ms after complete headers at the request timeout, a kept-alive connection at the idle
//    timeout, and a legitimate client is served while they drip;
//  - after 1,000 abusive connections (idle, slow, garbage, cut, reset, oversize, over the cap) every
//    socket is closed by the server within its timeout and the server's open fds (/proc/<pid>/fd)
//    are back at their baseline; fds and RSS (VmRSS) before, at the peak and after are printed;
//  - with no connection settings at all, under the same fd limit, the default cap sits below it: the
//    excess of 300 idle connections is answered 503, the fds stay under the limit, the process stays up.
// "Closed within its timeout" allows 1.5 s of slack beyond the configured timeout (Node checks the
// timeouts on an interval); these are liveness bounds, not measurements.
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, errorShapeProblem, kmsCall, nofileLimit, openFds, rssKiB, show, signedKmsBytes } from '../support/fuzz-http.js';
import { findPrlimit, startKuraWithNofile } from '../support/fuzz-kura.js';
import type { KuraProcess } from '../support/kura-process.js';

const NOFILE = 256;
const CAP = 100;
const HEADERS_TIMEOUT_S = 1;
const REQUEST_TIMEOUT_S = 2;
const IDLE_TIMEOUT_S = 1;
const SLACK_MS = 1_500;
const FD_SLACK = 6;

type Kura = KuraProcess & { pid: number };
let kura: Kura;
let baselineFds = 0;

interface Held {
  socket: net.Socket;
  /** Resolves when the socket is closed (by the server, unless the test closed it). */
  closed: Promise<{ ms: number; firstLine: string; body: string; error?: string; byServer: boolean }>;
  /** Stops any dripping and closes the socket from the client side. */
  release(): void;
}

/**
 * A connection that sends `first` (if any) at once and then `drip` one byte every `everyMs` until
 * the server closes it; records when it closed and what the server answered.
 */
function hold(port: number, opts: { first?: Buffer | string; drip?: string; everyMs?: number; reset?: boolean } = {}): Held {
  const started = Date.now();
  const socket = net.connect({ port, host: '127.0.0.1' });
  let data = '';
  let error: string | undefined;
  let byClient = false;
  let timer: NodeJS.Timeout | undefined;
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  socket.on('connect', () => {
    if (opts.first !== undefined) socket.write(opts.first);
    if (opts.reset) {
      byClient = true;
      socket.resetAndDestroy();
      return;
    }
    if (opts.drip !== undefined) {
      let i = 0;
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return clearInterval(timer);
        socket.write(opts.drip![i++ % opts.drip!.length]!);
      }, opts.everyMs ?? 200);
    }
  });
  const closed = new Promise<{ ms: number; firstLine: string; body: string; error?: string; byServer: boolean }>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      const at = data.indexOf('\r\n\r\n');
      resolve({ ms: Date.now() - started, firstLine: data.split('\r\n')[0] ?? '', body: at < 0 ? '' : data.slice(at + 4), ...(error ? { error } : {}), byServer: !byClient });
    }),
  );
  return {
    socket,
    closed,
    release() {
      byClient = true;
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** Retries a signed ListKeys until it answers 200 or `withinMs` passes; returns what happened. */
async function servedWithin(k: Kura, withinMs: number): Promise<{ ok: boolean; afterMs: number; tries: number; last: string }> {
  const started = Date.now();
  let tries = 0;
  let last = '';
  while (Date.now() - started < withinMs) {
    tries++;
    const a = await kmsCall(k, 'ListKeys', '{"Limit":1}', { timeoutMs: 2_000 });
    if (a.status === 200) return { ok: true, afterMs: Date.now() - started, tries, last: '200' };
    last = `${a.status || a.headers.error} ${show(a.body, 120)}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ok: false, afterMs: Date.now() - started, tries, last };
}

/** Waits until the fd count is at most `target` or `withinMs` passes; returns the last count. */
async function fdsSettle(pid: number, target: number, withinMs: number): Promise<number> {
  const until = Date.now() + withinMs;
  let n = openFds(pid);
  while (n > target && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    n = openFds(pid);
  }
  return n;
}

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

describe(`connection abuse under prlimit --nofile=${NOFILE}, --max-connections ${CAP}`, () => {
  beforeAll(async () => {
    expect(findPrlimit(), "util-linux's prlimit (Debian: util-linux)").toBeDefined();
    kura = await startKuraWithNofile(NOFILE, {
      args: ['--max-connections', String(CAP), '--headers-timeout', String(HEADERS_TIMEOUT_S), '--request-timeout', String(REQUEST_TIMEOUT_S), '--idle-timeout', String(IDLE_TIMEOUT_S), '--log-level', 'warn'],
    });
    expect(nofileLimit(kura.pid).soft).toBe(NOFILE);
    // The baseline: after one served call (database, WAL and listener open), with no client connected.
    expect((await servedWithin(kura, 5_000)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    baselineFds = openFds(kura.pid);
  });

  afterAll(async () => {
    await kura?.stop();
    if (kura) fs.rmSync(kura.dataDir, { recursive: true, force: true });
  });

  it('300 idle connections: the excess is answered 503 and closed, the rest cut at the headers timeout; then a client is served', async () => {
    const held = Array.from({ length: 300 }, () => hold(kura.port));
    await new Promise((r) => setTimeout(r, 300));
    const peakFds = openFds(kura.pid);
    expect(alive(kura.proc)).toBe(true);
    const served = await servedWithin(kura, HEADERS_TIMEOUT_S * 1000 + SLACK_MS + 1_000);
    const ends = await Promise.race([
      Promise.all(held.map((h) => h.closed)),
      new Promise<null>((r) => setTimeout(() => r(null), HEADERS_TIMEOUT_S * 1000 + SLACK_MS + 1_000)),
    ]);
    const stillOpen = held.filter((h) => !h.socket.destroyed).length;
    for (const h of held) h.release();
    const settled = await fdsSettle(kura.pid, baselineFds, 2_000);
    console.log(`[fuzz] 300 idle: fds baseline ${baselineFds}, peak ${peakFds}, after ${settled}; legitimate call served after ${served.afterMs} ms (${served.tries} tries)`);

    expect(alive(kura.proc), 'the process is alive').toBe(true);
    expect(stillOpen, 'idle connections the server had not closed by the headers timeout + slack').toBe(0);
    expect(ends).not.toBeNull();
    const results = ends ?? [];
    const got503 = results.filter((e) => e.firstLine.startsWith('HTTP/1.1 503'));
    const refused = results.filter((e) => e.firstLine === '' && (e.error === 'ECONNREFUSED' || e.error === 'ECONNRESET'));
    expect(got503.length + refused.length, `answered 503 or refused (of 300, cap ${CAP}); first lines seen: ${[...new Set(results.map((e) => e.firstLine || e.error || 'closed'))].join(' | ')}`).toBeGreaterThanOrEqual(300 - CAP - 10);
    for (const e of got503.slice(0, 3)) {
      expect(errorShapeProblem(Buffer.from(e.body, 'latin1'), {}, ['kms'])).toBeUndefined();
      expect(e.body).toContain('ServiceUnavailableException');
    }
    const late = results.filter((e) => e.ms > HEADERS_TIMEOUT_S * 1000 + SLACK_MS);
    expect(late.map((e) => `${e.ms} ms: ${e.firstLine || e.error || 'closed'}`), 'closed after the headers timeout + slack').toEqual([]);
    expect(served, 'a signed ListKeys is served once the idle connections are gone').toMatchObject({ ok: true });
    expect(peakFds, 'fds at the peak stay under the limit').toBeLessThan(NOFILE);
    expect(settled, `fds back at the baseline ${baselineFds}`).toBeLessThanOrEqual(baselineFds + FD_SLACK);
  }, 30_000);

  it('slowloris headers and bodies are cut at their timeouts, an idle keep-alive at the idle timeout; others are served meanwhile', async () => {
    const headerDrip = Array.from({ length: 20 }, () => hold(kura.port, { first: `POST / HTTP/1.1\r\nHost: 127.0.0.1:${kura.port}\r\n`, drip: 'X-Slow: abcdefghijklmnopqrstuvwxyz\r\n', everyMs: 200 }));
    const bodyDrip = Array.from({ length: 20 }, () =>
      hold(kura.port, {
        first: `POST / HTTP/1.1\r\nHost: 127.0.0.1:${kura.port}\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100000\r\n\r\n`,
        drip: '{"a":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        everyMs: 200,
      }),
    );
    // A kept-alive connection: one complete, signed request, then nothing.
    const keepAlive = hold(kura.port, { first: (await signedKmsBytes(kura, 'ListKeys', Buffer.from('{"Limit":1}'))).toString('latin1').replace('connection: close\r\n', 'connection: keep-alive\r\n') });
    await new Promise((r) => setTimeout(r, 300));
    const meanwhile = await servedWithin(kura, 1_000);
    const bound = (s: number) => s * 1000 + SLACK_MS;
    const race = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
    const [headers, bodies, idle] = await Promise.all([
      race(Promise.all(headerDrip.map((h) => h.closed)), bound(HEADERS_TIMEOUT_S) + 500),
      race(Promise.all(bodyDrip.map((h) => h.closed)), bound(REQUEST_TIMEOUT_S) + 500),
      race(keepAlive.closed, bound(IDLE_TIMEOUT_S) + 500),
    ]);
    const open = { headers: headerDrip.filter((h) => !h.socket.destroyed).length, bodies: bodyDrip.filter((h) => !h.socket.destroyed).length, idle: keepAlive.socket.destroyed ? 0 : 1 };
    for (const h of [...headerDrip, ...bodyDrip, keepAlive]) h.release();
    const settled = await fdsSettle(kura.pid, baselineFds, 2_000);
    const slowest = (r: { ms: number }[] | undefined) => (r ? Math.max(...r.map((e) => e.ms)) : 'still open');
    console.log(`[fuzz] slowloris: headers cut after ${slowest(headers)} ms, bodies after ${slowest(bodies)} ms, idle keep-alive after ${idle?.ms ?? 'still open'} ms; fds after ${settled} (baseline ${baselineFds})`);

    expect(alive(kura.proc), 'the process is alive').toBe(true);
    expect(meanwhile, 'a signed ListKeys is served while 41 slow connections drip').toMatchObject({ ok: true });
    expect(open, `connections still open past their timeout + ${SLACK_MS} ms`).toEqual({ headers: 0, bodies: 0, idle: 0 });
    expect(headers?.every((e) => e.byServer && e.ms <= bound(HEADERS_TIMEOUT_S))).toBe(true);
    expect(bodies?.every((e) => e.byServer && e.ms <= bound(REQUEST_TIMEOUT_S))).toBe(true);
    expect(idle?.firstLine, 'the kept-alive connection was answered before it idled').toMatch(/^HTTP\/1\.1 200/);
    expect(idle!.ms).toBeLessThanOrEqual(bound(IDLE_TIMEOUT_S) + 500);
    expect(settled, `fds back at the baseline ${baselineFds}`).toBeLessThanOrEqual(baselineFds + FD_SLACK);
  }, 30_000);

  it('1,000 abusive connections leave no socket open past its timeout and the fds at their baseline', async () => {
    const beforeFds = openFds(kura.pid);
    const beforeRss = rssKiB(kura.pid);
    const host = `Host: 127.0.0.1:${kura.port}\r\n`;
    const kinds: ((i: number) => Held)[] = [
      () => hold(kura.port),
      () => hold(kura.port, { first: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00]) }),
      () => hold(kura.port, { first: 'GARBAGE\r\n\r\n' }),
      () => hold(kura.port, { first: `GET //a%zz HTTP/1.1\r\n${host}\r\n` }),
      () => hold(kura.port, { first: `POST / HTTP/1.1\r\n${host}Content-Length: 99999999\r\n\r\n` }),
      () => hold(kura.port, { first: `POST / HTTP/1.1\r\n${host}Content-Length: 50\r\n\r\n{"a":` }),
      () => hold(kura.port, { first: `POST / HTTP/1.1\r\n${host}`, drip: 'X: y\r\n', everyMs: 150 }),
      () => hold(kura.port, { first: `GET / HTTP/1.1\r\n${host}\r\n` }),
      () => hold(kura.port, { first: `POST / HTTP/1.1\r\n${host}Content-Length: 10\r\n\r\n`, reset: true }),
      (i) => {
        const h = hold(kura.port, { first: `POST / HTTP/1.1\r\n${host}` });
        setTimeout(() => h.release(), 50 + (i % 200));
        return h;
      },
    ];
    const held: Held[] = [];
    let peakFds = beforeFds;
    let peakRss = beforeRss;
    // Five waves of 200, 100 ms apart: always more than the cap at once.
    for (let wave = 0; wave < 5; wave++) {
      for (let i = 0; i < 200; i++) held.push(kinds[(wave * 200 + i) % kinds.length]!(wave * 200 + i));
      await new Promise((r) => setTimeout(r, 100));
      peakFds = Math.max(peakFds, openFds(kura.pid));
      peakRss = Math.max(peakRss, rssKiB(kura.pid));
    }
    const longest = REQUEST_TIMEOUT_S * 1000 + SLACK_MS;
    const ends = await Promise.race([Promise.all(held.map((h) => h.closed)), new Promise<null>((r) => setTimeout(() => r(null), longest + 1_000))]);
    const stillOpen = held.filter((h) => !h.socket.destroyed).length;
    for (const h of held) h.release();
    const afterFds = await fdsSettle(kura.pid, beforeFds, 2_000);
    const afterRss = rssKiB(kura.pid);
    const served = await servedWithin(kura, 3_000);
    console.log(
      `[fuzz] 1,000 abusive connections: fds ${beforeFds} before, ${peakFds} at the peak, ${afterFds} after (limit ${NOFILE}); ` +
        `RSS ${mib(beforeRss)} before, ${mib(peakRss)} at the peak, ${mib(afterRss)} after`,
    );

    expect(alive(kura.proc), 'the process is alive').toBe(true);
    expect(stillOpen, `connections the server had not closed ${longest + 1_000} ms after the last wave`).toBe(0);
    expect(ends).not.toBeNull();
    const late = (ends ?? []).filter((e) => e.byServer && e.ms > longest).map((e) => `${e.ms} ms: ${e.firstLine || e.error || 'closed'}`);
    expect(late, 'closed by the server after the request timeout + slack').toEqual([]);
    const fiveHundreds = (ends ?? []).filter((e) => /^HTTP\/1\.1 5\d\d/.test(e.firstLine) && !e.firstLine.startsWith('HTTP/1.1 503'));
    expect(fiveHundreds.map((e) => e.firstLine)).toEqual([]);
    expect(peakFds, 'fds at the peak stay under the limit').toBeLessThan(NOFILE);
    expect(afterFds, `fds back at the baseline ${beforeFds}`).toBeLessThanOrEqual(beforeFds + FD_SLACK);
    expect(served, 'a signed ListKeys is served afterwards').toMatchObject({ ok: true });
  }, 40_000);
});

describe(`the default connection cap under prlimit --nofile=${NOFILE}`, () => {
  it('with no connection settings at all the default cap sits under the fd limit: the excess of 300 idle connections is answered 503', async () => {
    const plain = await startKuraWithNofile(NOFILE, { args: ['--log-level', 'warn'] });
    try {
      const held = Array.from({ length: 300 }, () => hold(plain.port));
      const answered503 = held.map((h) => new Promise<boolean>((r) => h.socket.once('data', (d: Buffer) => r(d.toString('latin1').startsWith('HTTP/1.1 503')))));
      await new Promise((r) => setTimeout(r, 500));
      const peakFds = openFds(plain.pid);
      const aliveWhileHeld = alive(plain.proc);
      // The client lets go (the default timeouts are long); the server must then serve at once.
      for (const h of held) h.release();
      const got503 = (await Promise.all(answered503.map((p) => Promise.race([p, Promise.resolve(false)])))).filter(Boolean).length;
      const served = await servedWithin(plain, 3_000);
      console.log(`[fuzz] default cap: 300 idle → ${got503} answered 503, peak fds ${peakFds} (limit ${NOFILE}); served after release in ${served.afterMs} ms`);
      expect(aliveWhileHeld && alive(plain.proc), 'the process is alive').toBe(true);
      expect(got503, 'connections beyond the default cap are answered 503').toBeGreaterThan(0);
      expect(peakFds, 'fds at the peak stay under the limit').toBeLessThan(NOFILE);
      expect(served, 'a signed ListKeys is served once they are gone').toMatchObject({ ok: true });
    } finally {
      await plain.stop();
      fs.rmSync(plain.dataDir, { recursive: true, force: true });
    }
  }, 40_000);
});
