// TrentService.UpdateAlias
import type { KmsHandler } from './handler.js';

export const updateAlias: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.updateAlias(ctx, input.AliasName as string, input.TargetKeyId as string);
  return {};
};
