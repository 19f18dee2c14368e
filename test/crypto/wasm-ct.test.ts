// The WebAssembly AES-256 core (native/aes-gcm) is secret-independent: no branch and no memory address
// in the functions its exports reach depends on the key, the round keys, the GHASH table or state,
// plaintext, ciphertext or the tag, as native/aes-gcm/assembly/index.ts promises. Checked statically on
// the built module by taint analysis (test/support/wasm-ct.ts says what that proves and what it
// does not); functional tests cannot see this, an early-exit tag compare passes all of them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WASM_CORE_PATH } from '../../main/crypto/wasm-aead.js';
import { analyseConstantTime, watIsWasm, type CtAllowance, type CtFinding } from '../support/wasm-ct.js';

// The build writes the .wat listing next to the .wasm in the same asc run (native/aes-gcm/build.mjs).
const WAT_PATH = WASM_CORE_PATH.replace(/\.wasm$/, '.wat');

/**
 * The only secret-dependent sites allowed: each is where a secret has been folded into a result that
 * the caller learns anyway, so branching on it (or sizing the output by it) reveals nothing more.
 * `where` is the source function (the analysis sees through inlining); `text` pins the shape of the
 * instruction so that another branch in the same function is not covered.
 */
const ALLOWANCES: CtAllowance[] = [
  {
    where: 'gcm/open',
    kinds: ['if', 'br_if'],
    // v128.any_true of (computed tag ^ given tag): every byte difference ORed into one flag.
    text: /^\(v128\.any_true /,
    max: 1,
    reason: 'GCM-AD: the single branch on the folded tag difference; authentic or not is the result of the call',
  },
  {
    where: 'kw/kwUnwrap',
    kinds: ['if', 'br_if'],
    // nonZero64(A ^ IV) = (x | -x) >> 63, wrapped to i32.
    text: /^\(i32\.wrap_i64 \(i64\.shr_u \(i64\.or /,
    max: 1,
    reason: 'KW-AD: the single branch on the folded integrity flag (RFC 3394 check value); pass or fail is the result',
  },
  {
    where: 'kw/kwpUnwrap',
    kinds: ['if', 'br_if'],
    // bad = nonZero64(magic) | less(..) | less(..) | nonZero64(padding), wrapped to i32.
    text: /^\(i32\.wrap_i64 \(i64\.or /,
    max: 1,
    reason: 'KWP-AD: the single branch on the folded flag (check value, length indicator bounds, zero padding); pass or fail is the result',
  },
  {
    where: 'kw/kwpUnwrap',
    kinds: ['memory.copy'],
    text: /\[secret: size\]$/,
    max: 1,
    afterCheck: true,
    reason: 'KWP-AD, after the integrity branch (the analysis does not tell its arms apart; kw.ts returns on failure): moving the MLI key bytes to the front; MLI is the returned key length',
  },
  {
    where: 'kw/kwpUnwrap',
    kinds: ['memory.fill'],
    text: /\[secret: dest, size\]$/,
    max: 1,
    afterCheck: true,
    reason: 'KWP-AD, after the integrity branch (the analysis does not tell its arms apart; kw.ts returns on failure): wiping from MLI to the end; MLI is the returned key length',
  },
];

// `where` falls back to the wasm function when the optimizer inlined a callee without leaving its
// `__inlined_func$` block behind (e.g. aes/expandKey shows as index/keyImport).
const describeSite = (f: CtFinding): string =>
  `${f.where}${f.where === f.func ? '' : ` (inlined into ${f.func})`}: secret-dependent ${f.kind}: ${f.text}` +
  (f.context === f.text ? '' : ` in ${f.context}`);

describe('the WebAssembly AES-256 core is secret-independent', () => {
  it('the .wat listing analysed is the .wasm module Kura loads', () => {
    const wat = readFileSync(WAT_PATH, 'utf8');
    expect(watIsWasm(wat, readFileSync(WASM_CORE_PATH)), `${WAT_PATH} does not encode to ${WASM_CORE_PATH}: rebuild with npm run build:wasm`).toBe(true);
  });

  it('no branch, address or variable-time operand depends on a secret, beyond the allowances', () => {
    const report = analyseConstantTime(readFileSync(WAT_PATH, 'utf8'), ALLOWANCES);

    expect(report.findings.map(describeSite), 'secret-dependent sites (see the header of test/support/wasm-ct.ts)').toEqual([]);

    // Every allowance is used exactly as often as it says: a stale or loosened list fails too.
    for (const { allowance, sites } of report.allowed) {
      expect(sites.length, `allowance for ${allowance.where} (${allowance.reason})`).toBe(allowance.max);
    }

    // The analysis did reach the cryptographic code (it is not vacuous).
    for (const f of ['aes/encrypt8', 'aes/decrypt8', 'aes/subBytesRound', 'aes/subWord', 'ghash/gmul', 'ghash/ghash', 'gcm/seal', 'gcm/open', 'kw/wrapInPlace', 'kw/unwrapInPlace']) {
      expect(report.functions).toContain(f);
    }
  });
});

// The analyser itself, on hand-written modules: each export is one case (memory is secret, parameters public).
describe('the taint analysis', () => {
  const wat = `(module
    (memory (export "memory") 1)
    (func $load (param $p i32) (result i32) (i32.load8_u (local.get $p)))
    (func $at (param $p i32) (result i32) (i32.load8_u (local.get $p)))
    (func $earlyExit (export "earlyExit") (param $a i32) (param $b i32) (result i32) (local $i i32)
      (loop $next
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 16))))
      (i32.const 1))
    (func $sbox (export "sbox") (param $p i32) (result i32)
      (i32.load8_u offset=1024 (i32.load8_u (local.get $p))))
    (func $viaCall (export "viaCall") (param $p i32) (result i32)
      (select (i32.const 1) (i32.const 2) (call $load (local.get $p))))
    (func $intoCallee (export "intoCallee") (param $p i32) (result i32)
      (call $at (call $load (local.get $p))))
    (func $backEdge (export "backEdge") (param $p i32) (param $n i32) (local $x i32) (local $i i32)
      (loop $l
        (if (local.get $x) (then (nop)))
        (local.set $x (i32.load (local.get $p)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
    (func $masked (export "masked") (param $a i32) (param $b i32) (param $n i32) (result i32) (local $acc i32) (local $i i32)
      (local.set $i (i32.load (local.get $a)))
      (local.set $i (i32.const 0))
      (loop $l
        (local.set $acc (i32.or (local.get $acc) (i32.xor (i32.load (i32.add (local.get $a) (local.get $i))) (i32.load (i32.add (local.get $b) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (i32.eqz (local.get $acc)))
    (func $divide (export "divide") (param $p i32) (result i32)
      (i32.div_u (i32.load (local.get $p)) (i32.const 3)))
    (func $declassify (export "declassify") (param $p i32) (result i32) (local $n i32)
      (local.set $n (i32.load (local.get $p)))
      (memory.fill (local.get $p) (i32.const 0) (local.get $n))
      (if (i32.load (i32.const 8)) (then (return (i32.const 0))))
      (memory.fill (local.get $p) (i32.const 0) (local.get $n))
      (local.get $n))
  )`;
  const sites = (entry: string): string[] =>
    analyseConstantTime(wat, [], [entry]).findings.map((f) => `${f.where} ${f.kind}`).sort();

  it('flags an early-exit compare, a table lookup, a secret select through a call, and a secret argument used as an address', () => {
    expect(sites('earlyExit')).toEqual(['earlyExit if']);
    expect(sites('sbox')).toEqual(['sbox address']);
    expect(sites('viaCall')).toEqual(['viaCall select']);
    expect(sites('intoCallee')).toEqual(['at address']);
  });

  it('follows a secret around a loop back edge, and flags secret operands of division', () => {
    expect(sites('backEdge')).toEqual(['backEdge if']);
    expect(sites('divide')).toEqual(['divide variable-time op']);
  });

  it('accepts a masked compare and a local that is reused for a public counter', () => {
    expect(sites('masked')).toEqual([]);
  });

  it('allows a site marked afterCheck only after the allowed branch', () => {
    const report = analyseConstantTime(wat, [
      { where: 'declassify', kinds: ['if'], text: /^\(i32\.load /, max: 1, reason: 'the check' },
      { where: 'declassify', kinds: ['memory.fill'], text: /\[secret: size\]$/, max: 2, afterCheck: true, reason: 'after the check' },
    ], ['declassify']);
    expect(report.findings.map((f) => `${f.kind} ${f.afterCheck}`)).toEqual(['memory.fill false']);
    expect(report.allowed.map(({ sites }) => sites.length)).toEqual([1, 1]);
  });
});
