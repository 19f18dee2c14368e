// TrentService.UpdateAlias
import type { KmsHandler } from './handler.js';

export const updateAlias: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.updateAlias(ctx, input.AliasName as string, input.TargetKeyId as string);
  return {};
};
