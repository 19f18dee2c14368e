// TrentService.GenerateDataKeyPairWithoutPlaintext
import { bool, ctxOf, type KmsHandler } from './handler.js';

export const generateDataKeyPairWithoutPlaintext: KmsHandler = async ({ keys, keyUse }, ctx, input) => {
  const r = await keyUse.generateDataKeyPair(
    ctx,
    {
      keyId: input.KeyId as string,
      keyPairSpec: input.KeyPairSpec as string,
      encryptionContext: ctxOf(input.EncryptionContext),
      dryRun: bool(input.DryRun),
    },
    false,
  );
  return {
    PrivateKeyCiphertextBlob: r.privateKeyCiphertextBlob,
    PublicKey: r.publicKey,
    KeyId: keys.arnOf(r.key),
    KeyPairSpec: input.KeyPairSpec,
    KeyMaterialId: r.materialId,
  };
};
