// TrentService.VerifyMac: a MAC that does not verify is KMSInvalidMacException, never MacValid false.
import { bool, type KmsHandler } from './handler.js';

export const verifyMac: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.verifyMac(ctx, {
    keyId: input.KeyId as string,
    message: input.Message as Buffer,
    macAlgorithm: input.MacAlgorithm as string,
    mac: input.Mac as Buffer,
    dryRun: bool(input.DryRun),
  });
  return { KeyId: kms.arnOf(r.key), MacValid: true, MacAlgorithm: input.MacAlgorithm };
};
