// The seeded randomness of the fuzz tests (test/fuzz/) and of `npm run fuzz`: xoshiro128** (Blackman &
// Vigna, https://prng.di.unimi.it/) seeded through splitmix32, so that every generated case is a pure
// function of (seed, case coordinates) and a failure names the seed and the case that reproduce it.
//
// The run's seed, case count and time budget come from KURA_FUZZ_SEED, KURA_FUZZ_CASES and
// KURA_FUZZ_SECONDS (scripts/fuzz.mjs sets them for a soak); without them every run is the same run.

/** "Kura" in ASCII: the seed of every run that does not name one. */
export const DEFAULT_FUZZ_SEED = 0x4b757261;

function envNumber(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text.trim());
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number (0x… allowed), not ${JSON.stringify(text)}`);
  return value;
}

/** The run's seed: KURA_FUZZ_SEED (decimal or 0x-hex, taken as a 32-bit integer) or DEFAULT_FUZZ_SEED. */
export function fuzzSeed(): number {
  const value = envNumber('KURA_FUZZ_SEED');
  return value === undefined ? DEFAULT_FUZZ_SEED : Math.trunc(value) >>> 0;
}

/** How many generated cases a fuzz test runs: KURA_FUZZ_CASES, or the test's own default. */
export function fuzzCases(fallback: number): number {
  const value = envNumber('KURA_FUZZ_CASES');
  return value === undefined ? fallback : Math.max(1, Math.trunc(value));
}

/** The time budget of a fuzz test in milliseconds: KURA_FUZZ_SECONDS, or the test's own default. */
export function fuzzBudgetMs(fallbackSeconds: number): number {
  const value = envNumber('KURA_FUZZ_SECONDS');
  return Math.round((value === undefined || value === 0 ? fallbackSeconds : value) * 1000);
}

/** `seed=0x4b757261`: how a seed is shown in every failure message. */
export const showSeed = (seed: number): string => `seed=0x${(seed >>> 0).toString(16).padStart(8, '0')}`;

/** splitmix32's step: a well-mixed 32-bit value from a 32-bit state. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator for `seed` and any number of case coordinates (a case index, an operation index, …). */
  constructor(seed: number, ...coordinates: number[]) {
    let h = splitmix32(seed >>> 0);
    for (const c of coordinates) h = splitmix32(h ^ (c >>> 0));
    this.s0 = h = splitmix32(h);
    this.s1 = h = splitmix32(h);
    this.s2 = h = splitmix32(h);
    this.s3 = splitmix32(h);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit unsigned value (xoshiro128**). */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000;
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Picks by weight: [[weight, value], …]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let x = this.float() * total;
    for (const [w, value] of choices) {
      if (x < w) return value;
      x -= w;
    }
    return (choices[choices.length - 1] as readonly [number, T])[1];
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** n characters drawn from `alphabet` (a string of single UTF-16 units, or a list of strings). */
  string(alphabet: string | readonly string[], n: number): string {
    const chars = typeof alphabet === 'string' ? [...alphabet] : alphabet;
    let out = '';
    for (let i = 0; i < n; i++) out += this.pick(chars);
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
