// Kura's key-wrap port: AES-256 key wrap, RFC 3394 (KW, NIST SP 800-38F "KW") and RFC 5649 (with
// padding, SP 800-38F "KWP"). Used for BYOK, HSM exports and backups. It runs on the WebAssembly
// core, never on OpenSSL's wrap ciphers: Electron's BoringSSL has none.

export const KEY_WRAP_KEK_BYTES = 32;

export interface KeyWrapOptions {
  /** true: RFC 5649 (any length >= 1 byte); false: RFC 3394 (a multiple of 8 bytes, at least 16). */
  padding: boolean;
}

export interface KeyWrap {
  /** Wraps keyData under the 32-byte key-encryption key. */
  wrapKey(kek: Uint8Array, keyData: Uint8Array, options: KeyWrapOptions): Buffer;
  /** Unwraps; throws KeyWrapIntegrityError when the wrapped key is not authentic (or cannot be a wrapped key at all). */
  unwrapKey(kek: Uint8Array, wrapped: Uint8Array, options: KeyWrapOptions): Buffer;
}

/** Unwrapping failed its integrity check: wrong KEK, wrong mode, truncated or tampered data. Carries no detail on purpose. */
export class KeyWrapIntegrityError extends Error {
  constructor() {
    super('AES key unwrap failed its integrity check');
    this.name = 'KeyWrapIntegrityError';
  }
}
