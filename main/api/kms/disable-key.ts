// TrentService.DisableKey
import type { KmsHandler } from './handler.js';

export const disableKey: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.disableKey(ctx, input.KeyId as string);
  return {};
};
