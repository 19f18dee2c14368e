// TrentService.Decrypt
import { bool, ctxOf, str, type KmsHandler } from './handler.js';

export const decrypt: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.decrypt(ctx, {
    ciphertextBlob: input.CiphertextBlob as Buffer | undefined,
    encryptionContext: ctxOf(input.EncryptionContext),
    keyId: str(input.KeyId),
    encryptionAlgorithm: str(input.EncryptionAlgorithm),
    dryRun: bool(input.DryRun),
    dryRunModifiers: input.DryRunModifiers as string[] | undefined,
    recipient: input.Recipient,
  });
  return { KeyId: kms.arnOf(r.key), Plaintext: r.plaintext, EncryptionAlgorithm: r.algorithm, KeyMaterialId: r.key.keySpec === 'SYMMETRIC_DEFAULT' ? r.materialId : undefined };
};
