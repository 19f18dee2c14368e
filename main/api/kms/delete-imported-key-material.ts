// TrentService.DeleteImportedKeyMaterial
import { str, type KmsHandler } from './handler.js';

export const deleteImportedKeyMaterial: KmsHandler = async ({ keys, imports }, ctx, input) => {
  const r = await imports.deleteImportedKeyMaterial(ctx, { keyId: input.KeyId as string, keyMaterialId: str(input.KeyMaterialId) });
  return { KeyId: keys.arnOf(r.key), KeyMaterialId: r.materialId };
};
