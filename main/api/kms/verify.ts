// TrentService.Verify: a signature that does not verify is KMSInvalidSignatureException, never SignatureValid false.
import { bool, str, type KmsHandler } from './handler.js';

export const verify: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.verify(ctx, {
    keyId: input.KeyId as string,
    message: input.Message as Buffer,
    messageType: str(input.MessageType),
    signature: input.Signature as Buffer,
    signingAlgorithm: input.SigningAlgorithm as string,
    dryRun: bool(input.DryRun),
  });
  return { KeyId: kms.arnOf(r.key), SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
};
