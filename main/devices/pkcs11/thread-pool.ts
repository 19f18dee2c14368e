// Token calls on libuv's thread pool, and the share of the pool they may hold.
//
// The `…Async` calls of ./session.ts run on libuv's thread pool, and so does every SQLite statement
// (node-sqlite3), the audit log's commits included, with fs and node:crypto's async calls. A device may
// take milliseconds per call, or not answer at all (a network HSM's client across a partition, a USB
// token going away mid-call), and nothing can take a thread back from a call that does not return. With
// libuv's default of 4 threads and a session pool of 8 per token, token calls could hold every thread:
// then every request, on standard keys too, waits for its audit entry behind them, and the appliance
// stops answering. So token calls on the pool go through one gate per process that lets at most
// tokenCallSlots of them run at once, and the rest of the pool stays the store's (shared with fs,
// node:crypto's async calls and dns.lookup, which all finish). One module's calls take at most all but
// one of the slots, so a device that hangs leaves a slot to the others; and a call that waits
// TOKEN_CALL_WAIT_MS for a slot gives up (./session.ts reads that as a token gone away).
//
// bin/kura.js starts the process with UV_THREADPOOL_SIZE = POOL_THREADS_WANTED, room for both; libuv
// reads it once, before the pool's first job, which is why bin/kura.js is CommonJS (the ES module loader
// reads files on the pool before an ES module's code runs). `npm run desktop` (scripts/desktop.mjs) sets
// it for the Electron process it starts. Started another way (tests, a packaged desktop app launched
// from its icon), the process has libuv's default and token calls get one slot of it. POOL_THREADS is
// what the environment asked libuv for: a preload that uses the pool before bin/kura.js runs (NODE_OPTIONS
// with --import of an ES module) leaves libuv's default in place while the variable says 12.

/** Threads kept for the store (SQLite), fs and node:crypto whatever token calls do. */
export const STORE_THREADS = 4;
/** Token calls on the pool at once, at most: a token key store's session pool holds 8 (DEFAULT_SESSIONS). */
export const TOKEN_CALL_THREADS = 8;
/**
 * How long a token call waits for a slot before it gives up. Token calls take milliseconds; a wait this
 * long means the module's earlier calls are not coming back, and the caller is better answered with an
 * error (its key store then fails, as for a token pulled out) than left waiting with them.
 */
export const TOKEN_CALL_WAIT_MS = 10_000;
/** What bin/kura.js and npm run desktop ask libuv for (bin/thread-pool-env.cjs cannot import this file: a test keeps the two equal). */
export const POOL_THREADS_WANTED = STORE_THREADS + TOKEN_CALL_THREADS;

/** The characters C's isspace() skips before a number (strtol). */
const C_SPACE = /^[ \t\n\v\f\r]*/;
const INT64_MAX = (1n << 63n) - 1n;

/**
 * libuv's thread count for a UV_THREADPOOL_SIZE value (threadpool.c, init_threads): 4 when unset;
 * else atoi's reading — glibc's (int) strtol, which saturates at the 64-bit bounds — stored in an
 * unsigned count; 0 (or no number) is taken as 1, and the count is at most 1024. So "-2" and
 * "99999999999999999999" are 1024 threads, and "4294967297" is 1.
 */
export function poolThreadsFor(value: string | undefined): number {
  if (value === undefined) return 4;
  const m = /^([+-]?)(\d*)/.exec(value.replace(C_SPACE, ''))!;
  let n = m[2] ? BigInt(m[2]) : 0n;
  if (m[1] === '-') n = -n;
  if (n > INT64_MAX) n = INT64_MAX;
  if (n < -INT64_MAX - 1n) n = -INT64_MAX - 1n;
  const count = BigInt.asUintN(32, BigInt.asIntN(32, n));
  if (count === 0n) return 1;
  return count > 1024n ? 1024 : Number(count);
}

/** Token call slots in a pool of `threads`: what is left after STORE_THREADS, from 1 to TOKEN_CALL_THREADS. */
export function tokenCallSlotsFor(threads: number): number {
  return Math.max(1, Math.min(TOKEN_CALL_THREADS, threads - STORE_THREADS));
}

/** A call that waited `waitedMs` for a slot and got none. */
export class NoFreeSlotError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no token call slot came free in ${waitedMs / 1000} s: earlier calls to the module have not returned`);
    this.name = 'NoFreeSlotError';
  }
}

/**
 * At most `slots` calls running at once, and at most `perOwner` of one owner's (a PKCS#11 module: one
 * device that stops answering keeps the others going); the others wait, and each freed slot goes to
 * the longest-waiting call whose owner is under its share.
 */
export class CallGate {
  private running = 0;
  private readonly byOwner = new Map<string, number>();
  private readonly waiting: { owner: string; go: () => void; timer?: ReturnType<typeof setTimeout> }[] = [];
  readonly perOwner: number;

  constructor(
    readonly slots: number,
    perOwner = slots > 1 ? slots - 1 : 1,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError('a call gate has at least one slot');
    if (!Number.isInteger(perOwner) || perOwner < 1 || perOwner > slots) throw new RangeError("an owner's share is from 1 slot to all of them");
    this.perOwner = perOwner;
  }

  stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private free(owner: string): boolean {
    return this.running < this.slots && (this.byOwner.get(owner) ?? 0) < this.perOwner;
  }

  private take(owner: string): void {
    this.running++;
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + 1);
  }

  /**
   * Runs `call` for `owner` when a slot is free for it; the slot is free again when the call's promise
   * settles (or it throws). A call that never settles keeps its slot: that is the point. With `waitMs`,
   * a call that has no slot after that long is not run, and rejects with NoFreeSlotError.
   */
  async run<T>(owner: string, call: () => Promise<T>, waitMs?: number): Promise<T> {
    // Nobody overtakes a waiter of the same owner; a waiter of an owner at its share does not hold others up.
    if (this.free(owner) && !this.waiting.some((w) => w.owner === owner)) this.take(owner);
    else {
      await new Promise<void>((go, refuse) => {
        const waiter: (typeof this.waiting)[number] = { owner, go };
        if (waitMs !== undefined) {
          waiter.timer = setTimeout(() => {
            this.waiting.splice(this.waiting.indexOf(waiter), 1);
            refuse(new NoFreeSlotError(waitMs));
          }, waitMs);
          waiter.timer.unref();
        }
        this.waiting.push(waiter);
      });
    }
    try {
      return await call();
    } finally {
      this.running--;
      const left = (this.byOwner.get(owner) ?? 1) - 1;
      if (left === 0) this.byOwner.delete(owner);
      else this.byOwner.set(owner, left);
      // Slots are taken here for the waiters they go to, so a caller arriving meanwhile cannot jump the queue.
      for (let i = 0; i < this.waiting.length && this.running < this.slots; ) {
        const w = this.waiting[i]!;
        if (this.free(w.owner)) {
          this.waiting.splice(i, 1);
          clearTimeout(w.timer);
          this.take(w.owner);
          w.go();
        } else i++;
      }
    }
  }
}

/** This process's pool, as libuv sized it at start. */
export const POOL_THREADS = poolThreadsFor(process.env.UV_THREADPOOL_SIZE);

/** The gate of every token call that runs on libuv's thread pool in this process. */
export const tokenCalls = new CallGate(tokenCallSlotsFor(POOL_THREADS));
