// A material's token key deleted behind Kura's back (pkcs11-tool --delete-object, another process) while
// its HSM key store is connected, on SoftHSM2 (tokens made by softhsm2-util in a temporary directory).
// Its blob key is a session object derived before, which goes on working without the token key: an
// encryption that used it would make ciphertext that no later connection could open. The key is looked
// up again at most every PRESENCE_CHECK_MS (performance.now() is moved by vitest, the timers are not),
// and from then on encryption and decryption answer InvalidState (KMSInvalidStateException, as AWS KMS
// does for material gone from the cluster), with the store still CONNECTED.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { isKmsError } from '../../../main/common/errors.js';
import { connectHsmKeyStore } from '../../../main/keystores/hsm/index.js';
import { PRESENCE_CHECK_MS } from '../../../main/keystores/hsm/hsm-key-store.js';
import { decodeMaterialRef } from '../../../main/keystores/hsm/material-ref.js';
import type { BlobPayload, StoredMaterial } from '../../../main/keystores/key-store.js';
import { blobAad, blobKeyDerivation, encodeHeader, NONCE_BYTES } from '../../../main/kms/ciphertext.js';
import { softHsm } from '../../support/tokens.js';

// Before anything initialises SoftHSM in this process: it reads SOFTHSM2_CONF at C_Initialize.
const env = softHsm();
const token = env.makeToken('kura-deleted', '7654321');
afterAll(() => env.cleanup());
afterEach(() => vi.useRealTimers());

/** The payload of a blob whose header carries `nonce` (an epoch's: ./blob-keys.ts). */
function payloadFor(m: StoredMaterial, nonce: Uint8Array): BlobPayload {
  const header = encodeHeader(m.keyId, m.materialId, Buffer.from(nonce));
  return { version: 2, derivation: blobKeyDerivation({ version: 2, header }), iv: randomBytes(12), aad: blobAad(header, {}) };
}

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (isKmsError(e) ? e.code : String(e)),
  );

describe('a token key deleted while its store is connected', () => {
  it('stops encrypting under the blob key derived from it once the key is looked up again; the store stays CONNECTED', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const store = await connectHsmKeyStore({ modulePath: env.modulePath, tokenLabel: token.label, pin: token.pin });
    try {
      const keyId = randomUUID();
      const made = await store.generate(keyId, 'SYMMETRIC_DEFAULT');
      const m: StoredMaterial = { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: made.materialId, ref: made.ref, publicKey: null };
      const p = payloadFor(m, store.blobNonce(m, NONCE_BYTES));
      const sealed = await store.encryptBlobPayload(m, p, Buffer.from('before'));

      execFileSync('pkcs11-tool', ['--module', env.modulePath, '--token-label', token.label, '--login', '--pin', token.pin, '--delete-object', '--type', 'secrkey', '--id', decodeMaterialRef(m.ref).toString('hex')], { env: env.env, stdio: 'pipe' });
      vi.advanceTimersByTime(PRESENCE_CHECK_MS + 1);

      const q = payloadFor(m, store.blobNonce(m, NONCE_BYTES));
      // As AWS KMS answers when a CloudHSM cluster no longer holds a key's material: KMSInvalidStateException.
      expect(await outcome(store.encryptBlobPayload(m, q, Buffer.from('after')))).toBe('InvalidState');
      expect(await outcome(store.decryptBlobPayload(m, p, sealed))).toBe('InvalidState');
      expect(store.connectionState()).toBe('CONNECTED');
    } finally {
      await store.close();
    }
  });
});
