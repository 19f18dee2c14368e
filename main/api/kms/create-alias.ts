// TrentService.CreateAlias
import type { KmsHandler } from './handler.js';

export const createAlias: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.createAlias(ctx, input.AliasName as string, input.TargetKeyId as string);
  return {};
};
