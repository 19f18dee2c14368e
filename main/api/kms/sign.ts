// TrentService.Sign
import { bool, str, type KmsHandler } from './handler.js';

export const sign: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.sign(ctx, {
    keyId: input.KeyId as string,
    message: input.Message as Buffer,
    messageType: str(input.MessageType),
    signingAlgorithm: input.SigningAlgorithm as string,
    dryRun: bool(input.DryRun),
  });
  return { KeyId: kms.arnOf(r.key), Signature: r.signature, SigningAlgorithm: input.SigningAlgorithm };
};
