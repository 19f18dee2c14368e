// TrentService.GenerateMac
import { bool, type KmsHandler } from './handler.js';

export const generateMac: KmsHandler = async ({ keys, keyUse }, ctx, input) => {
  const r = await keyUse.generateMac(ctx, {
    keyId: input.KeyId as string,
    message: input.Message as Buffer,
    macAlgorithm: input.MacAlgorithm as string,
    dryRun: bool(input.DryRun),
  });
  return { Mac: r.mac, MacAlgorithm: input.MacAlgorithm, KeyId: keys.arnOf(r.key) };
};
