// A SoftHSM2 token that goes away while its HSM key store is connected (its token directory deleted:
// SoftHSM then answers CKR_OBJECT_HANDLE_INVALID and CKR_GENERAL_ERROR, as a pulled USB token answers
// CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT): every call fails with KeyUnavailable, the store turns
// FAILED with AWS's INSUFFICIENT_CLOUDHSM_HSMS, its failure listeners run once, and nothing crashes or
// leaves an unhandled rejection (vitest fails the file on one). Its own file: the module is left broken.
import fs from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../../main/common/errors.js';
import { createLogger } from '../../../main/common/log.js';
import { connectHsmKeyStore, type HsmConnectionErrorCode } from '../../../main/keystores/hsm/index.js';
import type { StoredMaterial } from '../../../main/keystores/key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../../main/kms/ciphertext.js';
import { softHsm } from '../../support/tokens.js';

const env = softHsm();
const token = env.makeToken('kura-pulled');
afterAll(() => env.cleanup());

const payloadFor = (m: StoredMaterial) => {
  const header = encodeHeader(m.keyId, m.materialId, randomBytes(NONCE_BYTES));
  return { version: 2 as const, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, {}) };
};

describe('HsmKeyStore when its token goes away', () => {
  it('fails calls with KeyUnavailable, turns FAILED once, and closes cleanly', async () => {
    const lines: string[] = [];
    const store = await connectHsmKeyStore({ modulePath: env.modulePath, tokenLabel: token.label, pin: token.pin }, { log: createLogger('info', (l) => void lines.push(l)) });
    const failures: HsmConnectionErrorCode[] = [];
    store.onFailure((code) => failures.push(code));
    store.onFailure(() => {
      throw new Error('a listener that throws does not stop the others or the store');
    });
    const keyId = randomUUID();
    const made = await store.generate(keyId, 'SYMMETRIC_DEFAULT');
    const m: StoredMaterial = { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: made.materialId, ref: made.ref, publicKey: null };
    const p = payloadFor(m);
    const sealed = await store.encryptBlobPayload(m, p, Buffer.from('before'));

    fs.rmSync(token.dir, { recursive: true, force: true });

    const calls = await Promise.allSettled([
      ...Array.from({ length: 20 }, () => store.encryptBlobPayload(m, payloadFor(m), Buffer.from('after'))),
      store.decryptBlobPayload(m, p, sealed),
      store.generate(randomUUID(), 'SYMMETRIC_DEFAULT'),
    ]);
    for (const c of calls) {
      expect(c.status).toBe('rejected');
      const e = (c as PromiseRejectedResult).reason as unknown;
      expect(isKmsError(e) && e.code, String(e)).toBe('KeyUnavailable');
      expect((e as Error).message).toMatch(/The HSM token "kura-pulled" is not available/);
    }
    expect(store.connectionState()).toBe('FAILED');
    expect(store.failure()).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
    expect(failures).toEqual(['INSUFFICIENT_CLOUDHSM_HSMS']);
    // Named as every other line names an AWS connection error code; the listener's failure by its type
    // and frames, as every unexpected error is logged.
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.filter((l) => l.msg === 'HSM token unavailable')).toEqual([expect.objectContaining({ token: 'kura-pulled', errorCode: 'INSUFFICIENT_CLOUDHSM_HSMS' })]);
    expect(logged.find((l) => l.msg === 'HSM failure listener threw')?.error).toMatch(/^Error\n\s+at /);

    await store.close();
    expect(store.connectionState()).toBe('DISCONNECTED');
    expect(store.failure()).toBeUndefined();
    const after = await store.encryptBlobPayload(m, p, Buffer.from('x')).catch((e: unknown) => e);
    expect(isKmsError(after) && after.code).toBe('KeyUnavailable');
    expect(failures).toHaveLength(1);
  });
});
