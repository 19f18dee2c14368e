// Kura's AEAD port: AES-256-GCM with 96-bit IVs and 128-bit tags (NIST SP 800-38D).
// Callers import a key once and keep the handle; the implementation keeps whatever it derives from
// the key (a key schedule, a copy) and wipes it on destroy(). Kura's implementation is the
// WebAssembly core (./wasm-aead.ts); tests run the same vectors against node:crypto behind this port.

export const AEAD_KEY_BYTES = 32;
export const AEAD_IV_BYTES = 12;
export const AEAD_TAG_BYTES = 16;

export interface AeadKey {
  /** Returns ciphertext || tag. */
  seal(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer;
  /** Takes ciphertext || tag; throws AeadAuthenticationError before returning any plaintext when the tag does not verify. */
  open(iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer;
  /** Wipes the key and anything derived from it; the handle is unusable afterwards. */
  destroy(): void;
}

export interface Aead {
  importKey(raw: Uint8Array): AeadKey;
}

/** The tag did not verify: wrong key, wrong AAD or tampered data. Carries no detail on purpose. */
export class AeadAuthenticationError extends Error {
  constructor() {
    super('AEAD authentication failed');
    this.name = 'AeadAuthenticationError';
  }
}
