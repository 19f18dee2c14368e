// The KMS endpoint's dispatch (main/api/kms/dispatch.ts) over the real domain, with requests signed as the
// AWS SDKs sign them (@smithy/signature-v4): the buffers a request decoded (a plaintext, a message, a MAC)
// are wiped once it is answered, whatever the answer: a success, a refusal or a dry run; and its log line
// names the keys the call used, as its audit entry does; and the caller is named in the signed Region's
// partition (arn:aws-cn:… in cn-north-1) by the audit, an XKS request's metadata and STS alike.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../../main/api/http.js';
import { handleKmsRequest, type KmsEndpointDeps } from '../../../main/api/kms/dispatch.js';
import { RefusalLog } from '../../../main/audit/refusals.js';
import { createLogger } from '../../../main/common/log.js';
import type { Kms } from '../../../main/kms/index.js';
import { auditEntriesAfter, openDomain, TEST_ACCOUNT, TEST_REGION, type Domain } from '../../support/domain.js';

let d: Domain;
let deps: KmsEndpointDeps;
let signer: SignatureV4;
let symmetric: string;
let hmac: string;
/** Every Buffer the façade was handed as a plaintext, message or MAC, in call order. */
const handed: Buffer[] = [];
/** The endpoint's log lines (JSON). */
const logLines: string[] = [];

beforeAll(async () => {
  d = await openDomain();
  const credential = await d.credentials.create({ accountId: TEST_ACCOUNT });
  signer = new SignatureV4({
    service: 'kms',
    region: TEST_REGION,
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
    sha256: Sha256,
  });
  symmetric = (await d.keys.createKey(d.ctx('CreateKey'), {})).keyId;
  hmac = (await d.keys.createKey(d.ctx('CreateKey'), { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' })).keyId;
  // The real façade, noting the buffers it is handed before it runs the call.
  const kms = Object.create(d.keys) as Kms;
  kms.encrypt = (ctx, input) => (handed.push(input.plaintext), d.keys.encrypt(ctx, input));
  kms.generateMac = (ctx, input) => (handed.push(input.message), d.keys.generateMac(ctx, input));
  kms.verifyMac = (ctx, input) => (handed.push(input.message, input.mac), d.keys.verifyMac(ctx, input));
  deps = {
    kms,
    credentials: d.credentials,
    audit: d.audit,
    refusals: new RefusalLog({ audit: d.audit, clock: d.clock, monotonic: d.clock.monotonic }),
    clock: d.clock,
    log: createLogger('info', (line) => logLines.push(line)),
  };
});

afterAll(async () => {
  await d?.close();
});

async function call(operation: string, input: Record<string, unknown>): Promise<{ status: number; type: string | undefined }> {
  const body = JSON.stringify(input);
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/',
      query: {},
      headers: { host: '127.0.0.1', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
      body,
    },
    { signingDate: new Date(d.clock.nowMs()) },
  );
  const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const req: RawRequest = { method: 'POST', path: '/', query: '', headers, body: Buffer.from(body, 'utf8') };
  const res = await handleKmsRequest(deps, req);
  return { status: res.status, type: res.status === 200 ? undefined : (JSON.parse(res.body as string) as { __type: string }).__type };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('KMS dispatch', () => {
  it.each([
    ['Encrypt, answered', 'Encrypt', () => ({ KeyId: symmetric, Plaintext: b64('secret one') }), undefined],
    ['Encrypt, a dry run', 'Encrypt', () => ({ KeyId: symmetric, Plaintext: b64('secret two'), DryRun: true }), 'DryRunOperationException'],
    ['Encrypt, refused', 'Encrypt', () => ({ KeyId: hmac, Plaintext: b64('secret three') }), 'InvalidKeyUsageException'],
    ['GenerateMac, a dry run', 'GenerateMac', () => ({ KeyId: hmac, Message: b64('message one'), MacAlgorithm: 'HMAC_SHA_256', DryRun: true }), 'DryRunOperationException'],
    ['VerifyMac, refused', 'VerifyMac', () => ({ KeyId: hmac, Message: b64('message two'), Mac: b64('not the mac at all'), MacAlgorithm: 'HMAC_SHA_256' }), 'KMSInvalidMacException'],
  ])('wipes what the request decoded once it is answered: %s', async (_name, operation, input, errorType) => {
    const before = handed.length;
    const res = await call(operation, input());
    expect(res.type).toBe(errorType);
    const seen = handed.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    for (const b of seen) expect(b.every((x) => x === 0), `${operation}: ${b.length} bytes not wiped`).toBe(true);
  });
});

describe('the KMS call log line', () => {
  const lastCall = () => JSON.parse(logLines.filter((l) => l.includes('"kms call"')).at(-1)!) as Record<string, unknown>;

  it('names the key IDs the call used: by alias, from the ciphertext, and both keys of ReEncrypt', async () => {
    const other = (await d.keys.createKey(d.ctx('CreateKey'), {})).keyId;
    await d.keys.createAlias(d.ctx('CreateAlias'), 'alias/logged', symmetric);
    const blob = (await d.keys.encrypt(d.ctx('Encrypt'), { keyId: symmetric, plaintext: Buffer.from('logged') })).ciphertextBlob.toString('base64');
    expect((await call('Encrypt', { KeyId: 'alias/logged', Plaintext: b64('x') })).status).toBe(200);
    expect(lastCall()).toMatchObject({ operation: 'Encrypt', keyId: symmetric, keyRef: 'alias/logged', outcome: 'ok' });
    expect((await call('Decrypt', { CiphertextBlob: blob })).status).toBe(200);
    expect(lastCall()).toMatchObject({ operation: 'Decrypt', keyId: symmetric, outcome: 'ok' });
    expect((await call('ReEncrypt', { CiphertextBlob: blob, DestinationKeyId: `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:key/${other}` })).status).toBe(200);
    expect(lastCall()).toMatchObject({ operation: 'ReEncrypt', keyId: other, sourceKeyId: symmetric, outcome: 'ok' });
    expect((await call('Encrypt', { KeyId: 'alias/nowhere', Plaintext: b64('x') })).type).toBe('NotFoundException');
    expect(lastCall()).toMatchObject({ operation: 'Encrypt', keyRef: 'alias/nowhere', outcome: 'error' });
    expect(lastCall().keyId).toBeUndefined();
  });
});

describe('a flood of requests refused before authentication', () => {
  it('costs the log one line per reason per window, not one per request', async () => {
    const before = logLines.length;
    const req = (): RawRequest => ({
      method: 'POST',
      path: '/',
      query: '',
      headers: {
        host: '127.0.0.1',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'TrentService.DescribeKey',
        'x-amz-date': new Date(d.clock.nowMs()).toISOString().replace(/[-:]|\.\d{3}/g, ''),
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNFLOOD0000/${new Date(d.clock.nowMs()).toISOString().slice(0, 10).replace(/-/g, '')}/${TEST_REGION}/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'ab'.repeat(32)}`,
      },
      body: Buffer.from('{}'),
    });
    for (let i = 0; i < 200; i++) expect((await handleKmsRequest(deps, req())).status).toBe(400);
    const refused = logLines.slice(before).filter((l) => l.includes('"kms call"') && l.includes('"principal":"anonymous"'));
    expect(refused).toHaveLength(1);
    // The one written carries its request ID, to find the audit entry and the client's error by.
    expect(JSON.parse(refused[0]!)).toMatchObject({ outcome: 'error', requestId: expect.any(String) as unknown });
  });
});

describe('an unexpected error', () => {
  it('is logged by type and frames, never by its message, which may quote the request', async () => {
    const kms = Object.create(d.keys) as Kms;
    kms.describeKey = () => Promise.reject(new Error(`cannot parse ${'QUOTED-INPUT'}: ${symmetric}`));
    const saved = deps.kms;
    deps.kms = kms;
    try {
      expect((await call('DescribeKey', { KeyId: symmetric })).type).toBe('KMSInternalException');
    } finally {
      deps.kms = saved;
    }
    const line = logLines.find((l) => l.includes('"internal error"'));
    expect(line).toBeDefined();
    const fields = JSON.parse(line!) as { error: string; requestId: string };
    expect(fields.error).toMatch(/^Error\n {4}at /);
    expect(line).not.toContain('QUOTED-INPUT');
  });
});

describe('the caller in a Region of another partition', () => {
  it('is arn:aws-cn:… in cn-north-1 in the audit entries of KMS and STS calls, as STS answers it', async () => {
    const principalArn = `arn:aws:iam::${TEST_ACCOUNT}:user/kura-dev`;
    const credential = await d.credentials.create({ accountId: TEST_ACCOUNT, principalArn });
    const credentials = { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey };
    const signed = async (service: string, headers: Record<string, string>, body: string): Promise<RawRequest> => {
      const s = await new SignatureV4({ service, region: 'cn-north-1', credentials, sha256: Sha256 }).sign(
        { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/', query: {}, headers: { host: '127.0.0.1', ...headers }, body },
        { signingDate: new Date(d.clock.nowMs()) },
      );
      return { method: 'POST', path: '/', query: '', headers: Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k.toLowerCase(), v])), body: Buffer.from(body, 'utf8') };
    };
    const inChina = `arn:aws-cn:iam::${TEST_ACCOUNT}:user/kura-dev`;
    // The caller the façade is handed: what an external key store is told (kms/operations/encryption.ts
    // callerOf, the XKS request metadata's awsPrincipalArn).
    const principals: string[] = [];
    const kms = Object.create(d.keys) as Kms;
    kms.encrypt = (ctx, input) => (principals.push(ctx.principal), d.keys.encrypt(ctx, input));
    const seq = (await auditEntriesAfter(d, 0)).length;

    const cnKey = (await d.keys.createKey({ ...d.ctx('CreateKey'), region: 'cn-north-1' }, {})).keyId;
    const encrypt = await signed('kms', { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' }, JSON.stringify({ KeyId: cnKey, Plaintext: b64('x') }));
    expect((await handleKmsRequest({ ...deps, kms }, encrypt)).status).toBe(200);
    expect(principals).toEqual([inChina]);

    const sts = await handleKmsRequest(deps, await signed('sts', { 'content-type': 'application/x-www-form-urlencoded' }, 'Action=GetCallerIdentity&Version=2011-06-15'));
    expect(sts.status).toBe(200);
    expect(sts.body).toContain(`<Arn>${inChina}</Arn>`);

    const entries = (await auditEntriesAfter(d, seq)).filter((e) => e.accessKeyId === credential.accessKeyId);
    expect(entries.map((e) => [e.operation, e.principal])).toEqual([
      ['Encrypt', inChina],
      ['sts:GetCallerIdentity', inChina],
    ]);
  });
});
