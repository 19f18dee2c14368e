// The contract every KeyStore (main/keystores/key-store.ts) passes: the standard store now, the HSM and
// external key stores when they come. `keyStoreContract(name, open)` runs the suite against whatever
// `open` builds; a store that lacks a capability (a spec, a usage, imports) must refuse it cleanly, and
// the suite checks that instead.
//
// What it checks: generation of every supported spec; a symmetric blob payload round trip with the
// blob's AAD, refused (AeadAuthenticationError) under another AAD or with a tampered payload, and readable
// by an independent implementation of the blob format's key derivation where the store can show its
// material (imports); sign/verify, MAC, asymmetric encryption and key agreement where supported, checked
// against main/crypto/asymmetric used directly; import of wrapped material (both AWS wrapping families);
// destroy; forgetting on seal (material unusable while sealed, usable again after unsealing); the
// connection state; unsupported specs and operations refused with UnsupportedOperation (every spec a
// store does not support, so that a store holding few specs is checked by what it refuses).
//
// The harness's `store` may be a getter: a store that the appliance closes on seal and connects again
// on unseal (an HSM key store) hands out the new store after unseal().
import { constants, createCipheriv, createHmac, createPublicKey, publicEncrypt, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../main/common/errors.js';
import { AeadAuthenticationError } from '../../main/crypto/aead.js';
import {
  AsymmetricInputError,
  KEY_SPEC_INFO,
  KEY_SPECS,
  deriveSharedSecret,
  generateKeyMaterialAsync,
  loadPublicKey,
  type KeySpec,
} from '../../main/crypto/asymmetric/index.js';
import type { BlobPayload, GenerateHints, KeyStore, KeyStoreSpec, NewMaterial, StoredMaterial } from '../../main/keystores/key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../main/kms/ciphertext.js';
import { derivedKeyOf } from '../support/blob-v2.js';

export interface KeyStoreHarness {
  store: KeyStore;
  /** Does to the store what the appliance's seal does (for the standard store: seals the root key). */
  seal(): void | Promise<void>;
  /** Undoes seal(), with the same root key or token. */
  unseal(): Promise<void>;
  /** Bytes a sealed blob payload has beyond its plaintext: 16 (the GCM tag) unless the store wraps it further. */
  payloadOverhead?: number;
  /** What the suite passes to every generate() (an external key store needs the external key's ID). */
  hints?: GenerateHints;
  /** What the store still holds in memory of a material, when it can show it (to see it wiped). */
  residue?(m: StoredMaterial): Uint8Array | undefined;
  close(): Promise<void>;
}

const ALL_SPECS: readonly KeyStoreSpec[] = ['SYMMETRIC_DEFAULT', ...KEY_SPECS];

/** What the store keeps of a material it generated or imported. */
export const stored = (keyId: string, keySpec: KeyStoreSpec, m: NewMaterial): StoredMaterial => ({ keyId, keySpec, materialId: m.materialId, ref: m.ref, publicKey: m.publicKey });

/** A version-2 blob payload for a material: its header (with a fresh nonce), IV and AAD, as main/kms/ciphertext.ts makes them. */
export function payloadFor(m: StoredMaterial, context: Record<string, string> = {}): BlobPayload & { header: Buffer } {
  const header = encodeHeader(m.keyId, m.materialId, randomBytes(NONCE_BYTES));
  return { version: 2, header, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, context) };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to be refused, but it succeeded');
}

async function expectKmsCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await rejection(p);
  expect(isKmsError(e) ? e.code : e).toBe(code);
}

const oaepWrap = (publicKey: Buffer, data: Buffer, hash: 'sha1' | 'sha256') =>
  publicEncrypt({ key: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);

/** AES key wrap with padding (RFC 5649) by OpenSSL, independent of Kura's WASM core. */
function kwp(kek: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('id-aes256-wrap-pad', kek, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([c.update(data), c.final()]);
}

export function keyStoreContract(name: string, open: () => Promise<KeyStoreHarness>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let h: KeyStoreHarness;
    const keyId = randomUUID();
    const materials = new Map<KeyStoreSpec, StoredMaterial>();
    const material = (spec: KeyStoreSpec): StoredMaterial => {
      const m = materials.get(spec);
      if (!m) throw new Error(`no ${spec} material was generated`);
      return m;
    };
    const supported = () => ALL_SPECS.filter((s) => h.store.supports(s));
    const withUsage = (usage: string) => ALL_SPECS.filter((s) => s !== 'SYMMETRIC_DEFAULT' && h.store.supports(s, usage));

    beforeAll(async () => {
      h = await open();
      for (const spec of supported()) materials.set(spec, stored(keyId, spec, await h.store.generate(keyId, spec, h.hints)));
    });
    afterAll(async () => {
      await h?.close();
    });

    it('is CONNECTED while its material is usable, and names its type', () => {
      expect(h.store.connectionState()).toBe('CONNECTED');
      expect(['STANDARD', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']).toContain(h.store.type);
    });

    it('generates every spec it supports: a material ID of AWS\'s shape, a reference, and a public key exactly for asymmetric specs', () => {
      expect(supported()).toContain('SYMMETRIC_DEFAULT');
      const ids = new Set<string>();
      for (const spec of supported()) {
        const m = material(spec);
        expect(m.materialId, spec).toMatch(/^[0-9a-f]{64}$/);
        expect(m.ref.length, spec).toBeGreaterThan(0);
        const family = spec === 'SYMMETRIC_DEFAULT' ? 'symmetric' : KEY_SPEC_INFO[spec].family;
        if (family === 'symmetric' || family === 'hmac') {
          expect(m.publicKey, spec).toBeNull();
        } else {
          expect(m.publicKey, spec).not.toBeNull();
          // A SubjectPublicKeyInfo of the spec's own algorithm and curve (or parameter set).
          expect(loadPublicKey(spec as KeySpec, m.publicKey!).spec, spec).toBe(spec);
        }
        ids.add(m.materialId);
      }
      expect(ids.size).toBe(supported().length);
    });

    it('seals and opens a symmetric blob payload with the blob\'s AAD; another AAD or a tampered payload is refused', async () => {
      const m = material('SYMMETRIC_DEFAULT');
      const p = payloadFor(m, { tenant: 'acme' });
      const plaintext = randomBytes(100);
      const sealed = await h.store.encryptBlobPayload(m, p, plaintext);
      expect(sealed.length).toBe(plaintext.length + (h.payloadOverhead ?? 16));
      expect(sealed.includes(plaintext.subarray(0, 16))).toBe(false);
      expect((await h.store.decryptBlobPayload(m, p, sealed)).equals(plaintext)).toBe(true);
      // A second payload of the same material gets its own nonce, so its own key: the same bytes differ.
      const again = payloadFor(m, { tenant: 'acme' });
      expect((await h.store.encryptBlobPayload(m, again, plaintext)).equals(sealed)).toBe(false);

      const otherContext = { ...p, aad: blobAad(p.header, { tenant: 'other' }) };
      expect(await rejection(h.store.decryptBlobPayload(m, otherContext, sealed))).toBeInstanceOf(AeadAuthenticationError);
      for (const at of [0, sealed.length - 1]) {
        const bad = Buffer.from(sealed);
        bad[at]! ^= 1;
        expect(await rejection(h.store.decryptBlobPayload(m, p, bad))).toBeInstanceOf(AeadAuthenticationError);
      }
      // The header is the derivation's context: a payload moved under another header does not open.
      expect(await rejection(h.store.decryptBlobPayload(m, { ...again, aad: p.aad }, sealed))).toBeInstanceOf(AeadAuthenticationError);
    });

    it('signs and verifies with every SIGN_VERIFY spec it supports', async () => {
      for (const spec of withUsage('SIGN_VERIFY')) {
        const m = material(spec);
        const algorithm = KEY_SPEC_INFO[spec as KeySpec].signingAlgorithms[0]!;
        const message = Buffer.from(`signed by ${spec}`);
        const signature = await h.store.sign(m, algorithm, message, 'RAW');
        expect(await h.store.verify(m, algorithm, message, 'RAW', signature), spec).toBe(true);
        expect(await h.store.verify(m, algorithm, Buffer.from('another message'), 'RAW', signature), spec).toBe(false);
      }
    });

    it('makes and verifies MACs with every HMAC spec it supports', async () => {
      for (const spec of withUsage('GENERATE_VERIFY_MAC')) {
        const m = material(spec);
        const algorithm = KEY_SPEC_INFO[spec as KeySpec].macAlgorithms[0]!;
        const mac = await h.store.generateMac(m, algorithm, Buffer.from('message'));
        expect(await h.store.verifyMac(m, algorithm, Buffer.from('message'), mac), spec).toBe(true);
        expect(await h.store.verifyMac(m, algorithm, Buffer.from('messagE'), mac), spec).toBe(false);
      }
    });

    it('encrypts to and decrypts with every asymmetric ENCRYPT_DECRYPT spec it supports; a tampered ciphertext is refused', async () => {
      for (const spec of withUsage('ENCRYPT_DECRYPT')) {
        const m = material(spec);
        const algorithm = KEY_SPEC_INFO[spec as KeySpec].encryptionAlgorithms[0]!;
        const plaintext = randomBytes(32);
        const ciphertext = await h.store.encryptAsymmetric(m, algorithm, plaintext);
        expect((await h.store.decryptAsymmetric(m, algorithm, ciphertext)).equals(plaintext), spec).toBe(true);
        const bad = Buffer.from(ciphertext);
        bad[bad.length - 1]! ^= 1;
        const e = await rejection(h.store.decryptAsymmetric(m, algorithm, bad));
        expect(e, spec).toBeInstanceOf(AsymmetricInputError);
        expect((e as AsymmetricInputError).reason, spec).toBe('decrypt-failed');
      }
    });

    it('derives the same shared secret as the peer does, for every KEY_AGREEMENT spec it supports', async () => {
      for (const spec of withUsage('KEY_AGREEMENT')) {
        const m = material(spec);
        const peer = await generateKeyMaterialAsync(spec as KeySpec);
        const ours = await h.store.deriveSharedSecret(m, 'ECDH', peer.publicKey);
        expect(ours.equals(deriveSharedSecret(spec as KeySpec, peer.privateKey, m.publicKey!, 'ECDH')), spec).toBe(true);
      }
    });

    describe('import', () => {
      it('imports wrapped symmetric material that then seals blobs readable with the material itself; the same material keeps its ID', async () => {
        const target = { keyId: randomUUID(), keySpec: 'SYMMETRIC_DEFAULT' as const };
        const raw = randomBytes(32);
        const importOnce = async (algorithm: 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256') => {
          const tokenId = randomBytes(32).toString('hex');
          const wrapping = await h.store.createWrappingKey(tokenId, 'RSA_2048');
          const hash = algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256';
          return h.store.importMaterial(target, {
            tokenId,
            wrappingKeyRef: wrapping.ref,
            wrappingKeySpec: 'RSA_2048',
            wrappingAlgorithm: algorithm,
            encryptedKeyMaterial: oaepWrap(wrapping.publicKey, raw, hash),
          });
        };
        if (!h.store.importsMaterial) {
          // A store that takes no imported material (AWS: custom key stores) refuses the workflow outright.
          await expectKmsCode(h.store.createWrappingKey('token', 'RSA_2048'), 'UnsupportedOperation');
          await expectKmsCode(importOnce('RSAES_OAEP_SHA_256'), 'UnsupportedOperation');
          return;
        }
        const first = await importOnce('RSAES_OAEP_SHA_256');
        expect(first.materialId).toMatch(/^[0-9a-f]{64}$/);
        expect(first.publicKey).toBeNull();
        expect((await importOnce('RSAES_OAEP_SHA_1')).materialId).toBe(first.materialId);

        const m = stored(target.keyId, 'SYMMETRIC_DEFAULT', first);
        const p = payloadFor(m, { a: 'b' });
        const plaintext = randomBytes(64);
        const sealed = await h.store.encryptBlobPayload(m, p, plaintext);
        // The same bytes as node:crypto makes under HMAC-SHA256 KBKDF(the imported bytes, "kura/blob/v2", header).
        const cipher = createCipheriv('aes-256-gcm', derivedKeyOf(raw, p.header), p.iv);
        cipher.setAAD(p.aad);
        expect(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]).equals(sealed)).toBe(true);
      });

      // The two tests below are about a store that imports (the first one checks that the others refuse).
      it('imports HMAC material wrapped with RSA_AES_KEY_WRAP: its MACs are those of the material', async () => {
        if (!h.store.importsMaterial || !h.store.supports('HMAC_256')) return;
        const tokenId = randomBytes(32).toString('hex');
        const wrapping = await h.store.createWrappingKey(tokenId, 'RSA_3072');
        const raw = randomBytes(48);
        const aesKey = randomBytes(32);
        const target = { keyId: randomUUID(), keySpec: 'HMAC_256' as const };
        const imported = await h.store.importMaterial(target, {
          tokenId,
          wrappingKeyRef: wrapping.ref,
          wrappingKeySpec: 'RSA_3072',
          wrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256',
          encryptedKeyMaterial: Buffer.concat([oaepWrap(wrapping.publicKey, aesKey, 'sha256'), kwp(aesKey, raw)]),
        });
        const mac = await h.store.generateMac(stored(target.keyId, 'HMAC_256', imported), 'HMAC_SHA_256', Buffer.from('m'));
        expect(mac.equals(createHmac('sha256', raw).update('m').digest())).toBe(true);
      });

      it('refuses material it cannot unwrap, of the wrong size for the spec, or with another token\'s wrapping key', async () => {
        if (!h.store.importsMaterial) return;
        const tokenId = randomBytes(32).toString('hex');
        const wrapping = await h.store.createWrappingKey(tokenId, 'RSA_2048');
        const target = { keyId: randomUUID(), keySpec: 'SYMMETRIC_DEFAULT' as const };
        const wrapped = (bytes: Buffer, over: Partial<{ tokenId: string }> = {}) => ({
          tokenId,
          wrappingKeyRef: wrapping.ref,
          wrappingKeySpec: 'RSA_2048' as const,
          wrappingAlgorithm: 'RSAES_OAEP_SHA_256' as const,
          encryptedKeyMaterial: bytes,
          ...over,
        });
        await expectKmsCode(h.store.importMaterial(target, wrapped(randomBytes(256))), 'InvalidCiphertext');
        await expectKmsCode(h.store.importMaterial(target, wrapped(oaepWrap(wrapping.publicKey, randomBytes(16), 'sha256'))), 'Validation');
        const foreign = await rejection(h.store.importMaterial(target, wrapped(oaepWrap(wrapping.publicKey, randomBytes(32), 'sha256'), { tokenId: 'another' })));
        expect(foreign).toBeInstanceOf(Error);
      });
    });

    it('destroys a material: what it held of it is wiped, and other materials keep working', async () => {
      const doomed = stored(keyId, 'SYMMETRIC_DEFAULT', await h.store.generate(keyId, 'SYMMETRIC_DEFAULT', h.hints));
      const p = payloadFor(doomed);
      await h.store.encryptBlobPayload(doomed, p, Buffer.from('used once'));
      const held = h.residue?.(doomed);
      if (held) expect(held.some((b) => b !== 0)).toBe(true);
      await h.store.destroy(doomed);
      if (held) expect(held.every((b) => b === 0)).toBe(true);
      expect(h.residue?.(doomed)).toBeUndefined();
      await h.store.destroy(doomed);
      const keeper = material('SYMMETRIC_DEFAULT');
      const q = payloadFor(keeper);
      expect((await h.store.decryptBlobPayload(keeper, q, await h.store.encryptBlobPayload(keeper, q, Buffer.from('still here')))).toString()).toBe('still here');
    });

    it('forgets its material when the appliance seals: unusable (Sealed) until unsealed, then usable again', async () => {
      const m = material('SYMMETRIC_DEFAULT');
      const p = payloadFor(m);
      const sealed = await h.store.encryptBlobPayload(m, p, Buffer.from('across a seal'));
      const held = h.residue?.(m);
      if (held) expect(held.some((b) => b !== 0)).toBe(true);
      const signer = withUsage('SIGN_VERIFY')[0];
      if (signer) await h.store.sign(material(signer), KEY_SPEC_INFO[signer as KeySpec].signingAlgorithms[0]!, Buffer.from('x'), 'RAW');

      await h.seal();
      if (held) expect(held.every((b) => b === 0)).toBe(true);
      await expectKmsCode(h.store.decryptBlobPayload(m, p, sealed), 'Sealed');
      await expectKmsCode(h.store.encryptBlobPayload(m, payloadFor(m), Buffer.from('x')), 'Sealed');
      await expectKmsCode(h.store.generate(keyId, 'SYMMETRIC_DEFAULT', h.hints), 'Sealed');
      if (signer) await expectKmsCode(h.store.sign(material(signer), KEY_SPEC_INFO[signer as KeySpec].signingAlgorithms[0]!, Buffer.from('x'), 'RAW'), 'Sealed');

      await h.unseal();
      expect((await h.store.decryptBlobPayload(m, p, sealed)).toString()).toBe('across a seal');
    });

    it('refuses to generate every spec it does not support, with UnsupportedOperation', async () => {
      // A store that lacks a capability (an HSM key store holds SYMMETRIC_DEFAULT only) is checked by its refusals.
      for (const spec of ALL_SPECS.filter((s) => !h.store.supports(s))) {
        await expectKmsCode(h.store.generate(randomUUID(), spec, h.hints), 'UnsupportedOperation');
      }
      for (const usage of ['SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']) {
        expect(h.store.supports('SYMMETRIC_DEFAULT', usage), usage).toBe(false);
      }
    });

    it('refuses unsupported specs and operations cleanly, with UnsupportedOperation', async () => {
      for (const spec of ['RSA_1024', 'ECC_NIST_P192', 'AES_128', '']) {
        expect(h.store.supports(spec), spec).toBe(false);
        await expectKmsCode(h.store.generate(randomUUID(), spec as KeyStoreSpec, h.hints), 'UnsupportedOperation');
      }
      expect(h.store.supports('SYMMETRIC_DEFAULT', 'SIGN_VERIFY')).toBe(false);
      const symmetric = material('SYMMETRIC_DEFAULT');
      await expectKmsCode(h.store.sign(symmetric, 'ECDSA_SHA_256', Buffer.from('x'), 'RAW'), 'UnsupportedOperation');
      await expectKmsCode(h.store.generateMac(symmetric, 'HMAC_SHA_256', Buffer.from('x')), 'UnsupportedOperation');
      await expectKmsCode(h.store.deriveSharedSecret(symmetric, 'ECDH', Buffer.alloc(65)), 'UnsupportedOperation');
      await expectKmsCode(h.store.encryptAsymmetric(symmetric, 'RSAES_OAEP_SHA_256', Buffer.from('x')), 'UnsupportedOperation');
      const asymmetric = withUsage('SIGN_VERIFY')[0];
      if (asymmetric) {
        const m = material(asymmetric);
        await expectKmsCode(h.store.encryptBlobPayload(m, payloadFor(m), Buffer.from('x')), 'UnsupportedOperation');
        await expectKmsCode(h.store.decryptBlobPayload(m, payloadFor(m), Buffer.alloc(32)), 'UnsupportedOperation');
        await expectKmsCode(h.store.generateMac(m, 'HMAC_SHA_256', Buffer.from('x')), 'UnsupportedOperation');
      }
    });
  });
}
