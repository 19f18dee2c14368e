// TrentService.DisableKeyRotation
import type { KmsHandler } from './handler.js';

export const disableKeyRotation: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.disableKeyRotation(ctx, input.KeyId as string);
  return {};
};
