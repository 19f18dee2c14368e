// GetKeyMetadata (XKS Proxy API v1.0.3, "GetKeyMetadata"): POST .../keys/<externalKeyId>/metadata →
// keySpec AES_256, keyUsage (ENCRYPT and/or DECRYPT, at most ten values) and keyStatus. A disabled key
// is described, not refused: KMS reads its status here (CreateKey refuses it, DescribeKey shows it).
import { decodeRequestMetadata } from './decode.js';
import { unwrap, XksError } from './errors.js';
import type { XksKeyRouteContext } from './key-checks.js';
import type { GetKeyMetadataResponse, RequestMetadata } from './wire.js';

const MAX_KEY_USAGES = 10;

export function decodeGetKeyMetadata(body: Record<string, unknown>): { requestMetadata: RequestMetadata } {
  return { requestMetadata: decodeRequestMetadata(body, 'GetKeyMetadata') };
}

export async function getKeyMetadata(ctx: XksKeyRouteContext): Promise<GetKeyMetadataResponse> {
  const key = unwrap(await ctx.backend.metadata(ctx.storeId, ctx.externalKeyId));
  if (key.keyUsage.length > MAX_KEY_USAGES) throw new XksError('InternalException', 'The key store reported more than ten key usages.');
  return { keySpec: key.keySpec, keyUsage: [...key.keyUsage], keyStatus: key.keyStatus };
}
