// TrentService.VerifyMac: a MAC that does not verify is KMSInvalidMacException, never MacValid false.
import { bool, type KmsHandler } from './handler.js';

export const verifyMac: KmsHandler = async ({ keys, keyUse }, ctx, input) => {
  const r = await keyUse.verifyMac(ctx, {
    keyId: input.KeyId as string,
    message: input.Message as Buffer,
    macAlgorithm: input.MacAlgorithm as string,
    mac: input.Mac as Buffer,
    dryRun: bool(input.DryRun),
  });
  return { KeyId: keys.arnOf(r.key), MacValid: true, MacAlgorithm: input.MacAlgorithm };
};
