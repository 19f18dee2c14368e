// What Kura's XKS client (main/keystores/external/xks-client.ts) makes of answers a proxy should not
// give, from an HTTPS server that answers whatever each test sets, under the proxy's host name and a CA
// made here: an Encrypt answer without the ciphertext data integrity value Kura asked for, or with a
// ciphertext that is not as long as the plaintext, is refused before anything is kept; a proxy's
// errorMessage goes to the log and never into the error a KMS caller sees, and an errorName that is not
// shaped like the spec's is not repeated either; and the proxy's errors become AWS KMS's exceptions as
// the spec's table has them, for a health check of proxy settings and for CreateKey.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';
import { isKmsError } from '../../main/common/errors.js';
import { ExternalKeyStore, XksClient, XksProxyError, type XksClientConfig } from '../../main/keystores/external/index.js';
import { KeyStoreRegistry } from '../../main/keystores/key-store.js';
import { proxyHealth, settingsRefused, XksConnections } from '../../main/kms/external-key-stores.js';
import { unsealedStandardStore } from '../support/standard-store.js';
import { tempDir } from '../support/domain.js';
import { makePki, XKS_PEER_HOST } from '../support/xks-peer.js';
import { xksStoreRecord } from '../support/xks-store.js';

const META = { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k', kmsOperation: 'Encrypt', kmsRequestId: 'r-1' };

let answer: { status: number; body: unknown; delayMs?: number } = { status: 200, body: {} };
/** The body of the last request the server took, parsed, and its headers. */
let lastRequest: unknown;
let lastHeaders: Record<string, string | string[] | undefined> = {};
let server: https.Server;
let ca: string;
const logged: string[] = [];
let client: XksClient;
let clientConfig: XksClientConfig;

beforeAll(async () => {
  const dir = tempDir('kura-xks-answers-');
  makePki(dir, `DNS:${XKS_PEER_HOST}`);
  ca = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  server = https.createServer({ cert: fs.readFileSync(path.join(dir, 'server.pem')), key: fs.readFileSync(path.join(dir, 'server.key')) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lastRequest = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      lastHeaders = req.headers;
      const { status, body, delayMs = 0 } = answer;
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  clientConfig = {
    uriEndpoint: `https://${XKS_PEER_HOST}`,
    uriPath: '/p/kms/xks/v1',
    accessKeyId: 'XKSAAAAAAAAAAAAAAAAAAAAA',
    secretAccessKey: randomBytes(33).toString('base64'),
    region: 'us-east-1',
    connectTo: { host: '127.0.0.1', port: (server.address() as AddressInfo).port },
    ca: [ca],
    timeoutMs: 5_000,
    log: createLogger('warn', (line) => void logged.push(line)),
  };
  client = new XksClient(clientConfig);
});

afterAll(() => {
  client?.close();
  server?.close();
});

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);
const b64 = (b: Buffer) => b.toString('base64');

/** A well-formed Encrypt answer for `plaintext` and `aad`, its ciphertext as given. */
function sealedAnswer(aad: Buffer, ciphertext: Buffer, withCdiv = true): Record<string, string> {
  const iv = randomBytes(12);
  const tag = randomBytes(16);
  const body: Record<string, string> = { ciphertext: b64(ciphertext), initializationVector: b64(iv), authenticationTag: b64(tag) };
  if (withCdiv) body.ciphertextDataIntegrityValue = b64(createHash('sha256').update(aad).update(iv).update(ciphertext).update(tag).digest());
  return body;
}

describe("Kura's XKS client, given answers a proxy should not give", () => {
  const plaintext = randomBytes(32);
  const aad = randomBytes(20);

  it('takes a whole Encrypt answer', async () => {
    answer = { status: 200, body: sealedAnswer(aad, randomBytes(32)) };
    expect((await client.encrypt('k', { plaintext, aad }, META)).ciphertext).toHaveLength(32);
  });

  it('refuses an Encrypt answer without the ciphertext data integrity value it asked for', async () => {
    answer = { status: 200, body: sealedAnswer(aad, randomBytes(32), false) };
    const e = await failure(client.encrypt('k', { plaintext, aad }, META));
    expect(e).toBeInstanceOf(XksProxyError);
    expect(e).toMatchObject({ kind: 'INVALID_RESPONSE', message: expect.stringMatching(/without the ciphertext data integrity value/) });
  });

  it('refuses an Encrypt answer whose ciphertext is not as long as the plaintext, even with a matching integrity value', async () => {
    answer = { status: 200, body: sealedAnswer(aad, randomBytes(31)) };
    expect(await failure(client.encrypt('k', { plaintext, aad }, META))).toMatchObject({ kind: 'INVALID_RESPONSE', message: expect.stringMatching(/31 bytes for 32 bytes/) });
  });

  it("logs a proxy's errorMessage and keeps it out of the error", async () => {
    answer = { status: 400, body: { errorName: 'InvalidStateException', errorMessage: 'HSM partition 7 of Acme at 10.0.0.5 is disabled' } };
    const e = (await failure(client.encrypt('k', { plaintext, aad }, META))) as XksProxyError;
    expect([e.kind, e.errorName]).toEqual(['PROXY_ERROR', 'InvalidStateException']);
    expect(e.message).toBe('The XKS proxy answered InvalidStateException.');
    expect(logged.join('')).toMatch(/xks proxy error.*InvalidStateException.*HSM partition 7 of Acme at 10\.0\.0\.5 is disabled/);
  });

  it('does not repeat an errorName that is not shaped like one', async () => {
    answer = { status: 500, body: { errorName: '<img src=x onerror=alert(1)>' } };
    const e = (await failure(client.encrypt('k', { plaintext, aad }, META))) as XksProxyError;
    expect(e.message).toBe('The XKS proxy answered an unnamed error.');
    expect(e.message).not.toContain('<');
  });

  it('reads a busy proxy (DependencyTimeoutException, ThrottlingException) as one it cannot reach in time, as the spec does', async () => {
    for (const [status, errorName] of [[503, 'DependencyTimeoutException'], [429, 'ThrottlingException']] as const) {
      answer = { status, body: { errorName } };
      const checked = await proxyHealth(client, 'r', 'KmsHealthCheck');
      expect(checked).toMatchObject({ ok: false, errorCode: 'XKS_PROXY_TIMED_OUT' });
      if (!checked.ok) expect(settingsRefused(checked).code).toBe('XksProxyUriUnreachable');
    }
    answer = { status: 500, body: { errorName: 'InternalException' } };
    const internal = await proxyHealth(client, 'r', 'KmsHealthCheck');
    if (internal.ok) throw new Error('expected a failed check');
    expect([internal.errorCode, settingsRefused(internal).code]).toEqual(['XKS_PROXY_INVALID_RESPONSE', 'XksProxyInvalidResponse']);
    // No TLS connection: unreachable too, not a configuration AWS KMS could name.
    expect(settingsRefused({ errorCode: 'XKS_PROXY_INVALID_TLS_CONFIGURATION', message: 'm' }).code).toBe('XksProxyUriUnreachable');
  });

  it('reads a 401 or 403 with an empty body (no errorName) as ACCESS_DENIED, not as an answer without an errorName', async () => {
    for (const status of [401, 403]) {
      // JSON.stringify(undefined) is nothing: the server sends an empty body.
      answer = { status, body: undefined };
      const e = await failure(client.encrypt('k', { plaintext, aad }, META));
      expect(e).toBeInstanceOf(XksProxyError);
      expect(e, String(status)).toMatchObject({ kind: 'ACCESS_DENIED', status });
    }
  });

  it('a proxy whose every external key manager is UNAVAILABLE is unreachable (XKS_PROXY_NOT_REACHABLE), and a connect to it ends FAILED; one that still answers keeps it healthy', async () => {
    const fleet = (...statuses: string[]) => ({
      status: 200,
      body: { xksProxyFleetSize: 1, xksProxyVendor: 'v', xksProxyModel: 'm', ekmVendor: 'e', ekmFleetDetails: statuses.map((healthStatus, i) => ({ id: `h${i}`, model: 'm', healthStatus })) },
    });
    answer = fleet('UNAVAILABLE', 'UNAVAILABLE');
    expect(await proxyHealth(client, 'r', 'KmsHealthCheck')).toMatchObject({ ok: false, errorCode: 'XKS_PROXY_NOT_REACHABLE' });
    // AWS: healthy while at least one is ACTIVE or DEGRADED.
    answer = fleet('UNAVAILABLE', 'DEGRADED');
    expect(await proxyHealth(client, 'r', 'KmsHealthCheck')).toEqual({ ok: true });

    const { root, store: standard } = await unsealedStandardStore(tempDir('kura-xks-answers-unavailable-'));
    const port = (server.address() as AddressInfo).port;
    const conns = new XksConnections({ registry: new KeyStoreRegistry({ standard, root }), root, standard, options: { ca: [ca], connectTo: new Map([[XKS_PEER_HOST, { host: '127.0.0.1', port }]]), timeoutMs: 5_000 } });
    const id = 'cks-0123456789abcdef2';
    const record = xksStoreRecord(conns, id, { name: 'all-unavailable', uriPath: '/p/kms/xks/v1', secretAccessKey: randomBytes(33).toString('base64') });
    answer = fleet('UNAVAILABLE');
    expect(await conns.open(record, { requestId: 'r', kmsOperation: 'ConnectCustomKeyStore' })).toMatchObject({ state: 'FAILED', errorCode: 'XKS_PROXY_NOT_REACHABLE' });
    expect(conns.isOpen(id)).toBe(false);
    answer = fleet('ACTIVE');
    expect(await conns.open(record, { requestId: 'r', kmsOperation: 'ConnectCustomKeyStore' })).toEqual({ state: 'CONNECTED' });
    conns.closeAll();
  });

  it('refuses a health status that lacks a member the spec requires, or has one out of its range, as an invalid response (XksProxyInvalidResponse)', async () => {
    const whole = { xksProxyFleetSize: 1, xksProxyVendor: 'v', xksProxyModel: 'm', ekmVendor: 'e', ekmFleetDetails: [{ id: 'h', model: 'm', healthStatus: 'ACTIVE' }] };
    answer = { status: 200, body: whole };
    expect(await proxyHealth(client, 'r', 'KmsHealthCheck')).toEqual({ ok: true });
    const entry = whole.ekmFleetDetails[0]!;
    const { xksProxyFleetSize: _s, ...noSize } = whole;
    const { xksProxyVendor: _v, ...noVendor } = whole;
    const { xksProxyModel: _m, ...noModel } = whole;
    const { ekmVendor: _e, ...noEkmVendor } = whole;
    const { id: _i, ...noId } = entry;
    const { model: _em, ...noEntryModel } = entry;
    const malformed: [string, unknown][] = [
      ['no xksProxyFleetSize', noSize],
      ['a fleet size of zero', { ...whole, xksProxyFleetSize: 0 }],
      ['a fractional fleet size', { ...whole, xksProxyFleetSize: 1.5 }],
      ['a fleet size as a string', { ...whole, xksProxyFleetSize: '1' }],
      ['no xksProxyVendor', noVendor],
      ['no xksProxyModel', noModel],
      ['no ekmVendor', noEkmVendor],
      ['an entry without an id', { ...whole, ekmFleetDetails: [noId] }],
      ['an entry without a model', { ...whole, ekmFleetDetails: [noEntryModel] }],
      ['an unknown healthStatus', { ...whole, ekmFleetDetails: [{ ...entry, healthStatus: 'HEALTHY' }] }],
      ['eleven entries', { ...whole, ekmFleetDetails: Array.from({ length: 11 }, (_, i) => ({ ...entry, id: `h${i}` })) }],
      ['no entries', { ...whole, ekmFleetDetails: [] }],
    ];
    for (const [what, body] of malformed) {
      answer = { status: 200, body };
      const checked = await proxyHealth(client, 'r', 'CreateCustomKeyStore');
      expect(checked, what).toMatchObject({ ok: false, errorCode: 'XKS_PROXY_INVALID_RESPONSE' });
      if (!checked.ok) expect(settingsRefused(checked).code, what).toBe('XksProxyInvalidResponse');
    }
    answer = { status: 200, body: { ...whole, ekmFleetDetails: Array.from({ length: 10 }, (_, i) => ({ ...entry, id: `h${i}` })) } };
    expect(await proxyHealth(client, 'r', 'KmsHealthCheck')).toEqual({ ok: true });
  });

  it('refuses key metadata with a keyStatus other than ENABLED or DISABLED, or more than ten keyUsage values, as an invalid response', async () => {
    answer = { status: 200, body: { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ACTIVE' } };
    expect(await failure(client.metadata('k', META))).toMatchObject({ kind: 'INVALID_RESPONSE' });
    answer = { status: 200, body: { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'], keyStatus: 'ENABLED' } };
    expect(await failure(client.metadata('k', META))).toMatchObject({ kind: 'INVALID_RESPONSE' });
    answer = { status: 200, body: { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'], keyStatus: 'DISABLED' } };
    expect(await client.metadata('k', META)).toMatchObject({ keyStatus: 'DISABLED' });
  });

  it('CreateKey: a disabled external key, or one without the usage asked for, is XksKeyInvalidConfiguration, any other proxy failure CustomKeyStoreInvalidState', async () => {
    const { store: standard } = await unsealedStandardStore(tempDir('kura-xks-answers-store-'));
    const store = new ExternalKeyStore({ customKeyStoreId: 'cks-0123456789abcdef0', client, inner: standard });
    const codeOf = async () => {
      const e = await failure(store.generate('key-1', 'SYMMETRIC_DEFAULT', { externalKeyId: 'k' }));
      return isKmsError(e) ? e.code : String(e);
    };
    answer = { status: 400, body: { errorName: 'InvalidStateException' } };
    expect(await codeOf()).toBe('XksKeyInvalidConfiguration');
    answer = { status: 400, body: { errorName: 'InvalidKeyUsageException' } };
    expect(await codeOf()).toBe('XksKeyInvalidConfiguration');
    answer = { status: 404, body: { errorName: 'KeyNotFoundException' } };
    expect(await codeOf()).toBe('XksKeyNotFound');
    answer = { status: 503, body: { errorName: 'DependencyTimeoutException' } };
    expect(await codeOf()).toBe('CustomKeyStoreInvalidState');
    // No answer in time: the same, as the spec's table has it for a socket timeout.
    answer = { status: 200, body: { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' }, delayMs: 1_000 };
    const impatient = new XksClient({ ...clientConfig, timeoutMs: 100 });
    try {
      const e = await failure(new ExternalKeyStore({ customKeyStoreId: 'cks-0123456789abcdef0', client: impatient, inner: standard }).generate('key-2', 'SYMMETRIC_DEFAULT', { externalKeyId: 'k' }));
      expect(isKmsError(e) && e.code).toBe('CustomKeyStoreInvalidState');
    } finally {
      impatient.close();
    }
  });

  it("CreateKey's GetKeyMetadata carries no kmsKeyArn (the spec: KMS sends it for DescribeKey, not CreateKey); a crypto call's does", async () => {
    const { store: standard } = await unsealedStandardStore(tempDir('kura-xks-answers-meta-'));
    const store = new ExternalKeyStore({ customKeyStoreId: 'cks-0123456789abcdef0', client, inner: standard });
    answer = { status: 200, body: { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' } };
    const caller = { principal: 'arn:aws:iam::111122223333:user/Alice', keyArn: 'arn:aws:kms:us-east-1:111122223333:key/key-1', operation: 'CreateKey', requestId: 'r-create' };
    await store.generate('key-1', 'SYMMETRIC_DEFAULT', { externalKeyId: 'k', caller });
    expect(lastRequest).toEqual({ requestMetadata: { awsPrincipalArn: caller.principal, kmsOperation: 'CreateKey', kmsRequestId: 'r-create' } });
    answer = { status: 200, body: sealedAnswer(aad, randomBytes(32)) };
    await client.encrypt('k', { plaintext, aad }, META);
    expect(lastRequest).toMatchObject({ requestMetadata: META });
  });

  it("Decrypt: a proxy's plaintext that is not as long as the ciphertext is an invalid response, so KMSInvalidState (the proxy's fault), not InvalidCiphertext", async () => {
    const { store: standard } = await unsealedStandardStore(tempDir('kura-xks-answers-decrypt-'));
    const store = new ExternalKeyStore({ customKeyStoreId: 'cks-0123456789abcdef0', client, inner: standard });
    answer = { status: 200, body: { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' } };
    const made = await store.generate('key-d', 'SYMMETRIC_DEFAULT', { externalKeyId: 'k' });
    const material = { keyId: 'key-d', materialId: made.materialId, keySpec: 'SYMMETRIC_DEFAULT' as const, ref: made.ref, publicKey: null };
    const payload = { version: 2 as const, derivation: { label: Buffer.from('test'), context: randomBytes(16), length: 32 }, iv: randomBytes(12), aad: randomBytes(20) };
    // The envelope: version 1, a 12-byte IV, no ciphertextMetadata, the tag, 48 bytes of ciphertext.
    const envelope = Buffer.concat([Buffer.from([1, 12]), randomBytes(12), Buffer.from([0]), randomBytes(16), randomBytes(48)]);
    const codeOf = async () => {
      const e = await failure(store.decryptBlobPayload(material, payload, envelope));
      return isKmsError(e) ? e.code : e instanceof Error ? e.name : String(e);
    };
    for (const length of [47, 49]) {
      answer = { status: 200, body: { plaintext: b64(randomBytes(length)) } };
      expect(await failure(client.decrypt('k', { iv: randomBytes(12), tag: randomBytes(16), ciphertext: randomBytes(48), ciphertextMetadata: undefined, aad: randomBytes(32) }, META))).toMatchObject({
        kind: 'INVALID_RESPONSE',
        message: `The XKS proxy's plaintext is ${length} bytes for 48 bytes of ciphertext.`,
      });
      expect(await codeOf(), String(length)).toBe('InvalidState');
    }
    // The proxy's own InvalidCiphertextException stays the caller's InvalidCiphertext (AeadAuthenticationError here).
    answer = { status: 400, body: { errorName: 'InvalidCiphertextException' } };
    expect(await codeOf()).toBe('AeadAuthenticationError');
  });

  it('signs as AWS KMS does (the spec, Appendix A): SignedHeaders=host;x-amz-date, service kms-xks-proxy, Content-Type application/json', async () => {
    answer = { status: 200, body: { xksProxyFleetSize: 1, xksProxyVendor: 'v', xksProxyModel: 'm', ekmVendor: 'e', ekmFleetDetails: [{ id: 'h', model: 'm', healthStatus: 'ACTIVE' }] } };
    expect(await proxyHealth(client, 'r', 'KmsHealthCheck')).toEqual({ ok: true });
    expect(lastHeaders['content-type']).toBe('application/json');
    expect(lastHeaders['x-amz-content-sha256']).toBeUndefined();
    expect(String(lastHeaders.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=XKSAAAAAAAAAAAAAAAAAAAAA\/\d{8}\/us-east-1\/kms-xks-proxy\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/);
  });

  it('registers no connection whose health check ends after the appliance sealed: the client holding the opened secret is closed', async () => {
    const { root, store: standard } = await unsealedStandardStore(tempDir('kura-xks-answers-seal-'));
    const port = (server.address() as AddressInfo).port;
    const conns = new XksConnections({ registry: new KeyStoreRegistry({ standard, root }), root, standard, options: { ca: [ca], connectTo: new Map([[XKS_PEER_HOST, { host: '127.0.0.1', port }]]), timeoutMs: 5_000 } });
    const id = 'cks-0123456789abcdef1';
    const record = xksStoreRecord(conns, id, { name: 'sealed-meanwhile', uriPath: '/p/kms/xks/v1', secretAccessKey: randomBytes(33).toString('base64') });
    answer = { status: 200, body: { xksProxyFleetSize: 1, xksProxyVendor: 'v', xksProxyModel: 'm', ekmVendor: 'e', ekmFleetDetails: [{ id: 'h', model: 'm', healthStatus: 'ACTIVE' }] }, delayMs: 300 };
    const opening = conns.open(record, { requestId: 'r', kmsOperation: 'ConnectCustomKeyStore' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    root.seal();
    expect(await failure(opening)).toMatchObject({ code: 'Sealed' });
    expect(conns.isOpen(id)).toBe(false);
  });
});
