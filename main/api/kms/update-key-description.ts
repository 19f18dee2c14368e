// TrentService.UpdateKeyDescription
import type { KmsHandler } from './handler.js';

export const updateKeyDescription: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.updateKeyDescription(ctx, input.KeyId as string, input.Description as string);
  return {};
};
