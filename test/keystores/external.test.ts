// The external key store (main/keystores/external/): the shared KeyStore contract, and what is its own,
// against a real XKS proxy — another Kura process serving the XKS proxy API over TLS under a host name
// of its own (test/support/xks-peer.ts) — reached the way AWS KMS reaches one: https://host, SigV4
// (kms-xks-proxy), a CA it trusts, a deadline.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../main/common/errors.js';
import { AeadAuthenticationError } from '../../main/crypto/aead.js';
import { decodeExternalRef, ExternalKeyStore, XksClient, XksProxyError, type XksClientConfig } from '../../main/keystores/external/index.js';
import type { BlobPayload, StoredMaterial } from '../../main/keystores/key-store.js';
import type { StandardKeyStore } from '../../main/keystores/standard/standard-key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../main/kms/ciphertext.js';
import { tempDir } from '../support/domain.js';
import { unsealedStandardStore } from '../support/standard-store.js';
import { startXksPeer, XKS_PEER_HOST, type XksPeer } from '../support/xks-peer.js';
import { keyStoreContract, type KeyStoreHarness } from './contract.js';

/** Generous for a loaded CI machine; the default (AWS's 250 ms) is tested with a proxy that never answers. */
const TEST_TIMEOUT_MS = 5_000;

function clientConfig(peer: XksPeer, over: Partial<XksClientConfig> = {}): XksClientConfig {
  return {
    uriEndpoint: peer.uriEndpoint,
    uriPath: peer.store.uriPath,
    accessKeyId: peer.store.accessKeyId,
    secretAccessKey: peer.store.secretAccessKey,
    region: 'us-east-1',
    connectTo: { host: '127.0.0.1', port: peer.port },
    ca: [fs.readFileSync(peer.caFile, 'utf8')],
    timeoutMs: TEST_TIMEOUT_MS,
    ...over,
  };
}

interface ExternalHarness extends KeyStoreHarness {
  store: ExternalKeyStore;
  standard: StandardKeyStore;
  peer: XksPeer;
  externalKeyId: string;
}

async function openExternal(): Promise<ExternalHarness> {
  const peer = await startXksPeer();
  const externalKeyId = await peer.createKey();
  const dir = tempDir('kura-external-');
  const { db, root, store: standard, unseal } = await unsealedStandardStore(dir);
  const client = new XksClient(clientConfig(peer));
  const store = new ExternalKeyStore({ customKeyStoreId: 'cks-0123456789abcdef0', client, inner: standard });
  return {
    store,
    standard,
    peer,
    externalKeyId,
    hints: { externalKeyId },
    // The inner tag, then the envelope: version, IV length, a 12-byte IV (Kura's proxy), metadata length, the proxy's tag.
    payloadOverhead: 16 + 1 + 1 + 12 + 1 + 16,
    seal: () => root.seal(),
    unseal,
    residue: (m) => standard.cachedMaterialForTests(m.keyId, m.materialId),
    close: async () => {
      store.close();
      root.seal();
      await db.close();
      await peer.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

keyStoreContract('ExternalKeyStore (another Kura as its XKS proxy)', openExternal);

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (isKmsError(e)) return e.code;
    if (e instanceof AeadAuthenticationError) return 'AeadAuthenticationError';
    if (e instanceof XksProxyError) return `XksProxyError:${e.kind}`;
    throw e;
  }
  throw new Error('expected a refusal');
};

function payloadFor(m: StoredMaterial): BlobPayload {
  const header = encodeHeader(m.keyId, m.materialId, randomBytes(NONCE_BYTES));
  return { version: 2, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, { purpose: 'test' }) };
}

describe('ExternalKeyStore', () => {
  let h: ExternalHarness;
  let m: StoredMaterial;
  const keyId = randomUUID();

  beforeAll(async () => {
    h = await openExternal();
    const made = await h.store.generate(keyId, 'SYMMETRIC_DEFAULT', { externalKeyId: h.externalKeyId });
    m = { keyId, materialId: made.materialId, keySpec: 'SYMMETRIC_DEFAULT', ref: made.ref, publicKey: null };
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('encrypts twice: its own material first, then the external key at the proxy; neither layer alone opens the payload', async () => {
    const p = payloadFor(m);
    const plaintext = Buffer.from('doubly encrypted');
    const sealed = await h.store.encryptBlobPayload(m, p, plaintext);
    const ref = decodeExternalRef(m.ref);
    expect(ref.externalKeyId).toBe(h.externalKeyId);
    const inner: StoredMaterial = { ...m, ref: ref.inner };
    // The inner material alone cannot open what the proxy sealed.
    expect(await codeOf(h.standard.decryptBlobPayload(inner, p, sealed))).toBe('AeadAuthenticationError');
    // Undoing the proxy's layer with the proxy itself leaves the inner layer, which opens with the inner material.
    const ivLen = sealed[1]!;
    const cmLen = sealed[2 + ivLen]!;
    const at = 3 + ivLen + cmLen;
    const client = new XksClient(clientConfig(h.peer));
    try {
      const once = await client.decrypt(
        h.externalKeyId,
        { iv: sealed.subarray(2, 2 + ivLen), ciphertextMetadata: undefined, tag: sealed.subarray(at, at + 16), ciphertext: sealed.subarray(at + 16), aad: createHash('sha256').update(p.aad).digest() },
        { awsPrincipalArn: 'test', kmsKeyArn: keyId, kmsOperation: 'Decrypt', kmsRequestId: randomUUID() },
      );
      expect(once.includes(plaintext)).toBe(false);
      expect(await h.standard.decryptBlobPayload(inner, p, once)).toEqual(plaintext);
    } finally {
      client.close();
    }
  });

  it('refuses a tampered payload, another AAD and a malformed envelope as a ciphertext that does not authenticate', async () => {
    const p = payloadFor(m);
    const sealed = await h.store.encryptBlobPayload(m, p, Buffer.from('x'.repeat(100)));
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(await codeOf(h.store.decryptBlobPayload(m, p, flipped))).toBe('AeadAuthenticationError');
    expect(await codeOf(h.store.decryptBlobPayload(m, { ...p, aad: Buffer.from('another') }, sealed))).toBe('AeadAuthenticationError');
    expect(await codeOf(h.store.decryptBlobPayload(m, p, sealed.subarray(0, 10)))).toBe('AeadAuthenticationError');
    expect(await codeOf(h.store.decryptBlobPayload(m, p, Buffer.concat([Buffer.from([9]), sealed.subarray(1)])))).toBe('AeadAuthenticationError');
  });

  it('binds only to an AES_256 external key that is ENABLED for ENCRYPT and DECRYPT, and says which check failed', async () => {
    expect(await codeOf(h.store.generate(randomUUID(), 'SYMMETRIC_DEFAULT', { externalKeyId: 'no-such-key' }))).toBe('XksKeyNotFound');
    expect(await codeOf(h.store.generate(randomUUID(), 'SYMMETRIC_DEFAULT', { externalKeyId: await h.peer.createKey('encrypt') }))).toBe('XksKeyInvalidConfiguration');
    expect(await codeOf(h.store.generate(randomUUID(), 'SYMMETRIC_DEFAULT'))).toBe('Validation');
  });

  it('answers KMSInvalidState when the proxy refuses (a disabled external key), and works again once it is enabled', async () => {
    const ext = await h.peer.createKey();
    const k = randomUUID();
    const made = await h.store.generate(k, 'SYMMETRIC_DEFAULT', { externalKeyId: ext });
    const mm: StoredMaterial = { keyId: k, materialId: made.materialId, keySpec: 'SYMMETRIC_DEFAULT', ref: made.ref, publicKey: null };
    const p = payloadFor(mm);
    const sealed = await h.store.encryptBlobPayload(mm, p, Buffer.from('before'));
    expect((await h.peer.admin('POST', `/xks/stores/${h.peer.store.storeId}/keys/${ext}/disable`)).status).toBe(200);
    expect(await codeOf(h.store.decryptBlobPayload(mm, p, sealed))).toBe('InvalidState');
    expect(await codeOf(h.store.encryptBlobPayload(mm, payloadFor(mm), Buffer.from('x')))).toBe('InvalidState');
    expect((await h.peer.admin('POST', `/xks/stores/${h.peer.store.storeId}/keys/${ext}/enable`)).status).toBe(200);
    expect((await h.store.decryptBlobPayload(mm, p, sealed)).toString()).toBe('before');
  });

  it('answers KMSInvalidState while the proxy is down, without waiting, and works again when it is back', async () => {
    const p = payloadFor(m);
    const sealed = await h.store.encryptBlobPayload(m, p, Buffer.from('across an outage'));
    await h.peer.stop();
    try {
      const e = await h.store.decryptBlobPayload(m, p, sealed).catch((x: unknown) => x);
      expect(isKmsError(e) && e.code).toBe('InvalidState');
      expect((e as Error).message).toMatch(/cannot be reached/);
    } finally {
      await h.peer.start();
    }
    expect((await h.store.decryptBlobPayload(m, p, sealed)).toString()).toBe('across an outage');
  }, 60_000);

  it('XksClient: says which failure it met — credential refused, certificate not trusted, no answer by the deadline (250 ms by default)', async () => {
    const meta = { kmsOperation: 'KmsHealthCheck', kmsRequestId: randomUUID() };
    const wrongSecret = new XksClient(clientConfig(h.peer, { secretAccessKey: randomBytes(33).toString('base64') }));
    const untrusted = new XksClient(clientConfig(h.peer, { ca: [] }));
    const wrongPath = new XksClient(clientConfig(h.peer, { uriPath: '/elsewhere/kms/xks/v1' }));
    // A listener that takes connections and never answers (not even the TLS handshake).
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const hanging = new XksClient({ ...clientConfig(h.peer, { connectTo: { host: '127.0.0.1', port: silentPort } }), timeoutMs: undefined });
    try {
      expect(await codeOf(wrongSecret.health(meta))).toBe('XksProxyError:ACCESS_DENIED');
      expect(await codeOf(untrusted.health(meta))).toBe('XksProxyError:INVALID_TLS');
      expect(await codeOf(wrongPath.health(meta))).toBe('XksProxyError:INVALID_CONFIGURATION');
      expect(await codeOf(hanging.health(meta))).toBe('XksProxyError:TIMED_OUT');
      expect((await new XksClient(clientConfig(h.peer)).health(meta)).ekmFleetDetails[0]!.healthStatus).toBe('ACTIVE');
    } finally {
      for (const c of [wrongSecret, untrusted, wrongPath, hanging]) c.close();
      silent.close();
    }
  });

  it('XksClient: by default gives up on a proxy that never answers at AWS\'s 250 ms deadline, not much later nor sooner', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hanging = new XksClient({ ...clientConfig(h.peer, { connectTo: { host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port } }), timeoutMs: undefined });
    try {
      const started = performance.now();
      expect(await codeOf(hanging.health({ kmsOperation: 'KmsHealthCheck', kmsRequestId: randomUUID() }))).toBe('XksProxyError:TIMED_OUT');
      const elapsed = performance.now() - started;
      // This checks the configured deadline, not speed: the upper bound leaves a loaded machine room.
      expect(elapsed).toBeGreaterThanOrEqual(240);
      expect(elapsed).toBeLessThan(1_000);
    } finally {
      hanging.close();
      silent.close();
    }
  });

  it('refuses an XksKeyId the KMS API would refuse, before asking the proxy: a reference keeps its length in one byte', async () => {
    for (const externalKeyId of ['x'.repeat(129), 'x'.repeat(300), 'has space', '']) {
      const e = await h.store.generate(randomUUID(), 'SYMMETRIC_DEFAULT', { externalKeyId }).catch((x: unknown) => x);
      expect([externalKeyId.slice(0, 10), isKmsError(e) && e.code]).toEqual([externalKeyId.slice(0, 10), 'Validation']);
    }
  });

  it('XksClient: refuses an endpoint that is not https://host', () => {
    expect(() => new XksClient({ ...clientConfig(h.peer), uriEndpoint: `http://${XKS_PEER_HOST}` })).toThrow(XksProxyError);
    expect(() => new XksClient({ ...clientConfig(h.peer), uriEndpoint: `https://${XKS_PEER_HOST}:8443` })).toThrow(XksProxyError);
  });
});

/** A key of the store used once: its inner material is cached unsealed in the standard store. */
async function cachedInnerMaterial(h: ExternalHarness) {
  const keyId = randomUUID();
  const made = await h.store.generate(keyId, 'SYMMETRIC_DEFAULT', { externalKeyId: h.externalKeyId });
  const m: StoredMaterial = { keyId, materialId: made.materialId, keySpec: 'SYMMETRIC_DEFAULT', ref: made.ref, publicKey: null };
  const p = payloadFor(m);
  const sealed = await h.store.encryptBlobPayload(m, p, Buffer.from('cached inner material'));
  const cached = h.standard.cachedMaterialForTests(m.keyId, m.materialId);
  expect(cached?.some((b) => b !== 0)).toBe(true);
  return { m, p, sealed, cached: cached! };
}

describe('ExternalKeyStore when it disconnects', () => {
  it('wipes the inner materials it used, and a call that held it from before is refused without unsealing them again', async () => {
    const h = await openExternal();
    try {
      const { m, p, sealed, cached } = await cachedInnerMaterial(h);

      h.store.close();
      // No call can use it until the store connects again, and a deletion while it is disconnected could not
      // reach it: it is wiped now, not when the cache evicts it or the appliance seals.
      expect(cached.every((b) => b === 0)).toBe(true);
      expect(h.standard.cachedMaterialForTests(m.keyId, m.materialId)).toBeUndefined();
      expect(await codeOf(h.store.encryptBlobPayload(m, payloadFor(m), Buffer.from('after')))).toBe('InvalidState');
      expect(await codeOf(h.store.decryptBlobPayload(m, p, sealed))).toBe('InvalidState');
      expect(h.standard.cachedMaterialForTests(m.keyId, m.materialId)).toBeUndefined();
    } finally {
      await h.close();
    }
  }, 60_000);
});

describe('ExternalKeyStore retired for new proxy settings', () => {
  it('leaves the inner materials it used to its successor, whose disconnect wipes them', async () => {
    const h = await openExternal();
    try {
      const { m, cached } = await cachedInnerMaterial(h);

      // UpdateCustomKeyStore on the connected store: the old store is retired, a new one takes its place
      // (main/kms/external-key-stores.ts), and is disconnected before it uses the key.
      h.store.retire();
      const successor = new ExternalKeyStore({ customKeyStoreId: 'cks-0123456789abcdef0', client: new XksClient(clientConfig(h.peer)), inner: h.standard });
      successor.close();
      expect(cached.every((b) => b === 0)).toBe(true);
      expect(h.standard.cachedMaterialForTests(m.keyId, m.materialId)).toBeUndefined();
    } finally {
      await h.close();
    }
  }, 60_000);

  it("refuses a retired store's call still at the proxy when its successor disconnects, without unsealing the inner material again", async () => {
    const h = await openExternal();
    try {
      const { m, p, sealed } = await cachedInnerMaterial(h);
      // A call at the proxy when the store is retired, which its client lets end, and the successor disconnects meanwhile.
      const inProgress = codeOf(h.store.decryptBlobPayload(m, p, sealed));
      h.store.retire();
      const successor = new ExternalKeyStore({ customKeyStoreId: 'cks-0123456789abcdef0', client: new XksClient(clientConfig(h.peer)), inner: h.standard });
      successor.close();
      expect(await inProgress).toBe('InvalidState');
      expect(h.standard.cachedMaterialForTests(m.keyId, m.materialId)).toBeUndefined();
    } finally {
      await h.close();
    }
  }, 60_000);
});
