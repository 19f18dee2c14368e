// TrentService.GenerateDataKeyPair
import { bool, ctxOf, type KmsHandler } from './handler.js';

export const generateDataKeyPair: KmsHandler = async ({ keys, keyUse }, ctx, input) => {
  const r = await keyUse.generateDataKeyPair(
    ctx,
    {
      keyId: input.KeyId as string,
      keyPairSpec: input.KeyPairSpec as string,
      encryptionContext: ctxOf(input.EncryptionContext),
      dryRun: bool(input.DryRun),
      recipient: input.Recipient,
    },
    true,
  );
  return {
    PrivateKeyCiphertextBlob: r.privateKeyCiphertextBlob,
    PrivateKeyPlaintext: r.privateKeyPlaintext,
    PublicKey: r.publicKey,
    KeyId: keys.arnOf(r.key),
    KeyPairSpec: input.KeyPairSpec,
    KeyMaterialId: r.materialId,
  };
};
