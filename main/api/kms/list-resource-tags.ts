// TrentService.ListResourceTags
import { num, str, type KmsHandler } from './handler.js';

export const listResourceTags: KmsHandler = async ({ kms }, ctx, input) => {
  const page = await kms.listResourceTags(ctx, input.KeyId as string, num(input.Limit), str(input.Marker));
  return {
    Tags: page.items.map((t) => ({ TagKey: t.tagKey, TagValue: t.tagValue })),
    NextMarker: page.nextMarker,
    Truncated: page.nextMarker !== undefined,
  };
};
