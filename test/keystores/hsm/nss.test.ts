// The HSM key store on NSS softokn 3.87 (a database made by certutil in a temporary directory, whose
// password is the user PIN; test/support/tokens.ts): the shared KeyStore contract, and the vendor
// differences that matter to it — CK_GCM_PARAMS with ulIvBits, bad tags as CKR_ENCRYPTED_DATA_INVALID,
// the plaintext-sized output buffer, C_Initialize library parameters (pkcs11js drops their last
// character, the module layer adds one). NSS takes one database per process: this file uses one.
import { createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AeadAuthenticationError } from '../../../main/crypto/aead.js';
import { connectHsmKeyStore, HsmConnectionError, probeHsmToken, type HsmKeyStore } from '../../../main/keystores/hsm/index.js';
import type { StoredMaterial } from '../../../main/keystores/key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../../main/kms/ciphertext.js';
import { hsmHarness, nssDatabase } from '../../support/tokens.js';
import { keyStoreContract } from '../contract.js';

const db = nssDatabase();
const config = { modulePath: db.modulePath, tokenLabel: db.tokenLabel, libraryParameters: db.libraryParameters, pin: db.pin };
afterAll(() => db.cleanup());

keyStoreContract('HsmKeyStore (NSS softokn)', () => hsmHarness(config));

const payloadFor = (m: StoredMaterial) => {
  const header = encodeHeader(m.keyId, m.materialId, randomBytes(NONCE_BYTES));
  return { version: 2 as const, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, { db: 'nss' }) };
};

describe('HsmKeyStore on NSS softokn', () => {
  let store: HsmKeyStore;
  const material = async (): Promise<StoredMaterial> => {
    const keyId = randomUUID();
    const m = await store.generate(keyId, 'SYMMETRIC_DEFAULT');
    return { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: m.materialId, ref: m.ref, publicKey: null };
  };

  beforeAll(async () => {
    // A wrong PIN first, while nobody is logged in.
    const wrong = await connectHsmKeyStore({ ...config, pin: 'not-the-pin' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(HsmConnectionError);
    expect((wrong as HsmConnectionError).code).toBe('INVALID_CREDENTIALS');
    store = await connectHsmKeyStore(config);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('probes the database token: the vendor table calls it NSS', async () => {
    const info = await probeHsmToken(config);
    expect(info).toMatchObject({ label: 'NSS Certificate DB', manufacturerId: 'Mozilla Foundation', vendor: 'NSS', loginRequired: true, aesGcm: true });
    const e = await probeHsmToken({ ...config, tokenLabel: 'Not A Token' }).catch((x: unknown) => x);
    expect((e as HsmConnectionError).code).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
  });

  it('serves a registration whose serial number names no token: NSS answers zeros for every database, so its label finds it', async () => {
    const info = await probeHsmToken(config);
    expect(info.serialNumber).toMatch(/^0+$/);
    const shared = await connectHsmKeyStore({ ...config, serialNumber: info.serialNumber });
    await shared.close();
    expect(await probeHsmToken({ ...config, serialNumber: '' })).toMatchObject({ label: 'NSS Certificate DB' });
  });

  it('refuses a second configuration of the module in this process (NSS holds one database per process)', async () => {
    const e = await probeHsmToken({ ...config, libraryParameters: `configdir='sql:/nonexistent'` }).catch((x: unknown) => x);
    expect((e as HsmConnectionError).code).toBe('CLUSTER_NOT_FOUND');
  });

  it('generates sensitive, never-extractable token keys', async () => {
    const attributes = await store.keyAttributes(await material());
    expect(attributes).toMatchObject({ token: true, private: true, sensitive: true, extractable: false, neverExtractable: true, alwaysSensitive: true, derive: true, wrap: false, valueBytes: 32 });
  });

  it('seals on the token: an empty plaintext works, a bad tag is AeadAuthenticationError and does not poison the session, node:crypto cannot open it', async () => {
    const m = await material();
    const p = payloadFor(m);
    const empty = await store.encryptBlobPayload(m, p, Buffer.alloc(0));
    expect(empty.length).toBe(16);
    expect((await store.decryptBlobPayload(m, p, empty)).length).toBe(0);

    const q = payloadFor(m);
    const sealed = await store.encryptBlobPayload(m, q, Buffer.from('sealed by NSS'));
    const bad = Buffer.from(sealed);
    bad[0]! ^= 1;
    await expect(store.decryptBlobPayload(m, q, bad)).rejects.toBeInstanceOf(AeadAuthenticationError);
    expect((await store.decryptBlobPayload(m, q, sealed)).toString()).toBe('sealed by NSS');
    expect(store.connectionState()).toBe('CONNECTED');

    const decipher = createDecipheriv('aes-256-gcm', randomBytes(32), q.iv);
    decipher.setAAD(q.aad);
    decipher.setAuthTag(sealed.subarray(-16));
    decipher.update(sealed.subarray(0, -16));
    expect(() => decipher.final()).toThrow();
  });
});
