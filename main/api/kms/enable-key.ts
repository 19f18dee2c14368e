// TrentService.EnableKey
import type { KmsHandler } from './handler.js';

export const enableKey: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.enableKey(ctx, input.KeyId as string);
  return {};
};
