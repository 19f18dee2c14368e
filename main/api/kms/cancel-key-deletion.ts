// TrentService.CancelKeyDeletion
import type { KmsHandler } from './handler.js';

export const cancelKeyDeletion: KmsHandler = async ({ kms }, ctx, input) => {
  const k = await kms.cancelKeyDeletion(ctx, input.KeyId as string);
  return { KeyId: kms.arnOf(k) };
};
