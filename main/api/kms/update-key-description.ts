// TrentService.UpdateKeyDescription
import type { KmsHandler } from './handler.js';

export const updateKeyDescription: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.updateKeyDescription(ctx, input.KeyId as string, input.Description as string);
  return {};
};
