// Encryption of secrets at rest (key material, credential secrets) under keys derived from the root key.
// Format of a sealed value: u8 version (1) || 12-byte random IV || AES-256-GCM(ciphertext || tag).
// The AAD binds the value to what it is and whose it is (purpose, key ID, material ID …), so a sealed
// value copied to another row or column does not open.
import { AEAD_IV_BYTES, type AeadKey } from '../crypto/aead.js';
import { randomBytes } from '../crypto/bytes.js';

const FORMAT_V1 = 1;

export function encodeAad(purpose: string, ...parts: string[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of [purpose, ...parts]) {
    const b = Buffer.from(p, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    chunks.push(len, b);
  }
  return Buffer.concat(chunks);
}

export class AtRestSealer {
  constructor(private readonly key: AeadKey) {}

  seal(plaintext: Uint8Array, aad: Uint8Array): Buffer {
    const iv = randomBytes(AEAD_IV_BYTES);
    return Buffer.concat([Buffer.of(FORMAT_V1), iv, this.key.seal(iv, plaintext, aad)]);
  }

  /** Throws AeadAuthenticationError for a value sealed under another root key or for another row. */
  open(sealed: Uint8Array, aad: Uint8Array): Buffer {
    if (sealed.length < 1 + AEAD_IV_BYTES || sealed[0] !== FORMAT_V1) throw new Error('unknown at-rest format');
    return this.key.open(sealed.subarray(1, 1 + AEAD_IV_BYTES), sealed.subarray(1 + AEAD_IV_BYTES), aad);
  }

  /**
   * Seals a secret given as text (a PIN, a secret access key): its UTF-8 bytes are wiped once sealed.
   * The string itself cannot be wiped (SECURITY.md, "What JavaScript cannot wipe").
   */
  sealText(text: string, aad: Uint8Array): Buffer {
    const raw = Buffer.from(text, 'utf8');
    try {
      return this.seal(raw, aad);
    } finally {
      raw.fill(0);
    }
  }

  /** Opens a secret sealed by sealText as a string; the opened bytes are wiped. */
  openText(sealed: Uint8Array, aad: Uint8Array): string {
    const raw = this.open(sealed, aad);
    try {
      return raw.toString('utf8');
    } finally {
      raw.fill(0);
    }
  }
}
