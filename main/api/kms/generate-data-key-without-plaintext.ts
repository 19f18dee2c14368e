// TrentService.GenerateDataKeyWithoutPlaintext
import { bool, ctxOf, num, str, type KmsHandler } from './handler.js';

export const generateDataKeyWithoutPlaintext: KmsHandler = async ({ keys }, ctx, input) => {
  const r = await keys.generateDataKey(ctx, {
    keyId: input.KeyId as string,
    encryptionContext: ctxOf(input.EncryptionContext),
    numberOfBytes: num(input.NumberOfBytes),
    keySpec: str(input.KeySpec),
    dryRun: bool(input.DryRun),
  });
  r.plaintext.fill(0);
  return { CiphertextBlob: r.ciphertextBlob, KeyId: keys.arnOf(r.key), KeyMaterialId: r.materialId };
};
