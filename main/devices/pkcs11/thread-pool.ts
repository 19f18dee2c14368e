// Token calls on libuv's thread pool, and the share of the pool they may hold.
//
// The `…Async` calls of ./session.ts run on libuv's thread pool, and so does every SQLite statement
// (node-sqlite3), the audit log's commits included, with fs and node:crypto's async calls. A device may
// take milliseconds per call, or not answer at all (a network HSM's client across a partition, a USB
// token going away mid-call), and nothing can take a thread back from a call that does not return. With
// libuv's default of 4 threads and a session pool of 8 per token, token calls could hold every thread:
// then every request, on standard keys too, waits for its audit entry behind them, and the appliance
// stops answering. So token calls on the pool go through one gate per process that lets at most
// tokenCallSlots of them run at once, and the rest of the pool stays the store's.
//
// bin/kura.js starts the process with UV_THREADPOOL_SIZE = POOL_THREADS_WANTED, room for both; libuv
// reads it once, before the pool's first job, which is why bin/kura.js is CommonJS (the ES module loader
// reads files on the pool before an ES module's code runs). `npm run desktop` (scripts/desktop.mjs) sets
// it for the Electron process it starts. Started another way (tests, a packaged desktop app launched
// from its icon), the process has libuv's default and token calls get one slot of it.

/** Threads kept for the store (SQLite), fs and node:crypto whatever token calls do. */
export const STORE_THREADS = 4;
/** Token calls on the pool at once, at most: a token key store's session pool holds 8 (DEFAULT_SESSIONS). */
export const TOKEN_CALL_THREADS = 8;
/** What bin/kura.js asks libuv for (it cannot import this file: keep the two equal; a test checks). */
export const POOL_THREADS_WANTED = STORE_THREADS + TOKEN_CALL_THREADS;

/**
 * libuv's thread count for a UV_THREADPOOL_SIZE value (threadpool.c, init_threads): 4 when unset; else
 * atoi's reading into an unsigned count, 0 (or no number) taken as 1, at most 1024 — so a negative
 * value, wrapped, is 1024.
 */
export function poolThreadsFor(value: string | undefined): number {
  if (value === undefined) return 4;
  const n = Number.parseInt(value, 10);
  if (Number.isNaN(n) || n === 0) return 1;
  return n < 0 ? 1024 : Math.min(n, 1024);
}

/** Token call slots in a pool of `threads`: what is left after STORE_THREADS, from 1 to TOKEN_CALL_THREADS. */
export function tokenCallSlotsFor(threads: number): number {
  return Math.max(1, Math.min(TOKEN_CALL_THREADS, threads - STORE_THREADS));
}

/** At most `slots` calls running at once; the others wait in FIFO order. */
export class CallGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError('a call gate has at least one slot');
  }

  stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `call` when a slot is free; the slot is free again when its promise settles (or it throws). */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.running < this.slots) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await call();
    } finally {
      // The slot passes straight to the next waiter, so `running` never drops below what is running.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** This process's pool, as libuv sized it at start. */
export const POOL_THREADS = poolThreadsFor(process.env.UV_THREADPOOL_SIZE);

/** The gate of every token call that runs on libuv's thread pool in this process. */
export const tokenCalls = new CallGate(tokenCallSlotsFor(POOL_THREADS));
