// TrentService.Encrypt
import { bool, ctxOf, str, type KmsHandler } from './handler.js';

export const encrypt: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.encrypt(ctx, {
    keyId: input.KeyId as string,
    plaintext: input.Plaintext as Buffer,
    encryptionContext: ctxOf(input.EncryptionContext),
    encryptionAlgorithm: str(input.EncryptionAlgorithm),
    dryRun: bool(input.DryRun),
  });
  return { CiphertextBlob: r.ciphertextBlob, KeyId: kms.arnOf(r.key), EncryptionAlgorithm: r.algorithm };
};
