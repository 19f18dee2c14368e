// TrentService.GetPublicKey
import { customerMasterKeySpecOf, keyAlgorithms } from './shapes.js';
import type { KmsHandler } from './handler.js';

export const getPublicKey: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.getPublicKey(ctx, input.KeyId as string);
  const { EncryptionAlgorithms, SigningAlgorithms, KeyAgreementAlgorithms } = keyAlgorithms(r.key);
  return {
    KeyId: kms.arnOf(r.key),
    PublicKey: Buffer.from(r.publicKey),
    CustomerMasterKeySpec: customerMasterKeySpecOf(r.key.keySpec),
    KeySpec: r.key.keySpec,
    KeyUsage: r.key.keyUsage,
    EncryptionAlgorithms,
    SigningAlgorithms,
    KeyAgreementAlgorithms,
  };
};
