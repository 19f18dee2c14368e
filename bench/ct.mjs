// A dudect-style timing check of Kura's WebAssembly AES-256 core (Reparaz, Balasch and Verbauwhede,
// "Dude, is my code constant time?", DATE 2017): for each operation, inputs from two classes — one
// fixed value and fresh random values — are interleaved in random order, every call is timed, and a
// Welch t-test compares the two timing distributions (raw, and cropped at several percentiles to cut
// the tail that interrupts and GC add). |t| < 4.5 means no leak detected at this sample size; it is
// evidence, not proof (the design argument is in native/aes-gcm/assembly/index.ts).
//
// The exports of the .wasm are called directly, with inputs written into its memory outside the timed
// region, so what is timed is the core itself, not the JavaScript copying around it.
//
// A control test with a deliberately leaky comparison runs last: its |t| must be far above 4.5,
// otherwise the measurement is too noisy to mean anything (printed as CTRL?).
//
// Usage: npm run bench:ct [-- --samples N] [--json]
//   --samples N   timed calls per test (default 200000)
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printHelpAndExit } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { samples: { type: 'string', default: '200000' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
if (opts.help) printHelpAndExit(import.meta.url);
const SAMPLES = Number(opts.samples);
const THRESHOLD = 4.5;

const wasmPath = path.join(ROOT, 'native', 'aes-gcm', 'build', 'aes_gcm.wasm');
if (!existsSync(wasmPath)) {
  console.error(`${wasmPath} is missing: run \`npm run build:wasm\` first`);
  process.exit(1);
}
const { WebAssembly: wasm } = globalThis;
const x = new wasm.Instance(new wasm.Module(readFileSync(wasmPath)), {}).exports;
const SLOT_BASE = x.LAYOUT_SLOT_BASE.value;
const SLOT_SIZE = x.LAYOUT_SLOT_SIZE.value;
const IO = SLOT_BASE + 3 * SLOT_SIZE; // slots 0..2, then the I/O area
x.memory.grow(2);
const mem = () => new Uint8Array(x.memory.buffer);

// I/O area layout for these tests.
const KEY = IO;
const IV = IO + 64;
const AAD = IO + 128;
const DATA = IO + 256;
const TAG = IO + 2048;
const MSG = 64; // bytes per sealed message

/**
 * One dudect test. Inputs are drawn before timing starts: input i is `fixed` when class i is 0 and
 * fresh random bytes otherwise, and both classes go through the same untimed `prepare(input)` (so
 * allocation, the random generator and cache effects of preparing an input are the same for both).
 * `run()` is the timed call.
 */
function measure(name, fixed, prepare, run) {
  const len = fixed.length;
  const classes = new Uint8Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) classes[i] = randomBytes(1)[0] & 1;
  const pool = randomBytes(SAMPLES * len);
  for (let i = 0; i < SAMPLES; i++) if (classes[i] === 0) pool.set(fixed, i * len);
  const times = new Float64Array(SAMPLES);
  for (let i = 0; i < 2000; i++) {
    prepare(pool.subarray((i % SAMPLES) * len, (i % SAMPLES + 1) * len));
    run();
  }
  for (let i = 0; i < SAMPLES; i++) {
    prepare(pool.subarray(i * len, (i + 1) * len));
    const t0 = process.hrtime.bigint();
    run();
    const t1 = process.hrtime.bigint();
    times[i] = Number(t1 - t0);
  }
  const sorted = Float64Array.from(times).sort();
  const crops = [0.5, 0.75, 0.9, 0.95, 0.99, 1];
  const ts = crops.map((p) => {
    const limit = p === 1 ? Infinity : sorted[Math.floor(p * (SAMPLES - 1))];
    return { crop: p, t: welch(times, classes, limit) };
  });
  // A crop that leaves one class (almost) empty gives no statistic (NaN): it is skipped.
  const maxT = Math.max(...ts.map((r) => Math.abs(r.t.t)).filter(Number.isFinite));
  return { name, samples: SAMPLES, medianNs: sorted[SAMPLES >> 1], crops: ts, maxAbsT: maxT, leak: maxT >= THRESHOLD };
}

/** Welch's t statistic between class 0 and class 1 over the samples not above `limit`. */
function welch(times, classes, limit) {
  const n = [0, 0];
  const mean = [0, 0];
  const m2 = [0, 0];
  for (let i = 0; i < times.length; i++) {
    const v = times[i];
    if (v > limit) continue;
    const c = classes[i];
    n[c]++;
    const d = v - mean[c];
    mean[c] += d / n[c];
    m2[c] += d * (v - mean[c]);
  }
  const var0 = m2[0] / (n[0] - 1);
  const var1 = m2[1] / (n[1] - 1);
  return { t: (mean[0] - mean[1]) / Math.sqrt(var0 / n[0] + var1 / n[1]), n0: n[0], n1: n[1] };
}

const fixedKey = Buffer.alloc(32, 0);
const fixedPlain = Buffer.alloc(MSG, 0);
mem().set(randomBytes(12), IV);
mem().set(randomBytes(16), AAD);

const results = [];

// 1. Key schedule and GHASH table (keyImport): fixed key vs random keys.
results.push(
  measure(
    'key import (AES-256 key schedule + GHASH table): fixed vs random key',
    fixedKey,
    (key) => mem().set(key, KEY),
    () => x.keyImport(0, KEY),
  ),
);

// 2. Encryption under a fixed vs a random key: both classes re-import their key into slot 1 first.
results.push(
  measure(
    `GCM seal of ${MSG} bytes: fixed vs random key`,
    fixedKey,
    (key) => {
      const m = mem();
      m.set(key, KEY);
      x.keyImport(1, KEY);
      m.set(fixedPlain, DATA);
    },
    () => x.gcmSeal(1, IV, 12, AAD, 16, DATA, MSG, DATA),
  ),
);

// 3. Encryption of a fixed vs random plaintext under one random key.
mem().set(randomBytes(32), KEY);
x.keyImport(2, KEY);
results.push(
  measure(
    `GCM seal of ${MSG} bytes: fixed vs random plaintext`,
    fixedPlain,
    (pt) => mem().set(pt, DATA),
    () => x.gcmSeal(2, IV, 12, AAD, 16, DATA, MSG, DATA),
  ),
);

// 4. Decryption (tag check) of a fixed vs random ciphertext with a wrong tag: both fail, so the
//    time must not depend on the data nor on how the tags differ.
const badTag = Buffer.alloc(16, 0x11);
results.push(
  measure(
    `GCM open of ${MSG} bytes (forged tag): fixed vs random ciphertext`,
    Buffer.alloc(MSG, 0),
    (ct) => {
      const m = mem();
      m.set(ct, DATA);
      m.set(badTag, TAG);
    },
    () => x.gcmOpen(2, IV, 12, AAD, 16, DATA, MSG, TAG, DATA),
  ),
);

// 5. Tag check: a tag wrong in its first byte vs one wrong in a random other position.
const ct = randomBytes(MSG);
results.push(
  measure(
    `GCM open of ${MSG} bytes: fixed forged tag vs random forged tags`,
    Buffer.alloc(16, 0x11),
    (tag) => {
      const m = mem();
      m.set(ct, DATA);
      m.set(tag, TAG);
    },
    () => x.gcmOpen(2, IV, 12, AAD, 16, DATA, MSG, TAG, DATA),
  ),
);

// 6. Key unwrap (RFC 5649) of fixed vs random wrapped data: both fail the integrity check.
results.push(
  measure(
    'KWP unwrap of 40 bytes: fixed vs random input (both fail)',
    Buffer.alloc(40, 0),
    (wrapped) => mem().set(wrapped, DATA),
    () => x.keyUnwrapPad(2, DATA, 40, TAG),
  ),
);

// Control: a deliberately leaky comparison (early exit at the first differing byte), to show that
// this harness, on this machine, does detect a timing difference of this kind.
const secret = randomBytes(256);
let probe = secret;
results.push({
  ...measure(
    'control, leaky on purpose: early-exit comparison of 256 bytes, equal vs random input',
    secret,
    (input) => (probe = input),
    () => {
      for (let i = 0; i < secret.length; i++) if (secret[i] !== probe[i]) return false;
      return true;
    },
  ),
  control: true,
});

for (let s = 0; s < 3; s++) x.keyRelease(s);

if (opts.json) {
  console.log(JSON.stringify({ node: process.version, threshold: THRESHOLD, results }, null, 2));
} else {
  console.log(`dudect-style Welch t-test, ${SAMPLES} timed calls per test, classes interleaved at random; |t| < ${THRESHOLD}: no leak detected`);
  for (const r of results) {
    const detail = r.crops.map((c) => `${c.crop === 1 ? 'all' : `p${Math.round(c.crop * 100)}`} ${Number.isFinite(c.t.t) ? c.t.t.toFixed(2) : '-'}`).join(', ');
    const verdict = r.control ? (r.leak ? 'ctrl ' : 'CTRL?') : r.leak ? 'LEAK?' : 'ok   ';
    console.log(`${verdict} max|t| ${r.maxAbsT.toFixed(2).padStart(6)}  median ${(r.medianNs / 1000).toFixed(2)} µs  ${r.name}`);
    console.log(`      t by crop: ${detail}`);
  }
}
