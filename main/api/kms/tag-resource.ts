// TrentService.TagResource
import { tagsIn } from './shapes.js';
import type { KmsHandler } from './handler.js';

export const tagResource: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.tagResource(ctx, input.KeyId as string, tagsIn(input.Tags));
  return {};
};
