// The standard key store (main/keystores/standard/): the shared KeyStore contract, over a real root key
// holder on SQLite and the WebAssembly AEAD, and what is its own — references are material sealed under
// the root key and bound to their key and material, version-1 payloads (material used directly) still
// open but are never written.
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../main/common/errors.js';
import { AeadAuthenticationError } from '../../main/crypto/aead.js';
import type { StoredMaterial } from '../../main/keystores/key-store.js';
import { StandardKeyStore } from '../../main/keystores/standard/standard-key-store.js';
import { encodeEncryptionContext } from '../../main/kms/ciphertext.js';
import { encodeAad } from '../../main/seal/at-rest.js';
import { RootKeyHolder } from '../../main/seal/root-key.js';
import { tempDir } from '../support/domain.js';
import { unsealedStandardStore } from '../support/standard-store.js';
import { keyStoreContract, type KeyStoreHarness } from './contract.js';

interface StandardHarness extends KeyStoreHarness {
  store: StandardKeyStore;
  root: RootKeyHolder;
}

/** A standard store over its own data directory, unsealed with a dev root key, wired to a registry as the appliance wires it. */
async function openStandard(): Promise<StandardHarness> {
  const dir = tempDir('kura-standard-');
  const { db, root, store, unseal } = await unsealedStandardStore(dir);
  return {
    store,
    root,
    seal: () => root.seal(),
    unseal,
    residue: (m) => store.cachedMaterialForTests(m.keyId, m.materialId),
    close: async () => {
      root.seal();
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

keyStoreContract('StandardKeyStore', openStandard);

describe('StandardKeyStore', () => {
  let h: StandardHarness;
  beforeAll(async () => {
    h = await openStandard();
  });
  afterAll(async () => {
    await h?.close();
  });

  const symmetric = async (): Promise<StoredMaterial> => {
    const keyId = randomUUID();
    const m = await h.store.generate(keyId, 'SYMMETRIC_DEFAULT');
    return { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: m.materialId, ref: m.ref, publicKey: null };
  };

  it('supports every key spec AWS KMS offers, with AWS\'s key usages per spec', () => {
    expect(h.store.type).toBe('STANDARD');
    expect(h.store.importsMaterial).toBe(true);
    expect(h.store.supports('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT')).toBe(true);
    expect(h.store.supports('RSA_4096', 'SIGN_VERIFY')).toBe(true);
    expect(h.store.supports('ECC_NIST_P384', 'KEY_AGREEMENT')).toBe(true);
    expect(h.store.supports('ECC_SECG_P256K1', 'KEY_AGREEMENT')).toBe(false);
    expect(h.store.supports('HMAC_512', 'GENERATE_VERIFY_MAC')).toBe(true);
    expect(h.store.supports('ML_DSA_87', 'ENCRYPT_DECRYPT')).toBe(false);
  });

  it('keeps material only as a reference sealed under the root key, bound to its key ID and material ID', async () => {
    const m = await symmetric();
    const raw = h.root.materialSealer().open(m.ref, encodeAad('kura/key-material/symmetric-default', m.keyId, m.materialId));
    expect(raw.length).toBe(32);
    expect(m.ref.includes(raw)).toBe(false);
    const payload = { version: 1 as const, derivation: null, iv: randomBytes(12), aad: Buffer.alloc(0) };
    for (const moved of [{ ...m, keyId: randomUUID() }, { ...m, materialId: randomBytes(32).toString('hex') }]) {
      await expect(h.store.decryptBlobPayload(moved, payload, Buffer.alloc(32))).rejects.toBeInstanceOf(AeadAuthenticationError);
    }
  });

  it('opens version-1 payloads (AES-256-GCM under the material itself) and never writes one', async () => {
    const m = await symmetric();
    const raw = h.root.materialSealer().open(m.ref, encodeAad('kura/key-material/symmetric-default', m.keyId, m.materialId));
    const iv = randomBytes(12);
    const aad = Buffer.concat([Buffer.from('a version-1 header'), encodeEncryptionContext({ v: '1' })]);
    const cipher = createCipheriv('aes-256-gcm', raw, iv);
    cipher.setAAD(aad);
    const sealed = Buffer.concat([cipher.update('made before version 2'), cipher.final(), cipher.getAuthTag()]);
    const payload = { version: 1 as const, derivation: null, iv, aad };
    expect((await h.store.decryptBlobPayload(m, payload, sealed)).toString()).toBe('made before version 2');
    const refused = await h.store.encryptBlobPayload(m, payload, Buffer.from('x')).catch((e: unknown) => e);
    expect(isKmsError(refused) && refused.code).toBe('UnsupportedOperation');
  });

  it('does not open references made under another root key', async () => {
    const other = await openStandard();
    try {
      const keyId = randomUUID();
      const theirs = await other.store.generate(keyId, 'SYMMETRIC_DEFAULT');
      const m: StoredMaterial = { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: theirs.materialId, ref: theirs.ref, publicKey: null };
      await expect(h.store.decryptBlobPayload(m, { version: 1, derivation: null, iv: randomBytes(12), aad: Buffer.alloc(0) }, Buffer.alloc(32))).rejects.toBeInstanceOf(
        AeadAuthenticationError,
      );
    } finally {
      await other.close();
    }
  });
});
