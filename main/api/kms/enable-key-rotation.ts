// TrentService.EnableKeyRotation
import { num, type KmsHandler } from './handler.js';

export const enableKeyRotation: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.enableKeyRotation(ctx, input.KeyId as string, num(input.RotationPeriodInDays));
  return {};
};
