// A Clock that stands still until a test moves it, so deletion windows, rotation periods and
// anything else time-driven are tested without waiting.
import type { Clock } from '../../main/common/clock.js';

/** 2026-01-01T00:00:00Z: a fixed, readable starting point for tests. */
export const TEST_EPOCH_MS = Date.UTC(2026, 0, 1);

export class FixedClock implements Clock {
  private ms: number;

  constructor(startMs: number = TEST_EPOCH_MS) {
    this.ms = startMs;
  }

  nowMs(): number {
    return this.ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
