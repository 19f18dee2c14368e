// AES-256-GCM throughput and per-operation latency of Kura's WebAssembly core against
//   node     — node:crypto (OpenSSL with AES-NI/VAES and PCLMULQDQ: the physical reference),
//   noble    — @noble/ciphers gcm (pure JavaScript, the best-known JS peer),
// encrypting and decrypting 32 B, 1 KiB, 4 KiB, 64 KiB and 1 MiB, through the same Aead-style calls
// Kura makes (seal → ciphertext||tag, open → plaintext), with a 32-byte AAD and 12-byte IVs.
// Goals (issue 3): at 4 KiB the core reaches ≥ 0.25 × node:crypto and ≥ 3 × @noble/ciphers in MB/s;
// at 32 B its time per operation is ≤ 1.5 × node:crypto's.
//
// The machine may be shared: every point runs several short rounds with the three implementations
// interleaved, and reports the median round of each.
//
// Usage: npm run bench:aead [-- --seconds N] [--json]
//   --seconds N   measured seconds per implementation and point (default 1)
//   --json        print the raw results as JSON
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { printHelpAndExit } from './lib.mjs';
import { gcm } from '@noble/ciphers/aes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { seconds: { type: 'string', default: '1' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
if (opts.help) printHelpAndExit(import.meta.url);
const SECONDS = Number(opts.seconds);
const ROUNDS = 5;

const compiled = path.join(ROOT, 'dist', 'crypto', 'wasm-aead.js');
if (!existsSync(compiled)) {
  console.error(`${compiled} is missing: run \`npm run build\` (and \`npm run build:wasm\`) first`);
  process.exit(1);
}
const { wasmAead } = await import(pathToFileURL(compiled).href);

const SIZES = [32, 1024, 4096, 65536, 1 << 20];
const label = (n) => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);
const key = randomBytes(32);
const iv = randomBytes(12);
const aad = randomBytes(32);

const wasmKey = wasmAead.importKey(key);
const impls = {
  wasm: {
    seal: (pt) => wasmKey.seal(iv, pt, aad),
    open: (sealed) => wasmKey.open(iv, sealed, aad),
  },
  node: {
    // What main/crypto/node-aead.ts does.
    seal: (pt) => {
      const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
      c.setAAD(aad);
      const head = c.update(pt);
      const tail = c.final();
      return Buffer.concat([head, tail, c.getAuthTag()]);
    },
    open: (sealed) => {
      const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      const head = d.update(sealed.subarray(0, sealed.length - 16));
      return Buffer.concat([head, d.final()]);
    },
  },
  noble: {
    seal: (pt) => gcm(key, iv, aad).encrypt(pt),
    open: (sealed) => gcm(key, iv, aad).decrypt(sealed),
  },
};
const NAMES = Object.keys(impls);

/** Runs fn for about `ms` milliseconds; returns seconds per operation. */
function timeRound(fn, arg, ms) {
  let ops = 0;
  const t0 = performance.now();
  let t;
  do {
    fn(arg);
    fn(arg);
    ops += 2;
    t = performance.now() - t0;
  } while (t < ms);
  return t / 1000 / ops;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const results = [];
for (const size of SIZES) {
  const pt = randomBytes(size);
  const sealed = impls.node.seal(pt);
  for (const name of NAMES) {
    // Agreement check before timing: the three must produce the same bytes.
    const s = Buffer.from(impls[name].seal(pt));
    if (!s.equals(sealed) || !Buffer.from(impls[name].open(sealed)).equals(pt)) throw new Error(`${name} disagrees at ${size} bytes`);
    for (let i = 0; i < 3; i++) impls[name].seal(pt); // warm-up
  }
  for (const op of ['seal', 'open']) {
    const arg = op === 'seal' ? pt : sealed;
    const per = Object.fromEntries(NAMES.map((n) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) for (const name of NAMES) per[name].push(timeRound(impls[name][op], arg, (SECONDS * 1000) / ROUNDS));
    for (const name of NAMES) {
      const s = median(per[name]);
      results.push({ impl: name, op: op === 'seal' ? 'encrypt' : 'decrypt', size, secondsPerOp: s, opsPerSec: 1 / s, mbPerSec: size / s / 1e6 });
    }
  }
}
wasmKey.destroy();

const find = (impl, op, size) => results.find((r) => r.impl === impl && r.op === op && r.size === size);
const ratios = [];
for (const op of ['encrypt', 'decrypt']) {
  for (const size of SIZES) {
    const w = find('wasm', op, size);
    const n = find('node', op, size);
    const b = find('noble', op, size);
    ratios.push({ op, size, vsNode: w.mbPerSec / n.mbPerSec, vsNoble: w.mbPerSec / b.mbPerSec, timeVsNode: w.secondsPerOp / n.secondsPerOp });
  }
}
const goals = [];
for (const op of ['encrypt', 'decrypt']) {
  const r4 = ratios.find((r) => r.op === op && r.size === 4096);
  const r32 = ratios.find((r) => r.op === op && r.size === 32);
  goals.push({ goal: `${op} 4 KiB ≥ 0.25 × node:crypto`, value: r4.vsNode, met: r4.vsNode >= 0.25 });
  goals.push({ goal: `${op} 4 KiB ≥ 3 × @noble/ciphers`, value: r4.vsNoble, met: r4.vsNoble >= 3 });
  goals.push({ goal: `${op} 32 B time/op ≤ 1.5 × node:crypto`, value: r32.timeVsNode, met: r32.timeVsNode <= 1.5 });
}

if (opts.json) {
  console.log(JSON.stringify({ node: process.version, seconds: SECONDS, results, ratios, goals }, null, 2));
} else {
  const pad = (s, n) => String(s).padStart(n);
  console.log(`AES-256-GCM, 12-byte IV, 32-byte AAD; median of ${ROUNDS} rounds, ${SECONDS} s per implementation and point; ${process.version}`);
  console.log(`${'op'.padEnd(8)}${pad('size', 8)}  ${NAMES.map((n) => `${pad(n + ' MB/s', 13)}${pad('ops/s', 10)}`).join('')}${pad('÷node', 8)}${pad('÷noble', 8)}${pad('t/node', 8)}`);
  for (const op of ['encrypt', 'decrypt']) {
    for (const size of SIZES) {
      const cells = NAMES.map((n) => {
        const r = find(n, op, size);
        return `${pad(r.mbPerSec.toFixed(1), 13)}${pad(Math.round(r.opsPerSec), 10)}`;
      });
      const q = ratios.find((r) => r.op === op && r.size === size);
      console.log(`${op.padEnd(8)}${pad(label(size), 8)}  ${cells.join('')}${pad(q.vsNode.toFixed(2), 8)}${pad(q.vsNoble.toFixed(1), 8)}${pad(q.timeVsNode.toFixed(2), 8)}`);
    }
  }
  console.log('\nGoals:');
  for (const g of goals) console.log(`  ${g.met ? 'met    ' : 'MISSED '} ${g.goal}: ${g.value.toFixed(2)}`);
}
