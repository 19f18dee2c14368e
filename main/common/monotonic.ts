// Elapsed time as a port: the durations one process measures (lockout backoff, session idle timers,
// refusal coalescing windows, cache ages) read a clock that never steps, so that NTP correcting the wall
// clock, an operator setting it, or a VM resumed after days neither stretches nor cuts them. Wall-clock
// time (./clock.ts) stays for what is persisted or shown. Tests move a fake one.

export interface Monotonic {
  /** Milliseconds since an arbitrary origin fixed for the process; never goes back, never jumps with the wall clock. */
  nowMs(): number;
}

export const systemMonotonic: Monotonic = { nowMs: () => performance.now() };
