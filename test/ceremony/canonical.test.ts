// Kura's canonical JSON (main/ceremony/canonical.ts, docs/canonical-json.md): member order by UTF-16
// code units as RFC 8785 section 3.2.3 orders them, string escapes as RFC 8785 section 3.2.2.2 writes
// them, the refusals, a seeded property test against an independent oracle, and the example printed in
// docs/canonical-json.md (so that the page cannot drift from the code).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson, MAX_CANONICAL_DEPTH, parametersDigest } from '../../main/ceremony/canonical.js';
import { approvalStatement } from '../../main/ceremony/statement.js';
import { DEFAULT_FUZZ_SEED, fuzzCases, Rng, showSeed } from '../support/fuzz-rng.js';
import { validationRefusal } from './refusal.js';

const refusal = (value: unknown): string => validationRefusal(() => canonicalJson(value));

describe('canonicalJson', () => {
  it('sorts members by UTF-16 code units, not by code points or locale', () => {
    // U+1F600 is the pair D83D DE00, so it sorts before U+FB01 although its code point is higher;
    // upper case before lower case; é (U+00E9) after every ASCII letter.
    const value = { 'ﬁ': 1, '😀': 2, é: 3, z: 4, Z: 5, a: 6, '': 7, aa: 8, 'a b': 9 };
    expect(canonicalJson(value)).toBe('{"":7,"Z":5,"a":6,"a b":9,"aa":8,"z":4,"é":3,"😀":2,"ﬁ":1}');
  });

  it('ignores insertion order and writes no whitespace, at every level', () => {
    const a = { outer: { b: [1, { y: true, x: null }], a: 'A' }, first: 0 };
    const b = { first: 0, outer: { a: 'A', b: [1, { x: null, y: true }] } };
    expect(canonicalJson(a)).toBe('{"first":0,"outer":{"a":"A","b":[1,{"x":null,"y":true}]}}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(canonicalJson([[], {}, [[]], [{}]])).toBe('[[],{},[[]],[{}]]');
  });

  it('writes strings as JSON.stringify does: short escapes, lower-case \\u00xx, everything else as itself', () => {
    expect(canonicalJson('"\\/\b\t\n\f\r')).toBe('"\\"\\\\/\\b\\t\\n\\f\\r"');
    expect(canonicalJson('\u0000\u0001\u001f\u007f')).toBe('"\\u0000\\u0001\\u001f\u007f"');
    expect(canonicalJson('é 😀 \u2028\u2029 <>&')).toBe('"é 😀 \u2028\u2029 <>&"');
    expect(canonicalJson({ 'a"b\n': 'x' })).toBe('{"a\\"b\\n":"x"}');
  });

  it('writes safe integers in plain decimal, -0 as 0, and the literals', () => {
    expect(canonicalJson([0, -0, 1, -1, 1e6, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])).toBe(
      '[0,0,1,-1,1000000,9007199254740991,-9007199254740991]',
    );
    expect(canonicalJson([true, false, null])).toBe('[true,false,null]');
  });

  it('leaves out members whose value is undefined, and only those', () => {
    expect(canonicalJson({ a: undefined, b: null, c: 0, d: '', e: false })).toBe('{"b":null,"c":0,"d":"","e":false}');
    expect(canonicalJson({ a: undefined })).toBe('{}');
    expect(canonicalJson(Object.assign(Object.create(null) as object, { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });

  it('refuses numbers that are not safe integers', () => {
    for (const n of [1.5, -0.1, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e21]) {
      expect(refusal({ n }), String(n)).toMatch(/^Canonical JSON refuses the number .* at \$\.n\./);
    }
  });

  it('refuses undefined in arrays (holes included), bytes, and what JSON has no form for', () => {
    expect(refusal([1, undefined])).toMatch(/undefined in an array at \$\[1\]/);
    // eslint-disable-next-line no-sparse-arrays
    expect(refusal([1, , 3])).toMatch(/undefined in an array at \$\[1\]/);
    expect(refusal(undefined)).toMatch(/undefined at \$/);
    expect(refusal({ key: Buffer.from('k') })).toMatch(/bytes \(Buffer\); base64 them first at \$\.key/);
    expect(refusal({ key: new Uint8Array(2) })).toMatch(/bytes \(Uint8Array\)/);
    expect(refusal(new ArrayBuffer(2))).toMatch(/bytes \(ArrayBuffer\)/);
    expect(refusal({ at: new Date(0) })).toMatch(/a Date object .* at \$\.at/);
    expect(refusal(new Map())).toMatch(/a Map object/);
    expect(refusal({ f: () => 1 })).toMatch(/a function at \$\.f/);
    expect(refusal({ s: Symbol('s') })).toMatch(/a symbol at \$\.s/);
    expect(refusal({ 'odd name': 1n })).toMatch(/a bigint at \$\["odd name"\]/);
    expect(refusal({ toJSON: () => 'x' })).toMatch(/a function at \$\.toJSON/);
  });

  it('refuses lone surrogates in strings and names, without quoting the value', () => {
    const message = refusal({ Secret: 'hunter2\uD800' });
    expect(message).toMatch(/not well-formed Unicode .* at \$\.Secret/);
    expect(message).not.toContain('hunter2');
    expect(refusal({ ['\uDC00']: 1 })).toMatch(/member name that is not well-formed Unicode/);
    expect(canonicalJson('\uD83D\uDE00')).toBe('"😀"');
  });

  it('refuses cycles and nesting deeper than the limit, and accepts the same object twice side by side', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(refusal(cyclic)).toMatch(/a cycle at \$\.self\.back/);
    const shared = { x: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]');
    const nest = (depth: number): unknown => (depth === 0 ? 0 : [nest(depth - 1)]);
    expect(canonicalJson(nest(MAX_CANONICAL_DEPTH))).toBe(`${'['.repeat(MAX_CANONICAL_DEPTH)}0${']'.repeat(MAX_CANONICAL_DEPTH)}`);
    expect(refusal(nest(MAX_CANONICAL_DEPTH + 1))).toMatch(/nesting deeper than 64 levels/);
  });
});

describe('parametersDigest', () => {
  it('is SHA-256 of the canonical UTF-8 bytes, in lower-case hex', () => {
    const value = { b: 'é', a: [1, 2] };
    const expected = createHash('sha256').update(Buffer.from('{"a":[1,2],"b":"é"}', 'utf8')).digest('hex');
    expect(parametersDigest(value)).toBe(expected);
    expect(parametersDigest(value)).toMatch(/^[0-9a-f]{64}$/);
    expect(parametersDigest({ a: [1, 2], b: 'é' })).toBe(expected);
    expect(parametersDigest({ a: [2, 1], b: 'é' })).not.toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------------
// Property test: random values within the rules.

/**
 * Characters that exercise every escape rule and both sort orders (BMP, astral, the U+E000+ range).
 * No digits: objects put integer-like names first whatever their insertion order, which the oracle's
 * sorted insertion could not express.
 */
const ALPHABET = ['a', 'B', 'z', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', 'ß', '\u2028', '\uE000', 'ﬁ', '\uFFFF', '😀', '𝄞', '中'];

function randomString(rng: Rng): string {
  return rng.string(ALPHABET, rng.int(0, 6));
}

function randomValue(rng: Rng, depth: number): unknown {
  const kind = rng.weighted<string>([
    [3, 'string'],
    [3, 'integer'],
    [1, 'literal'],
    [depth < 4 ? 2 : 0, 'array'],
    [depth < 4 ? 2 : 0, 'object'],
  ]);
  switch (kind) {
    case 'string':
      return randomString(rng);
    case 'integer':
      return rng.pick([0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, rng.int(-1_000_000, 1_000_000)]);
    case 'literal':
      return rng.pick([true, false, null]);
    case 'array':
      return Array.from({ length: rng.int(0, 4) }, () => randomValue(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(0, 5); i > 0; i--) object[randomString(rng)] = randomValue(rng, depth + 1);
      return object;
    }
  }
}

/** The same value with every object's members inserted in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
}

/** An independent oracle: JSON.stringify of a copy whose members were inserted in sorted order. */
function oracle(value: unknown): string {
  const sortedCopy = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortedCopy);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, x]) => [k, sortedCopy(x)]));
  };
  return JSON.stringify(sortedCopy(value));
}

describe('canonicalJson over random values', () => {
  const seed = DEFAULT_FUZZ_SEED;
  const cases = fuzzCases(500);

  it(`round-trips through JSON.parse, is idempotent, ignores member order and agrees with an oracle (${cases} cases)`, () => {
    for (let i = 0; i < cases; i++) {
      const value = randomValue(new Rng(seed, i), 0);
      const where = `${showSeed(seed)} case ${i}`;
      const text = canonicalJson(value);
      const parsed: unknown = JSON.parse(text);
      expect(parsed, where).toStrictEqual(value);
      expect(canonicalJson(parsed), where).toBe(text);
      expect(canonicalJson(reversed(value)), where).toBe(text);
      expect(oracle(value), where).toBe(text);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// docs/canonical-json.md: the example printed there is checked here.

describe('docs/canonical-json.md', () => {
  const doc = readFileSync(new URL('../../docs/canonical-json.md', import.meta.url), 'utf8');
  const block = (name: string): string => {
    const match = new RegExp(`<!-- canonical-json-example: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(doc);
    if (match === null) throw new Error(`docs/canonical-json.md has no "${name}" example block`);
    return match[1]!;
  };
  const printedDigest = (): string => {
    const match = /<!-- canonical-json-example: digest -->\n`([0-9a-f]{64})`\n/.exec(doc);
    if (match === null) throw new Error('docs/canonical-json.md has no example digest');
    return match[1]!;
  };

  it('prints the canonical form of its example input', () => {
    const input: unknown = JSON.parse(block('input'));
    expect(canonicalJson(input)).toBe(block('canonical'));
  });

  it('prints the SHA-256 of that canonical form', () => {
    const input: unknown = JSON.parse(block('input'));
    expect(parametersDigest(input)).toBe(printedDigest());
    expect(createHash('sha256').update(block('canonical'), 'utf8').digest('hex')).toBe(printedDigest());
  });

  it('prints the approval statement of its example request, which ends with one newline', () => {
    const statement = approvalStatement({
      requestId: 'apr-0f3c9a2e',
      digest: printedDigest(),
      action: 'ScheduleKeyDeletion',
      expiresAt: Date.UTC(2026, 2, 14, 9, 30, 0),
      applianceId: 'kura-7d41e0b2',
    });
    expect(statement.toString('utf8')).toBe(`${block('statement')}\n`);
  });
});
