// TrentService.Encrypt
import { bool, ctxOf, str, type KmsHandler } from './handler.js';

export const encrypt: KmsHandler = async ({ keys }, ctx, input) => {
  const r = await keys.encrypt(ctx, {
    keyId: input.KeyId as string,
    plaintext: input.Plaintext as Buffer,
    encryptionContext: ctxOf(input.EncryptionContext),
    encryptionAlgorithm: str(input.EncryptionAlgorithm),
    dryRun: bool(input.DryRun),
  });
  return { CiphertextBlob: r.ciphertextBlob, KeyId: keys.arnOf(r.key), EncryptionAlgorithm: r.algorithm };
};
