// Bounds on request decoding (main/api/kms/model/validate.ts): a caller who fills the 1 MiB body with
// elements, long values or deep nesting gets a KmsError whose wire body is a few KiB, in AWS's wording
// for what it lists. How long decoding takes is measured by benchmarks, not here: these tests assert
// sizes, counts and error shapes.
import { describe, it, expect } from 'vitest';
import { KmsError } from '../../../../main/common/errors.js';
import type { KmsErrorCode } from '../../../../main/common/errors.js';
import { KMS_WIRE_ERRORS } from '../../../../main/api/kms/errors.js';
import {
  ECHO_CHARS,
  ECHO_CUT,
  ENCRYPTION_CONTEXT_MAX_BYTES,
  LISTED_VIOLATIONS,
  MAX_ELEMENTS,
  OPERATIONS,
  decodeRequest,
  loadKmsModel,
} from '../../../../main/api/kms/model/validate.js';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MiB = 1024 * 1024;
/** The most an error answer may take, in bytes of its JSON body. */
const ANSWER_LIMIT = 4096;
const DEPTH = 100_000;

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Runs fn and returns the KmsError it throws (failing the test if it throws anything else or nothing). */
function kmsErrorOf(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    return e as KmsError;
  }
  throw new Error('expected a KmsError');
}

/** Decodes a body that must be refused with `code`, in an answer under ANSWER_LIMIT; returns the message. */
function refused(op: string, body: unknown, code: KmsErrorCode = 'Validation'): string {
  const error = kmsErrorOf(() => decodeRequest(op, body));
  expect(error.code).toBe(code);
  // The body dispatch.ts sends for a KmsError.
  const answer = JSON.stringify({ __type: KMS_WIRE_ERRORS[error.code].name, message: error.message });
  expect(Buffer.byteLength(answer)).toBeLessThan(ANSWER_LIMIT);
  return error.message;
}

/** The violations a ValidationException message lists. */
const listed = (message: string): string[] => message.slice(message.indexOf(': ') + 2).split('; ');

/** Text as a message echoes it once it is longer than ECHO_CHARS. */
const cut = (s: string): string => `${s.slice(0, ECHO_CHARS)}${ECHO_CUT}`;

const nestedArrays = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
const nestedObjects = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`);

describe('abuse within a 1 MiB body is answered in a few KiB', () => {
  it('UntagResource with 330,000 empty TagKeys: the list is measured, its elements are not walked', () => {
    expect(refused('UntagResource', { KeyId: KEY_ID, TagKeys: new Array<string>(330_000).fill('') })).toBe(
      `At least 1 validation error detected: Value '${cut(`[${', '.repeat(100)}`)}' at 'tagKeys' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${MAX_ELEMENTS}`,
    );
  });

  it('TagResource with 100,000 tags, valid or not', () => {
    const expected =
      "At least 1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 1000";
    const empty = Array.from({ length: 100_000 }, () => ({ TagKey: '', TagValue: '' }));
    expect(refused('TagResource', { KeyId: KEY_ID, Tags: empty })).toBe(expected);
    const valid = Array.from({ length: 100_000 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
    expect(refused('TagResource', { KeyId: KEY_ID, Tags: valid })).toBe(expected);
  });

  it(`TagResource with ${MAX_ELEMENTS} tags still decodes (the service enforces AWS's 50 tags per key)`, () => {
    const tags = Array.from({ length: MAX_ELEMENTS }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
    expect((decodeRequest('TagResource', { KeyId: KEY_ID, Tags: tags }).Tags as unknown[]).length).toBe(MAX_ELEMENTS);
  });

  it('Encrypt with an EncryptionContext of 60,000 pairs', () => {
    const context = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, 'v']));
    const shown = cut(`{${Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(', ')}`);
    expect(refused('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: context })).toBe(
      `At least 1 validation error detected: Value '${shown}' at 'encryptionContext' failed to satisfy constraint: ` +
        'Member must have length less than or equal to 1000',
    );
  });

  it('DescribeKey with a 1 MiB KeyId', () => {
    expect(refused('DescribeKey', { KeyId: 'k'.repeat(MiB) })).toBe(
      `1 validation error detected: Value '${'k'.repeat(128)}...' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048`,
    );
  });

  it('CreateKey with a 130,000-character Description', () => {
    expect(refused('CreateKey', { Description: 'd'.repeat(130_000) })).toBe(
      `1 validation error detected: Value '${'d'.repeat(128)}...' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192`,
    );
  });

  it('PutKeyPolicy with a 1 MiB policy outside its pattern: both violations, each echo cut', () => {
    const message = refused('PutKeyPolicy', { KeyId: KEY_ID, Policy: `${'p'.repeat(MiB)}\u2192` });
    const shown = `Value '${'p'.repeat(128)}...' at 'policy' failed to satisfy constraint: `;
    expect(message).toBe(
      `2 validation errors detected: ${shown}Member must have length less than or equal to 131072; ` +
        `${shown}Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+`,
    );
  });

  it('an encryption context key of 1 MiB is cut where the message names it', () => {
    const key = 'x'.repeat(MiB);
    expect(refused('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: { [key]: null } })).toBe(
      `1 validation error detected: Value null at 'encryptionContext.${'x'.repeat(128)}...' failed to satisfy constraint: Member must not be null`,
    );
  });

  it('a 1 MiB sensitive string and a 700 KiB blob are still never echoed', () => {
    const password = refused('CreateCustomKeyStore', { CustomKeyStoreName: 'store', KeyStorePassword: 'secretpw'.repeat(MiB / 8) });
    expect(password).toBe(
      "1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must have length less than or equal to 32",
    );
    const plaintext = refused('Encrypt', { KeyId: KEY_ID, Plaintext: Buffer.alloc(700 * 1024, 'S').toString('base64') });
    expect(plaintext).toBe(
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
  });
});

describe('"N validation errors detected": every violation counted, the first few listed', () => {
  it(`lists the first ${LISTED_VIOLATIONS} of 25 in AWS's wording and counts all 25`, () => {
    const message = refused('UntagResource', { KeyId: KEY_ID, TagKeys: new Array<string>(25).fill('') });
    expect(message.startsWith('25 validation errors detected: ')).toBe(true);
    const shown = listed(message);
    expect(shown).toHaveLength(LISTED_VIOLATIONS);
    shown.forEach((violation, i) =>
      expect(violation).toBe(`Value '' at 'tagKeys.${i + 1}.member' failed to satisfy constraint: Member must have length greater than or equal to 1`),
    );
  });

  it(`walks a list of ${MAX_ELEMENTS} elements and counts each of its violations`, () => {
    const message = refused('UntagResource', { KeyId: KEY_ID, TagKeys: new Array<string>(MAX_ELEMENTS).fill('') });
    expect(message.startsWith(`${MAX_ELEMENTS} validation errors detected: `)).toBe(true);
    expect(listed(message)).toHaveLength(LISTED_VIOLATIONS);
  });

  it(`says "At least" when a list over ${MAX_ELEMENTS} elements was not walked`, () => {
    expect(refused('UntagResource', { KeyId: KEY_ID, TagKeys: new Array<string>(MAX_ELEMENTS + 1).fill('a') })).toBe(
      `At least 1 validation error detected: Value '${cut(`[${'a, '.repeat(60)}`)}' at 'tagKeys' failed to satisfy constraint: ` +
        'Member must have length less than or equal to 1000',
    );
  });

  it('still walks a list over its model max when it is within the bound, as AWS counts', () => {
    const tokens = [...Array.from({ length: 10 }, (_, i) => `t${i}`), ''];
    expect(refused('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), GrantTokens: tokens })).toBe(
      `2 validation errors detected: Value '[${tokens.join(', ')}]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10; ` +
        "Value '' at 'grantTokens.11.member' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  it('stops listing long violations before the answer grows, still counting them all', () => {
    const message = refused('CreateGrant', {
      KeyId: KEY_ID,
      GranteePrincipal: 'arn:aws:iam::111122223333:user/app',
      Operations: new Array<string>(MAX_ELEMENTS).fill('X'.repeat(1000)),
    });
    expect(message.startsWith(`${MAX_ELEMENTS} validation errors detected: Value '${'X'.repeat(128)}...' at 'operations.1.member' `)).toBe(true);
    expect(listed(message).length).toBeGreaterThan(1);
    expect(listed(message).length).toBeLessThan(LISTED_VIOLATIONS);
  });
});

describe('echoed values are cut', () => {
  it('keeps a value of 128 characters whole', () => {
    const alias = `alias/${' '.repeat(122)}`;
    expect(refused('CreateAlias', { AliasName: alias, TargetKeyId: KEY_ID })).toBe(
      `1 validation error detected: Value '${alias}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`,
    );
  });

  it('never cuts inside a surrogate pair', () => {
    const message = refused('DescribeKey', { KeyId: `${'k'.repeat(127)}${'\u{1F511}'.repeat(2000)}` });
    expect(message).toContain(`Value '${'k'.repeat(127)}...' at 'keyId'`);
    expect(Buffer.from(message, 'utf8').toString('utf8')).toBe(message);
  });

  it("cuts a list's Java rendering like a string", () => {
    const tokens = Array.from({ length: 11 }, (_, i) => `token-${i}-${'t'.repeat(14)}`);
    expect(refused('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), GrantTokens: tokens })).toBe(
      `1 validation error detected: Value '${cut(`[${tokens.join(', ')}]`)}' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10`,
    );
  });
});

describe(`an encryption context holds at most ${ENCRYPTION_CONTEXT_MAX_BYTES} bytes of keys and values`, () => {
  const grantee = 'arn:aws:iam::111122223333:user/app';
  it.each<[string, string, (context: Record<string, string>) => Record<string, unknown>]>([
    ['Encrypt', 'encryptionContext', (c) => ({ KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: c })],
    ['Decrypt', 'encryptionContext', (c) => ({ CiphertextBlob: b64('x'), EncryptionContext: c })],
    ['ReEncrypt', 'sourceEncryptionContext', (c) => ({ CiphertextBlob: b64('x'), DestinationKeyId: KEY_ID, SourceEncryptionContext: c })],
    ['ReEncrypt', 'destinationEncryptionContext', (c) => ({ CiphertextBlob: b64('x'), DestinationKeyId: KEY_ID, DestinationEncryptionContext: c })],
    ['GenerateDataKey', 'encryptionContext', (c) => ({ KeyId: KEY_ID, EncryptionContext: c })],
    ['GenerateDataKeyWithoutPlaintext', 'encryptionContext', (c) => ({ KeyId: KEY_ID, EncryptionContext: c })],
    ['GenerateDataKeyPair', 'encryptionContext', (c) => ({ KeyId: KEY_ID, KeyPairSpec: 'RSA_2048', EncryptionContext: c })],
    ['GenerateDataKeyPairWithoutPlaintext', 'encryptionContext', (c) => ({ KeyId: KEY_ID, KeyPairSpec: 'RSA_2048', EncryptionContext: c })],
    ['CreateGrant', 'constraints.encryptionContextSubset', (c) => ({ KeyId: KEY_ID, GranteePrincipal: grantee, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: c } })],
    ['CreateGrant', 'constraints.encryptionContextEquals', (c) => ({ KeyId: KEY_ID, GranteePrincipal: grantee, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: c } })],
  ])('%s %s: 8192 bytes decode, 8193 are a ValidationException', (op, path, body) => {
    expect(() => decodeRequest(op, body({ purpose: 'x'.repeat(8192 - 7) }))).not.toThrow();
    expect(refused(op, body({ purpose: 'x'.repeat(8193 - 7) }))).toBe(
      `1 validation error detected: Value '${cut(`{purpose=${'x'.repeat(200)}`)}' at '${path}' failed to satisfy constraint: ` +
        'Member must have a total length of keys and values less than or equal to 8192 bytes',
    );
  });

  it('counts UTF-8 bytes, not characters', () => {
    const encrypt = (context: Record<string, string>) => ({ KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: context });
    expect(() => decodeRequest('Encrypt', encrypt({ '': '\u00e9'.repeat(4096) }))).not.toThrow();
    expect(() => decodeRequest('Encrypt', encrypt({ '\u{1F511}': '\u{1F511}'.repeat(2047) }))).not.toThrow();
    expect(refused('Encrypt', encrypt({ '': '\u00e9'.repeat(4097) }))).toMatch(/^1 validation error detected: .* less than or equal to 8192 bytes$/);
    expect(refused('Encrypt', encrypt({ '\u{1F511}': '\u{1F511}'.repeat(2048) }))).toMatch(/less than or equal to 8192 bytes$/);
  });

  it('adds up every pair: 1000 pairs of 9 bytes are refused, with an exact count', () => {
    const context = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${String(i).padStart(4, '0')}`, 'vvvv']));
    expect(refused('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: context })).toMatch(
      /^1 validation error detected: Value '\{k0000=vvvv, k0001=vvvv, .*' at 'encryptionContext' failed to satisfy constraint: Member must have a total length of keys and values less than or equal to 8192 bytes$/,
    );
  });
});

describe(`JSON nested ${DEPTH} deep is a KmsError, never a stack overflow`, () => {
  const base = { KeyId: KEY_ID, Plaintext: b64('x') };
  const list = 'Start of list found where not expected.';
  const structure = 'Start of structure or map found where not expected.';
  it.each<[string, string, () => unknown, string]>([
    ['as the body', 'Encrypt', () => nestedArrays(DEPTH), list],
    ['as KeyId', 'Encrypt', () => ({ ...base, KeyId: nestedArrays(DEPTH) }), list],
    ['as the grant token past the max (echoed as Java would, before)', 'Encrypt', () => ({ ...base, GrantTokens: [...new Array<string>(10).fill('t'), nestedArrays(DEPTH)] }), list],
    ['as a grant token within the max', 'Encrypt', () => ({ ...base, GrantTokens: [nestedArrays(DEPTH)] }), list],
    ['as an encryption context value', 'Encrypt', () => ({ ...base, EncryptionContext: { purpose: nestedArrays(DEPTH) } }), list],
    ['as an encryption context of nested objects', 'Encrypt', () => ({ ...base, EncryptionContext: nestedObjects(DEPTH) }), structure],
    ['as Tags', 'TagResource', () => ({ KeyId: KEY_ID, Tags: nestedArrays(DEPTH) }), list],
    ['as a Tag', 'TagResource', () => ({ KeyId: KEY_ID, Tags: [nestedArrays(DEPTH)] }), list],
    ['as a TagKey', 'TagResource', () => ({ KeyId: KEY_ID, Tags: [{ TagKey: nestedObjects(DEPTH), TagValue: 'v' }] }), structure],
  ])('%s (%s): SerializationException', (_where, op, body, message) => {
    expect(refused(op, body(), 'Serialization')).toBe(message);
  });

  it('in a list too long to walk: refused for its length, the nested element not echoed', () => {
    expect(refused('UntagResource', { KeyId: KEY_ID, TagKeys: [nestedArrays(DEPTH), ...new Array<string>(MAX_ELEMENTS).fill('a')] })).toBe(
      "At least 1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 1000",
    );
  });

  it('in an unknown member: dropped without being walked', () => {
    expect(decodeRequest('DescribeKey', { KeyId: KEY_ID, Extra: nestedArrays(DEPTH), More: nestedObjects(DEPTH) })).toEqual({ KeyId: KEY_ID });
  });
});

describe('the model keeps decoding bounded', () => {
  it('compiles a decoder for every operation: no shape contains itself, no list allows more than Kura walks', () => {
    for (const op of OPERATIONS) {
      try {
        decodeRequest(op, {});
      } catch (e) {
        // Missing required members; a recursive shape or an over-long max would be a plain Error.
        expect(e).toBeInstanceOf(KmsError);
      }
    }
  });

  it(`lets no request walk more than 4 × ${MAX_ELEMENTS} elements (4 lists or maps at most, none nested in another)`, () => {
    const { operations, shapes } = loadKmsModel();
    /** The most elements decoding a value of this shape can walk, each list or map holding MAX_ELEMENTS. */
    const walked = (name: string, depth: number): number => {
      expect(depth).toBeLessThan(10);
      const shape = shapes[name];
      if (shape === undefined) throw new Error(`no shape ${name}`);
      if (shape.type === 'structure') return Object.values(shape.members ?? {}).reduce((n, ref) => n + walked(ref.shape, depth + 1), 0);
      if (shape.type === 'list') return MAX_ELEMENTS * (1 + walked(shape.member?.shape ?? '', depth + 1));
      if (shape.type === 'map') return MAX_ELEMENTS * (1 + walked(shape.value?.shape ?? '', depth + 1));
      return 0;
    };
    const most = Math.max(...Object.values(operations).map((op) => (op.input ? walked(op.input.shape, 0) : 0)));
    expect(most).toBe(4 * MAX_ELEMENTS);
  });
});
