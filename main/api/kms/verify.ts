// TrentService.Verify: a signature that does not verify is KMSInvalidSignatureException, never SignatureValid false.
import { bool, str, type KmsHandler } from './handler.js';

export const verify: KmsHandler = async ({ keys, keyUse }, ctx, input) => {
  const r = await keyUse.verify(ctx, {
    keyId: input.KeyId as string,
    message: input.Message as Buffer,
    messageType: str(input.MessageType),
    signature: input.Signature as Buffer,
    signingAlgorithm: input.SigningAlgorithm as string,
    dryRun: bool(input.DryRun),
  });
  return { KeyId: keys.arnOf(r.key), SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
};
