// TrentService.UntagResource
import type { KmsHandler } from './handler.js';

export const untagResource: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.untagResource(ctx, input.KeyId as string, input.TagKeys as string[]);
  return {};
};
