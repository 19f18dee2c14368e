// Kura's canonical JSON: the one byte string a value stands for, which quorum approvals sign (through
// their statement, main/ceremony/statement.ts) and whose SHA-256 is an approval request's parameters
// digest. docs/canonical-json.md states the rules for whoever re-implements them elsewhere.
//
// It is the JSON Canonicalization Scheme of RFC 8785 (JCS) restricted to what Kura signs:
//   - object members sorted by the UTF-16 code units of their names (RFC 8785 section 3.2.3), no
//     whitespace, strings written as ECMAScript's JSON.stringify writes them (section 3.2.2.2);
//   - numbers only as safe integers (−(2^53 − 1) … 2^53 − 1), so that the ECMAScript number
//     serialization JCS needs for floats never comes into play: the parameters Kura signs have none;
//   - strings and names well-formed Unicode (no lone surrogate, as I-JSON, RFC 7493 section 2.1, asks),
//     so that every implementation encodes them to the same UTF-8;
//   - a member whose value is undefined is left out (as JSON.stringify does); anything else JSON cannot
//     say (undefined in an array, functions, symbols, bigints, Dates, Maps, class instances, bytes) is
//     refused rather than guessed at: callers base64 bytes and write times as ISO 8601 strings first.
// Within those limits the output is exactly RFC 8785's, so any JCS library reproduces it.
import { createHash } from 'node:crypto';
import { kmsErrors } from '../common/errors.js';

/** Deeper nesting is refused: parameters are shallow, and this keeps recursion far from the stack limit. */
export const MAX_CANONICAL_DEPTH = 64;

/** A lone surrogate: with the u flag a well-formed pair is one code point and does not match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The canonical JSON text of `value` (see the file header and docs/canonical-json.md). */
export function canonicalJson(value: unknown): string {
  return write(value, '$', [], 0);
}

/** SHA-256 of the UTF-8 bytes of canonicalJson(value), as 64 lower-case hex digits. */
export function parametersDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

const refuse = (path: string, what: string) => kmsErrors.validation(`Canonical JSON refuses ${what} at ${path}.`);

/** `$.a.b`, or `$["odd name"]` for a name that is not a plain identifier. */
const memberPath = (path: string, name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`);

function writeString(text: string, path: string, what: string): string {
  // The value itself is not quoted in the message: parameters may hold things that are not for a log.
  if (LONE_SURROGATE.test(text)) throw refuse(path, `a ${what} that is not well-formed Unicode (a lone surrogate)`);
  return JSON.stringify(text);
}

function write(value: unknown, path: string, ancestors: object[], depth: number): string {
  switch (typeof value) {
    case 'string':
      return writeString(value, path, 'string');
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // -0 is a safe integer and JSON.stringify writes it as 0, as RFC 8785 does.
      if (!Number.isSafeInteger(value)) throw refuse(path, `the number ${value} (only safe integers are signed)`);
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      return writeContainer(value, path, ancestors, depth);
    case 'undefined':
      throw refuse(path, 'undefined');
    default:
      throw refuse(path, `a ${typeof value}`);
  }
}

function writeContainer(value: object, path: string, ancestors: object[], depth: number): string {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    throw refuse(path, `bytes (${value.constructor.name}); base64 them first`);
  }
  if (ancestors.includes(value)) throw refuse(path, 'a cycle');
  if (depth >= MAX_CANONICAL_DEPTH) throw refuse(path, `nesting deeper than ${MAX_CANONICAL_DEPTH} levels`);
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    const items: string[] = [];
    // An index loop, not map(): map skips the holes of a sparse array, which must be refused.
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) throw refuse(`${path}[${i}]`, 'undefined in an array');
      items.push(write(item, `${path}[${i}]`, inner, depth + 1));
    }
    return `[${items.join(',')}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw refuse(path, `a ${value.constructor?.name ?? 'non-plain'} object (only plain objects, arrays and primitives)`);
  }
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  // The default sort compares UTF-16 code units, which is RFC 8785's order (not code points).
  for (const name of Object.keys(record).sort()) {
    const member = record[name];
    if (member === undefined) continue;
    const at = memberPath(path, name);
    members.push(`${writeString(name, at, 'member name')}:${write(member, at, inner, depth + 1)}`);
  }
  return `{${members.join(',')}}`;
}
