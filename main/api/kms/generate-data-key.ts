// TrentService.GenerateDataKey
import { bool, ctxOf, num, str, type KmsHandler } from './handler.js';

export const generateDataKey: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.generateDataKey(ctx, {
    keyId: input.KeyId as string,
    encryptionContext: ctxOf(input.EncryptionContext),
    numberOfBytes: num(input.NumberOfBytes),
    keySpec: str(input.KeySpec),
    dryRun: bool(input.DryRun),
    recipient: input.Recipient,
  });
  return { CiphertextBlob: r.ciphertextBlob, Plaintext: r.plaintext, KeyId: kms.arnOf(r.key), KeyMaterialId: r.materialId };
};
