// Conformance of Kura's XKS proxy routes (XKS Proxy API v1.0.3) driven through handleXksRequest with
// requests SigV4-signed by Kura's own signer (service kms-xks-proxy), over an in-memory backend doing
// AES-256-GCM with node:crypto: every route, every error the proxy produces with its status, the
// backend's failures as the spec's names, its malformed answers refused, authentication, paths, methods
// and tampering.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { XksBackend, XksBackendFailure, XksHealthReport, XksKeyDescription, XksKeyUsage, XksOutcome, XksSealed, XksStoreAccess } from '../../../main/api/xks/backend.js';
import { handleXksRequest, type XksCallRecord, type XksEndpointDeps } from '../../../main/api/xks/dispatch.js';
import type { RawRequest } from '../../../main/api/http.js';
import { startServer } from '../../../main/api/server.js';
import { createLogger } from '../../../main/common/log.js';
import { signRequest } from '../../../main/sigv4/sign.js';
import { FixedClock } from '../../support/fixed-clock.js';

const CRED_A = { accessKeyId: 'XKSA2TESTACCESSKEY7AB', secretAccessKey: 'h1QeTm0mXkq2m0q4kHh3sYbq1eM0w7jx8pA4n3VtZ0U=' };
const CRED_B = { accessKeyId: 'XKSB3ROTATEDKEYID4567QQ', secretAccessKey: 'Zm9yIHJvdGF0aW9uIG9ubHk6IGEgc2Vjb25kIHNlY3JldCE=' };
const PREFIX = 'keystores/s1';
const ROOT = `/${PREFIX}/kms/xks/v1`;
const META = { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:key/1234abcd', kmsOperation: 'Encrypt', kmsRequestId: '4112f4d6-db54-4af4-ae30-c55a22a8dfae' };
const HEALTH_META = { kmsOperation: 'KmsHealthCheck', kmsRequestId: '1124f4d6' };

interface FakeKey extends XksKeyDescription {
  material: Buffer;
}

/** An XKS backend in memory: AES-256-GCM with node:crypto, with failures that tests can inject. */
class InMemoryXksBackend implements XksBackend {
  readonly keys = new Map<string, FakeKey>();
  inject: { failure: XksBackendFailure } | { throws: true } | { throwsError: Error } | { corrupt: true } | { stall: Promise<void> } | undefined;
  /** The plaintext the last encrypt was given: a copy as it was when it ran, and the buffer itself. */
  lastPlaintext: { asRun: Buffer; buffer: Buffer } | undefined;
  health_: XksHealthReport = { ekmVendor: 'Fake HSM Co', ekmFleetDetails: [{ id: 'hsm-1', model: 'Fake HSM 1.0', healthStatus: 'ACTIVE' }] };
  private readonly store: XksStoreAccess = {
    storeId: 'store-1',
    secretFor: (id) => new Map([[CRED_A.accessKeyId, CRED_A.secretAccessKey], [CRED_B.accessKeyId, CRED_B.secretAccessKey]]).get(id),
    regions: new Set(['us-east-1', 'eu-west-1']),
  };

  addKey(id: string, keyUsage: XksKeyUsage[], opts: { disabled?: boolean; ciphertextMetadata?: Buffer } = {}): void {
    this.keys.set(id, { keySpec: 'AES_256', keyUsage, keyStatus: opts.disabled ? 'DISABLED' : 'ENABLED', ciphertextMetadata: opts.ciphertextMetadata, material: randomBytes(32) });
  }

  async resolveStore(prefix: string) {
    return prefix === PREFIX ? this.store : undefined;
  }

  private gate<T>(run: () => XksOutcome<T>): Promise<XksOutcome<T>> {
    const inject = this.inject;
    if (inject && 'throws' in inject) return Promise.reject(new Error('boom: secret detail'));
    if (inject && 'throwsError' in inject) return Promise.reject(inject.throwsError);
    if (inject && 'failure' in inject) return Promise.resolve({ ok: false, failure: inject.failure, message: `injected ${inject.failure}` });
    // A key manager that answers only once the test lets it.
    if (inject && 'stall' in inject) return inject.stall.then(run);
    return Promise.resolve(run());
  }

  private key(storeId: string, id: string): FakeKey | undefined {
    return storeId === 'store-1' ? this.keys.get(id) : undefined;
  }

  metadata(storeId: string, id: string) {
    return this.gate<XksKeyDescription>(() => {
      const k = this.key(storeId, id);
      return k ? { ok: true, value: k } : { ok: false, failure: 'KeyNotFound', message: `No external key ${id}.` };
    });
  }

  encrypt(storeId: string, id: string, input: { plaintext: Buffer; aad: Buffer }) {
    return this.gate(() => {
      const k = this.key(storeId, id);
      if (!k) return { ok: false, failure: 'KeyNotFound', message: 'gone' };
      this.lastPlaintext = { asRun: Buffer.from(input.plaintext), buffer: input.plaintext };
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', k.material, iv).setAAD(input.aad);
      const ciphertext = Buffer.concat([c.update(input.plaintext), c.final()]);
      if (this.inject && 'corrupt' in this.inject) ciphertext[0] = (ciphertext[0] ?? 0) ^ 1;
      return { ok: true, value: { ciphertext, iv, tag: c.getAuthTag() } };
    });
  }

  decrypt(storeId: string, id: string, input: { ciphertext: Buffer; iv: Buffer; tag: Buffer; aad: Buffer }) {
    return this.gate<Buffer>(() => {
      const k = this.key(storeId, id);
      if (!k) return { ok: false, failure: 'KeyNotFound', message: 'gone' };
      try {
        const d = createDecipheriv('aes-256-gcm', k.material, input.iv).setAAD(input.aad).setAuthTag(input.tag);
        return { ok: true, value: Buffer.concat([d.update(input.ciphertext), d.final()]) };
      } catch {
        return { ok: false, failure: 'InvalidCiphertext', message: 'The ciphertext, AAD or tag does not verify.' };
      }
    });
  }

  health(storeId: string) {
    return this.gate(() => (storeId === 'store-1' ? { ok: true as const, value: this.health_ } : { ok: false as const, failure: 'Internal' as const, message: 'no store' }));
  }
}

let clock: FixedClock;
let backend: InMemoryXksBackend;
let records: XksCallRecord[];
let deps: XksEndpointDeps;

beforeEach(() => {
  clock = new FixedClock();
  backend = new InMemoryXksBackend();
  backend.addKey('both', ['ENCRYPT', 'DECRYPT']);
  backend.addKey('enc-only', ['ENCRYPT']);
  backend.addKey('dec-only', ['DECRYPT']);
  backend.addKey('neither', []);
  backend.addKey('off', ['ENCRYPT', 'DECRYPT'], { disabled: true });
  backend.addKey('versioned', ['ENCRYPT', 'DECRYPT'], { ciphertextMetadata: Buffer.from('key_version=1') });
  records = [];
  deps = { backend, clock, log: createLogger('error', () => undefined), audit: { record: async (c) => void records.push(c) } };
});

type Sign = { method?: string; cred?: { accessKeyId: string; secretAccessKey: string }; region?: string; service?: string; rawBody?: string };

function signed(path: string, body: unknown, o: Sign = {}): RawRequest {
  const text = o.rawBody ?? JSON.stringify(body);
  const cred = o.cred ?? CRED_A;
  const method = o.method ?? 'POST';
  const headers = signRequest({ method, host: 'xks.example.com', path, body: text, ...cred, region: o.region ?? 'us-east-1', service: o.service ?? 'kms-xks-proxy', nowMs: clock.nowMs(), headers: { 'content-type': 'application/json' } });
  return { method, path, query: '', headers, body: Buffer.from(text), remoteAddress: '127.0.0.1' };
}

async function call(path: string, body: unknown, o: Sign = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, string> }> {
  const r = await handleXksRequest(deps, signed(path, body, o));
  return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown>, headers: r.headers };
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
const encryptBody = (plaintext: Buffer, extra: Record<string, unknown> = {}) => ({ requestMetadata: META, plaintext: b64(plaintext), encryptionAlgorithm: 'AES_GCM', ...extra });

async function encrypt(key: string, plaintext: Buffer, extra: Record<string, unknown> = {}) {
  const r = await call(`${ROOT}/keys/${key}/encrypt`, encryptBody(plaintext, extra));
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as { ciphertext: string; initializationVector: string; authenticationTag: string; ciphertextMetadata?: string; ciphertextDataIntegrityValue?: string };
}

const decryptBody = (sealed: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const { ciphertextDataIntegrityValue: _cdiv, ...fields } = sealed;
  return { requestMetadata: { ...META, kmsOperation: 'Decrypt' }, encryptionAlgorithm: 'AES_GCM', ...fields, ...extra };
};
const decrypt = (key: string, body: unknown) => call(`${ROOT}/keys/${key}/decrypt`, body);

const flip = (s: string) => {
  const b = Buffer.from(s, 'base64');
  b[0] = (b[0] ?? 0) ^ 0x80;
  return b.toString('base64');
};

describe('XKS proxy routes', () => {
  it('GetKeyMetadata describes keys, disabled ones included', async () => {
    expect((await call(`${ROOT}/keys/both/metadata`, { requestMetadata: { ...META, kmsOperation: 'DescribeKey' } })).json).toEqual({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' });
    const off = await call(`${ROOT}/keys/off/metadata`, { requestMetadata: { awsPrincipalArn: 'a', kmsOperation: 'CreateKey', kmsRequestId: 'r' } });
    expect([off.status, off.json.keyStatus]).toEqual([200, 'DISABLED']);
    expect(records.at(-1)).toMatchObject({ operation: 'GetKeyMetadata', storeId: 'store-1', externalKeyId: 'off', accessKeyId: CRED_A.accessKeyId, kmsOperation: 'CreateKey', outcome: 'ok' });
  });

  it('Encrypt then Decrypt round-trips 4,300 bytes of plaintext with 8,192 bytes of AAD', async () => {
    const plaintext = randomBytes(4300);
    const aad = b64(randomBytes(8192));
    const sealed = await encrypt('both', plaintext, { additionalAuthenticatedData: aad });
    expect(Buffer.from(sealed.ciphertext, 'base64').length).toBe(4300);
    expect(Buffer.from(sealed.initializationVector, 'base64').length).toBe(12);
    expect(Buffer.from(sealed.authenticationTag, 'base64').length).toBe(16);
    expect(sealed.ciphertextDataIntegrityValue).toBeUndefined();
    const r = await decrypt('both', decryptBody(sealed, { additionalAuthenticatedData: aad }));
    expect([r.status, r.json.plaintext]).toEqual([200, b64(plaintext)]);
  });

  it('binds the cipher AAD as u16be(len) || AAD || u8(len) || metadata', async () => {
    const sealed = await encrypt('versioned', Buffer.from('Hello World!'), { additionalAuthenticatedData: b64('project=nile') });
    expect(sealed.ciphertextMetadata).toBe(b64('key_version=1'));
    const key = backend.keys.get('versioned');
    const aad = Buffer.concat([Buffer.from([0, 12]), Buffer.from('project=nile'), Buffer.from([13]), Buffer.from('key_version=1')]);
    const d = createDecipheriv('aes-256-gcm', key?.material ?? Buffer.alloc(32), Buffer.from(sealed.initializationVector, 'base64')).setAAD(aad).setAuthTag(Buffer.from(sealed.authenticationTag, 'base64'));
    expect(Buffer.concat([d.update(Buffer.from(sealed.ciphertext, 'base64')), d.final()]).toString()).toBe('Hello World!');
  });

  it('returns the CDIV over AAD || metadata || IV || ciphertext || tag, with and without AAD', async () => {
    const { createHash } = await import('node:crypto');
    for (const aad of [b64('project=nile,department=marketing'), undefined]) {
      const sealed = await encrypt('versioned', randomBytes(32), { additionalAuthenticatedData: aad, ciphertextDataIntegrityValueAlgorithm: 'SHA_256' });
      const parts = [aad, sealed.ciphertextMetadata, sealed.initializationVector, sealed.ciphertext, sealed.authenticationTag].filter((p): p is string => p !== undefined);
      const expected = createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')))).digest('base64');
      expect(sealed.ciphertextDataIntegrityValue).toBe(expected);
    }
  });

  it('refuses to return a ciphertext that does not decrypt back when a CDIV is asked for', async () => {
    backend.inject = { corrupt: true };
    const r = await call(`${ROOT}/keys/both/encrypt`, encryptBody(randomBytes(32), { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' }));
    expect([r.status, r.json.errorName]).toEqual([500, 'InternalException']);
    expect(r.json).not.toHaveProperty('ciphertext');
  });

  it('refuses to return a ciphertext that decrypts back to other bytes, or to another length, when a CDIV is asked for', async () => {
    // A key manager that decrypts "successfully" to the wrong plaintext: only the comparison catches it.
    const plaintext = randomBytes(32);
    const wrong = Buffer.from(plaintext);
    wrong[31] = (wrong[31] ?? 0) ^ 1;
    for (const back of [wrong, plaintext.subarray(0, 31), Buffer.concat([plaintext, Buffer.from([0])])]) {
      backend.decrypt = () => Promise.resolve({ ok: true as const, value: Buffer.from(back) });
      const r = await call(`${ROOT}/keys/both/encrypt`, encryptBody(plaintext, { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' }));
      expect([r.status, r.json.errorName], `${back.length} bytes back`).toEqual([500, 'InternalException']);
      expect(r.json).not.toHaveProperty('ciphertext');
    }
  });

  it("refuses a key manager's malformed AES-GCM result: a ciphertext not the plaintext's length, an 8-byte IV, a 12-byte tag", async () => {
    const real = backend.encrypt.bind(backend);
    const malformed: [string, (v: XksSealed) => XksSealed][] = [
      ['a ciphertext one byte short', (v) => ({ ...v, ciphertext: v.ciphertext.subarray(1) })],
      ['a ciphertext one byte long', (v) => ({ ...v, ciphertext: Buffer.concat([v.ciphertext, Buffer.from([0])]) })],
      ['an 8-byte IV', (v) => ({ ...v, iv: v.iv.subarray(0, 8) })],
      ['a 12-byte tag', (v) => ({ ...v, tag: v.tag.subarray(0, 12) })],
    ];
    for (const [what, change] of malformed) {
      (backend as XksBackend).encrypt = async (...args) => {
        const r = await real(...args);
        return r.ok ? { ok: true as const, value: change(r.value) } : r;
      };
      const r = await call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.from('sixteen bytes!!!')));
      expect([r.status, r.json.errorName], what).toEqual([500, 'InternalException']);
      expect(r.json, what).not.toHaveProperty('ciphertext');
    }
  });

  it("refuses a key manager's decryption whose plaintext is not the ciphertext's length", async () => {
    const sealed = await encrypt('both', Buffer.from('sixteen bytes!!!'));
    for (const length of [15, 17]) {
      backend.decrypt = () => Promise.resolve({ ok: true as const, value: Buffer.alloc(length, 0x61) });
      const r = await decrypt('both', decryptBody(sealed));
      expect([r.status, r.json.errorName], `${length} bytes`).toEqual([500, 'InternalException']);
      expect(r.json).not.toHaveProperty('plaintext');
    }
  });

  it("checks a credential scope's region against the appliance's regions when the store names none", async () => {
    (await backend.resolveStore(PREFIX))!.regions = undefined;
    expect((await call(`${ROOT}/health`, { requestMetadata: HEALTH_META }, { region: 'ap-newregion-9' })).json.errorName).toBe('AuthenticationFailedException');
    deps.allowedRegions = new Set(['ap-newregion-9']);
    expect((await call(`${ROOT}/health`, { requestMetadata: HEALTH_META }, { region: 'ap-newregion-9' })).status).toBe(200);
    const r = await call(`${ROOT}/health`, { requestMetadata: HEALTH_META }, { region: 'us-east-1' });
    expect([r.status, r.json.errorName]).toEqual([401, 'AuthenticationFailedException']);
  });

  describe('a key manager that does not answer within the deadline (AWS KMS waits 250 ms)', () => {
    let release: () => void;
    beforeEach(() => {
      deps.answerDeadlineMs = 50;
      backend.inject = { stall: new Promise<void>((resolve) => (release = resolve)) };
    });

    const routes: [string, string, () => unknown][] = [
      ['GetHealthStatus', 'health', () => ({ requestMetadata: HEALTH_META })],
      ['GetKeyMetadata', 'keys/both/metadata', () => ({ requestMetadata: META })],
      ['Encrypt', 'keys/both/encrypt', () => encryptBody(Buffer.from('plaintext'))],
      ['Decrypt', 'keys/both/decrypt', () => decryptBody({ ciphertext: b64('x'), initializationVector: b64(randomBytes(12)), authenticationTag: b64(randomBytes(16)) })],
    ];
    for (const [operation, route, body] of routes) {
      it(`${operation} answers DependencyTimeoutException (503) at the deadline, audited once`, async () => {
        const started = performance.now();
        const r = await call(`${ROOT}/${route}`, body());
        expect([r.status, r.json.errorName], JSON.stringify(r.json)).toEqual([503, 'DependencyTimeoutException']);
        expect(r.json.errorMessage).toMatch(/did not answer within 50 ms/);
        expect(performance.now() - started).toBeLessThan(1_000);
        expect(records).toEqual([expect.objectContaining({ operation, outcome: 'error', errorName: 'DependencyTimeoutException' })]);
        // The key manager answers late: nothing more is recorded or answered.
        release();
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(records).toHaveLength(1);
      });
    }

    it("wipes an Encrypt's plaintext once the key manager is done with it, not before", async () => {
      const r = await call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.from('still needed')));
      expect(r.json.errorName).toBe('DependencyTimeoutException');
      release();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(backend.lastPlaintext?.asRun.toString()).toBe('still needed');
      expect(backend.lastPlaintext?.buffer.equals(Buffer.alloc('still needed'.length))).toBe(true);
    });

    it('logs an unexpected error of work that was answered already', async () => {
      const lines: string[] = [];
      deps.log = createLogger('error', (line) => void lines.push(line));
      backend.inject = { stall: new Promise<void>((_resolve, reject) => (release = () => reject(new TypeError('late: QUOTED-INPUT')))) };
      expect((await call(`${ROOT}/keys/both/metadata`, { requestMetadata: META })).json.errorName).toBe('DependencyTimeoutException');
      expect(lines).toEqual([]);
      release();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lines.join('')).toMatch(/xks internal error.*TypeError/);
      // By type and frames: the message of an unexpected error may quote the request.
      expect(lines.join('')).not.toContain('QUOTED-INPUT');
      expect(records).toHaveLength(1);
    });

    it('answers as usual when the key manager is back in time', async () => {
      release();
      const sealed = await encrypt('both', Buffer.from('on time'));
      expect((await decrypt('both', decryptBody(sealed))).json.plaintext).toBe(b64('on time'));
    });
  });

  it('GetHealthStatus reports the proxy and each key manager', async () => {
    backend.health_ = { ekmVendor: 'Fake HSM Co', ekmFleetDetails: [{ id: 'hsm-1', model: 'm', healthStatus: 'ACTIVE' }, { id: 'hsm-2', model: 'm', healthStatus: 'DEGRADED' }] };
    const r = await call(`${ROOT}/health`, { requestMetadata: HEALTH_META });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ xksProxyFleetSize: 1, xksProxyVendor: 'Kura', xksProxyModel: 'Kura XKS proxy', ekmVendor: 'Fake HSM Co', ekmFleetDetails: backend.health_.ekmFleetDetails });
    backend.health_ = { ekmVendor: 'x', ekmFleetDetails: [] };
    expect((await call(`${ROOT}/health`, { requestMetadata: HEALTH_META })).json.errorName).toBe('InternalException');
  });
});

describe('XKS proxy errors', () => {
  const expectError = async (r: Promise<{ status: number; json: Record<string, unknown> }>, status: number, errorName: string) => {
    const { status: s, json } = await r;
    expect([s, json.errorName], JSON.stringify(json)).toEqual([status, errorName]);
    expect(typeof json.errorMessage).toBe('string');
  };

  it('ValidationException for missing or empty requestMetadata on every route, health included', async () => {
    for (const path of [`${ROOT}/health`, `${ROOT}/keys/both/metadata`, `${ROOT}/keys/both/encrypt`, `${ROOT}/keys/both/decrypt`]) {
      await expectError(call(path, {}), 400, 'ValidationException');
      await expectError(call(path, { requestMetadata: {} }), 400, 'ValidationException');
    }
    await expectError(call(`${ROOT}/health`, null, { rawBody: '{"requestMetadata":' }), 400, 'ValidationException');
    await expectError(call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.from('x'), { encryptionAlgorithm: 'AES_CBC' })), 400, 'ValidationException');
    expect(records.every((c) => c.outcome === 'error' && c.errorName === 'ValidationException')).toBe(true);
  });

  it('accepts a kmsOperation the spec does not list', async () => {
    expect((await call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.from('x'), { requestMetadata: { ...META, kmsOperation: 'BulkEncrypt' } }))).status).toBe(200);
  });

  it('InvalidStateException for a disabled key; KeyNotFoundException for an unknown one', async () => {
    await expectError(call(`${ROOT}/keys/off/encrypt`, encryptBody(Buffer.from('x'))), 400, 'InvalidStateException');
    await expectError(decrypt('off', decryptBody({ ciphertext: b64('x'), initializationVector: b64(Buffer.alloc(12)), authenticationTag: b64(Buffer.alloc(16)) })), 400, 'InvalidStateException');
    await expectError(call(`${ROOT}/keys/nope/metadata`, { requestMetadata: META }), 404, 'KeyNotFoundException');
    await expectError(call(`${ROOT}/keys/nope/encrypt`, encryptBody(Buffer.from('x'))), 404, 'KeyNotFoundException');
  });

  it('InvalidKeyUsageException for encrypt-only, decrypt-only and neither keys', async () => {
    const sealed = await encrypt('enc-only', Buffer.from('secret'));
    await expectError(decrypt('enc-only', decryptBody(sealed)), 400, 'InvalidKeyUsageException');
    await expectError(call(`${ROOT}/keys/dec-only/encrypt`, encryptBody(Buffer.from('x'))), 400, 'InvalidKeyUsageException');
    await expectError(call(`${ROOT}/keys/neither/encrypt`, encryptBody(Buffer.from('x'))), 400, 'InvalidKeyUsageException');
    await expectError(decrypt('neither', decryptBody(sealed)), 400, 'InvalidKeyUsageException');
    // An encrypt-only key still answers a CDIV request: its verifying decrypt is the proxy's own.
    expect((await encrypt('enc-only', Buffer.from('x'), { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' })).ciphertextDataIntegrityValue).toBeDefined();
  });

  it('InvalidCiphertextException for tampered ciphertext, IV, tag, AAD or ciphertextMetadata', async () => {
    const aad = b64('project=nile');
    const sealed = await encrypt('versioned', randomBytes(64), { additionalAuthenticatedData: aad });
    expect((await decrypt('versioned', decryptBody(sealed, { additionalAuthenticatedData: aad }))).status).toBe(200);
    const tampered = [
      { ciphertext: flip(sealed.ciphertext) },
      { initializationVector: flip(sealed.initializationVector) },
      { authenticationTag: flip(sealed.authenticationTag) },
      { additionalAuthenticatedData: b64('project=nilf') },
      { additionalAuthenticatedData: undefined },
      { ciphertextMetadata: b64('key_version=2') },
      { ciphertextMetadata: undefined },
      // The metadata moved into the AAD: the length prefixes tell the two apart.
      { additionalAuthenticatedData: undefined, ciphertextMetadata: undefined },
    ];
    for (const change of tampered) await expectError(decrypt('versioned', decryptBody(sealed, { additionalAuthenticatedData: aad, ...change })), 400, 'InvalidCiphertextException');
    const plain = await encrypt('both', Buffer.from('abc'));
    await expectError(decrypt('both', decryptBody(plain, { ciphertextMetadata: b64('m') })), 400, 'InvalidCiphertextException');
    await expectError(decrypt('both', decryptBody(plain, { additionalAuthenticatedData: b64('m') })), 400, 'InvalidCiphertextException');
  });

  it('a sealed key manager answers every call DependencyTimeoutException (503, retried), not AuthenticationFailed', async () => {
    const store = (await backend.resolveStore(PREFIX))!;
    store.sealed = true;
    try {
      await expectError(call(`${ROOT}/health`, { requestMetadata: HEALTH_META }), 503, 'DependencyTimeoutException');
      await expectError(call(`${ROOT}/health`, { requestMetadata: HEALTH_META }, { cred: { ...CRED_A, secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret-wrong' } }), 503, 'DependencyTimeoutException');
    } finally {
      store.sealed = false;
    }
  });

  it('logs a flood of bad signatures by one line and a count, not a line each', async () => {
    const lines: string[] = [];
    const saved = deps.log;
    deps.log = createLogger('info', (l) => void lines.push(l));
    try {
      for (let i = 0; i < 100; i++) {
        await expectError(call(`${ROOT}/health`, { requestMetadata: HEALTH_META }, { cred: { ...CRED_A, secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret-wrong' } }), 401, 'AuthenticationFailedException');
      }
    } finally {
      deps.log = saved;
    }
    expect(lines.filter((l) => l.includes('"xks call"'))).toHaveLength(1);
  });

  it("names the proxy store of a call's log line as every other line names one (xksStoreId)", async () => {
    const lines: string[] = [];
    const saved = deps.log;
    deps.log = createLogger('info', (l) => void lines.push(l));
    try {
      await call(`${ROOT}/health`, { requestMetadata: HEALTH_META });
    } finally {
      deps.log = saved;
    }
    const [line] = lines.filter((l) => l.includes('"xks call"'));
    expect(JSON.parse(line!)).toMatchObject({ xksStoreId: 'store-1', operation: 'GetHealthStatus' });
  });

  it('AuthenticationFailedException for bad signatures, unknown keys, wrong service, region or time', async () => {
    const body = { requestMetadata: HEALTH_META };
    await expectError(call(`${ROOT}/health`, body, { cred: { ...CRED_A, secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret-wrong' } }), 401, 'AuthenticationFailedException');
    await expectError(call(`${ROOT}/health`, body, { cred: { accessKeyId: 'UNKNOWNKEYID234567ABCD', secretAccessKey: CRED_A.secretAccessKey } }), 401, 'AuthenticationFailedException');
    await expectError(call(`${ROOT}/health`, body, { service: 'kms' }), 401, 'AuthenticationFailedException');
    await expectError(call(`${ROOT}/health`, body, { region: 'ap-south-1' }), 401, 'AuthenticationFailedException');
    const req = signed(`${ROOT}/health`, body);
    clock.advance(6 * 60_000);
    const late = await handleXksRequest(deps, req);
    expect([late.status, (JSON.parse(late.body) as { errorName: string }).errorName]).toEqual([401, 'AuthenticationFailedException']);
    const tamperedBody = { ...signed(`${ROOT}/health`, body), body: Buffer.from(JSON.stringify({ requestMetadata: { ...HEALTH_META, kmsRequestId: 'other' } })) };
    expect((await handleXksRequest(deps, tamperedBody)).status).toBe(401);
    const unsigned = { ...signed(`${ROOT}/health`, body), headers: { host: 'xks.example.com' } };
    expect((await handleXksRequest(deps, unsigned)).status).toBe(401);
    expect(records.filter((c) => c.errorName === 'AuthenticationFailedException').every((c) => c.accessKeyId === undefined)).toBe(true);
  });

  it('accepts either of two live credentials (rotation)', async () => {
    expect((await call(`${ROOT}/health`, { requestMetadata: HEALTH_META }, { cred: CRED_B, region: 'eu-west-1' })).status).toBe(200);
  });

  it('InvalidUriPathException (404) for a wrong prefix or a path that names no operation', async () => {
    await expectError(call('/other/kms/xks/v1/health', { requestMetadata: HEALTH_META }), 404, 'InvalidUriPathException');
    await expectError(call('/kms/xks/v1/health', { requestMetadata: HEALTH_META }), 404, 'InvalidUriPathException');
    await expectError(call(`${ROOT}/keys/both/sign`, { requestMetadata: META }), 404, 'InvalidUriPathException');
    await expectError(call(`${ROOT}/keys/bad%20id/encrypt`, encryptBody(Buffer.from('x'))), 404, 'InvalidUriPathException');
  });

  it('405 for GET (and any method but POST) on an XKS route', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await call(`${ROOT}/keys/both/metadata`, { requestMetadata: META }, { method });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('POST');
    }
    expect((await call(`${ROOT}/health`, { requestMetadata: HEALTH_META }, { method: 'GET' })).status).toBe(405);
  });

  it('UnsupportedOperationException (501) for sizes beyond what Kura supports', async () => {
    await expectError(call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.alloc(65_537))), 501, 'UnsupportedOperationException');
  });

  it('answers the backend failures with the spec names and statuses, and a throw with InternalException', async () => {
    const expected: [XksBackendFailure, number, string][] = [
      ['AccessDenied', 403, 'AccessDeniedException'],
      ['Throttling', 429, 'ThrottlingException'],
      ['DependencyTimeout', 503, 'DependencyTimeoutException'],
      ['UnsupportedOperation', 501, 'UnsupportedOperationException'],
      ['Internal', 500, 'InternalException'],
      ['InvalidState', 400, 'InvalidStateException'],
    ];
    for (const [failure, status, name] of expected) {
      backend.inject = { failure };
      await expectError(call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.from('x'))), status, name);
      await expectError(call(`${ROOT}/health`, { requestMetadata: HEALTH_META }), status, name);
    }
    backend.inject = { throws: true };
    const r = await call(`${ROOT}/keys/both/metadata`, { requestMetadata: META });
    expect([r.status, r.json.errorName]).toEqual([500, 'InternalException']);
    expect(String(r.json.errorMessage)).not.toContain('secret detail');
  });

  it('answers InternalException, not the result, when the call cannot be audited', async () => {
    deps.audit = { record: () => Promise.reject(new Error('disk full')) };
    const r = await call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.from('x')));
    expect([r.status, r.json.errorName]).toEqual([500, 'InternalException']);
    expect(r.json.errorMessage).toBe('The call could not be audited, so nothing was served.');
  });

  // A full disk under the database: the operator reading AWS KMS's error (or the proxy's log) learns
  // what happened, rather than "see its log" with a log line that says only "Error".
  const sqliteFull = () => Object.assign(new Error('SQLITE_FULL: database or disk is full'), { errno: 13, code: 'SQLITE_FULL' });
  const DISK_FULL = 'Kura could not write to its database (disk full): nothing was changed; retry once space is freed.';

  it('says the disk is full when the audit entry cannot be written for it, and logs the SQLite code', async () => {
    const lines: string[] = [];
    deps.log = createLogger('error', (l) => lines.push(l));
    deps.audit = { record: () => Promise.reject(sqliteFull()) };
    const r = await call(`${ROOT}/keys/both/encrypt`, encryptBody(Buffer.from('x')));
    expect([r.status, r.json.errorName]).toEqual([500, 'InternalException']);
    expect(r.json.errorMessage).toBe(`The call could not be audited, so nothing was served. ${DISK_FULL}`);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ msg: 'xks audit append failed', code: 'SQLITE_FULL' }));
  });

  it('says the disk is full when the key manager fails on its database, and logs the SQLite code', async () => {
    const lines: string[] = [];
    deps.log = createLogger('error', (l) => lines.push(l));
    backend.inject = { throwsError: sqliteFull() };
    const r = await call(`${ROOT}/keys/both/metadata`, { requestMetadata: META });
    expect([r.status, r.json.errorName, r.json.errorMessage]).toEqual([500, 'InternalException', DISK_FULL]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ msg: 'xks storage failure', code: 'SQLITE_FULL' }));
    expect(lines.join('\n')).not.toContain('database or disk is full');
  });
});

describe('XKS proxy on the loopback listener', () => {
  it('is served through routes.xks, and GET answers 405', async () => {
    const log = createLogger('error', () => undefined);
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      log,
      limits: { maxConnections: 8, headersTimeoutMs: 2_000, requestTimeoutMs: 5_000, idleTimeoutMs: 1_000, drainMs: 500 },
      routes: { kms: () => Promise.reject(new Error('unused')), admin: () => Promise.reject(new Error('unused')), xks: (req) => handleXksRequest({ ...deps, clock: { nowMs: () => Date.now() } }, req) },
    });
    try {
      const path = `${ROOT}/health`;
      const body = JSON.stringify({ requestMetadata: HEALTH_META });
      const host = `127.0.0.1:${server.port}`;
      const headers = signRequest({ method: 'POST', host, path, body, ...CRED_A, region: 'us-east-1', service: 'kms-xks-proxy', nowMs: Date.now(), headers: { 'content-type': 'application/json' } });
      const { host: _h, ...sendable } = headers;
      const ok = await fetch(`${server.url}${path}`, { method: 'POST', headers: sendable, body });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { xksProxyVendor: string }).xksProxyVendor).toBe('Kura');
      const get = await fetch(`${server.url}${path}`);
      expect(get.status).toBe(405);
    } finally {
      await server.close();
    }
  });
});
