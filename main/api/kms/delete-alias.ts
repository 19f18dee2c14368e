// TrentService.DeleteAlias
import type { KmsHandler } from './handler.js';

export const deleteAlias: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.deleteAlias(ctx, input.AliasName as string);
  return {};
};
