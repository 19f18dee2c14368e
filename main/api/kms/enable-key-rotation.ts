// TrentService.EnableKeyRotation
import { num, type KmsHandler } from './handler.js';

export const enableKeyRotation: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.enableKeyRotation(ctx, input.KeyId as string, num(input.RotationPeriodInDays));
  return {};
};
