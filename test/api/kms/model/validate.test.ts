// Request validation and response serialization derived from the AWS KMS API model. The expected
// messages follow AWS KMS's ValidationException / SerializationException wording.
import { describe, it, expect } from 'vitest';
import { KmsError } from '../../../../main/common/errors.js';
import {
  encodeResponseJson,
  OPERATIONS,
  compileJavaPattern,
  decodeRequest,
  encodeResponse,
  loadKmsModel,
  operationErrors,
} from '../../../../main/api/kms/model/validate.js';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s) : s).toString('base64');

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

const validationMessage = (op: string, body: unknown): string => {
  const error = kmsErrorOf(() => decodeRequest(op, body));
  expect(error.code).toBe('Validation');
  return error.message;
};

const serializationMessage = (op: string, body: unknown): string => {
  const error = kmsErrorOf(() => decodeRequest(op, body));
  expect(error.code).toBe('Serialization');
  return error.message;
};

describe('the model', () => {
  it('lists the 54 TrentService operations', () => {
    expect(OPERATIONS.size).toBe(54);
    expect(OPERATIONS.has('Encrypt')).toBe(true);
    expect(OPERATIONS.has('GenerateDataKeyPairWithoutPlaintext')).toBe(true);
    expect(OPERATIONS.has('encrypt')).toBe(false);
    expect([...OPERATIONS]).toContain('DeriveSharedSecret');
  });

  it('is stripped of documentation and frozen', () => {
    const model = loadKmsModel();
    expect(JSON.stringify(model)).not.toContain('"documentation"');
    expect(Object.isFrozen(model.shapes)).toBe(true);
    expect(model.metadata.targetPrefix).toBe('TrentService');
  });

  it('lists the errors of an operation', () => {
    const errors = operationErrors('Encrypt');
    expect(errors).toContain('NotFoundException');
    expect(errors).toContain('DryRunOperationException');
    expect(() => operationErrors('Nope')).toThrow(/unknown KMS operation/);
  });

  it('compiles every pattern in the model', () => {
    for (const shape of Object.values(loadKmsModel().shapes)) {
      if (shape.pattern !== undefined) expect(compileJavaPattern(shape.pattern)).toBeInstanceOf(RegExp);
    }
  });
});

describe('Java patterns', () => {
  it('match the whole value, anchored or not, as Java Matcher.matches() does', () => {
    const policy = compileJavaPattern('[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+');
    expect(policy.test('{"Version": "2012-10-17"}\n\tü')).toBe(true);
    expect(policy.test('{"Sid": "smart quotes \u201cno\u201d"}')).toBe(false);
    const policyName = compileJavaPattern('[\\w]+');
    expect(policyName.test('default')).toBe(true);
    expect(policyName.test('de fault')).toBe(false);
    const cluster = compileJavaPattern('cluster-[2-7a-zA-Z]{11,16}');
    expect(cluster.test('cluster-1234567890a')).toBe(false);
    expect(cluster.test('cluster-abcdefghijk')).toBe(true);
    expect(cluster.test('xcluster-abcdefghijk')).toBe(false);
  });

  it('translate \\s to Java ASCII whitespace and keep - _ . in classes literal', () => {
    const description = compileJavaPattern('^[a-zA-Z0-9:/_\\s.-]+$');
    expect(description.test('material v1.2 /a:b_c-d\t')).toBe(true);
    expect(description.test('no\u00a0break')).toBe(false);
    const xksKeyId = compileJavaPattern('^[a-zA-Z0-9-_.]+$');
    expect(xksKeyId.test('key-1_a.b')).toBe(true);
    expect(xksKeyId.test('key/1')).toBe(false);
    const secret = compileJavaPattern('^[a-zA-Z0-9\\/+=]+$');
    expect(secret.test('abc/def+ghi=')).toBe(true);
    const uriPath = compileJavaPattern('^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$');
    expect(uriPath.test('/kms/xks/v1')).toBe(true);
    expect(uriPath.test('/example/prefix/kms/xks/v1')).toBe(true);
    expect(uriPath.test('/kms/xks/v1/')).toBe(false);
  });

  it('refuse Java-only constructs instead of validating differently', () => {
    expect(() => compileJavaPattern('a++')).toThrow(/possessive/);
    expect(() => compileJavaPattern('(?i)abc')).toThrow(/inline flag/);
    expect(() => compileJavaPattern('[a-z&&[^q]]')).toThrow(/class/);
    expect(() => compileJavaPattern('\\p{Alpha}+')).toThrow(/not supported/);
  });
});

describe('decodeRequest: valid input', () => {
  it('decodes Encrypt: blobs become Buffers with the right bytes, the rest is kept', () => {
    const decoded = decodeRequest('Encrypt', {
      KeyId: KEY_ID,
      Plaintext: b64('hello'),
      EncryptionContext: { purpose: 'test', '': '' },
      GrantTokens: ['token'],
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DryRun: false,
    });
    expect(Buffer.isBuffer(decoded.Plaintext)).toBe(true);
    expect((decoded.Plaintext as Buffer).toString('utf8')).toBe('hello');
    expect(decoded).toEqual({
      KeyId: KEY_ID,
      Plaintext: Buffer.from('hello'),
      EncryptionContext: { purpose: 'test', '': '' },
      GrantTokens: ['token'],
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DryRun: false,
    });
  });

  it('accepts base64 with and without padding, and binary bytes', () => {
    const bytes = Buffer.from([0, 255, 1, 254, 128]);
    expect(decodeRequest('Encrypt', { KeyId: KEY_ID, Plaintext: bytes.toString('base64') }).Plaintext).toEqual(bytes);
    expect(decodeRequest('Encrypt', { KeyId: KEY_ID, Plaintext: 'AP8B/oA' }).Plaintext).toEqual(bytes);
  });

  it('decodes CreateKey with a policy, enums, booleans and tags', () => {
    const body = {
      Policy: '{"Version":"2012-10-17","Statement":[]}',
      Description: 'test key',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      Origin: 'AWS_KMS',
      BypassPolicyLockoutSafetyCheck: true,
      MultiRegion: false,
      Tags: [{ TagKey: 'team', TagValue: '' }],
    };
    expect(decodeRequest('CreateKey', body)).toEqual(body);
    expect(decodeRequest('CreateKey', {})).toEqual({});
  });

  it('decodes TagResource and ListKeys', () => {
    const tags = { KeyId: KEY_ID, Tags: [{ TagKey: 'a', TagValue: 'b' }, { TagKey: 'c', TagValue: 'd' }] };
    expect(decodeRequest('TagResource', tags)).toEqual(tags);
    expect(decodeRequest('ListKeys', { Limit: 1000, Marker: 'next' })).toEqual({ Limit: 1000, Marker: 'next' });
    expect(decodeRequest('ListKeys', { Limit: 1 })).toEqual({ Limit: 1 });
  });

  it('decodes a timestamp (epoch seconds) into a Date', () => {
    const decoded = decodeRequest('ImportKeyMaterial', {
      KeyId: KEY_ID,
      ImportToken: b64('token'),
      EncryptedKeyMaterial: b64('material'),
      ValidTo: 1700000000.5,
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
    });
    expect(decoded.ValidTo).toEqual(new Date(1700000000500));
  });

  it('treats null for an optional member as absent', () => {
    expect(decodeRequest('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: null, GrantTokens: null })).toEqual({
      KeyId: KEY_ID,
      Plaintext: Buffer.from('x'),
    });
  });

  it('drops unknown members, at the top and nested', () => {
    expect(decodeRequest('TagResource', { KeyId: KEY_ID, Tags: [{ TagKey: 'a', TagValue: 'b', Extra: 1 }], Bogus: { x: 1 } })).toEqual({
      KeyId: KEY_ID,
      Tags: [{ TagKey: 'a', TagValue: 'b' }],
    });
  });

  it('keeps a "__proto__" encryption context key as an entry', () => {
    const body = JSON.parse(`{"KeyId":"${KEY_ID}","Plaintext":"eA==","EncryptionContext":{"__proto__":"v"}}`) as unknown;
    const context = decodeRequest('Encrypt', body).EncryptionContext as Record<string, unknown>;
    expect(Object.keys(context)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
  });
});

describe('decodeRequest: validation errors', () => {
  it('reports a missing required member', () => {
    expect(validationMessage('Encrypt', { Plaintext: b64('x') })).toBe(
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
  });

  it('reports a KeyId longer than 2048 characters, echoing its first 128 characters', () => {
    const keyId = 'k'.repeat(2049);
    expect(validationMessage('DescribeKey', { KeyId: keyId })).toBe(
      `1 validation error detected: Value '${'k'.repeat(128)}...' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048`,
    );
  });

  it('counts string length in code points', () => {
    expect(() => decodeRequest('DescribeKey', { KeyId: '\u{1F511}'.repeat(2048) })).not.toThrow();
    expect(validationMessage('DescribeKey', { KeyId: '\u{1F511}'.repeat(2049) })).toContain('less than or equal to 2048');
  });

  it('reports a 4097-byte Plaintext without echoing it (sensitive)', () => {
    const message = validationMessage('Encrypt', { KeyId: KEY_ID, Plaintext: b64(Buffer.alloc(4097, 0x41)) });
    expect(message).toBe(
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    expect(message).not.toContain('QUFB');
  });

  it('accepts 4096 bytes of Plaintext', () => {
    expect((decodeRequest('Encrypt', { KeyId: KEY_ID, Plaintext: b64(Buffer.alloc(4096)) }).Plaintext as Buffer).length).toBe(4096);
  });

  it('reports an empty Plaintext', () => {
    expect(validationMessage('Encrypt', { KeyId: KEY_ID, Plaintext: '' })).toBe(
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  it('never echoes a sensitive string (KeyStorePassword)', () => {
    const message = validationMessage('CreateCustomKeyStore', { CustomKeyStoreName: 'store', KeyStorePassword: 'short' });
    expect(message).toBe(
      "1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must have length greater than or equal to 7",
    );
    expect(message).not.toContain('short');
  });

  it('reports a value outside the enum with the whole value set', () => {
    expect(validationMessage('CreateKey', { KeyUsage: 'ENCRYPT' })).toBe(
      "1 validation error detected: Value 'ENCRYPT' at 'keyUsage' failed to satisfy constraint: " +
        'Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT]',
    );
  });

  it('reports an AliasName that does not match its pattern', () => {
    expect(validationMessage('CreateAlias', { AliasName: 'alias/my key', TargetKeyId: KEY_ID })).toBe(
      "1 validation error detected: Value 'alias/my key' at 'aliasName' failed to satisfy constraint: " +
        'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$',
    );
  });

  it('reports a policy with characters outside its (unanchored) pattern', () => {
    expect(validationMessage('PutKeyPolicy', { KeyId: KEY_ID, Policy: '{"Sid": "\u2192"}' })).toMatch(
      /at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\\u0009\\u000A\\u000D\\u0020-\\u00FF\]\+$/,
    );
  });

  it('reports ListKeys Limit 0 and 1001', () => {
    expect(validationMessage('ListKeys', { Limit: 0 })).toBe(
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    expect(validationMessage('ListKeys', { Limit: 1001 })).toBe(
      "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
  });

  it('reports GenerateRandom NumberOfBytes 1025', () => {
    expect(validationMessage('GenerateRandom', { NumberOfBytes: 1025 })).toBe(
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
  });

  it('collects every violation, in model order, joined with "; "', () => {
    expect(validationMessage('Encrypt', { KeyId: '', Plaintext: '', EncryptionAlgorithm: 'AES' })).toBe(
      '3 validation errors detected: ' +
        "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value 'AES' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]",
    );
    expect(validationMessage('Encrypt', {})).toMatch(/^2 validation errors detected: Value null at 'keyId' .*; Value null at 'plaintext' /);
  });

  it('names list members by 1-based index and nested members in lowerCamelCase', () => {
    expect(validationMessage('TagResource', { KeyId: KEY_ID, Tags: [{ TagKey: 'a', TagValue: 'b' }, { TagKey: '', TagValue: 'v'.repeat(257) }, { TagValue: 'x' }] })).toBe(
      '3 validation errors detected: ' +
        "Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        `Value '${'v'.repeat(128)}...' at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256; ` +
        "Value null at 'tags.3.member.tagKey' failed to satisfy constraint: Member must not be null",
    );
  });

  it('reports a list longer than its max, showing it as Java would', () => {
    const tokens = Array.from({ length: 11 }, (_, i) => `t${i}`);
    expect(validationMessage('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), GrantTokens: tokens })).toBe(
      `1 validation error detected: Value '[${tokens.join(', ')}]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10`,
    );
  });
});

describe('decodeRequest: serialization errors', () => {
  it('refuses a body that is not a JSON object', () => {
    expect(serializationMessage('ListKeys', [])).toBe('Start of list found where not expected.');
    expect(serializationMessage('ListKeys', 'x')).toBe('STRING_VALUE can not be converted to a Structure');
    expect(serializationMessage('ListKeys', null)).toBe('NULL_VALUE can not be converted to a Structure');
  });

  it('refuses a number where a string is expected (KeyId: 5)', () => {
    expect(serializationMessage('DescribeKey', { KeyId: 5 })).toBe('NUMBER_VALUE can not be converted to a String');
  });

  it('refuses an object where a list is expected (Tags)', () => {
    expect(serializationMessage('TagResource', { KeyId: KEY_ID, Tags: { TagKey: 'a', TagValue: 'b' } })).toBe(
      'Start of structure or map found where not expected.',
    );
  });

  it('refuses a number for a blob (Plaintext) without echoing it', () => {
    expect(serializationMessage('Encrypt', { KeyId: KEY_ID, Plaintext: 12345 })).toBe('NUMBER_VALUE can not be converted to a Blob');
  });

  it('refuses a non-string encryption context value', () => {
    expect(serializationMessage('Encrypt', { KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: { a: 1 } })).toBe(
      'NUMBER_VALUE can not be converted to a String',
    );
  });

  it('refuses a string for a boolean and a float or string for an integer', () => {
    expect(serializationMessage('CreateKey', { MultiRegion: 'true' })).toBe('STRING_VALUE can not be converted to a Boolean');
    expect(serializationMessage('ListKeys', { Limit: 1.5 })).toBe('NUMBER_VALUE can not be converted to an Integer');
    expect(serializationMessage('ListKeys', { Limit: '10' })).toBe('STRING_VALUE can not be converted to an Integer');
    expect(serializationMessage('ListKeys', { Limit: 2 ** 31 })).toBe('NUMBER_VALUE can not be converted to an Integer');
  });

  it('refuses a timestamp no Date can hold (ValidTo 1e20 epoch seconds)', () => {
    // 1e20 s is past the ±8.64e15 ms a Date covers: an Invalid Date must not reach the domain.
    const body = { KeyId: KEY_ID, ImportToken: b64('token'), EncryptedKeyMaterial: b64('material'), ValidTo: 1e20, ExpirationModel: 'KEY_MATERIAL_EXPIRES' };
    expect(serializationMessage('ImportKeyMaterial', body)).toBe('NUMBER_VALUE can not be converted to a Timestamp');
  });

  it('refuses invalid base64 without echoing it', () => {
    for (const bad of ['not base64!', 'QUJD\nREVG', 'QUJDR', 'QQ=', 'QQ==QQ==', 'QUJD-_']) {
      const message = serializationMessage('Encrypt', { KeyId: KEY_ID, Plaintext: bad });
      expect(message).toBe("Value at 'plaintext' is not valid base64.");
    }
  });

  it('reports a serialization error even after validation errors', () => {
    expect(serializationMessage('Encrypt', { KeyId: '', Plaintext: 7 })).toBe('NUMBER_VALUE can not be converted to a Blob');
  });

  it('refuses an unknown operation', () => {
    expect(kmsErrorOf(() => decodeRequest('StealKey', {})).code).toBe('UnknownOperation');
  });
});

describe('encodeResponse', () => {
  it('encodes Encrypt output: blob to base64, KeyId and algorithm kept, undefined dropped', () => {
    const ciphertext = Buffer.from([1, 2, 3, 250, 251, 252]);
    expect(
      encodeResponse('Encrypt', { CiphertextBlob: ciphertext, KeyId: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`, EncryptionAlgorithm: undefined }),
    ).toEqual({ CiphertextBlob: 'AQID+vv8', KeyId: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}` });
  });

  it('encodes a Uint8Array view by its own bytes only', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    expect(encodeResponse('GenerateRandom', { Plaintext: backing.subarray(2, 5) })).toEqual({ Plaintext: 'AQID' });
  });

  it('encodes DescribeKey output: nested KeyMetadata, Dates as epoch seconds', () => {
    const encoded = encodeResponse('DescribeKey', {
      KeyMetadata: {
        AWSAccountId: '111122223333',
        KeyId: KEY_ID,
        Arn: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`,
        CreationDate: new Date(1700000000123),
        DeletionDate: undefined,
        Enabled: true,
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeyState: 'Enabled',
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        KeySpec: 'SYMMETRIC_DEFAULT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false,
      },
    });
    expect(encoded).toEqual({
      KeyMetadata: {
        AWSAccountId: '111122223333',
        KeyId: KEY_ID,
        Arn: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`,
        CreationDate: 1700000000.123,
        Enabled: true,
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeyState: 'Enabled',
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        KeySpec: 'SYMMETRIC_DEFAULT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false,
      },
    });
    expect(JSON.stringify(encoded)).toContain('"CreationDate":1700000000.123');
  });

  it('encodes lists of structures with dates (ListAliases)', () => {
    expect(
      encodeResponse('ListAliases', {
        Aliases: [{ AliasName: 'alias/a', AliasArn: 'arn:aws:kms:us-east-1:111122223333:alias/a', TargetKeyId: KEY_ID, CreationDate: new Date(0) }],
        Truncated: false,
      }),
    ).toEqual({
      Aliases: [{ AliasName: 'alias/a', AliasArn: 'arn:aws:kms:us-east-1:111122223333:alias/a', TargetKeyId: KEY_ID, CreationDate: 0 }],
      Truncated: false,
    });
  });

  it('throws on a member the output shape does not define', () => {
    expect(() => encodeResponse('Encrypt', { CiphertextBlob: Buffer.from('x'), Plaintext: Buffer.from('secret') })).toThrow(
      /Encrypt has member Plaintext, which EncryptResponse does not define/,
    );
    expect(() => encodeResponse('DescribeKey', { KeyMetadata: { KeyId: KEY_ID, Bogus: 1 } })).toThrow(/DescribeKey\.KeyMetadata has member Bogus, which KeyMetadata does not define/);
    expect(() => encodeResponse('EnableKey', { KeyId: KEY_ID })).toThrow(/has no output/);
    expect(encodeResponse('EnableKey', {})).toEqual({});
  });

  it('throws on values of the wrong type, without showing them', () => {
    expect(() => encodeResponse('Encrypt', { CiphertextBlob: 'AQID' })).toThrow('KMS response: Encrypt.CiphertextBlob must be a Buffer or Uint8Array');
    expect(() => encodeResponse('DescribeKey', { KeyMetadata: { KeyId: KEY_ID, CreationDate: 1700000000 } })).toThrow(/CreationDate must be a valid Date/);
  });
});

describe('encodeResponseJson', () => {
  it('writes blobs as base64 and everything else as JSON.stringify does', () => {
    const text = encodeResponseJson('Encrypt', { CiphertextBlob: Buffer.from([1, 2, 3, 250, 251, 252]), KeyId: 'a"b\\c\u0001\ud800é', EncryptionAlgorithm: undefined });
    expect(text).toBe(`{"CiphertextBlob":"AQID+vv8","KeyId":${JSON.stringify('a"b\\c\u0001\ud800é')}}`);
    expect(encodeResponseJson('EnableKey', {})).toBe('{}');
    expect(encodeResponseJson('DescribeKey', { KeyMetadata: { KeyId: KEY_ID, CreationDate: new Date(1700000000123), Enabled: false } })).toBe(
      `{"KeyMetadata":{"KeyId":"${KEY_ID}","CreationDate":1700000000.123,"Enabled":false}}`,
    );
  });

  // Every operation's output shape, filled with values of every kind the shapes allow, against an
  // independent reading of the rules: blobs as base64, dates as epoch seconds, undefined and null
  // members dropped, then JSON.stringify.
  it('gives the text JSON.stringify gives, for every operation of the model', () => {
    const model = loadKmsModel();
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const STRINGS = ['', 'plain', 'quote " backslash \\ slash /', 'control \u0000\u001f\u007f', 'lone \ud800 surrogate', 'astral 😀 é', 'x'.repeat(300)];
    const KEYS = ['k', '__proto__', '10', '2', 'a"b', 'é'];
    const make = (shapeName: string, depth: number): unknown => {
      const shape = model.shapes[shapeName]!;
      switch (shape.type) {
        case 'structure': {
          const out: Record<string, unknown> = {};
          for (const [member, ref] of Object.entries(shape.members ?? {})) {
            const roll = next(6);
            out[member] = roll === 0 ? undefined : roll === 1 ? null : make(ref.shape, depth + 1);
          }
          return out;
        }
        case 'list':
          return depth > 6 ? [] : Array.from({ length: next(3) }, () => make(shape.member!.shape, depth + 1));
        case 'map': {
          const out: Record<string, unknown> = {};
          for (const key of KEYS.slice(0, next(KEYS.length + 1))) Object.defineProperty(out, key, { value: make(shape.value!.shape, depth + 1), enumerable: true, writable: true, configurable: true });
          return out;
        }
        case 'blob':
          return Buffer.from(Array.from({ length: next(40) }, () => next(256)));
        case 'timestamp':
          return new Date(1_700_000_000_000 + next(1_000_000) * 7);
        case 'string':
          return shape.enum?.[next(shape.enum.length)] ?? STRINGS[next(STRINGS.length)];
        case 'boolean':
          return next(2) === 1;
        default:
          return next(1_000_000) - 500;
      }
    };
    const reference = (value: unknown): unknown => {
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      if (value instanceof Date) return value.getTime() / 1000;
      if (Array.isArray(value)) return value.map(reference);
      if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value)) {
          const v = (value as Record<string, unknown>)[key];
          if (v !== undefined && v !== null) Object.defineProperty(out, key, { value: reference(v), enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      return value;
    };
    let compared = 0;
    for (const [name, op] of Object.entries(model.operations)) {
      if (!op.output) continue;
      for (let i = 0; i < 20; i++) {
        const output = make(op.output.shape, 0) as Record<string, unknown>;
        expect(encodeResponseJson(name, output)).toBe(JSON.stringify(reference(output)));
        expect(encodeResponse(name, output)).toEqual(JSON.parse(JSON.stringify(reference(output))));
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(40 * 20);
  });
});

describe('strings are Unicode text', () => {
  it('refuses a lone UTF-16 surrogate in a string or a map key (UTF-8 would make it U+FFFD, binding other contexts alike)', () => {
    const enc = (context: Record<string, string>) => ({ KeyId: KEY_ID, Plaintext: b64('x'), EncryptionContext: context });
    expect(serializationMessage('Encrypt', enc({ purpose: '\ud800' }))).toMatch(/lone UTF-16 surrogate/);
    expect(serializationMessage('Encrypt', enc({ purpose: '\udc00x' }))).toMatch(/lone UTF-16 surrogate/);
    expect(serializationMessage('Encrypt', enc({ 'k\udfff': 'b' }))).toMatch(/lone UTF-16 surrogate/);
    expect(serializationMessage('CreateKey', { Description: 'a\ud800b' })).toMatch(/lone UTF-16 surrogate/);
    // A pair is one character, and welcome.
    expect(decodeRequest('Encrypt', enc({ purpose: '🔑 \ud83d\udd11' }))).toMatchObject({ EncryptionContext: { purpose: '🔑 🔑' } });
  });
});
