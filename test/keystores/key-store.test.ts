// The KeyStoreRegistry (main/keystores/key-store.ts): a key's custom key store ID to its store (null is
// the standard store), AWS's CustomKeyStoreNotFound for an ID without a registered store, and the
// appliance's seal passed on to every store it holds.
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../main/common/errors.js';
import { wasmAead, wasmKeyWrap } from '../../main/crypto/wasm-aead.js';
import { KeyStoreRegistry, type StoredMaterial } from '../../main/keystores/key-store.js';
import { StandardKeyStore } from '../../main/keystores/standard/standard-key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../main/kms/ciphertext.js';
import { RootKeyHolder } from '../../main/seal/root-key.js';
import { openStore, type Store } from '../../main/store/index.js';
import { tempDir } from '../support/domain.js';

describe('KeyStoreRegistry', () => {
  let dir: string;
  let db: Store;
  let root: RootKeyHolder;
  const rootKey = randomBytes(32);
  const storeOf = () => new StandardKeyStore({ aead: wasmAead, root, keyWrap: wasmKeyWrap });

  beforeAll(async () => {
    dir = tempDir('kura-registry-');
    db = await openStore(path.join(dir, 'kura.db'));
    root = new RootKeyHolder({ db: db.db, appliance: db.appliance, aead: wasmAead, clock: { nowMs: () => Date.now() }, applianceId: randomUUID() });
    await root.load();
    await root.initAndUnsealDev(rootKey);
  });
  afterAll(async () => {
    root.seal();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      return isKmsError(e) ? e.code : String(e);
    }
    return undefined;
  };

  it('maps null to the standard store and a registered custom key store ID to its store; others are CustomKeyStoreNotFound', () => {
    const standard = storeOf();
    const custom = storeOf();
    const registry = new KeyStoreRegistry({ standard, root });
    expect(registry.storeFor(null)).toBe(standard);
    expect(registry.standard).toBe(standard);
    expect(codeOf(() => registry.storeFor('cks-1234567890abcdef0'))).toBe('CustomKeyStoreNotFound');
    registry.register('cks-1234567890abcdef0', custom);
    expect(registry.storeFor('cks-1234567890abcdef0')).toBe(custom);
    expect(registry.all()).toEqual([standard, custom]);
    expect(codeOf(() => registry.register('cks-1234567890abcdef0', storeOf()))).toBe('Internal');
    registry.unregister('cks-1234567890abcdef0');
    expect(codeOf(() => registry.storeFor('cks-1234567890abcdef0'))).toBe('CustomKeyStoreNotFound');
    expect(registry.all()).toEqual([standard]);
  });

  it('makes every store it holds forget its material when the appliance seals', async () => {
    const standard = storeOf();
    const custom = storeOf();
    const registry = new KeyStoreRegistry({ standard, root });
    registry.register('cks-0000000000000000a', custom);
    const used: [StandardKeyStore, StoredMaterial][] = [];
    for (const store of [standard, custom]) {
      const keyId = randomUUID();
      const made = await store.generate(keyId, 'SYMMETRIC_DEFAULT');
      const m: StoredMaterial = { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: made.materialId, ref: made.ref, publicKey: null };
      const header = encodeHeader(keyId, m.materialId, randomBytes(NONCE_BYTES));
      await store.encryptBlobPayload(m, { version: 2, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, {}) }, Buffer.from('x'));
      used.push([store, m]);
    }
    const held = used.map(([store, m]) => store.cachedMaterialForTests(m.keyId, m.materialId)!);
    expect(held.every((b) => b.some((x) => x !== 0))).toBe(true);
    root.seal();
    expect(held.every((b) => b.every((x) => x === 0))).toBe(true);
    expect(used.every(([store, m]) => store.cachedMaterialForTests(m.keyId, m.materialId) === undefined)).toBe(true);
    await root.initAndUnsealDev(rootKey);
  });
});
