// TrentService.ListKeys
import { num, str, type KmsHandler } from './handler.js';

export const listKeys: KmsHandler = async ({ kms }, ctx, input) => {
  const page = await kms.listKeys(ctx, num(input.Limit), str(input.Marker));
  return {
    Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: kms.arnOf(k) })),
    NextMarker: page.nextMarker,
    Truncated: page.nextMarker !== undefined,
  };
};
