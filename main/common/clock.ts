// Time as a port, so that deletion windows, rotations and signature skew are tested by moving a clock
// instead of waiting.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

export const DAY_MS = 24 * 60 * 60 * 1000;
