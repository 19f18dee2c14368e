// TrentService.RotateKeyOnDemand
import type { KmsHandler } from './handler.js';

export const rotateKeyOnDemand: KmsHandler = async ({ keys }, ctx, input) => {
  const k = await keys.rotateKeyOnDemand(ctx, input.KeyId as string);
  return { KeyId: keys.arnOf(k) };
};
