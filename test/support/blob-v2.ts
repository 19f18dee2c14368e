// The per-blob key of a version-2 ciphertext, computed independently of main/crypto/kdf.ts: SP 800-108r1
// §4.1 counter mode with HMAC-SHA256 and one block, written out —
// HMAC-SHA256(material, [1]_32 || "kura/blob/v2" || 0x00 || header || [256]_32).
import { createHmac } from 'node:crypto';

export function derivedKeyOf(material: Buffer, header: Buffer): Buffer {
  return createHmac('sha256', material)
    .update(Buffer.from('00000001', 'hex'))
    .update(Buffer.from('kura/blob/v2', 'ascii'))
    .update(Buffer.of(0))
    .update(header)
    .update(Buffer.from('00000100', 'hex'))
    .digest();
}
