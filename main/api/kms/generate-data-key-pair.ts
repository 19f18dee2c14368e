// TrentService.GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: one handler each, built
// from the same code; the second never puts the private key in plaintext on the wire.
import { bool, ctxOf, type KmsHandler } from './handler.js';

const dataKeyPair =
  (withPlaintext: boolean): KmsHandler =>
  async ({ kms }, ctx, input) => {
    const r = await kms.generateDataKeyPair(
      ctx,
      {
        keyId: input.KeyId as string,
        keyPairSpec: input.KeyPairSpec as string,
        encryptionContext: ctxOf(input.EncryptionContext),
        dryRun: bool(input.DryRun),
        recipient: input.Recipient,
      },
      withPlaintext,
    );
    return {
      PrivateKeyCiphertextBlob: r.privateKeyCiphertextBlob,
      // The WithoutPlaintext response shape has no such member at all.
      ...(withPlaintext ? { PrivateKeyPlaintext: r.privateKeyPlaintext } : {}),
      PublicKey: r.publicKey,
      KeyId: kms.arnOf(r.key),
      KeyPairSpec: input.KeyPairSpec,
      KeyMaterialId: r.materialId,
    };
  };

export const generateDataKeyPair = dataKeyPair(true);
export const generateDataKeyPairWithoutPlaintext = dataKeyPair(false);
