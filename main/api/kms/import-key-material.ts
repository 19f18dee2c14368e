// TrentService.ImportKeyMaterial
import { str, type KmsHandler } from './handler.js';

export const importKeyMaterial: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.importKeyMaterial(ctx, {
    keyId: input.KeyId as string,
    importToken: input.ImportToken as Buffer,
    encryptedKeyMaterial: input.EncryptedKeyMaterial as Buffer,
    validTo: input.ValidTo as Date | undefined,
    expirationModel: str(input.ExpirationModel),
    importType: str(input.ImportType),
    keyMaterialDescription: str(input.KeyMaterialDescription),
    keyMaterialId: str(input.KeyMaterialId),
  });
  return { KeyId: kms.arnOf(r.key), KeyMaterialId: r.materialId };
};
