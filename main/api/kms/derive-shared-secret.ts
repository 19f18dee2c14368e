// TrentService.DeriveSharedSecret
import { bool, type KmsHandler } from './handler.js';

export const deriveSharedSecret: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.deriveSharedSecret(ctx, {
    keyId: input.KeyId as string,
    keyAgreementAlgorithm: input.KeyAgreementAlgorithm as string,
    publicKey: input.PublicKey as Buffer,
    dryRun: bool(input.DryRun),
    recipient: input.Recipient,
  });
  return { KeyId: kms.arnOf(r.key), SharedSecret: r.sharedSecret, KeyAgreementAlgorithm: input.KeyAgreementAlgorithm, KeyOrigin: r.key.origin };
};
