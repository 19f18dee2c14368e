// Time as a port, so that deletion windows, rotations and signature skew are tested by moving a clock
// instead of waiting.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How far before a persisted record's creation the wall clock may read and the record's wall-clock
 * deadline still be trusted. Further back, the clock has been stepped back since the record was made
 * and the deadline would live as much longer (a year, for a record made while the clock read a year
 * ahead): what has such a deadline (an approval request, an import token) is treated as expired.
 */
export const CLOCK_STEP_TOLERANCE_MS = 5 * 60 * 1000;
