// Generated KMS request bodies for the body fuzzer (test/fuzz/kms-bodies.test.ts, `npm run fuzz`),
// driven by the AWS API model Kura validates against (main/api/kms/model/kms-2014-11-01.json): a valid
// body per operation built from its input shape (with real keys and ciphertexts the test made), then
// mutations of one member at any depth — wrong JSON types, null, boundary lengths and counts (min-1,
// min, max, max+1), values outside patterns and enums, unicode (lone surrogates, NUL, U+2028, BOM),
// invalid base64 for blobs, deep nesting, huge lists, maps and strings (within the 1 MiB body cap) — or
// of the whole body (non-objects, broken JSON, invalid UTF-8, duplicate and __proto__ keys, oversize).
import { compileJavaPattern, loadKmsModel, operationErrors, type Shape } from '../../main/api/kms/model/validate.js';
import type { Rng } from './fuzz-rng.js';

/** Kura's request body cap (main/api/server.ts MAX_BODY_BYTES). */
export const BODY_CAP = 1024 * 1024;
/** Huge cases stay this far under the cap, so that they reach validation. */
const HUGE_BYTES = 900_000;

export interface BodyCase {
  /** "Encrypt r12": operation and round, which with the seed reproduce the case. */
  id: string;
  operation: string;
  /** What was done, for messages: "Plaintext: invalid base64 'AB=C'". */
  what: string;
  body: Buffer;
  /** A huge body (hundreds of KB): its answer time is reported apart. */
  huge: boolean;
}

/** A member value to be written into the body as raw JSON text (deep nesting, huge lists). */
class Raw {
  constructor(readonly text: string) {}
}

const model = () => loadKmsModel();
const shapeOf = (name: string): Shape => {
  const s = model().shapes[name];
  if (s === undefined) throw new Error(`KMS model has no shape ${name}`);
  return s;
};

/** The 54 operations, sorted. */
export function operationNames(): string[] {
  return Object.keys(model().operations).sort();
}

/** Errors any operation may answer besides its modelled ones: the protocol's and Kura's common ones. */
export const COMMON_ERRORS: readonly string[] = [
  'ValidationException',
  'SerializationException',
  'UnsupportedOperationException',
  'UnknownOperationException',
  'RequestEntityTooLargeException',
  'NotFoundException',
  'AccessDeniedException',
  'LimitExceededException',
];

/**
 * The error names an answer to `operation` may carry: its modelled errors and COMMON_ERRORS, without
 * the two whose status is 500 (a 500 is always a bug in Kura) and without the authentication errors
 * (every fuzzed request is signed correctly).
 */
export function allowedErrors(operation: string): Set<string> {
  const names = new Set([...operationErrors(operation), ...COMMON_ERRORS]);
  names.delete('KMSInternalException');
  names.delete('KeyUnavailableException');
  names.delete('DependencyTimeoutException');
  return names;
}

const inputShape = (operation: string): Shape | undefined => {
  const ref = model().operations[operation]?.input;
  return ref ? shapeOf(ref.shape) : undefined;
};

/** The members of an operation's input, in model order. */
export function inputMembers(operation: string): string[] {
  return Object.keys(inputShape(operation)?.members ?? {});
}

const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');

/** Values that make a member valid, by member name (when the operation's own values do not say). */
const DEFAULTS: Record<string, unknown> = {
  Plaintext: b64('fuzz plaintext'),
  Message: b64('fuzz message'),
  Signature: b64(Buffer.alloc(64, 1)),
  Mac: b64(Buffer.alloc(32, 1)),
  ImportToken: b64(Buffer.alloc(256, 2)),
  EncryptedKeyMaterial: b64(Buffer.alloc(256, 3)),
  NumberOfBytes: 32,
  PendingWindowInDays: 7,
  RotationPeriodInDays: 90,
  Limit: 10,
  Description: 'fuzz',
  PolicyName: 'default',
  Tags: [{ TagKey: 'fuzz', TagValue: 'yes' }],
  TagKeys: ['fuzz'],
  EncryptionContext: { purpose: 'fuzz' },
  SourceEncryptionContext: { purpose: 'fuzz' },
  DestinationEncryptionContext: { purpose: 'fuzz-2' },
  BypassPolicyLockoutSafetyCheck: false,
  MultiRegion: false,
  ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
  WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
  WrappingKeySpec: 'RSA_2048',
  SigningAlgorithm: 'ECDSA_SHA_256',
  MacAlgorithm: 'HMAC_SHA_256',
  KeyAgreementAlgorithm: 'ECDH',
  KeyPairSpec: 'ECC_NIST_P256',
  MessageType: 'RAW',
  Policy: JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }],
  }),
};

/** Per-operation defaults where the member name means different things (KeySpec of CreateKey vs GenerateDataKey). */
const OPERATION_DEFAULTS: Record<string, Record<string, unknown>> = {
  CreateKey: { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Origin: 'AWS_KMS' },
  GenerateDataKey: { KeySpec: 'AES_256' },
  GenerateDataKeyWithoutPlaintext: { KeySpec: 'AES_256' },
};

/** Members the valid body carries besides the required ones (so that they are valid together). */
const OPTIONAL_IN_BASE: Record<string, readonly string[]> = {
  Decrypt: ['EncryptionContext'],
  ReEncrypt: ['SourceEncryptionContext'],
  Encrypt: ['EncryptionContext'],
  GenerateDataKey: ['KeySpec'],
  GenerateDataKeyWithoutPlaintext: ['KeySpec'],
  CreateKey: ['Description'],
  ImportKeyMaterial: ['ExpirationModel'],
};

const PATTERN_CANDIDATES = [
  'a', 'alias/fuzz', 'default', 'fuzz', 'arn:aws:iam::111122223333:user/fuzz', 'us-east-1', '1', '0'.repeat(64),
  'https://example.com', '/kms/xks/v1', 'vpce-svc-12345678901234567', '111122223333', 'cluster-abcdefghijk',
];

function patternOk(shape: Shape, value: string): boolean {
  if (shape.pattern === undefined) return true;
  try {
    return compileJavaPattern(shape.pattern).test(value);
  } catch {
    return true;
  }
}

/** A valid value of a shape (with the test's own values for names it knows). */
function validValue(shapeName: string, memberName: string | undefined, good: Record<string, unknown>, depth = 0): unknown {
  if (memberName !== undefined && Object.hasOwn(good, memberName)) return good[memberName];
  if (memberName !== undefined && Object.hasOwn(DEFAULTS, memberName)) return DEFAULTS[memberName];
  const s = shapeOf(shapeName);
  switch (s.type) {
    case 'string': {
      if (s.enum) return s.enum[0];
      const min = s.min ?? 1;
      const max = s.max ?? 256;
      const fit = PATTERN_CANDIDATES.find((c) => c.length >= min && c.length <= max && patternOk(s, c));
      return fit ?? 'a'.repeat(Math.max(1, min));
    }
    case 'blob':
      return b64(Buffer.alloc(Math.max(1, s.min ?? 1), 0x61));
    case 'integer':
    case 'long':
      return s.min ?? 1;
    case 'boolean':
      return false;
    case 'timestamp':
      return 1_893_456_000;
    case 'list':
      return depth > 4 || !s.member ? [] : Array.from({ length: s.min ?? 0 }, () => validValue(s.member!.shape, undefined, good, depth + 1));
    case 'map':
      return {};
    case 'structure': {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? []) out[name] = validValue(s.members![name]!.shape, name, good, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

/**
 * The valid body of an operation: its required members, every member the test gave a real value for
 * (`good`: a ciphertext is optional in the model, but Decrypt needs one), and a few optional ones.
 */
export function baseInput(operation: string, good: Record<string, unknown>): Record<string, unknown> {
  const shape = inputShape(operation);
  if (!shape) return {};
  const values = { ...(OPERATION_DEFAULTS[operation] ?? {}), ...good };
  const out: Record<string, unknown> = {};
  const include = new Set([...(shape.required ?? []), ...(OPTIONAL_IN_BASE[operation] ?? []), ...Object.keys(good)]);
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    if (include.has(name)) out[name] = validValue(ref.shape, name, values);
  }
  return out;
}

// ---- mutations of one value --------------------------------------------------------------------------------

const UNICODE = ['\ud800', '\udc00a', '\ud83d\udd11', '\u0000', '\uffff', '\ufffe', '\u2028\u2029', '\u202e', '\ufeff', 'e\u0301', '\ufb00', '\u{1d518}\u{1d52b}', '\u0130', 'a\u0000b', '\u03a9'.repeat(3000)];
const INJECTION = [
  "' OR 1=1 --", '${jndi:ldap://x/a}', '<script>alert(1)</script>', '../../etc/passwd', '%s%s%s%n', '{{7*7}}', '\\', '"', 'alias/aws/fuzz', 'alias/',
  'arn:aws:kms:us-east-1:111122223333:key/../../x', 'arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:xx:1:alias/',
  'mrk-1234', '1234abcd-12ab-34cd-56ef-1234567890ab', 'alias/' + 'a'.repeat(250), 'arn:', ':', '/', ' ', '\n', 'a b',
];
const BAD_BASE64 = ['!!!!', 'A', 'AB=C', '====', 'aGVsbG8', 'aGVs bG8=', 'aGVsbG8=\n', '-_-_', '\u00ff\u00ff\u00ff\u00ff', '\ud800\ud800', 'aGVsbG8===', '=aGVs', 'a'.repeat(8193) + '!', ''];
const WRONG_TYPES: Record<string, readonly unknown[]> = {
  string: [123, true, {}, [], 1.5, ['a'], -0],
  blob: [123, true, {}, [], ['aGk='], 0],
  integer: ['1', true, {}, [], 'NaN', [1]],
  long: ['1', true, {}, [], [1]],
  boolean: ['true', 1, 0, {}, [], 'false'],
  timestamp: ['2026-01-01T00:00:00Z', true, {}, '1700000000', []],
  list: ['a', {}, 1, true, { 0: 'a' }],
  map: [[], 'a', 1, [['a', 'b']], true],
  structure: [[], 'a', 1, true],
};
const NUMBERS: readonly (number | Raw)[] = [1.5, -0, 1e308, -1e308, 1e-300, 2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 53 + 2, 2 ** 63, -1, 0, new Raw('1e999'), new Raw('-1e999'), new Raw('00012'), new Raw('1E2'), new Raw('12345678901234567890123')];

function deep(rng: Rng): Raw {
  const depth = rng.pick([64, 1_000, 10_000, 100_000]);
  return rng.chance(0.5) ? new Raw('['.repeat(depth) + ']'.repeat(depth)) : new Raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
}

/** Lengths at and around a constraint: min-1, min, max, max+1 (those that exist and are ≥ 0). */
function boundaryLength(rng: Rng, s: Shape, fallbackMax: number): number {
  const min = s.min ?? 0;
  const max = s.max ?? fallbackMax;
  return rng.pick([min - 1, min, max, max + 1].filter((n) => n >= 0));
}

/** A string of exactly n code points that keeps the valid value's look (so that only the length is wrong). */
function stringOfLength(valid: unknown, n: number): string {
  const seed = typeof valid === 'string' && valid.length > 0 ? valid : 'a';
  if (seed.length >= n) return seed.slice(0, n);
  return seed + 'a'.repeat(n - seed.length);
}

function huge(rng: Rng, s: Shape, good: Record<string, unknown>): Raw {
  switch (s.type) {
    case 'list': {
      const element = rng.pick(['""', '"a"', '{}', 'null', JSON.stringify(s.member ? validValue(s.member.shape, undefined, good) : '')]);
      const count = Math.floor(HUGE_BYTES / (element.length + 1));
      return new Raw(`[${Array.from({ length: count }, () => element).join(',')}]`);
    }
    case 'map': {
      const count = Math.floor(HUGE_BYTES / 16);
      return new Raw(`{${Array.from({ length: count }, (_, i) => `"k${i}":"v"`).join(',')}}`);
    }
    case 'blob':
      return new Raw(JSON.stringify(Buffer.alloc(Math.floor((HUGE_BYTES * 3) / 4), 0x62).toString('base64')));
    default:
      return new Raw(JSON.stringify('x'.repeat(HUGE_BYTES)));
  }
}

interface Mutation {
  value: unknown;
  what: string;
  huge?: boolean;
}

const showValue = (v: unknown): string => {
  const text = v instanceof Raw ? v.text : JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 40)}… (${text.length} chars)` : text;
};

/** One mutation of a value of shape `shapeName` (whose valid value is `valid`). */
function mutateValue(rng: Rng, shapeName: string, valid: unknown, good: Record<string, unknown>): Mutation {
  const s = shapeOf(shapeName);
  const kinds: [number, string][] = [
    [4, 'wrong type'],
    [2, 'null'],
    [5, 'boundary'],
    [1, 'deep'],
    [1, 'empty'],
  ];
  if (s.type === 'string') kinds.push([3, 'unicode'], [3, 'injection']);
  if (s.type === 'string' && s.pattern) kinds.push([2, 'pattern']);
  if (s.type === 'string' && s.enum) kinds.push([4, 'enum']);
  if (s.type === 'blob') kinds.push([5, 'base64']);
  if (s.type === 'integer' || s.type === 'long' || s.type === 'timestamp') kinds.push([5, 'number']);
  if (s.type === 'list' || s.type === 'map' || s.type === 'string' || s.type === 'blob') kinds.push([s.type === 'list' ? 1 : 0.3, 'huge']);
  if (s.type === 'map') kinds.push([3, 'map key']);
  const kind = rng.weighted(kinds);
  switch (kind) {
    case 'wrong type': {
      const v = rng.pick(WRONG_TYPES[s.type] ?? [123]);
      return { value: v, what: `wrong type ${showValue(v)}` };
    }
    case 'null':
      return { value: null, what: 'null' };
    case 'deep': {
      const v = deep(rng);
      return { value: v, what: `nested ${showValue(v)}` };
    }
    case 'empty': {
      const v = rng.pick(['', [], {}]);
      return { value: v, what: `empty ${showValue(v)}` };
    }
    case 'unicode': {
      const u = rng.pick(UNICODE);
      const v = rng.chance(0.5) ? u : `${typeof valid === 'string' ? valid : 'a'}${u}`;
      return { value: v, what: `unicode ${showValue(v)}` };
    }
    case 'injection':
    case 'pattern': {
      const v = rng.pick(INJECTION);
      return { value: v, what: `${kind} ${showValue(v)}` };
    }
    case 'enum': {
      const first = s.enum?.[0] ?? 'X';
      const v = rng.pick([first.toLowerCase(), `${first} `, ` ${first}`, '', `${first}\u0000`, `${first}_NOPE`, 'NOPE', first.replace(/_/g, '-')]);
      return { value: v, what: `enum ${showValue(v)}` };
    }
    case 'base64': {
      const v = rng.pick(BAD_BASE64);
      return { value: v, what: `invalid base64 ${showValue(v)}` };
    }
    case 'number': {
      const v = rng.pick(NUMBERS);
      return { value: v, what: `number ${showValue(v)}` };
    }
    case 'huge': {
      const v = huge(rng, s, good);
      return { value: v, what: `huge ${s.type} ${showValue(v)}`, huge: true };
    }
    case 'map key': {
      const key = rng.pick(['', '\ud800', 'k'.repeat(10_000), '__proto__', 'constructor', '\u0000', 'aws:x']);
      const v = { ...(typeof valid === 'object' && valid !== null && !Array.isArray(valid) ? valid : {}), [key]: 'v' };
      return { value: v, what: `map key ${showValue(key)}` };
    }
    case 'boundary':
    default: {
      switch (s.type) {
        case 'string': {
          const n = boundaryLength(rng, s, 8_192);
          return { value: stringOfLength(valid, n), what: `string of length ${n} (min ${s.min ?? '-'}, max ${s.max ?? '-'})` };
        }
        case 'blob': {
          const n = boundaryLength(rng, s, 8_192);
          return { value: b64(Buffer.alloc(n, 0x61)), what: `blob of ${n} bytes (min ${s.min ?? '-'}, max ${s.max ?? '-'})` };
        }
        case 'integer':
        case 'long': {
          const n = rng.pick([(s.min ?? 0) - 1, s.min ?? 0, s.max ?? 2 ** 31 - 1, (s.max ?? 2 ** 31 - 1) + 1]);
          return { value: n, what: `integer ${n} (min ${s.min ?? '-'}, max ${s.max ?? '-'})` };
        }
        case 'list': {
          const n = boundaryLength(rng, s, 1_000);
          const element = s.member ? validValue(s.member.shape, undefined, good) : 'a';
          return { value: Array.from({ length: n }, () => element), what: `list of ${n} (min ${s.min ?? '-'}, max ${s.max ?? '-'})` };
        }
        case 'map': {
          const n = rng.pick([0, 1, 64, 65, 1_000]);
          return { value: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'])), what: `map of ${n}` };
        }
        default: {
          const v = rng.pick(WRONG_TYPES[s.type] ?? [1]);
          return { value: v, what: `wrong type ${showValue(v)}` };
        }
      }
    }
  }
}

/**
 * Mutates `value` (of `shapeName`) at some depth: the value itself, or, for structures, lists and
 * maps, one member, element or entry inside it.
 */
function mutateAt(rng: Rng, shapeName: string, value: unknown, good: Record<string, unknown>, path: string): Mutation {
  const s = shapeOf(shapeName);
  const descend = rng.chance(0.35);
  if (descend && s.type === 'structure' && s.members && Object.keys(s.members).length > 0) {
    const name = rng.pick(Object.keys(s.members));
    const ref = s.members[name]!;
    const obj = typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
    const inner = mutateAt(rng, ref.shape, obj[name] ?? validValue(ref.shape, name, good), good, `${path}.${name}`);
    obj[name] = inner.value;
    return { ...inner, value: obj };
  }
  if (descend && s.type === 'list' && s.member) {
    const list = Array.isArray(value) && value.length > 0 ? [...(value as unknown[])] : [validValue(s.member.shape, undefined, good)];
    const at = rng.int(0, list.length - 1);
    const inner = mutateAt(rng, s.member.shape, list[at], good, `${path}[${at}]`);
    list[at] = inner.value;
    return { ...inner, value: list };
  }
  if (descend && s.type === 'map' && s.value) {
    const map = typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
    const key = Object.keys(map)[0] ?? 'k';
    const inner = mutateAt(rng, s.value.shape, map[key] ?? validValue(s.value.shape, undefined, good), good, `${path}.${key}`);
    map[key] = inner.value;
    return { ...inner, value: map };
  }
  const m = mutateValue(rng, shapeName, value, good);
  return { ...m, what: `${path}: ${m.what}` };
}

// ---- bodies --------------------------------------------------------------------------------------------------

/** JSON text of `obj` with Raw values written as their raw text. */
function stringify(obj: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(obj, (_k, v: unknown) => {
    if (v instanceof Raw) {
      raws.push(v.text);
      return `\u0000RAW${raws.length - 1}\u0000`;
    }
    return v;
  });
  return raws.length === 0 ? text : text.replace(/"\\u0000RAW(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

type Whole = { body: Buffer; what: string; huge?: boolean };

function wholeBody(rng: Rng, base: Record<string, unknown>, operation: string): Whole {
  const baseText = JSON.stringify(base);
  const inner = baseText.slice(1, -1);
  const withBase = (extra: string) => `{${extra}${inner === '' ? '' : `,${inner}`}}`;
  const integerMember = inputMembers(operation).find((m) => ['integer', 'long'].includes(shapeOf(inputShape(operation)!.members![m]!.shape).type));
  const choices: [number, () => Whole][] = [
    [3, () => {
      const t = rng.pick(['[]', '"s"', '1', 'true', 'null', '[{}]', `[${baseText}]`, '-0', '""']);
      return { body: Buffer.from(t), what: `top level ${t.slice(0, 40)}` };
    }],
    [3, () => {
      const t = rng.pick(['{', '{"KeyId":}', "{'KeyId':'a'}", '{"a":1,}', 'NaN', `${baseText}garbage`, '\u0000', '{"a":"\\x"}', '{"a":"\\u12"}', `${baseText}${baseText}`, '{"a" 1}', '}', '{"a":01}', '/* c */{}']);
      return { body: Buffer.from(t), what: `broken JSON ${JSON.stringify(t.slice(0, 40))}` };
    }],
    [1, () => ({ body: Buffer.alloc(0), what: 'empty body' })],
    [2, () => ({ body: Buffer.concat([Buffer.from('{"Description":"'), Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]), Buffer.from(`"${inner === '' ? '' : `,${inner}`}}`)]), what: 'invalid UTF-8 in a string' })],
    [1, () => ({ body: Buffer.from(`\ufeff${baseText}`), what: 'UTF-8 BOM before the JSON' })],
    [2, () => {
      const key = rng.pick(Object.keys(base).length > 0 ? Object.keys(base) : ['KeyId']);
      return { body: Buffer.from(withBase(`"${key}":${rng.pick(['"dup"', '1', 'null', '{}'])}`)), what: `duplicate key ${key}` };
    }],
    [2, () => {
      const t = rng.pick(['"__proto__":{"KeyId":"x","polluted":1}', '"constructor":{"prototype":{"polluted":1}}', '"__proto__":null', '"hasOwnProperty":1', '"toString":"x"']);
      return { body: Buffer.from(withBase(t)), what: `prototype key ${t.slice(0, 30)}` };
    }],
    [1, () => {
      const depth = rng.pick([1_000, 100_000, 400_000]);
      const t = rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(Math.floor(depth / 5)) + '1' + '}'.repeat(Math.floor(depth / 5));
      return { body: Buffer.from(t), what: `top-level nesting of ${t.length} bytes`, huge: t.length > 100_000 };
    }],
    [2, () => ({ body: Buffer.from(withBase(`"Unknown":${rng.pick(['"x"', '[1,2]', '{"a":{}}', 'null'])},"keyid":"lower"`)), what: 'unknown members' })],
    [0.5, () => ({ body: Buffer.from(withBase(`"Junk":"${'j'.repeat(HUGE_BYTES)}"`)), what: 'huge unknown member', huge: true })],
    [0.5, () => ({ body: Buffer.from(withBase(`"Junk":"${'j'.repeat(BODY_CAP)}"`)), what: 'body over the 1 MiB cap', huge: true })],
  ];
  if (integerMember) {
    choices.push([2, () => {
      const t = rng.pick(['1e999', '-1e999', '1.0', '1e2', '00012', '9'.repeat(400), '-0', '0.0000001']);
      return { body: Buffer.from(withBase(`"${integerMember}":${t}`)), what: `${integerMember}: number ${t.slice(0, 20)}` };
    }]);
  }
  return rng.weighted(choices)();
}

/**
 * Case `round` of an operation: round 0 is the valid body; later rounds mutate one member (at any
 * depth) or the whole body. `good` holds the operation's real values (KeyId, CiphertextBlob, …).
 */
export function generateBodyCase(rng: Rng, operation: string, round: number, good: Record<string, unknown>): BodyCase {
  const base = baseInput(operation, good);
  const id = `${operation} r${round}`;
  if (round === 0) return { id, operation, what: 'valid body', body: Buffer.from(JSON.stringify(base)), huge: false };
  const shape = inputShape(operation);
  const members = Object.entries(shape?.members ?? {});
  if (members.length === 0 || rng.chance(0.25)) {
    const w = wholeBody(rng, base, operation);
    return { id, operation, what: w.what, body: w.body, huge: w.huge ?? false };
  }
  const [name, ref] = rng.pick(members);
  const values = { ...(OPERATION_DEFAULTS[operation] ?? {}), ...good };
  const current = Object.hasOwn(base, name) ? base[name] : validValue(ref.shape, name, values);
  const m = mutateAt(rng, ref.shape, current, values, name);
  return { id, operation, what: m.what, body: Buffer.from(stringify({ ...base, [name]: m.value }), 'utf8'), huge: m.huge ?? false };
}

/** The body of issue #8's finding 4: UntagResource with 330,000 empty TagKeys (990 KB). */
export function untagFlood(keyId: string): Buffer {
  return Buffer.from(`{"KeyId":${JSON.stringify(keyId)},"TagKeys":[${Array.from({ length: 330_000 }, () => '""').join(',')}]}`);
}
