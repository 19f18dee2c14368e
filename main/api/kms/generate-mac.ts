// TrentService.GenerateMac
import { bool, type KmsHandler } from './handler.js';

export const generateMac: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.generateMac(ctx, {
    keyId: input.KeyId as string,
    message: input.Message as Buffer,
    macAlgorithm: input.MacAlgorithm as string,
    dryRun: bool(input.DryRun),
  });
  return { Mac: r.mac, MacAlgorithm: input.MacAlgorithm, KeyId: kms.arnOf(r.key) };
};
