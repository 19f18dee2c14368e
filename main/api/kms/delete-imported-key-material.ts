// TrentService.DeleteImportedKeyMaterial
import { str, type KmsHandler } from './handler.js';

export const deleteImportedKeyMaterial: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.deleteImportedKeyMaterial(ctx, { keyId: input.KeyId as string, keyMaterialId: str(input.KeyMaterialId) });
  return { KeyId: kms.arnOf(r.key), KeyMaterialId: r.materialId };
};
