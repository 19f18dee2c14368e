// A bounded pool of sessions on one logged-in token. A PKCS#11 session runs one cryptographic
// operation at a time (a second C_EncryptInit answers CKR_OPERATION_ACTIVE), so concurrent calls each
// take a session of their own, up to `size`; the rest wait in FIFO order.
//
// A session whose operation failed is closed, never handed to the next caller, and replaced by a new
// one on demand: a failed call may leave its operation active (SoftHSM keeps it after
// CKR_BUFFER_TOO_SMALL or CKR_ARGUMENTS_BAD), and only closing the session is sure to end it. Closing a
// work session does not log the token out, because the key store keeps a login session of its own.
//
// drain() (disconnect) refuses new work, fails the waiters, closes idle sessions at once and busy ones
// as their call returns, and resolves when every session is closed: a session is never closed under an
// operation that is still running on the token.

export interface SessionSource<S> {
  open(): S | Promise<S>;
  close(session: S): void | Promise<void>;
  /** Whether a session whose call succeeded may be reused (false: a clean-up step of the call failed). */
  reusable?(session: S): boolean;
}

export class PoolClosedError extends Error {
  constructor() {
    super('The session pool is closed.');
    this.name = 'PoolClosedError';
  }
}

export class SessionPool<S> {
  private readonly idle: S[] = [];
  private readonly waiters: { resolve: (s: S) => void; reject: (e: unknown) => void }[] = [];
  private open = 0;
  /** Sessions being closed: counted out of `open`, and waited for by drain(). */
  private closing = 0;
  private busy = 0;
  private closed = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly source: SessionSource<S>,
    readonly size: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('a session pool holds at least one session');
  }

  /** Sessions open now (idle and busy), callers waiting for one. */
  stats(): { open: number; busy: number; waiting: number } {
    return { open: this.open, busy: this.busy, waiting: this.waiters.length };
  }

  /** Runs `fn` on a session of its own; the session goes back to the pool if `fn` succeeds, and is closed if it throws. */
  async run<T>(fn: (session: S) => Promise<T>): Promise<T> {
    const session = await this.acquire();
    let ok = false;
    try {
      const result = await fn(session);
      ok = true;
      return result;
    } finally {
      this.release(session, ok);
    }
  }

  private acquire(): Promise<S> {
    if (this.closed) return Promise.reject(new PoolClosedError());
    const ready = this.idle.pop();
    if (ready !== undefined) {
      this.busy++;
      return Promise.resolve(ready);
    }
    if (this.open < this.size) return this.openOne();
    return new Promise<S>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Opens a session counted as busy (counted from the start, so that concurrent opens never exceed the
   * size); rejects with what the source throws. A session that opens after the pool was drained is
   * closed at once.
   */
  private async openOne(): Promise<S> {
    this.open++;
    this.busy++;
    let s: S;
    try {
      s = await this.source.open();
    } catch (e) {
      this.open--;
      this.busy--;
      this.checkDrained();
      // The room this open took is free again: the next caller in line tries it (or it would wait for a
      // release that may never come).
      const next = this.closed ? undefined : this.waiters.shift();
      if (next) this.openOne().then(next.resolve, next.reject);
      throw e;
    }
    if (this.closed) {
      this.busy--;
      await this.closeOne(s);
      throw new PoolClosedError();
    }
    return s;
  }

  private async closeOne(session: S): Promise<void> {
    this.open--;
    this.closing++;
    try {
      await this.source.close(session);
    } finally {
      this.closing--;
      this.checkDrained();
    }
  }

  private release(session: S, healthy: boolean): void {
    this.busy--;
    if (!healthy || this.closed || this.source.reusable?.(session) === false) {
      void this.closeOne(session).catch(() => undefined);
      if (this.closed) return;
      const next = this.waiters.shift();
      if (next) this.openOne().then(next.resolve, next.reject);
      return;
    }
    const next = this.waiters.shift();
    if (next) {
      this.busy++;
      next.resolve(session);
    } else {
      this.idle.push(session);
    }
  }

  private checkDrained(): void {
    if (this.open === 0 && this.closing === 0 && this.drained) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }

  /** Refuses new work and closes every session (busy ones when their call returns). */
  drain(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new PoolClosedError());
    for (const s of this.idle.splice(0)) void this.closeOne(s).catch(() => undefined);
    if (this.open === 0 && this.closing === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const previous = this.drained;
      this.drained = () => {
        previous?.();
        resolve();
      };
    });
  }
}
