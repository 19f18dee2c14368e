// A Clock that stands still until a test moves it, so deletion windows, rotation periods and
// anything else time-driven are tested without waiting.
// It has a monotonic side too (`monotonic`, for the durations main/common/monotonic.ts measures):
// advance() is time passing and moves both; step() and set() are the wall clock being stepped (NTP, an
// operator, a resumed VM) and move the wall clock only.
import type { Clock } from '../../main/common/clock.js';
import type { Monotonic } from '../../main/common/monotonic.js';

/** 2026-01-01T00:00:00Z: a fixed, readable starting point for tests. */
export const TEST_EPOCH_MS = Date.UTC(2026, 0, 1);

export class FixedClock implements Clock {
  private ms: number;
  private elapsedMs = 0;
  /** Elapsed time: moved by advance(), never by step() or set(). */
  readonly monotonic: Monotonic = { nowMs: () => this.elapsedMs };

  constructor(startMs: number = TEST_EPOCH_MS) {
    this.ms = startMs;
  }

  nowMs(): number {
    return this.ms;
  }

  /** Sets the wall clock (a step: no time passes). */
  set(ms: number): void {
    this.ms = ms;
  }

  /** Steps the wall clock by `ms` (negative: back) while no time passes. */
  step(ms: number): void {
    this.ms += ms;
  }

  /** Time passes: the wall clock and the monotonic clock both move on. */
  advance(ms: number): void {
    this.ms += ms;
    this.elapsedMs += ms;
  }
}
