// The checks the crypto routes make on a key before using it, from its GetKeyMetadata description:
// a DISABLED key answers InvalidStateException ("Error codes": the external key is disabled), a key
// whose keyUsage lacks the operation answers InvalidKeyUsageException. Made here, in the routes, so
// that every backend enforces them the same way.
import type { XksBackend, XksKeyDescription, XksKeyUsage } from './backend.js';
import { MAX_CIPHERTEXT_METADATA_BYTES } from './aad.js';
import { unwrap, XksError } from './errors.js';

/** What a route handler needs: the backend, and the store and key the path and credential named. */
export interface XksKeyRouteContext {
  backend: XksBackend;
  storeId: string;
  externalKeyId: string;
}

export async function usableKey(ctx: XksKeyRouteContext, usage: XksKeyUsage): Promise<XksKeyDescription> {
  const key = unwrap(await ctx.backend.metadata(ctx.storeId, ctx.externalKeyId));
  if (key.keyStatus !== 'ENABLED') throw new XksError('InvalidStateException', `The external key ${ctx.externalKeyId} is disabled.`);
  if (!key.keyUsage.includes(usage)) {
    throw new XksError('InvalidKeyUsageException', `The external key ${ctx.externalKeyId} does not allow ${usage}.`);
  }
  if (key.ciphertextMetadata && key.ciphertextMetadata.length > MAX_CIPHERTEXT_METADATA_BYTES) {
    // A backend bug: the spec caps ciphertextMetadata at 20 bytes and KMS rejects longer ones.
    throw new XksError('InternalException', 'The key store returned ciphertext metadata longer than 20 bytes.');
  }
  return key;
}
