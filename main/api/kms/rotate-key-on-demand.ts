// TrentService.RotateKeyOnDemand
import type { KmsHandler } from './handler.js';

export const rotateKeyOnDemand: KmsHandler = async ({ kms }, ctx, input) => {
  const k = await kms.rotateKeyOnDemand(ctx, input.KeyId as string);
  return { KeyId: kms.arnOf(k) };
};
