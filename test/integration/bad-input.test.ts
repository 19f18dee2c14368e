// Bad input against one real dev-mode Kura (`kura serve --dev`, the compiled dist/): malformed bodies,
// wrong JSON types, constraint violations, bad ciphertexts, refused state changes, broken SigV4 and
// broken HTTP. Each case asserts the AWS error name (X-Amzn-ErrorType header and the body's __type)
// and the HTTP status; after the nastiest cases and after the whole set, the server must still answer
// good requests, and the keys the refused requests named must be exactly as they were.
//
// Requests are sent raw with fetch, signed by @smithy/signature-v4 (what the AWS SDKs sign with), so
// that bodies and headers the SDK would never send can be sent. Expected names follow the AWS KMS API
// model (kms-2014-11-01) and AWS's JSON 1.1 / SigV4 front end.
import net from 'node:net';
import http from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

interface OutgoingRequest {
  headers: Record<string, string>;
  body: string | Uint8Array;
}

interface RawOptions {
  region?: string;
  service?: string;
  credentials?: Credentials;
  signingDate?: Date;
  /** The whole X-Amz-Target value instead of TrentService.<op>; null sends no X-Amz-Target. */
  target?: string | null;
  /** Changes the request after it was signed. */
  mutate?: (req: OutgoingRequest) => void;
}

interface RawResponse {
  status: number;
  /** The X-Amzn-ErrorType header up to any ':' (AWS may append a URL), or null. */
  errorType: string | null;
  json: Record<string, unknown>;
  text: string;
}

const REGION = 'us-east-1';
const OTHER_REGION = 'eu-west-1';

let kura: KuraProcess;
let kms: KMSClient;
let devCredentials: Credentials;

// Keys made in beforeAll (us-east-1): A is the key refused changes must not touch; B another usable key.
let keyA: string;
let keyAArn: string;
let keyB: string;
let keyDisabled: string;
let keyPending: string;
const ALIAS_A = 'alias/bad-input-a';
const CONTEXT = { purpose: 'bad-input', tenant: '42' };
let ciphertextA: Buffer;
let snapshotA: KeySnapshot;

async function signed(op: string, body: string | Uint8Array, opts: RawOptions): Promise<OutgoingRequest> {
  const signer = new SignatureV4({
    service: opts.service ?? 'kms',
    region: opts.region ?? REGION,
    credentials: opts.credentials ?? devCredentials,
    sha256: Sha256,
  });
  const headers: Record<string, string> = {
    host: `127.0.0.1:${kura.port}`,
    'content-type': 'application/x-amz-json-1.1',
  };
  const target = opts.target === undefined ? `TrentService.${op}` : opts.target;
  if (target !== null) headers['x-amz-target'] = target;
  const request = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: kura.port, path: '/', query: {}, headers, body },
    opts.signingDate ? { signingDate: opts.signingDate } : {},
  );
  const out: OutgoingRequest = { headers: { ...(request.headers as Record<string, string>) }, body };
  opts.mutate?.(out);
  return out;
}

/** Sends one SigV4-signed KMS request with exactly the given body bytes. */
async function callRaw(op: string, body: string | Uint8Array, opts: RawOptions = {}): Promise<RawResponse> {
  const req = await signed(op, body, opts);
  // fetch sets Host itself (to the same value); it is signed above.
  const { host: _host, ...headers } = req.headers;
  const res = await fetch(`${kura.url}/`, { method: 'POST', headers, body: req.body });
  return toRawResponse(res);
}

async function toRawResponse(res: Response): Promise<RawResponse> {
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    // not JSON: json stays {}, the assertions on it fail with the text shown
  }
  const errorType = res.headers.get('x-amzn-errortype');
  return { status: res.status, errorType: errorType === null ? null : (errorType.split(':')[0] ?? ''), json, text };
}

const call = (op: string, input: Record<string, unknown>, opts: RawOptions = {}) => callRaw(op, JSON.stringify(input), opts);

/** The response is the AWS error `name` with `status`, named the same in the header and the body. */
function expectAwsError(res: RawResponse, name: string, status = 400): void {
  expect({ status: res.status, header: res.errorType, __type: res.json.__type }, res.text).toEqual({ status, header: name, __type: name });
  expect(typeof res.json.message, res.text).toBe('string');
}

function expectOk(res: RawResponse): void {
  expect({ status: res.status, header: res.errorType }, res.text).toEqual({ status: 200, header: null });
}

const message = (res: RawResponse): string => String(res.json.message);
const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64');

/** A good request still works: a ListKeys and an Encrypt/Decrypt round trip under key A. */
async function expectServerHealthy(): Promise<void> {
  const list = await call('ListKeys', {});
  expectOk(list);
  expect((list.json.Keys as { KeyId: string }[]).map((k) => k.KeyId)).toContain(keyA);
  const enc = await call('Encrypt', { KeyId: keyA, Plaintext: b64('still alive'), EncryptionContext: CONTEXT });
  expectOk(enc);
  const dec = await call('Decrypt', { CiphertextBlob: enc.json.CiphertextBlob, EncryptionContext: CONTEXT });
  expectOk(dec);
  expect(Buffer.from(String(dec.json.Plaintext), 'base64').toString()).toBe('still alive');
}

interface KeySnapshot {
  state: string | undefined;
  enabled: boolean | undefined;
  description: string | undefined;
  deletionDate: number | undefined;
  tags: { TagKey?: string; TagValue?: string }[] | undefined;
  policy: string | undefined;
  rotation: boolean | undefined;
  aliases: (string | undefined)[];
}

/** Everything a refused request could have changed about a key, as the SDK sees it. */
async function snapshot(keyId: string): Promise<KeySnapshot> {
  const { KeyMetadata: m } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  const tags = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
  const policy = m?.KeyState === 'PendingDeletion' ? undefined : (await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy;
  const rotation =
    m?.KeyState === 'Enabled' ? (await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled : undefined;
  const aliases = await kms.send(new ListAliasesCommand({ KeyId: keyId }));
  return {
    state: m?.KeyState,
    enabled: m?.Enabled,
    description: m?.Description,
    deletionDate: m?.DeletionDate?.getTime(),
    tags: tags.Tags?.map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })),
    policy,
    rotation,
    aliases: (aliases.Aliases ?? []).map((a) => a.AliasName).sort(),
  };
}

async function keyCount(): Promise<number> {
  return (await kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length ?? 0;
}

/** Writes `data` on a fresh TCP connection and returns everything the server sends until it closes. */
function rawExchange(data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(kura.port, '127.0.0.1');
    let out = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no close within 10 s; got: ${out}`)));
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    socket.write(data);
  });
}

/** Raw HTTP/1.1 text of a signed request, with a Content-Length that may lie. */
function httpText(req: OutgoingRequest, contentLength: number, bodyPart: string): string {
  const lines = ['POST / HTTP/1.1', ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${contentLength}`];
  return `${lines.join('\r\n')}\r\n\r\n${bodyPart}`;
}

beforeAll(async () => {
  kura = await startKura();
  devCredentials = { accessKeyId: kura.accessKeyId, secretAccessKey: kura.secretAccessKey };
  expect(devCredentials.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
  kms = kmsClient(kura);
  const a = await kms.send(
    new CreateKeyCommand({ Description: 'bad-input key A', Tags: [{ TagKey: 'team', TagValue: 'blue' }] }),
  );
  keyA = a.KeyMetadata!.KeyId!;
  keyAArn = a.KeyMetadata!.Arn!;
  await kms.send(new CreateAliasCommand({ AliasName: ALIAS_A, TargetKeyId: keyA }));
  keyB = (await kms.send(new CreateKeyCommand({ Description: 'bad-input key B' }))).KeyMetadata!.KeyId!;
  keyDisabled = (await kms.send(new CreateKeyCommand({ Description: 'disabled' }))).KeyMetadata!.KeyId!;
  keyPending = (await kms.send(new CreateKeyCommand({ Description: 'pending deletion' }))).KeyMetadata!.KeyId!;
  ciphertextA = Buffer.from(
    (await kms.send(new EncryptCommand({ KeyId: keyA, Plaintext: Buffer.from('hello'), EncryptionContext: CONTEXT }))).CiphertextBlob!,
  );
  await kms.send(new DisableKeyCommand({ KeyId: keyDisabled }));
  await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyPending, PendingWindowInDays: 7 }));
  snapshotA = await snapshot(keyA);
  expect(snapshotA).toMatchObject({ state: 'Enabled', description: 'bad-input key A', tags: [{ TagKey: 'team', TagValue: 'blue' }], rotation: false, aliases: [ALIAS_A] });
});

afterAll(async () => {
  kms?.destroy();
  await kura?.stop();
});

describe('the request body is not JSON, or not a JSON object', () => {
  it.each([
    ['malformed JSON', '{"KeyId": '],
    ['a JSON array', '[]'],
    ['a JSON string', '"ListKeys"'],
    ['a JSON number', '42'],
  ])('%s → SerializationException', async (_what, body) => {
    expectAwsError(await callRaw('ListKeys', body), 'SerializationException');
  });

  it('bytes that are not UTF-8 → SerializationException', async () => {
    expectAwsError(await callRaw('ListKeys', new Uint8Array([0xff, 0xfe, 0x7b, 0x7d, 0xc0])), 'SerializationException');
  });

  it('an array nested 400 000 deep (under 1 MiB) → SerializationException, and the server still answers', async () => {
    const depth = 400_000;
    const res = await callRaw('Encrypt', `${'['.repeat(depth)}${']'.repeat(depth)}`);
    expectAwsError(res, 'SerializationException');
    await expectServerHealthy();
  });

  it('an empty body is {}: CreateKey works', async () => {
    const res = await callRaw('CreateKey', '');
    expectOk(res);
    expect(res.json.KeyMetadata).toMatchObject({ KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: '' });
  });

  it('an empty body for Encrypt → ValidationException naming both missing members', async () => {
    const res = await callRaw('Encrypt', '');
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toMatch(/^2 validation errors detected: /);
    expect(message(res)).toContain("at 'keyId' failed to satisfy constraint: Member must not be null");
    expect(message(res)).toContain("at 'plaintext' failed to satisfy constraint: Member must not be null");
  });
});

describe('a member has the wrong JSON type → SerializationException', () => {
  it.each<[string, string, () => Record<string, unknown>]>([
    ['KeyId is a number', 'Encrypt', () => ({ KeyId: 12345, Plaintext: b64('x') })],
    ['Plaintext is a number', 'Encrypt', () => ({ KeyId: keyA, Plaintext: 12345 })],
    ['Plaintext is not base64', 'Encrypt', () => ({ KeyId: keyA, Plaintext: '!!not*base64!!' })],
    ['CiphertextBlob is an object', 'Decrypt', () => ({ CiphertextBlob: { bytes: 'AAAA' } })],
    ['EncryptionContext is an array', 'Encrypt', () => ({ KeyId: keyA, Plaintext: b64('x'), EncryptionContext: ['purpose', 'x'] })],
    ['an EncryptionContext value is a number', 'Encrypt', () => ({ KeyId: keyA, Plaintext: b64('x'), EncryptionContext: { purpose: 7 } })],
    ['Tags is an object', 'TagResource', () => ({ KeyId: keyA, Tags: { TagKey: 'k', TagValue: 'v' } })],
    ['a Tag is a string', 'TagResource', () => ({ KeyId: keyA, Tags: ['k=v'] })],
    ['Limit is a string', 'ListKeys', () => ({ Limit: '10' })],
    ['Limit is 1.5', 'ListKeys', () => ({ Limit: 1.5 })],
    ['Limit is beyond a 32-bit integer', 'ListKeys', () => ({ Limit: 2 ** 40 })],
    ['DryRun is a string', 'Encrypt', () => ({ KeyId: keyA, Plaintext: b64('x'), DryRun: 'true' })],
    ['NumberOfBytes is a boolean', 'GenerateRandom', () => ({ NumberOfBytes: true })],
  ])('%s (%s)', async (_what, op, input) => {
    expectAwsError(await call(op, input()), 'SerializationException');
  });

  it('a refused TagResource with Tags of the wrong type leaves key A as it was', async () => {
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });
});

describe('a required member is missing → ValidationException', () => {
  it.each<[string, string, () => Record<string, unknown>, string]>([
    ['Encrypt without Plaintext', 'Encrypt', () => ({ KeyId: keyA }), 'plaintext'],
    ['CreateAlias without TargetKeyId', 'CreateAlias', () => ({ AliasName: 'alias/bad-input-missing' }), 'targetKeyId'],
    ['Encrypt with Plaintext null', 'Encrypt', () => ({ KeyId: keyA, Plaintext: null }), 'plaintext'],
  ])('%s', async (_what, op, input, member) => {
    const res = await call(op, input());
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toBe(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  });

  // The current model (botocore 1.43) no longer marks CiphertextBlob required, so the check is the
  // service's own; AWS still refuses a Decrypt or ReEncrypt with nothing to decrypt.
  it.each<[string, () => Record<string, unknown>]>([
    ['Decrypt', () => ({ KeyId: keyA, EncryptionContext: CONTEXT })],
    ['ReEncrypt', () => ({ DestinationKeyId: keyB, SourceKeyId: keyA })],
  ])('%s without CiphertextBlob → ValidationException, and the server still answers', async (op, input) => {
    expectAwsError(await call(op, input()), 'ValidationException');
    await expectServerHealthy();
  });
});

describe('lengths and ranges → ValidationException', () => {
  it.each<[string, string, () => Record<string, unknown>, string]>([
    ['KeyId of 2049 characters', 'DescribeKey', () => ({ KeyId: 'k'.repeat(2049) }), 'Member must have length less than or equal to 2048'],
    ['KeyId empty', 'DescribeKey', () => ({ KeyId: '' }), 'Member must have length greater than or equal to 1'],
    ['AliasName of 257 characters', 'CreateAlias', () => ({ AliasName: `alias/${'a'.repeat(251)}`, TargetKeyId: keyA }), 'Member must have length less than or equal to 256'],
    ['empty Plaintext', 'Encrypt', () => ({ KeyId: keyA, Plaintext: '' }), 'Member must have length greater than or equal to 1'],
    ['CiphertextBlob of 6145 bytes', 'Decrypt', () => ({ CiphertextBlob: b64(Buffer.alloc(6145, 1)) }), 'Member must have length less than or equal to 6144'],
    ['GenerateRandom NumberOfBytes 0', 'GenerateRandom', () => ({ NumberOfBytes: 0 }), 'Member must have value greater than or equal to 1'],
    ['GenerateRandom NumberOfBytes 1025', 'GenerateRandom', () => ({ NumberOfBytes: 1025 }), 'Member must have value less than or equal to 1024'],
    ['GenerateDataKey NumberOfBytes 1025', 'GenerateDataKey', () => ({ KeyId: keyA, NumberOfBytes: 1025 }), 'Member must have value less than or equal to 1024'],
    ['ListKeys Limit 0', 'ListKeys', () => ({ Limit: 0 }), 'Member must have value greater than or equal to 1'],
    ['ListKeys Limit 1001', 'ListKeys', () => ({ Limit: 1001 }), 'Member must have value less than or equal to 1000'],
  ])('%s', async (_what, op, input, constraint) => {
    const res = await call(op, input());
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toMatch(/^1 validation error detected: /);
    expect(message(res)).toContain(constraint);
  });

  it('a 4097-byte Plaintext is refused without the plaintext in the message', async () => {
    const secret = Buffer.from('TOP-SECRET-PLAINTEXT-'.repeat(200).slice(0, 4097));
    const res = await call('Encrypt', { KeyId: keyA, Plaintext: b64(secret) });
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toContain("Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
    expect(res.text).not.toContain('TOP-SECRET');
    expect(res.text).not.toContain(b64(secret).slice(0, 40));
  });

  it('UpdateKeyDescription with 8193 characters is refused and the description is unchanged', async () => {
    const res = await call('UpdateKeyDescription', { KeyId: keyA, Description: 'd'.repeat(8193) });
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toContain('Member must have length less than or equal to 8192');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('TagResource with a 129-character TagKey is refused, and the valid tag beside it is not applied', async () => {
    const res = await call('TagResource', { KeyId: keyA, Tags: [{ TagKey: 'fine', TagValue: 'v' }, { TagKey: 't'.repeat(129), TagValue: 'v' }] });
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toContain('Member must have length less than or equal to 128');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it.each([6, 31])('ScheduleKeyDeletion PendingWindowInDays %i is refused and key A stays Enabled', async (days) => {
    const res = await call('ScheduleKeyDeletion', { KeyId: keyA, PendingWindowInDays: days });
    expectAwsError(res, 'ValidationException');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('EnableKeyRotation RotationPeriodInDays 89 is refused and rotation stays off', async () => {
    const res = await call('EnableKeyRotation', { KeyId: keyA, RotationPeriodInDays: 89 });
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toContain('Member must have value greater than or equal to 90');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('every violation is listed: three at once → "3 validation errors detected"', async () => {
    const res = await call('GenerateDataKey', { KeyId: 'k'.repeat(2049), NumberOfBytes: 0, KeySpec: 'AES_999' });
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toMatch(/^3 validation errors detected: /);
  });
});

describe('pagination markers Kura did not issue → InvalidMarkerException', () => {
  it('a garbage Marker for ListKeys', async () => {
    expectAwsError(await call('ListKeys', { Marker: 'not-a-marker' }), 'InvalidMarkerException');
  });

  it('a ListKeys marker given to ListAliases', async () => {
    const page = await call('ListKeys', { Limit: 1 });
    expectOk(page);
    expect(page.json.Truncated).toBe(true);
    expectAwsError(await call('ListAliases', { Marker: page.json.NextMarker }), 'InvalidMarkerException');
  });
});

describe('enums and patterns → ValidationException', () => {
  it.each<[string, string, () => Record<string, unknown>, string]>([
    ['CreateKey KeyUsage FOO', 'CreateKey', () => ({ KeyUsage: 'FOO' }), "Value 'FOO' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set"],
    ['CreateKey KeySpec AES_999', 'CreateKey', () => ({ KeySpec: 'AES_999' }), "Value 'AES_999' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set"],
    ['GenerateDataKey KeySpec AES_999', 'GenerateDataKey', () => ({ KeyId: keyA, KeySpec: 'AES_999' }), "Value 'AES_999' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"],
    ['Encrypt EncryptionAlgorithm ROT13', 'Encrypt', () => ({ KeyId: keyA, Plaintext: b64('x'), EncryptionAlgorithm: 'ROT13' }), "Value 'ROT13' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set"],
    ['CreateAlias AliasName "alias/has space"', 'CreateAlias', () => ({ AliasName: 'alias/has space', TargetKeyId: keyA }), "Value 'alias/has space' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern"],
  ])('%s', async (_what, op, input, expected) => {
    const res = await call(op, input());
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toContain(expected);
  });

  it('no refused CreateKey or CreateAlias above created anything', async () => {
    expect(await snapshot(keyA)).toEqual(snapshotA);
    const aliases = (await kms.send(new ListAliasesCommand({}))).Aliases?.map((a) => a.AliasName);
    expect(aliases).toEqual([ALIAS_A]);
  });
});

describe('ciphertexts that are not ours → InvalidCiphertextException', () => {
  // Kura's blob: version(1) flags(1) keyId(16) materialId(32) | IV(12) | ciphertext | tag(16).
  const flip = (blob: Buffer, at: number) => {
    const copy = Buffer.from(blob);
    copy[at]! ^= 0x01;
    return copy;
  };
  it.each<[string, () => Buffer]>([
    ['a bit flipped in the encrypted body', () => flip(ciphertextA, 62)],
    ['a bit flipped in the tag', () => flip(ciphertextA, ciphertextA.length - 1)],
    ['a bit flipped in the IV', () => flip(ciphertextA, 55)],
    ['a bit flipped in the header version', () => flip(ciphertextA, 0)],
    ['a bit flipped in the header flags', () => flip(ciphertextA, 1)],
    ['a bit flipped in the header key ID', () => flip(ciphertextA, 5)],
    ['a bit flipped in the header material ID', () => flip(ciphertextA, 30)],
    ['the last byte cut off', () => ciphertextA.subarray(0, ciphertextA.length - 1)],
    ['cut to 40 bytes', () => ciphertextA.subarray(0, 40)],
    ['one byte appended', () => Buffer.concat([ciphertextA, Buffer.from([0])])],
    ['100 random bytes', () => Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 131 + 7) & 0xff))],
  ])('%s', async (_what, blob) => {
    expectAwsError(await call('Decrypt', { CiphertextBlob: b64(blob()), EncryptionContext: CONTEXT }), 'InvalidCiphertextException');
  });

  it('the untampered ciphertext still decrypts (so the cases above fail for the tampering)', async () => {
    const res = await call('Decrypt', { CiphertextBlob: b64(ciphertextA), EncryptionContext: CONTEXT });
    expectOk(res);
    expect(Buffer.from(String(res.json.Plaintext), 'base64').toString()).toBe('hello');
    expect(res.json.KeyId).toBe(keyAArn);
  });

  it.each<[string, Record<string, string> | undefined]>([
    ['no encryption context', undefined],
    ['a different value', { ...CONTEXT, tenant: '43' }],
    ['an extra pair', { ...CONTEXT, extra: 'x' }],
    ['a pair missing', { purpose: 'bad-input' }],
  ])('wrong encryption context (%s)', async (_what, context) => {
    expectAwsError(await call('Decrypt', { CiphertextBlob: b64(ciphertextA), EncryptionContext: context }), 'InvalidCiphertextException');
  });

  it('{"a":"bc"} and {"ab":"c"} do not authenticate each other', async () => {
    const enc = await call('Encrypt', { KeyId: keyA, Plaintext: b64('x'), EncryptionContext: { a: 'bc' } });
    expectOk(enc);
    expectAwsError(await call('Decrypt', { CiphertextBlob: enc.json.CiphertextBlob, EncryptionContext: { ab: 'c' } }), 'InvalidCiphertextException');
  });

  it('a "__proto__" context key is bound like any other key', async () => {
    const enc = await callRaw('Encrypt', `{"KeyId":"${keyA}","Plaintext":"${b64('proto')}","EncryptionContext":{"__proto__":"x"}}`);
    expectOk(enc);
    expectAwsError(await call('Decrypt', { CiphertextBlob: enc.json.CiphertextBlob }), 'InvalidCiphertextException');
    const dec = await callRaw('Decrypt', `{"CiphertextBlob":"${String(enc.json.CiphertextBlob)}","EncryptionContext":{"__proto__":"x"}}`);
    expectOk(dec);
    expect(Buffer.from(String(dec.json.Plaintext), 'base64').toString()).toBe('proto');
  });

  it('Decrypt naming another key → IncorrectKeyException', async () => {
    expectAwsError(await call('Decrypt', { CiphertextBlob: b64(ciphertextA), EncryptionContext: CONTEXT, KeyId: keyB }), 'IncorrectKeyException');
  });
});

describe('keys that do not exist or cannot be used', () => {
  it('Encrypt with an unknown (well-formed) key ID → NotFoundException', async () => {
    expectAwsError(await call('Encrypt', { KeyId: '00000000-1111-4222-8333-444444444444', Plaintext: b64('x') }), 'NotFoundException');
  });

  it('Encrypt with KeyId "not-a-key" → NotFoundException', async () => {
    const res = await call('Encrypt', { KeyId: 'not-a-key', Plaintext: b64('x') });
    expectAwsError(res, 'NotFoundException');
    expect(message(res)).toContain('not-a-key');
  });

  it('Encrypt with an alias that does not exist → NotFoundException', async () => {
    expectAwsError(await call('Encrypt', { KeyId: 'alias/no-such-alias', Plaintext: b64('x') }), 'NotFoundException');
  });

  it('Encrypt with a disabled key → DisabledException', async () => {
    expectAwsError(await call('Encrypt', { KeyId: keyDisabled, Plaintext: b64('x') }), 'DisabledException');
  });

  it.each<[string, () => Record<string, unknown>]>([
    ['Encrypt', () => ({ KeyId: keyPending, Plaintext: b64('x') })],
    ['GenerateDataKey', () => ({ KeyId: keyPending, KeySpec: 'AES_256' })],
    ['EnableKey', () => ({ KeyId: keyPending })],
    ['DisableKey', () => ({ KeyId: keyPending })],
  ])('%s on a key pending deletion → KMSInvalidStateException', async (op, input) => {
    expectAwsError(await call(op, input()), 'KMSInvalidStateException');
  });

  it('the refused EnableKey/DisableKey left the pending key pending, with its deletion date', async () => {
    const { KeyMetadata: m } = await kms.send(new DescribeKeyCommand({ KeyId: keyPending }));
    expect(m?.KeyState).toBe('PendingDeletion');
    expect(m?.Enabled).toBe(false);
    expect(m?.DeletionDate).toBeInstanceOf(Date);
  });
});

describe('aliases, tags and policies refused by the service', () => {
  it('CreateAlias "alias/aws/x" (reserved for AWS managed keys) → InvalidAliasNameException', async () => {
    expectAwsError(await call('CreateAlias', { AliasName: 'alias/aws/x', TargetKeyId: keyA }), 'InvalidAliasNameException');
  });

  it('CreateAlias without the "alias/" prefix → ValidationException', async () => {
    const res = await call('CreateAlias', { AliasName: 'bad-input-no-prefix', TargetKeyId: keyA });
    expectAwsError(res, 'ValidationException');
    expect(message(res)).toContain('Alias must start with the prefix "alias/"');
  });

  it('CreateAlias for a name that exists → AlreadyExistsException', async () => {
    expectAwsError(await call('CreateAlias', { AliasName: ALIAS_A, TargetKeyId: keyB }), 'AlreadyExistsException');
  });

  it('TagResource with an "aws:" tag key → TagException, and the valid tag beside it is not applied', async () => {
    const res = await call('TagResource', { KeyId: keyA, Tags: [{ TagKey: 'fine', TagValue: 'v' }, { TagKey: 'aws:owner', TagValue: 'me' }] });
    expectAwsError(res, 'TagException');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('PutKeyPolicy with "not json" → MalformedPolicyDocumentException, and the policy is unchanged', async () => {
    expectAwsError(await call('PutKeyPolicy', { KeyId: keyA, PolicyName: 'default', Policy: 'not json' }), 'MalformedPolicyDocumentException');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('GetKeyPolicy with PolicyName "other" → NotFoundException', async () => {
    expectAwsError(await call('GetKeyPolicy', { KeyId: keyA, PolicyName: 'other' }), 'NotFoundException');
  });

  it('CreateKey Origin AWS_CLOUDHSM without CustomKeyStoreId → ValidationException; with an unknown one → CustomKeyStoreNotFoundException; no key is created', async () => {
    const before = await keyCount();
    expectAwsError(await call('CreateKey', { Origin: 'AWS_CLOUDHSM' }), 'ValidationException');
    expectAwsError(await call('CreateKey', { Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-00000000000000000' }), 'CustomKeyStoreNotFoundException');
    expect(await keyCount()).toBe(before);
  });

  it('CreateKey KeySpec ECC_NIST_P256 with KeyUsage ENCRYPT_DECRYPT → ValidationException, and no key is created', async () => {
    const before = await keyCount();
    expectAwsError(await call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' }), 'ValidationException');
    expect(await keyCount()).toBe(before);
  });

  it('CreateKey KeyUsage SIGN_VERIFY with SYMMETRIC_DEFAULT → ValidationException, and no key is created', async () => {
    const before = await keyCount();
    expectAwsError(await call('CreateKey', { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'SIGN_VERIFY' }), 'ValidationException');
    expect(await keyCount()).toBe(before);
  });
});

describe('authentication', () => {
  it('no Authorization header → MissingAuthenticationTokenException', async () => {
    const res = await callRaw('ListKeys', '{}', { mutate: (r) => delete r.headers.authorization });
    expectAwsError(res, 'MissingAuthenticationTokenException');
  });

  it('a garbage Authorization header → IncompleteSignatureException', async () => {
    const res = await callRaw('ListKeys', '{}', { mutate: (r) => (r.headers.authorization = 'garbage') });
    expectAwsError(res, 'IncompleteSignatureException');
  });

  it('an Authorization header without a Signature → IncompleteSignatureException', async () => {
    const res = await callRaw('ListKeys', '{}', { mutate: (r) => (r.headers.authorization = r.headers.authorization!.replace(/, Signature=[0-9a-f]+/, '')) });
    expectAwsError(res, 'IncompleteSignatureException');
  });

  it('an unknown access key → UnrecognizedClientException', async () => {
    const res = await callRaw('ListKeys', '{}', { credentials: { accessKeyId: 'AKIAZZZZZZZZZZZZZZZZ', secretAccessKey: 'x'.repeat(40) } });
    expectAwsError(res, 'UnrecognizedClientException');
  });

  it('a session token (Kura issues none) → UnrecognizedClientException', async () => {
    const res = await callRaw('ListKeys', '{}', { credentials: { ...devCredentials, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' } });
    expectAwsError(res, 'UnrecognizedClientException');
  });

  it('the wrong secret → InvalidSignatureException', async () => {
    const res = await callRaw('ListKeys', '{}', { credentials: { accessKeyId: devCredentials.accessKeyId, secretAccessKey: `${devCredentials.secretAccessKey}x` } });
    expectAwsError(res, 'InvalidSignatureException');
  });

  it('a DisableKey signed with the wrong secret is refused and key A stays Enabled', async () => {
    const res = await call('DisableKey', { KeyId: keyA }, { credentials: { accessKeyId: devCredentials.accessKeyId, secretAccessKey: 'wrong'.repeat(8) } });
    expectAwsError(res, 'InvalidSignatureException');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('the body changed after signing → InvalidSignatureException', async () => {
    const res = await call('ListKeys', { Limit: 5 }, { mutate: (r) => (r.body = JSON.stringify({ Limit: 6 })) });
    expectAwsError(res, 'InvalidSignatureException');
  });

  it('the body changed after signing, with x-amz-content-sha256 recomputed to match → InvalidSignatureException; key A unchanged', async () => {
    const { createHash } = await import('node:crypto');
    const res = await call('UpdateKeyDescription', { KeyId: keyA, Description: 'bad-input key A' }, {
      mutate: (r) => {
        r.body = JSON.stringify({ KeyId: keyA, Description: 'hijacked' });
        r.headers['x-amz-content-sha256'] = createHash('sha256').update(r.body).digest('hex');
      },
    });
    expectAwsError(res, 'InvalidSignatureException');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('the X-Amz-Target changed after signing (DescribeKey → DisableKey) → InvalidSignatureException; key A stays Enabled', async () => {
    const res = await call('DescribeKey', { KeyId: keyA }, { mutate: (r) => (r.headers['x-amz-target'] = 'TrentService.DisableKey') });
    expectAwsError(res, 'InvalidSignatureException');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });

  it('X-Amz-Date 10 minutes old → InvalidSignatureException "Signature expired"', async () => {
    const res = await callRaw('ListKeys', '{}', { signingDate: new Date(Date.now() - 10 * 60_000) });
    expectAwsError(res, 'InvalidSignatureException');
    expect(message(res)).toMatch(/^Signature expired/);
  });

  it('X-Amz-Date 10 minutes ahead → InvalidSignatureException "Signature not yet current"', async () => {
    const res = await callRaw('ListKeys', '{}', { signingDate: new Date(Date.now() + 10 * 60_000) });
    expectAwsError(res, 'InvalidSignatureException');
    expect(message(res)).toMatch(/^Signature not yet current/);
  });

  it('signed for service "s3" → InvalidSignatureException', async () => {
    const res = await callRaw('ListKeys', '{}', { service: 's3' });
    expectAwsError(res, 'InvalidSignatureException');
    expect(message(res)).toContain("Credential should be scoped to correct service: 'kms'");
  });

  it('signed for region "moon" → InvalidSignatureException', async () => {
    const res = await callRaw('ListKeys', '{}', { region: 'moon' });
    expectAwsError(res, 'InvalidSignatureException');
    expect(message(res)).toContain("Credential should be scoped to a valid region, not 'moon'");
  });

  it(`a valid signature for ${OTHER_REGION} works, but the ${REGION} key is not found there (keys are per region)`, async () => {
    const list = await call('ListKeys', {}, { region: OTHER_REGION });
    expectOk(list);
    expect((list.json.Keys as { KeyId: string }[]).map((k) => k.KeyId)).not.toContain(keyA);
    for (const keyId of [keyA, keyAArn, ALIAS_A]) {
      expectAwsError(await call('Encrypt', { KeyId: keyId, Plaintext: b64('x') }, { region: OTHER_REGION }), 'NotFoundException');
    }
    expectAwsError(await call('DisableKey', { KeyId: keyAArn }, { region: OTHER_REGION }), 'NotFoundException');
    expect(await snapshot(keyA)).toEqual(snapshotA);
  });
});

describe('protocol', () => {
  it('unknown target "TrentService.Frobnicate" → UnknownOperationException', async () => {
    expectAwsError(await callRaw('Frobnicate', '{}'), 'UnknownOperationException');
  });

  it('a target without the TrentService. prefix → UnknownOperationException', async () => {
    expectAwsError(await callRaw('ListKeys', '{}', { target: 'ListKeys' }), 'UnknownOperationException');
  });

  it('a target of another service\'s prefix → UnknownOperationException', async () => {
    expectAwsError(await callRaw('ListKeys', '{}', { target: 'DynamoDB_20120810.ListKeys' }), 'UnknownOperationException');
  });

  it('no X-Amz-Target at all → UnknownOperationException', async () => {
    expectAwsError(await callRaw('ListKeys', '{}', { target: null }), 'UnknownOperationException');
  });

  it('a body over 1 MiB (Content-Length) → 413 RequestEntityTooLargeException, and the server still answers', async () => {
    const body = JSON.stringify({ KeyId: keyA, Plaintext: 'A'.repeat(1024 * 1024) });
    const res = await callRaw('Encrypt', body);
    expectAwsError(res, 'RequestEntityTooLargeException', 413);
    await expectServerHealthy();
  });

  it('a chunked body that grows over 1 MiB → 413 RequestEntityTooLargeException, and the server still answers', async () => {
    const res = await new Promise<{ status: number; errorType: string | undefined; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: kura.port, method: 'POST', path: '/', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' } },
        (r) => {
          let body = '';
          r.on('data', (d: Buffer) => (body += d.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, errorType: r.headers['x-amzn-errortype'] as string | undefined, body }));
        },
      );
      // The server may answer and close before all chunks are written; that is fine.
      req.on('error', (e) => (req.writableEnded ? undefined : reject(e)));
      const chunk = 'A'.repeat(64 * 1024);
      const writeMore = (i: number) => {
        if (i >= 20 || req.destroyed) return void req.end();
        req.write(chunk, () => writeMore(i + 1));
      };
      req.write('{"Plaintext":"');
      writeMore(0);
    });
    expect({ status: res.status, errorType: res.errorType, __type: (JSON.parse(res.body) as { __type?: string }).__type }).toEqual({
      status: 413,
      errorType: 'RequestEntityTooLargeException',
      __type: 'RequestEntityTooLargeException',
    });
    await expectServerHealthy();
  });

  it('GET / is not a server error', async () => {
    const res = await fetch(`${kura.url}/`);
    await res.text();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('a request whose Content-Length is larger than the body sent, then a closed socket, does not hurt the server', async () => {
    const req = await signed('ListKeys', '{"Limit":10}', {});
    // One connection stays open mid-body while others are served, then goes away.
    const hanging = net.connect(kura.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      hanging.once('error', reject);
      hanging.once('connect', () => hanging.write(httpText(req, 1000, '{"Limit":10}'), () => resolve()));
    });
    await expectServerHealthy();
    hanging.destroy();
    const again = net.connect(kura.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.once('connect', () => again.write(httpText(req, 1000, '{"Li'), () => resolve()));
    });
    again.destroy();
    await expectServerHealthy();
  });

  it('a 64 KiB header is refused with a 4xx, and the server still answers', async () => {
    const reply = await rawExchange(`POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-amz-target: TrentService.ListKeys\r\nx-filler: ${'f'.repeat(64 * 1024)}\r\ncontent-length: 2\r\n\r\n{}`);
    expect(reply).toMatch(/^HTTP\/1\.1 4\d\d /);
    await expectServerHealthy();
  });

  it('60 bad requests at once all get their 4xx error, and the server still answers', async () => {
    const bad: [Promise<RawResponse>, string][] = [];
    for (let i = 0; i < 15; i++) {
      bad.push([callRaw('Encrypt', '{"KeyId":'), 'SerializationException']);
      bad.push([call('Encrypt', { KeyId: keyA, Plaintext: '' }), 'ValidationException']);
      bad.push([call('Decrypt', { CiphertextBlob: b64(Buffer.alloc(100, i)) }), 'InvalidCiphertextException']);
      bad.push([callRaw('ListKeys', '{}', { mutate: (r) => delete r.headers.authorization }), 'MissingAuthenticationTokenException']);
    }
    const results = await Promise.all(bad.map(([p]) => p));
    expect(results.map((r) => r.json.__type)).toEqual(bad.map(([, name]) => name));
    await expectServerHealthy();
  });

  it('bytes that are not HTTP get a 400 and a closed connection, and the server still answers', async () => {
    const reply = await rawExchange('THIS IS NOT HTTP\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    await expectServerHealthy();
  });
});

describe('after all of it', () => {
  it('the server answers good requests, and key A is exactly as it was', async () => {
    await expectServerHealthy();
    expect(await snapshot(keyA)).toEqual(snapshotA);
    const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: ciphertextA, EncryptionContext: CONTEXT }));
    expect(Buffer.from(Plaintext!).toString()).toBe('hello');
  });

  it('no bad input caused an internal error', () => {
    const failures = kura
      .stderr()
      .split('\n')
      .filter((line) => /"level":"error"/.test(line));
    expect(failures).toEqual([]);
  });

  it('the server shuts down cleanly', async () => {
    expect(await kura.stop()).toBe(0);
  });
});
