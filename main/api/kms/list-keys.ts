// TrentService.ListKeys
import { num, str, type KmsHandler } from './handler.js';

export const listKeys: KmsHandler = async ({ keys }, ctx, input) => {
  const page = await keys.listKeys(ctx, num(input.Limit), str(input.Marker));
  return {
    Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: keys.arnOf(k) })),
    NextMarker: page.nextMarker,
    Truncated: page.nextMarker !== undefined,
  };
};
