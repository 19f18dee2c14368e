// The bytes of request bodies the listener holds at once, across every connection: the one bound on
// that memory. Each connection may hold up to MAX_BODY_BYTES (server.ts) before its signature is
// checked, so without a shared budget 1,024 connections each sending all but the last byte of a 1 MiB
// body would hold a gigabyte, renewable every request timeout, and an OOM kill restarts the appliance
// sealed. A body is counted as its bytes arrive (what is held, not what is announced: a Content-Length
// alone costs nothing and must not block others) until its request is answered or abandoned; past the
// budget the listener answers 503, which clients retry.

/** 64 MiB: 64 bodies at the 1 MiB cap at once, thousands of real KMS calls (a few KiB each). */
export const DEFAULT_MAX_BUFFERED_BODY_BYTES = 64 * 1024 * 1024;

export class BodyBudget {
  private held = 0;

  constructor(readonly limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 1) throw new RangeError('A body budget is a positive whole number of bytes.');
  }

  /** Takes `bytes` from the budget if they fit in what is left; false (and nothing taken) if not. */
  tryReserve(bytes: number): boolean {
    if (this.held + bytes > this.limitBytes) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  /** Bytes held right now (for status and tests). */
  bytesHeld(): number {
    return this.held;
  }
}

/**
 * One request's share of a budget: what it reserves as its body arrives, released at most once in all
 * (so every path that ends a request — answered, refused, aborted, timed out — may call `release`).
 */
export class BodyReservation {
  private bytes = 0;

  constructor(private readonly budget: BodyBudget) {}

  /** Adds `n` bytes to this request's share; false (and nothing added) when the budget is spent. */
  grow(n: number): boolean {
    if (!this.budget.tryReserve(n)) return false;
    this.bytes += n;
    return true;
  }

  release(): void {
    this.budget.release(this.bytes);
    this.bytes = 0;
  }
}
