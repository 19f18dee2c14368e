// TrentService.UntagResource
import type { KmsHandler } from './handler.js';

export const untagResource: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.untagResource(ctx, input.KeyId as string, input.TagKeys as string[]);
  return {};
};
