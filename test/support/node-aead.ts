// AES-256-GCM on node:crypto (OpenSSL), behind the Aead port: the test oracle for the WebAssembly
// core that serves Kura (main/crypto/wasm-aead.ts).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AEAD_IV_BYTES, AEAD_KEY_BYTES, AEAD_TAG_BYTES, AeadAuthenticationError, type Aead, type AeadKey } from '../../main/crypto/aead.js';
import { zeroize } from '../../main/crypto/bytes.js';

class NodeAeadKey implements AeadKey {
  private key: Buffer | undefined;

  constructor(raw: Uint8Array) {
    if (raw.length !== AEAD_KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${AEAD_KEY_BYTES}-byte key, got ${raw.length}`);
    this.key = Buffer.from(raw);
  }

  private live(iv: Uint8Array): Buffer {
    if (!this.key) throw new Error('AEAD key used after destroy()');
    if (iv.length !== AEAD_IV_BYTES) throw new RangeError(`AES-GCM IV must be ${AEAD_IV_BYTES} bytes, got ${iv.length}`);
    return this.key;
  }

  seal(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.live(iv), iv, { authTagLength: AEAD_TAG_BYTES });
    cipher.setAAD(aad);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    return Buffer.concat([head, tail, cipher.getAuthTag()]);
  }

  open(iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
    const key = this.live(iv);
    if (sealed.length < AEAD_TAG_BYTES) throw new AeadAuthenticationError();
    const ct = sealed.subarray(0, sealed.length - AEAD_TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: AEAD_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - AEAD_TAG_BYTES));
    const head = decipher.update(ct);
    try {
      return Buffer.concat([head, decipher.final()]);
    } catch {
      // OpenSSL has already produced unauthenticated plaintext in `head`: wipe it before failing.
      zeroize(head);
      throw new AeadAuthenticationError();
    }
  }

  destroy(): void {
    if (this.key) zeroize(this.key);
    this.key = undefined;
  }
}

export const nodeAead: Aead = { importKey: (raw) => new NodeAeadKey(raw) };
