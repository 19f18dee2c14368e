// TrentService.CancelKeyDeletion
import type { KmsHandler } from './handler.js';

export const cancelKeyDeletion: KmsHandler = async ({ keys }, ctx, input) => {
  const k = await keys.cancelKeyDeletion(ctx, input.KeyId as string);
  return { KeyId: keys.arnOf(k) };
};
