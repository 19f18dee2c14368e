// Kura as an XKS proxy, end to end: a real `kura serve --dev`, a proxy store and keys made through the
// admin API, and the XKS proxy API (specification v1.0.3) called as AWS KMS calls it — POST with SigV4
// for service kms-xks-proxy and the store's credential — on the main loopback listener: health,
// metadata, encrypt and decrypt with AAD and the ciphertext data integrity value, a second credential
// for rotation, disabled keys and usage limits, tampering, and the audit entries the calls leave. The
// routes' full conformance (every error and size rule) is test/api/xks/conformance.test.ts.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../main/sigv4/sign.js';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';
import { adminCaller, xksCall } from '../support/xks-client.js';

const META = { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd', kmsOperation: 'Encrypt', kmsRequestId: 'e2e-1' };
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

describe('the XKS proxy API on a running appliance', () => {
  let kura: KuraProcess;
  let admin: ReturnType<typeof adminCaller>;
  let store: { storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string };

  const xks = async (route: string, body: unknown, cred: { accessKeyId: string; secretAccessKey: string } = store) => xksCall(kura, { ...cred, uriPath: store.uriPath }, route, body);

  beforeAll(async () => {
    kura = await startKura();
    admin = adminCaller(kura);
    const made = await admin('POST', '/xks/stores', { uriPathPrefix: 'e2e/proxy' });
    expect(made.status).toBe(200);
    store = made.json as typeof store;
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
  });

  it('makes a store with a credential of AWS\'s shapes, served under /PREFIX/kms/xks/v1', () => {
    expect(store.uriPath).toBe('/e2e/proxy/kms/xks/v1');
    expect(store.accessKeyId).toMatch(/^[A-Z2-7]{20,30}$/);
    expect(store.secretAccessKey).toMatch(/^[A-Za-z0-9+/=]{43,64}$/);
  });

  it('answers health, metadata, encrypt and decrypt with AAD and the ciphertext data integrity value', async () => {
    const health = await xks('/health', { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'h-1' } });
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ xksProxyVendor: 'Kura' });

    const key = (await admin('POST', `/xks/stores/${store.storeId}/keys`, { usage: ['ENCRYPT', 'DECRYPT'] })).json.externalKeyId as string;
    const meta = await xks(`/keys/${key}/metadata`, { requestMetadata: { ...META, kmsOperation: 'DescribeKey' } });
    expect(meta.json).toEqual({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' });

    const aad = Buffer.from('context bound by AWS KMS');
    const enc = await xks(`/keys/${key}/encrypt`, {
      requestMetadata: META,
      plaintext: b64('a data key from AWS KMS'),
      encryptionAlgorithm: 'AES_GCM',
      additionalAuthenticatedData: b64(aad),
      ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
    });
    expect(enc.status).toBe(200);
    const { ciphertext, initializationVector, authenticationTag, ciphertextDataIntegrityValue } = enc.json;
    // Appendix C: base64(SHA-256(AAD || ciphertextMetadata || IV || ciphertext || tag)), no metadata here.
    const cdiv = createHash('sha256')
      .update(Buffer.concat([aad, Buffer.from(initializationVector!, 'base64'), Buffer.from(ciphertext!, 'base64'), Buffer.from(authenticationTag!, 'base64')]))
      .digest('base64');
    expect(ciphertextDataIntegrityValue).toBe(cdiv);

    const decBody = { requestMetadata: { ...META, kmsOperation: 'Decrypt' }, ciphertext, initializationVector, authenticationTag, encryptionAlgorithm: 'AES_GCM', additionalAuthenticatedData: b64(aad) };
    const dec = await xks(`/keys/${key}/decrypt`, decBody);
    expect(dec.status).toBe(200);
    expect(Buffer.from(dec.json.plaintext!, 'base64').toString()).toBe('a data key from AWS KMS');
    // Tampered AAD or ciphertext: InvalidCiphertextException.
    expect((await xks(`/keys/${key}/decrypt`, { ...decBody, additionalAuthenticatedData: b64('another context') })).json.errorName).toBe('InvalidCiphertextException');
    const flipped = Buffer.from(ciphertext!, 'base64');
    flipped[0]! ^= 1;
    expect((await xks(`/keys/${key}/decrypt`, { ...decBody, ciphertext: b64(flipped) })).status).toBe(400);
  });

  it('takes a second credential for rotation, refuses an unknown one, and refuses deleting the last', async () => {
    const second = (await admin('POST', `/xks/stores/${store.storeId}/credentials`)).json as { accessKeyId: string; secretAccessKey: string };
    const body = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'h-2' } };
    expect((await xks('/health', body, second)).status).toBe(200);
    expect((await xks('/health', body, { accessKeyId: 'XKSAAAAAAAAAAAAAAAAAAAAA', secretAccessKey: second.secretAccessKey })).json.errorName).toBe('AuthenticationFailedException');
    expect((await admin('DELETE', `/xks/stores/${store.storeId}/credentials/${store.accessKeyId}`)).status).toBe(200);
    expect((await xks('/health', body)).status).toBe(401);
    expect((await admin('DELETE', `/xks/stores/${store.storeId}/credentials/${second.accessKeyId}`)).status).toBe(409);
    store = { ...store, ...second };
  });

  it('enforces key status and usage, and audits every call', async () => {
    const encryptOnly = (await admin('POST', `/xks/stores/${store.storeId}/keys`, { usage: ['ENCRYPT'] })).json.externalKeyId as string;
    const enc = await xks(`/keys/${encryptOnly}/encrypt`, { requestMetadata: META, plaintext: b64('x'), encryptionAlgorithm: 'AES_GCM' });
    expect(enc.status).toBe(200);
    const dec = await xks(`/keys/${encryptOnly}/decrypt`, {
      requestMetadata: { ...META, kmsOperation: 'Decrypt' },
      ciphertext: enc.json.ciphertext,
      initializationVector: enc.json.initializationVector,
      authenticationTag: enc.json.authenticationTag,
      encryptionAlgorithm: 'AES_GCM',
    });
    expect(dec.json.errorName).toBe('InvalidKeyUsageException');
    expect((await admin('POST', `/xks/stores/${store.storeId}/keys/${encryptOnly}/disable`)).status).toBe(200);
    expect((await xks(`/keys/${encryptOnly}/encrypt`, { requestMetadata: META, plaintext: b64('x'), encryptionAlgorithm: 'AES_GCM' })).json.errorName).toBe('InvalidStateException');
    expect((await xks('/keys/no-such-key/metadata', { requestMetadata: META })).json.errorName).toBe('KeyNotFoundException');

    expect((await admin('GET', '/audit/verify')).json.ok).toBe(true);
    const listed = await runKura(['audit', 'list', '--operation', 'xks:Encrypt', '--limit', '0', '--json', '--data-dir', kura.dataDir]);
    const entries = JSON.parse(listed.stdout) as { source: string; outcome: string; keyId?: string; errorCode?: string; details?: Record<string, string> }[];
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(entries.every((e) => e.source === 'xks')).toBe(true);
    expect(entries.some((e) => e.keyId === encryptOnly && e.outcome === 'error' && e.errorCode === 'InvalidStateException')).toBe(true);
    expect(entries.some((e) => e.details?.kmsRequestId === META.kmsRequestId)).toBe(true);
    // No plaintext in any entry.
    expect(listed.stdout).not.toContain(b64('a data key from AWS KMS'));
  });

  it('answers a body over 1 MiB in the XKS error shape (ValidationException), and goes on serving', async () => {
    const res = await fetch(`${kura.url}${store.uriPath}/health`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(1024 * 1024 + 1, 0x20) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errorName: 'ValidationException', errorMessage: expect.stringMatching(/larger than 1048576 bytes/) });
    expect((await xks('/health', { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'after' } })).status).toBe(200);
  });

  it('answers ThrottlingException (429) beyond --xks-rate calls per second per store', async () => {
    const limited = await startKura({ args: ['--xks-rate', '3'] });
    try {
      const token = fs.readFileSync(path.join(limited.dataDir, 'admin.token'), 'utf8').trim();
      const res = await fetch(`${limited.url}/admin/v1/xks/stores`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ uriPathPrefix: 'limited' }) });
      const s = (await res.json()) as typeof store;
      const body = JSON.stringify({ requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'r' } });
      const host = new URL(limited.url).host;
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const p = `${s.uriPath}/health`;
        const { host: _h, ...headers } = signRequest({ method: 'POST', host, path: p, body, ...s, region: 'us-east-1', service: 'kms-xks-proxy', nowMs: Date.now(), headers: { 'content-type': 'application/json' } });
        const r = await fetch(`${limited.url}${p}`, { method: 'POST', headers, body });
        statuses.push(r.status);
        if (r.status === 429) expect(((await r.json()) as { errorName: string }).errorName).toBe('ThrottlingException');
        else await r.arrayBuffer();
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses).toContain(429);
    } finally {
      await limited.stop();
    }
  });
});
