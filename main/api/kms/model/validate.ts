// Request validation and response serialization for the KMS JSON API, derived from the AWS API model
// (kms-2014-11-01.json beside this file: botocore 1.43.11, stripped of prose; see README.md).
//
// Follows the AWS JSON 1.1 protocol: blobs travel as base64 strings, timestamps as epoch seconds
// (a JSON number, fractions allowed). Requests fail the way AWS KMS fails them:
//  - SerializationException when the JSON does not fit the shape (wrong JSON type, bad base64): the
//    first such problem stops decoding, as a parser would;
//  - ValidationException counting every constraint violation (required, length, range, pattern, enum) in
//    AWS's wording: "2 validation errors detected: Value 'x' at 'keyId' failed to satisfy constraint: …; …".
// Unknown request members are dropped, as AWS does. Values of sensitive shapes and of blobs are never
// echoed in a message.
//
// Whatever a caller puts in its 1 MiB body, decoding does bounded work and answers in a few KiB:
//  - a ValidationException lists the first 10 violations, fewer if they are long (the count covers them
//    all), and a value or map key it echoes is cut to 128 characters;
//  - a list or map is measured before any element is looked at, against its max in the model or, where
//    the model has none, MAX_ELEMENTS (1000); one beyond MAX_ELEMENTS is not walked, and the message
//    then counts "At least N validation errors";
//  - an encryption context holds at most ENCRYPTION_CONTEXT_MAX_BYTES (8192) of keys and values;
//  - decoding follows the model's shapes, none of which contains itself, so JSON nested 100,000 deep
//    recurses no deeper than the model.
//
// Each operation's decoder and encoder is compiled once into closures on first use; patterns are
// compiled once per distinct pattern.
// (Over 400 lines: the request decoder and the response encoder are compiled from the same shape
// walker and share its bounded-error machinery; they are kept in one file so that neither can drift
// from the model's reading the other makes.)

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmsError } from '../../../common/errors.js';
import { base64Of } from '../../http.js';

// ---------------------------------------------------------------------------------------------------
// The model

export interface ShapeRef {
  readonly shape: string;
  readonly deprecated?: boolean;
}

export interface Shape {
  readonly type: string;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly sensitive?: boolean;
  readonly required?: readonly string[];
  readonly members?: Readonly<Record<string, ShapeRef>>;
  readonly member?: ShapeRef;
  readonly key?: ShapeRef;
  readonly value?: ShapeRef;
  readonly exception?: boolean;
}

export interface Operation {
  readonly name: string;
  readonly input?: ShapeRef;
  readonly output?: ShapeRef;
  readonly errors?: readonly ShapeRef[];
}

export interface KmsModel {
  readonly version: string;
  readonly metadata: Readonly<Record<string, unknown>> & { readonly apiVersion: string; readonly targetPrefix: string };
  readonly operations: Readonly<Record<string, Operation>>;
  readonly shapes: Readonly<Record<string, Shape>>;
}

const MODEL_FILE = 'kms-2014-11-01.json';
const PACKAGE_NAME = 'kura';

let cachedModel: KmsModel | undefined;

/**
 * The KMS API model, parsed once on first use. Beside this module when running from the source tree
 * (or when the build copied it); otherwise, from dist, in main/api/kms/model/ of the kura package.
 */
export function loadKmsModel(): KmsModel {
  if (cachedModel === undefined) {
    const parsed = JSON.parse(readFileSync(locateModelFile(), 'utf8')) as KmsModel;
    if (parsed.metadata?.apiVersion !== '2014-11-01' || parsed.metadata.targetPrefix !== 'TrentService') {
      throw new Error(`${MODEL_FILE} is not the KMS 2014-11-01 model`);
    }
    cachedModel = deepFreeze(parsed);
  }
  return cachedModel;
}

function locateModelFile(): string {
  const beside = fileURLToPath(new URL(`./${MODEL_FILE}`, import.meta.url));
  if (existsSync(beside)) return beside;
  for (let dir = dirname(beside); ; ) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isKuraManifest(manifest)) return join(dir, 'main', 'api', 'kms', 'model', MODEL_FILE);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${MODEL_FILE}: not beside ${beside} and no "${PACKAGE_NAME}" package above it`);
    dir = parent;
  }
}

function isKuraManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function operation(name: string): Operation | undefined {
  const ops = loadKmsModel().operations;
  return Object.hasOwn(ops, name) ? ops[name] : undefined;
}

function shapeNamed(name: string): Shape {
  const shapes = loadKmsModel().shapes;
  const shape = Object.hasOwn(shapes, name) ? shapes[name] : undefined;
  if (shape === undefined) throw new Error(`KMS model: shape ${name} is referenced but not defined`);
  return shape;
}

// ---------------------------------------------------------------------------------------------------
// Operations

let operationNames: ReadonlySet<string> | undefined;
const names = (): ReadonlySet<string> => (operationNames ??= new Set(Object.keys(loadKmsModel().operations)));

/** A read-only set that loads the model on first use, so importing this module reads no file. */
class OperationNames implements ReadonlySet<string> {
  get size(): number {
    return names().size;
  }
  has(value: string): boolean {
    return names().has(value);
  }
  forEach(callback: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const name of names()) callback.call(thisArg, name, name, this);
  }
  entries(): SetIterator<[string, string]> {
    return names().entries();
  }
  keys(): SetIterator<string> {
    return names().keys();
  }
  values(): SetIterator<string> {
    return names().values();
  }
  [Symbol.iterator](): SetIterator<string> {
    return names().values();
  }
}

/** The names of the 54 TrentService operations, as in `X-Amz-Target: TrentService.<name>`. */
export const OPERATIONS: ReadonlySet<string> = new OperationNames();

/** The error shapes (e.g. `NotFoundException`) the model lists for an operation. */
export function operationErrors(operationName: string): string[] {
  const op = operation(operationName);
  if (op === undefined) throw new Error(`unknown KMS operation ${operationName}`);
  return (op.errors ?? []).map((ref) => ref.shape);
}

// ---------------------------------------------------------------------------------------------------
// Java patterns → JS RegExps

// Java's \s is ASCII whitespace only (JS's also matches U+00A0, U+2028, U+FEFF, …).
const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';
// Java's . excludes these line terminators; JS's . excludes all of them but U+0085.
const JAVA_DOT = '[^\\n\\r\\u0085\\u2028\\u2029]';
const JS_SYNTAX_CHARS = '^$\\.*+?()[]{}|/';
const patternCache = new Map<string, RegExp>();

/**
 * Compiles a model pattern (Java regex syntax) to a JS RegExp (`u` flag) that must match the WHOLE
 * value: AWS validates with Java's Matcher.matches(), so an unanchored pattern such as
 * `[\u0009\u000A\u000D\u0020-\u00FF]+` (PolicyType) rejects a policy with a character outside that
 * set even though some substring matches (the AWS docs list exactly those characters as allowed).
 * Constructs whose meaning differs between Java and JS and that the model does not use are refused,
 * so a future model that needs them fails loudly in tests instead of validating differently.
 */
export function compileJavaPattern(pattern: string): RegExp {
  let compiled = patternCache.get(pattern);
  if (compiled === undefined) {
    compiled = new RegExp(`^(?:${translateJavaPattern(pattern)})$`, 'u');
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

function translateJavaPattern(pattern: string): string {
  const unsupported = (what: string): Error => new Error(`KMS model pattern ${pattern}: ${what} is not supported`);
  let out = '';
  let inClass = false;
  let inBraces = false;
  let afterQuantifier: boolean = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    const quantifierBefore: boolean = afterQuantifier;
    afterQuantifier = false;
    if (c === '\\') {
      const n = pattern[++i];
      if (n === undefined) throw unsupported('a trailing backslash');
      if (n === 's') out += inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`;
      else if (n === 'S' && !inClass) out += `[^${JAVA_SPACE}]`;
      else if ('dDwWtnrf'.includes(n)) out += `\\${n}`;
      else if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(pattern.slice(i + 1, i + 5))) {
        out += `\\u${pattern.slice(i + 1, i + 5)}`;
        i += 4;
      } else if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(pattern.slice(i + 1, i + 3))) {
        out += `\\x${pattern.slice(i + 1, i + 3)}`;
        i += 2;
      } else if (n === 'p' || n === 'P') {
        // Unicode general categories and scripts mean the same in both; Java's POSIX-style names
        // (\p{Alpha}, \p{Punct}, …) do not exist in JS.
        const close = pattern.indexOf('}', i);
        const name = pattern[i + 1] === '{' && close > i ? pattern.slice(i + 2, close) : '';
        if (!/^(L[ultmo]?|N[dlo]?|P[cdseifo]?|S[mcko]?|Z[slp]?|M[nce]?|C[cfson]?)$/.test(name)) throw unsupported(`\\${n}{${name}}`);
        out += `\\${n}{${name}}`;
        i = close;
      } else if (/[0-9A-Za-z]/.test(n)) throw unsupported(`\\${n}`);
      else if (JS_SYNTAX_CHARS.includes(n) || (inClass && n === '-')) out += `\\${n}`;
      else out += `\\u{${(n.codePointAt(0) as number).toString(16)}}`;
      continue;
    }
    if (inClass) {
      if (c === '[' || (c === '&' && pattern[i + 1] === '&')) throw unsupported('a nested or intersected character class');
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (inBraces) {
      if (c === '}') {
        inBraces = false;
        afterQuantifier = true;
      }
      out += c;
      continue;
    }
    switch (c) {
      case '[':
        inClass = true;
        out += c;
        if (pattern[i + 1] === '^') out += pattern[++i];
        break;
      case '.':
        out += JAVA_DOT;
        break;
      case '{':
        inBraces = true;
        out += c;
        break;
      case '*':
      case '+':
      case '?':
        // a+ after a quantifier is Java's possessive form, which JS lacks; a? after one is lazy in both.
        if (quantifierBefore && c === '+') throw unsupported('a possessive quantifier');
        afterQuantifier = !quantifierBefore;
        out += c;
        break;
      case '(':
        if (pattern[i + 1] === '?' && !/^\?(:|=|!|<=|<!|<[A-Za-z])/.test(pattern.slice(i + 1))) {
          throw unsupported('an inline flag or atomic group');
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  if (inClass || inBraces) throw unsupported('an unterminated class or quantifier');
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Request decoding

/**
 * A ValidationException lists at most this many violations, and stops listing once the listed text
 * passes LISTED_CHARS (one long enum constraint is ~300 characters); its count says how many were
 * found in all, as AWS's "N validation errors detected: …" does.
 */
export const LISTED_VIOLATIONS = 10;
const LISTED_CHARS = 2048;

/** A caller's value or map key echoed in a message is cut to this many UTF-16 units, then ECHO_CUT. */
export const ECHO_CHARS = 128;
export const ECHO_CUT = '...';

/**
 * The most elements Kura walks in one list or map, and the max of the containers the model leaves
 * unbounded (TagList, TagKeyList, GrantOperationList, DryRunModifierList, EncryptionContextType). A
 * container is measured before any of its elements is looked at, so one over this bound costs a single
 * comparison, not one per element. AWS allows 50 tags per key and 10 grant tokens per request; no real
 * client sends a thousand elements in one list. No input shape holds more than four containers and no
 * shape contains itself (decoderFor refuses one), so a request walks at most 4 × 1000 elements.
 */
export const MAX_ELEMENTS = 1000;

/**
 * Kura's bound on an encryption context (Encrypt, Decrypt, ReEncrypt, GenerateDataKey*,
 * GenerateDataKeyPair*, CreateGrant's constraints): at most 8192 bytes of keys and values together, in
 * UTF-8. AWS documents no size for it (KMS Developer Guide, "Encryption context": keys and values are
 * simple strings, Unicode allowed; only grant constraints are bounded, to 8 pairs of 384 characters), so
 * the number is Kura's, taken from what AWS builds for: the XKS Proxy API specification
 * (aws/aws-kms-xksproxy-api-spec, Encrypt, additionalAuthenticatedData) requires a proxy to take AAD "up
 * to 8192 bytes", the AAD through which AWS KMS binds the encryption context of a key in an external key
 * store. Unbounded, 60,000 pairs (within the 1 MiB body) held the event loop for 0.3–0.5 s, mostly in
 * encoding them as AAD (main/kms/ciphertext.ts: a Buffer per key, value and length) and collecting
 * the garbage that left; a context within the bound encodes in about a millisecond. Refused as a
 * ValidationException, AWS's error for a member outside its constraints.
 */
export const ENCRYPTION_CONTEXT_MAX_BYTES = 8192;

/** Map shapes whose keys and values together Kura bounds in UTF-8 bytes. */
const MAP_MAX_BYTES: Readonly<Record<string, number>> = { EncryptionContextType: ENCRYPTION_CONTEXT_MAX_BYTES };

/**
 * The constraint violations of one request: all counted, few listed, so that 330,000 bad elements
 * neither build 330,000 messages nor answer with megabytes. `complete` turns false when a container
 * was too large to walk: its elements may break constraints that were never checked, and the message
 * then says "At least N".
 */
class Violations {
  count = 0;
  complete = true;
  /**
   * Every blob decoded so far (plaintexts, messages, key material): a request refused after decoding one
   * never reaches the caller that wipes them, so decodeRequest wipes them itself.
   */
  readonly blobs: Buffer[] = [];
  private readonly listed: string[] = [];
  private listedChars = 0;

  /** `shown` is the value as AWS echoes it ('x', null, '[a, b]'), or undefined when it must not be echoed. */
  add(shown: string | undefined, path: string, constraint: string): void {
    this.count++;
    if (this.listed.length < LISTED_VIOLATIONS && this.listedChars < LISTED_CHARS) {
      const text = `${shown === undefined ? 'Value' : `Value ${shown}`} at '${path}' failed to satisfy constraint: ${constraint}`;
      this.listed.push(text);
      this.listedChars += text.length;
    }
  }

  error(): KmsError {
    const found = this.count === 1 ? '1 validation error' : `${this.count} validation errors`;
    return new KmsError('Validation', `${this.complete ? found : `At least ${found}`} detected: ${this.listed.join('; ')}`);
  }
}

type Decoder = (value: unknown, path: string, violations: Violations) => unknown;

interface CompiledOperation {
  readonly decode: Decoder;
}

const decoders = new Map<string, Decoder>();
const compiling = new Set<string>();
const compiledOperations = new Map<string, CompiledOperation>();

const serialization = (message: string): KmsError => new KmsError('Serialization', message);

/** AWS's wording when a JSON value does not fit the expected type; never includes the value. */
/**
 * A UTF-16 surrogate without its pair: JSON's \uD800 escapes can spell one, but it is no Unicode text, and
 * UTF-8 (the ciphertext's encryption context, SQLite) turns every one of them into U+FFFD — so two
 * different contexts would bind alike, and a tag or description would be stored other than acknowledged.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const notUnicode = (): KmsError => serialization('A string holds a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair): it is not Unicode text.');

function unexpected(value: unknown, target: string): KmsError {
  if (Array.isArray(value)) return serialization('Start of list found where not expected.');
  if (value !== null && typeof value === 'object') return serialization('Start of structure or map found where not expected.');
  const token =
    value === null ? 'NULL_VALUE' : typeof value === 'string' ? 'STRING_VALUE' : typeof value === 'number' ? 'NUMBER_VALUE' : 'BOOLEAN_VALUE';
  return serialization(`${token} can not be converted to ${target}`);
}

export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const lengthAtLeast = (min: number): string => `Member must have length greater than or equal to ${min}`;
const lengthAtMost = (max: number): string => `Member must have length less than or equal to ${max}`;

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;

/** Caller text as a message shows it: cut after ECHO_CHARS, never inside a surrogate pair. */
function echo(s: string): string {
  if (s.length <= ECHO_CHARS) return s;
  return `${s.slice(0, isHighSurrogate(s.charCodeAt(ECHO_CHARS - 1)) ? ECHO_CHARS - 1 : ECHO_CHARS)}${ECHO_CUT}`;
}

const quoted = (s: string): string => `'${echo(s)}'`;

/** Length in Unicode code points (Smithy's definition of a string's length). */
function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    if (isHighSurrogate(s.charCodeAt(i))) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

// Strict standard base64: alphabet A–Z a–z 0–9 + /, padding optional but correct when present, no
// whitespace. Buffer.from(s, 'base64') alone would accept more: it also takes base64url's '-' and '_',
// reads a character above U+00FF by its low byte ('Ł' as 'A'), and skips anything else. So the decoder
// runs natively and the result is checked instead of every character in JavaScript (6× faster on a
// 4 KiB plaintext): with '-', '_' and non-ASCII refused first, any character it skipped (or an '=' it
// stopped at) leaves fewer bytes than the length promises, because ⌊3n/4⌋ is strictly increasing in n
// except from n ≡ 0 to n ≡ 1 (mod 4), and a data length ≡ 1 (mod 4) is refused outright.
// test/api/base64.test.ts compares it with a character-by-character check on random strings.
export function decodeStrictBase64(s: string): Buffer | undefined {
  let end = s.length;
  if (end > 0 && s.charCodeAt(end - 1) === 61) {
    end--;
    if (end > 0 && s.charCodeAt(end - 1) === 61) end--;
    if (s.length % 4 !== 0) return undefined;
  }
  if (end % 4 === 1) return undefined;
  if (s.includes('-') || s.includes('_') || Buffer.byteLength(s, 'utf8') !== s.length) return undefined;
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length !== (end * 3) >>> 2) {
    bytes.fill(0);
    return undefined;
  }
  return bytes;
}

/** Whether AWS echoes a container's value: Java's toString of a list or map of plain strings. */
function echoesElements(shape: Shape): boolean {
  const element = shapeNamed((shape.type === 'map' ? shape.value : shape.member)?.shape ?? '');
  return element.type === 'string' && !element.sensitive;
}

/** An element as Java's toString shows it; undefined for one that is not a string (it is not echoed). */
const javaElement = (value: unknown): string | undefined => (typeof value === 'string' ? value : value === null ? 'null' : undefined);

// Java's List/Map toString, cut like any echo. They render only as much of a container as the echo
// shows, and never descend into an element: a nested array is not a string, so the value is not echoed
// (before, Array.prototype.join recursed into 100,000 nested arrays and overflowed the stack).

function showList(list: readonly unknown[]): string | undefined {
  let text = '[';
  let i = 0;
  for (; i < list.length && text.length <= ECHO_CHARS; i++) {
    const element = javaElement(list[i]);
    if (element === undefined) return undefined;
    text += `${i === 0 ? '' : ', '}${element.slice(0, ECHO_CHARS + 1)}`;
  }
  return quoted(i === list.length ? `${text}]` : text);
}

function showMap(map: Record<string, unknown>, keys: readonly string[]): string | undefined {
  let text = '{';
  let i = 0;
  for (; i < keys.length && text.length <= ECHO_CHARS; i++) {
    const key = keys[i] as string;
    const value = javaElement(map[key]);
    if (value === undefined) return undefined;
    text += `${i === 0 ? '' : ', '}${key.slice(0, ECHO_CHARS + 1)}=${value.slice(0, ECHO_CHARS + 1)}`;
  }
  return quoted(i === keys.length ? `${text}}` : text);
}

/**
 * Checks a container's element count before any element is looked at. False when it holds more than
 * MAX_ELEMENTS: its elements are then left unexamined (a wrongly typed one among them is not reported
 * as a SerializationException either: the request is refused all the same).
 */
function countFits(n: number, min: number, max: number, path: string, violations: Violations, show: () => string | undefined): boolean {
  if (n < min) violations.add(show(), path, lengthAtLeast(min));
  if (n > max) violations.add(show(), path, lengthAtMost(max));
  if (n <= MAX_ELEMENTS) return true;
  violations.complete = false;
  return false;
}

/** A container's max: the model's, or MAX_ELEMENTS where it has none. */
function maxElements(name: string, shape: Shape): number {
  // A model that allowed more elements than Kura walks would be validated only in part: refuse it loudly.
  if (shape.max !== undefined && shape.max > MAX_ELEMENTS) {
    throw new Error(`KMS model: ${name} allows ${shape.max} elements, more than Kura walks (${MAX_ELEMENTS})`);
  }
  return shape.max ?? MAX_ELEMENTS;
}

function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  // A map key is caller data: "__proto__" must become an entry, not the object's prototype.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function decoderFor(shapeName: string): Decoder {
  let decoder = decoders.get(shapeName);
  if (decoder === undefined) {
    // Decoders follow the shapes, never the data: a value nested deeper than its shape fails the type
    // check of the first level that does not fit (SerializationException), so decoding recurses no
    // deeper than the model, however deep the JSON. That holds while no shape contains itself, so such
    // a shape (the KMS model has none) is refused here rather than compiled into a decoder whose depth
    // the caller would choose.
    if (compiling.has(shapeName)) throw new Error(`KMS model: shape ${shapeName} contains itself, which Kura does not decode`);
    compiling.add(shapeName);
    try {
      decoder = compileDecoder(shapeName, shapeNamed(shapeName));
    } finally {
      compiling.delete(shapeName);
    }
    decoders.set(shapeName, decoder);
  }
  return decoder;
}

function compileDecoder(name: string, shape: Shape): Decoder {
  switch (shape.type) {
    case 'structure':
      return compileStructureDecoder(shape);
    case 'list':
      return compileListDecoder(name, shape);
    case 'map':
      return compileMapDecoder(name, shape);
    case 'string':
      return compileStringDecoder(shape);
    case 'blob':
      return compileBlobDecoder(shape);
    case 'integer':
    case 'long':
      return compileIntegerDecoder(shape);
    case 'boolean':
      return (value) => {
        if (typeof value !== 'boolean') throw unexpected(value, 'a Boolean');
        return value;
      };
    case 'timestamp':
      return (value) => {
        // AWS JSON 1.1 sends timestamps as epoch seconds.
        if (typeof value !== 'number') throw unexpected(value, 'a Timestamp');
        const date = new Date(value * 1000);
        if (Number.isNaN(date.getTime())) throw serialization('NUMBER_VALUE can not be converted to a Timestamp');
        return date;
      };
    default:
      throw new Error(`KMS model: shape ${name} has type ${shape.type}, which Kura does not decode`);
  }
}

function compileStructureDecoder(shape: Shape): Decoder {
  const required = new Set(shape.required ?? []);
  const members = Object.entries(shape.members ?? {}).map(([name, ref]) => ({
    name,
    // AWS names a member in messages by its name with the first letter lowercased ('kMSKeyArn').
    label: name.charAt(0).toLowerCase() + name.slice(1),
    required: required.has(name),
    decode: decoderFor(ref.shape),
  }));
  return (value, path, violations) => {
    if (!isJsonObject(value)) throw unexpected(value, 'a Structure');
    const out: Record<string, unknown> = {};
    for (const member of members) {
      const memberValue = value[member.name];
      const memberPath = path === '' ? member.label : `${path}.${member.label}`;
      // JSON null for a member means absent, as in AWS's deserializer.
      if (memberValue === undefined || memberValue === null) {
        if (member.required) violations.add('null', memberPath, 'Member must not be null');
        continue;
      }
      out[member.name] = member.decode(memberValue, memberPath, violations);
    }
    return out;
  };
}

function compileListDecoder(name: string, shape: Shape): Decoder {
  const element = decoderFor(shape.member?.shape ?? '');
  const echoes = echoesElements(shape);
  const min = shape.min ?? 0;
  const max = maxElements(name, shape);
  return (value, path, violations) => {
    if (!Array.isArray(value)) throw unexpected(value, 'a List');
    if (!countFits(value.length, min, max, path, violations, () => (echoes ? showList(value) : undefined))) return [];
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const elementPath = `${path}.${i + 1}.member`;
      const item: unknown = value[i];
      if (item === null || item === undefined) violations.add('null', elementPath, 'Member must not be null');
      else out[i] = element(item, elementPath, violations);
    }
    return out;
  };
}

function compileMapDecoder(name: string, shape: Shape): Decoder {
  const decodeKey = decoderFor(shape.key?.shape ?? '');
  const decodeValue = decoderFor(shape.value?.shape ?? '');
  const echoes = echoesElements(shape);
  const min = shape.min ?? 0;
  const max = maxElements(name, shape);
  const maxBytes = Object.hasOwn(MAP_MAX_BYTES, name) ? MAP_MAX_BYTES[name] : undefined;
  return (value, path, violations) => {
    if (!isJsonObject(value)) throw unexpected(value, 'a Map');
    const keys = Object.keys(value);
    const show = (): string | undefined => (echoes ? showMap(value, keys) : undefined);
    if (!countFits(keys.length, min, max, path, violations, show)) return {};
    const out: Record<string, unknown> = {};
    let bytes = 0;
    for (const key of keys) {
      decodeKey(key, path, violations);
      const entryPath = `${path}.${echo(key)}`;
      const entry = value[key];
      if (entry === null || entry === undefined) {
        violations.add('null', entryPath, 'Member must not be null');
        continue;
      }
      const decoded = decodeValue(entry, entryPath, violations);
      defineEntry(out, key, decoded);
      if (maxBytes !== undefined) bytes += Buffer.byteLength(key, 'utf8') + (typeof decoded === 'string' ? Buffer.byteLength(decoded, 'utf8') : 0);
    }
    if (maxBytes !== undefined && bytes > maxBytes) {
      violations.add(show(), path, `Member must have a total length of keys and values less than or equal to ${maxBytes} bytes`);
    }
    return out;
  };
}

function compileStringDecoder(shape: Shape): Decoder {
  const { min, max, sensitive } = shape;
  const lower = min !== undefined && min > 0 ? min : undefined;
  const regexp = shape.pattern === undefined ? undefined : compileJavaPattern(shape.pattern);
  const patternConstraint = `Member must satisfy regular expression pattern: ${shape.pattern}`;
  const allowed = shape.enum === undefined ? undefined : new Set(shape.enum);
  const enumConstraint = `Member must satisfy enum value set: [${(shape.enum ?? []).join(', ')}]`;
  const show = (value: string): string | undefined => (sensitive ? undefined : quoted(value));
  return (value, path, violations) => {
    if (typeof value !== 'string') throw unexpected(value, 'a String');
    if (LONE_SURROGATE.test(value)) throw notUnicode();
    if (lower !== undefined || max !== undefined) {
      // A string of n UTF-16 units has between ceil(n/2) and n code points: count only when that matters.
      const n = value.length;
      const exact =
        (lower !== undefined && n >= lower && (n + 1) >> 1 < lower) || (max !== undefined && n > max && (n + 1) >> 1 <= max);
      const length = exact ? codePointLength(value) : n;
      if (lower !== undefined && length < lower) violations.add(show(value), path, lengthAtLeast(lower));
      if (max !== undefined && length > max) violations.add(show(value), path, lengthAtMost(max));
    }
    // The model's patterns take time linear in the value (a failing `[…]+` backtracks over it once):
    // ~4 ms for the longest string a 1 MiB body holds, so even an overlong string is matched and
    // counted as AWS counts it.
    if (regexp !== undefined && !regexp.test(value)) violations.add(show(value), path, patternConstraint);
    if (allowed !== undefined && !allowed.has(value)) violations.add(show(value), path, enumConstraint);
    return value;
  };
}

function compileBlobDecoder(shape: Shape): Decoder {
  const { min, max } = shape;
  return (value, path, violations) => {
    if (typeof value !== 'string') throw unexpected(value, 'a Blob');
    const bytes = decodeStrictBase64(value);
    if (bytes === undefined) throw serialization(`Value at '${path}' is not valid base64.`);
    violations.blobs.push(bytes);
    // Blobs are never echoed: they may be plaintext or key material.
    if (min !== undefined && min > 0 && bytes.length < min) violations.add(undefined, path, lengthAtLeast(min));
    if (max !== undefined && bytes.length > max) violations.add(undefined, path, lengthAtMost(max));
    return bytes;
  };
}

function compileIntegerDecoder(shape: Shape): Decoder {
  const { min, max } = shape;
  const [lowest, highest] = shape.type === 'integer' ? [-(2 ** 31), 2 ** 31 - 1] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  const target = shape.type === 'integer' ? 'an Integer' : 'a Long';
  return (value, path, violations) => {
    if (typeof value !== 'number') throw unexpected(value, target);
    if (!Number.isInteger(value) || value < lowest || value > highest) throw serialization(`NUMBER_VALUE can not be converted to ${target}`);
    if (min !== undefined && value < min) violations.add(`'${value}'`, path, `Member must have value greater than or equal to ${min}`);
    if (max !== undefined && value > max) violations.add(`'${value}'`, path, `Member must have value less than or equal to ${max}`);
    return value;
  };
}

function compiledOperation(operationName: string): CompiledOperation {
  let compiled = compiledOperations.get(operationName);
  if (compiled === undefined) {
    const op = operation(operationName);
    if (op === undefined) throw new KmsError('UnknownOperation', `Unknown operation ${operationName}.`);
    compiled = { decode: op.input === undefined ? () => ({}) : decoderFor(op.input.shape) };
    compiledOperations.set(operationName, compiled);
  }
  return compiled;
}

/**
 * Validates the parsed JSON body of a request against the operation's input shape and returns a copy
 * with blobs as Buffers and timestamps as Dates; unknown members are dropped.
 * Throws KmsError: UnknownOperation, Serialization (the JSON does not fit the shape) or Validation
 * (the constraint violations, counted in full and the first few listed, in AWS's format).
 */
export function decodeRequest(operationName: string, body: unknown): Record<string, unknown> {
  const { decode } = compiledOperation(operationName);
  if (!isJsonObject(body)) throw unexpected(body, 'a Structure');
  const violations = new Violations();
  try {
    const decoded = decode(body, '', violations) as Record<string, unknown>;
    if (violations.count > 0) throw violations.error();
    return decoded;
  } catch (e) {
    // Refused after a blob was decoded (an oversize one, or a later member that does not fit): the
    // decoded bytes are wiped here, since no caller will hold them (SECURITY.md: request buffers).
    for (const b of violations.blobs) b.fill(0);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Response encoding
//
// A response is written straight to JSON text by a writer compiled from its output shape. Blobs go in as
// base64 between quotes, without JSON.stringify's scan (../../http.ts, Base64); every other value is
// written by JSON.stringify, so the text is the one JSON.stringify would give for the same members in
// the same order.

/** Writes a value of one shape as JSON text. */
type Writer = (value: unknown, path: string) => string;

const writers = new Map<string, Writer>();
const outputWriters = new Map<string, Writer>();

/** A bug in the code that built the response: fail loudly, never send a half-shaped answer. Values are not shown. */
const misfit = (path: string, expected: string): Error => new Error(`KMS response: ${path} must be ${expected}`);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) && !(value instanceof Date);

function writerFor(shapeName: string): Writer {
  let writer = writers.get(shapeName);
  if (writer === undefined) {
    writers.set(shapeName, (value, path) => compiled(value, path));
    const compiled = compileWriter(shapeName, shapeNamed(shapeName));
    writers.set(shapeName, compiled);
    writer = compiled;
  }
  return writer;
}

function compileWriter(name: string, shape: Shape): Writer {
  switch (shape.type) {
    case 'structure': {
      // Each member's `"Name":` is made once; member names come from the model.
      const members = new Map(Object.entries(shape.members ?? {}).map(([member, ref]) => [member, { prefix: `${JSON.stringify(member)}:`, write: writerFor(ref.shape) }]));
      return (value, path) => {
        if (!isRecord(value)) throw misfit(path, `an object (${name})`);
        let out = '{';
        for (const key of Object.keys(value)) {
          const member = members.get(key);
          if (member === undefined) throw new Error(`KMS response: ${path} has member ${key}, which ${name} does not define`);
          const memberValue = value[key];
          if (memberValue === undefined || memberValue === null) continue;
          out += `${out.length > 1 ? ',' : ''}${member.prefix}${member.write(memberValue, `${path}.${key}`)}`;
        }
        return `${out}}`;
      };
    }
    case 'list': {
      const element = writerFor(shape.member?.shape ?? '');
      return (value, path) => {
        if (!Array.isArray(value)) throw misfit(path, 'an array');
        return `[${value.map((item: unknown, i) => element(item, `${path}[${i}]`)).join(',')}]`;
      };
    }
    case 'map': {
      const entry = writerFor(shape.value?.shape ?? '');
      return (value, path) => {
        if (!isRecord(value)) throw misfit(path, 'an object (map)');
        // A map key is caller data: JSON.stringify quotes and escapes it ("__proto__" is just a key here).
        return `{${Object.keys(value)
          .map((key) => `${JSON.stringify(key)}:${entry(value[key], `${path}[${JSON.stringify(key)}]`)}`)
          .join(',')}}`;
      };
    }
    case 'blob':
      return (value, path) => {
        if (!(value instanceof Uint8Array)) throw misfit(path, 'a Buffer or Uint8Array');
        return `"${base64Of(value)}"`;
      };
    case 'timestamp':
      // AWS JSON 1.1: epoch seconds, fractional part kept.
      return (value, path) => {
        if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw misfit(path, 'a valid Date');
        return JSON.stringify(value.getTime() / 1000);
      };
    case 'string':
      return (value, path) => {
        if (typeof value !== 'string') throw misfit(path, 'a string');
        return JSON.stringify(value);
      };
    case 'boolean':
      return (value, path) => {
        if (typeof value !== 'boolean') throw misfit(path, 'a boolean');
        return value ? 'true' : 'false';
      };
    case 'integer':
    case 'long':
      return (value, path) => {
        if (typeof value !== 'number' || !Number.isInteger(value)) throw misfit(path, 'an integer');
        return JSON.stringify(value);
      };
    default:
      throw new Error(`KMS model: shape ${name} has type ${shape.type}, which Kura does not encode`);
  }
}

/**
 * An operation's result as the wire's JSON text: Buffers/Uint8Arrays as base64, Dates as epoch seconds,
 * undefined (and null) members dropped. A member the output shape does not define, or a value of the
 * wrong type, is a bug in Kura and throws a plain Error.
 */
export function encodeResponseJson(operationName: string, output: Record<string, unknown>): string {
  let write = outputWriters.get(operationName);
  if (write === undefined) {
    const op = operation(operationName);
    if (op === undefined) throw new Error(`unknown KMS operation ${operationName}`);
    const outputShape = op.output?.shape;
    write =
      outputShape === undefined
        ? (value, path) => {
            if (!isRecord(value)) throw misfit(path, 'an object');
            const extra = Object.keys(value).find((key) => value[key] !== undefined);
            if (extra !== undefined) throw new Error(`KMS response: ${operationName} has no output, but ${path} has member ${extra}`);
            return '{}';
          }
        : writerFor(outputShape);
    outputWriters.set(operationName, write);
  }
  return write(output, operationName);
}

/**
 * The same result as a JSON value (what encodeResponseJson writes, read back): for in-process callers of
 * an operation, such as the operator console's commands.
 */
export function encodeResponse(operationName: string, output: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(encodeResponseJson(operationName, output)) as Record<string, unknown>;
}
