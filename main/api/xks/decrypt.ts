// Decrypt (XKS Proxy API v1.0.3, "Decrypt"): AES-256-GCM decryption under the external key with the
// same cipher AAD as Encrypt (aad.ts), so a modified ciphertext, IV, tag, AAD or ciphertextMetadata
// fails the tag check and answers InvalidCiphertextException.
import { encodeCipherAad } from './aad.js';
import { unwrap, XksError } from './errors.js';
import { usableKey, type XksKeyRouteContext } from './key-checks.js';
import { base64Of } from '../http.js';
import type { DecodedDecrypt, DecryptResponse } from './wire.js';

export { decodeDecrypt } from './decode.js';

export async function decrypt(ctx: XksKeyRouteContext, req: DecodedDecrypt): Promise<DecryptResponse> {
  await usableKey(ctx, 'DECRYPT');
  const aad = encodeCipherAad(req.aad, req.ciphertextMetadata);
  const plaintext = unwrap(
    await ctx.backend.decrypt(ctx.storeId, ctx.externalKeyId, { ciphertext: req.ciphertext, iv: req.iv, tag: req.tag, aad, ciphertextMetadata: req.ciphertextMetadata }),
  );
  try {
    if (plaintext.length !== req.ciphertext.length) throw new XksError('InternalException', 'The key store returned a malformed AES-GCM result.');
    return { plaintext: base64Of(plaintext) };
  } finally {
    plaintext.fill(0);
  }
}
