// TrentService.DeleteAlias
import type { KmsHandler } from './handler.js';

export const deleteAlias: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.deleteAlias(ctx, input.AliasName as string);
  return {};
};
