// The XKS wire layer on its own: the error table (every spec error name with its status), error
// bodies, request decoding and the path grammar (XKS Proxy API v1.0.3, "API operations", "Error codes").
import { describe, expect, it } from 'vitest';
import { decodeDecrypt, decodeEncrypt, decodeRequestMetadata, parseBody } from '../../../main/api/xks/decode.js';
import { XKS_ERROR_NAMES, XKS_ERROR_STATUS, XksError, xksErrorResponse } from '../../../main/api/xks/errors.js';
import { parseXksPath } from '../../../main/api/xks/path.js';
import { base64Of } from '../../../main/api/http.js';
import { base64MembersJson } from '../../../main/api/xks/wire.js';

const META = { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:key/k', kmsOperation: 'Encrypt', kmsRequestId: 'r-1' };
const b64 = (n: number, fill = 1) => Buffer.alloc(n, fill).toString('base64');

function refusal(f: () => unknown): { name: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof XksError) return { name: e.errorName, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('XKS error table', () => {
  it('has the spec status of every spec error name', () => {
    expect(XKS_ERROR_STATUS).toEqual({
      ValidationException: 400,
      InvalidStateException: 400,
      InvalidCiphertextException: 400,
      InvalidKeyUsageException: 400,
      AuthenticationFailedException: 401,
      AccessDeniedException: 403,
      KeyNotFoundException: 404,
      InvalidUriPathException: 404,
      ThrottlingException: 429,
      InternalException: 500,
      UnsupportedOperationException: 501,
      DependencyTimeoutException: 503,
    });
    expect(Object.keys(XKS_ERROR_STATUS).sort()).toEqual([...XKS_ERROR_NAMES].sort());
  });

  it('answers {errorName, errorMessage} with a printable-ASCII message under 512 characters', () => {
    const r = xksErrorResponse('KeyNotFoundException', `caf\u00e9\n${'x'.repeat(900)}`);
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('application/json');
    const body = JSON.parse(r.body) as { errorName: string; errorMessage: string };
    expect(body.errorName).toBe('KeyNotFoundException');
    expect(body.errorMessage.length).toBeLessThan(512);
    expect(body.errorMessage).toMatch(/^[\x20-\x7e]*$/);
  });
});

describe('requestMetadata', () => {
  it('is required and non-empty on every operation, GetHealthStatus included', () => {
    for (const op of ['GetKeyMetadata', 'Encrypt', 'Decrypt', 'GetHealthStatus'] as const) {
      expect(refusal(() => decodeRequestMetadata({}, op))).toEqual({ name: 'ValidationException', message: 'requestMetadata is required.' });
      expect(refusal(() => decodeRequestMetadata({ requestMetadata: {} }, op)).message).toBe('requestMetadata must not be empty.');
      expect(refusal(() => decodeRequestMetadata({ requestMetadata: 'x' }, op)).name).toBe('ValidationException');
    }
  });

  it('requires the members the spec marks REQUIRED per operation, and accepts any kmsOperation and unknown members', () => {
    expect(refusal(() => decodeRequestMetadata({ requestMetadata: { kmsOperation: 'X' } }, 'GetHealthStatus')).message).toBe('requestMetadata.kmsRequestId is required.');
    expect(decodeRequestMetadata({ requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'r' } }, 'GetHealthStatus').kmsOperation).toBe('KmsHealthCheck');
    const { kmsKeyArn: _omitted, ...noArn } = META;
    expect(decodeRequestMetadata({ requestMetadata: noArn }, 'GetKeyMetadata').kmsKeyArn).toBeUndefined();
    expect(refusal(() => decodeRequestMetadata({ requestMetadata: noArn }, 'Encrypt')).message).toBe('requestMetadata.kmsKeyArn is required.');
    const m = decodeRequestMetadata({ requestMetadata: { ...META, kmsOperation: 'BulkEncrypt', kmsRequestId: 'not-a-uuid', tags: { a: 1 } } }, 'Encrypt');
    expect(m.kmsOperation).toBe('BulkEncrypt');
    expect(refusal(() => decodeRequestMetadata({ requestMetadata: { ...META, kmsViaService: 5 } }, 'Encrypt')).message).toBe('requestMetadata.kmsViaService must be a string.');
  });
});

describe('Encrypt and Decrypt bodies', () => {
  const enc = (over: Record<string, unknown>) => ({ requestMetadata: META, plaintext: b64(32), encryptionAlgorithm: 'AES_GCM', ...over });
  const dec = (over: Record<string, unknown>) => ({ requestMetadata: META, ciphertext: b64(32), encryptionAlgorithm: 'AES_GCM', initializationVector: b64(12), authenticationTag: b64(16), ...over });

  it('accepts 4,300 bytes of plaintext and 8,192 bytes of AAD', () => {
    const d = decodeEncrypt(enc({ plaintext: b64(4300), additionalAuthenticatedData: b64(8192), ciphertextDataIntegrityValueAlgorithm: 'SHA_256' }));
    expect([d.plaintext.length, d.aad?.length, d.wantsCdiv]).toEqual([4300, 8192, true]);
    expect(decodeDecrypt(dec({ ciphertext: b64(4300), additionalAuthenticatedData: b64(8192) })).ciphertext.length).toBe(4300);
  });

  it('refuses non-standard or non-canonical Base64, wrong types and missing fields', () => {
    expect(decodeEncrypt(enc({ plaintext: 'SGVsbG8gV29ybGQh' })).plaintext.toString()).toBe('Hello World!');
    for (const plaintext of ['SGVsbG8gV29ybGQ', 'SGVsbG8-V29ybGQh', 'SGVsbG8_V29ybGQh', 'SGVsbG8gV29ybGQh\n', 'QQ=', 'QR==', 42, null]) {
      expect(refusal(() => decodeEncrypt(enc({ plaintext }))).name).toBe('ValidationException');
    }
    expect(refusal(() => decodeEncrypt(enc({ additionalAuthenticatedData: 'a' }))).message).toMatch(/^additionalAuthenticatedData is not valid/);
    expect(refusal(() => decodeEncrypt({ requestMetadata: META, encryptionAlgorithm: 'AES_GCM' })).message).toBe('plaintext is required.');
    expect(refusal(() => decodeDecrypt(dec({ ciphertextMetadata: '!!' }))).message).toMatch(/^ciphertextMetadata is not valid/);
  });

  it('refuses null for an optional Base64 member: present, it must be a Base64 string; left out, it is absent', () => {
    expect(refusal(() => decodeEncrypt(enc({ additionalAuthenticatedData: null })))).toEqual({ name: 'ValidationException', message: 'additionalAuthenticatedData must be a Base64 string.' });
    expect(refusal(() => decodeDecrypt(dec({ additionalAuthenticatedData: null }))).name).toBe('ValidationException');
    expect(refusal(() => decodeDecrypt(dec({ ciphertextMetadata: null }))).message).toBe('ciphertextMetadata must be a Base64 string.');
    expect(decodeEncrypt(enc({})).aad).toBeUndefined();
    expect(decodeDecrypt(dec({})).ciphertextMetadata).toBeUndefined();
  });

  it('requires AES_GCM and allows only SHA_256 as the CDIV algorithm', () => {
    expect(refusal(() => decodeEncrypt(enc({ encryptionAlgorithm: undefined }))).message).toBe('encryptionAlgorithm is required.');
    expect(refusal(() => decodeEncrypt(enc({ encryptionAlgorithm: 'AES_GCM_256' }))).message).toBe('encryptionAlgorithm must be AES_GCM.');
    expect(refusal(() => decodeDecrypt(dec({ encryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).name).toBe('ValidationException');
    expect(refusal(() => decodeEncrypt(enc({ ciphertextDataIntegrityValueAlgorithm: 'SHA_512' }))).message).toBe('ciphertextDataIntegrityValueAlgorithm must be SHA_256.');
    expect(decodeEncrypt(enc({})).wantsCdiv).toBe(false);
  });

  it('checks IV (12 or 16), tag (16) and ciphertextMetadata (<= 20) sizes on decrypt', () => {
    expect(decodeDecrypt(dec({ initializationVector: b64(16) })).iv.length).toBe(16);
    expect(refusal(() => decodeDecrypt(dec({ initializationVector: b64(8) }))).message).toBe('initializationVector must be 12 or 16 bytes, not 8.');
    expect(refusal(() => decodeDecrypt(dec({ authenticationTag: b64(12) }))).message).toBe('authenticationTag must be 16 bytes, not 12.');
    expect(decodeDecrypt(dec({ ciphertextMetadata: b64(20) })).ciphertextMetadata?.length).toBe(20);
    expect(refusal(() => decodeDecrypt(dec({ ciphertextMetadata: b64(21) }))).name).toBe('ValidationException');
    for (const f of ['ciphertext', 'initializationVector', 'authenticationTag']) {
      expect(refusal(() => decodeDecrypt(dec({ [f]: undefined }))).message).toBe(`${f} is required.`);
    }
  });

  it('answers UnsupportedOperationException beyond what Kura supports (above the spec minimums)', () => {
    expect(refusal(() => decodeEncrypt(enc({ plaintext: b64(65_537) }))).name).toBe('UnsupportedOperationException');
    expect(refusal(() => decodeEncrypt(enc({ additionalAuthenticatedData: b64(65_536) }))).name).toBe('UnsupportedOperationException');
    expect(decodeEncrypt(enc({ additionalAuthenticatedData: b64(65_535) })).aad?.length).toBe(65_535);
  });
});

describe('parseXksPath', () => {
  it('takes an optional prefix of one or more segments', () => {
    expect(parseXksPath('/kms/xks/v1/health')).toEqual({ uriPathPrefix: '', operation: 'GetHealthStatus' });
    expect(parseXksPath('/keystores/4a0d79d6-1d1b/kms/xks/v1/keys/k_1.a-b/encrypt')).toEqual({ uriPathPrefix: 'keystores/4a0d79d6-1d1b', operation: 'Encrypt', externalKeyId: 'k_1.a-b' });
    expect(parseXksPath('/p/kms/xks/v1/keys/k/metadata')).toMatchObject({ operation: 'GetKeyMetadata' });
    expect(parseXksPath('/p/kms/xks/v1/keys/k/decrypt')).toMatchObject({ operation: 'Decrypt' });
  });

  it('names no route for other paths', () => {
    for (const p of ['/p/kms/xks/v1/keys/k/sign', '/p/kms/xks/v1/keys/k', '/p/kms/xks/v1/health/x', '//kms/xks/v1/health', '/a b/kms/xks/v1/health', '/p/kms/xks/v1/keys/k%2F/encrypt', `/p/kms/xks/v1/keys/${'k'.repeat(129)}/encrypt`, `/${'p'.repeat(120)}/kms/xks/v1/health`, '/p/kms/xks/v1/keys/constructor/x']) {
      expect(parseXksPath(p)).toHaveProperty('invalid');
    }
  });
});

describe('parseBody', () => {
  it('refuses what is not a JSON object', () => {
    for (const b of ['', 'nope', '[]', '1', 'null']) expect(refusal(() => parseBody(Buffer.from(b))).name).toBe('ValidationException');
  });
});

describe('base64MembersJson', () => {
  it('writes the text JSON.stringify writes, for bytes of every value and members left undefined', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 0xff));
      const members = { ciphertext: base64Of(bytes), ciphertextMetadata: n % 2 ? base64Of(bytes.subarray(0, 3)) : undefined, initializationVector: base64Of(bytes.subarray(n >> 1)), authenticationTag: base64Of(Buffer.alloc(16, 0xff)) };
      expect(base64MembersJson(members)).toBe(JSON.stringify(members));
    }
    expect(base64MembersJson({})).toBe('{}');
    // A view is encoded by its own bytes only.
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    expect(base64Of(backing.subarray(2, 5))).toBe('AQID');
  });
});
