// TrentService.DisableKey
import type { KmsHandler } from './handler.js';

export const disableKey: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.disableKey(ctx, input.KeyId as string);
  return {};
};
