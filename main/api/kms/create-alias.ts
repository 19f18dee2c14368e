// TrentService.CreateAlias
import type { KmsHandler } from './handler.js';

export const createAlias: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.createAlias(ctx, input.AliasName as string, input.TargetKeyId as string);
  return {};
};
