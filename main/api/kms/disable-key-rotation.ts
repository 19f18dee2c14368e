// TrentService.DisableKeyRotation
import type { KmsHandler } from './handler.js';

export const disableKeyRotation: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.disableKeyRotation(ctx, input.KeyId as string);
  return {};
};
