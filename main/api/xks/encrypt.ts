// Encrypt (XKS Proxy API v1.0.3, "Encrypt" and Appendix C): AES-256-GCM under the external key, the
// cipher AAD being u16be(len AAD) || AAD || u8(len metadata) || metadata (aad.ts). When the request asks
// for a ciphertextDataIntegrityValue, it is computed over the output first and only then is the output
// decrypted back and compared with the plaintext (Appendix C's order: output corrupted after the check
// cannot carry a matching value); a failed check answers InternalException, never a ciphertext.
import { timingSafeEqual } from 'node:crypto';
import { ciphertextDataIntegrityValue, encodeCipherAad } from './aad.js';
import { unwrap, XksError } from './errors.js';
import { usableKey, type XksKeyRouteContext } from './key-checks.js';
import { base64Of } from '../http.js';
import type { DecodedEncrypt, EncryptResponse } from './wire.js';

export { decodeEncrypt } from './decode.js';

export async function encrypt(ctx: XksKeyRouteContext, req: DecodedEncrypt): Promise<EncryptResponse> {
  const key = await usableKey(ctx, 'ENCRYPT');
  const metadata = key.ciphertextMetadata && key.ciphertextMetadata.length > 0 ? Buffer.from(key.ciphertextMetadata) : undefined;
  const aad = encodeCipherAad(req.aad, metadata);
  const sealed = unwrap(await ctx.backend.encrypt(ctx.storeId, ctx.externalKeyId, { plaintext: req.plaintext, aad, ...(metadata ? { ciphertextMetadata: metadata } : {}) }));
  const { ciphertext, iv, tag } = sealed;
  // The backend's output is checked like input: a malformed one must not reach KMS's ciphertext blob.
  if (ciphertext.length !== req.plaintext.length || (iv.length !== 12 && iv.length !== 16) || tag.length !== 16) {
    throw new XksError('InternalException', 'The key store returned a malformed AES-GCM result.');
  }
  const response: EncryptResponse = {
    ciphertext: base64Of(ciphertext),
    initializationVector: base64Of(iv),
    authenticationTag: base64Of(tag),
  };
  if (metadata) response.ciphertextMetadata = base64Of(metadata);
  if (req.wantsCdiv) {
    response.ciphertextDataIntegrityValue = ciphertextDataIntegrityValue({ aad: req.aad, ciphertextMetadata: metadata, iv, ciphertext, tag });
    await verifyDecrypts(ctx, req.plaintext, {
      ciphertext: Buffer.from(response.ciphertext, 'base64'),
      iv: Buffer.from(response.initializationVector, 'base64'),
      tag: Buffer.from(response.authenticationTag, 'base64'),
      aad: encodeCipherAad(req.aad, metadata),
      ciphertextMetadata: metadata,
    });
  }
  return response;
}

/** Decrypts what the response carries (decoded from its Base64) and compares it with the plaintext. */
async function verifyDecrypts(
  ctx: XksKeyRouteContext,
  plaintext: Buffer,
  sealed: { ciphertext: Buffer; iv: Buffer; tag: Buffer; aad: Buffer; ciphertextMetadata: Buffer | undefined },
): Promise<void> {
  const back = await ctx.backend.decrypt(ctx.storeId, ctx.externalKeyId, sealed);
  const same = back.ok && back.value.length === plaintext.length && timingSafeEqual(back.value, plaintext);
  if (back.ok) back.value.fill(0);
  if (!same) throw new XksError('InternalException', 'The ciphertext did not decrypt back to the plaintext; nothing was returned.');
}
