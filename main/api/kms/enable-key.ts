// TrentService.EnableKey
import type { KmsHandler } from './handler.js';

export const enableKey: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.enableKey(ctx, input.KeyId as string);
  return {};
};
