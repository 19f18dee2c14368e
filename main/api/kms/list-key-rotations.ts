// TrentService.ListKeyRotations
import { num, str, type KmsHandler } from './handler.js';

export const listKeyRotations: KmsHandler = async ({ kms }, ctx, input) => {
  const { key, page } = await kms.listKeyRotations(ctx, input.KeyId as string, str(input.IncludeKeyMaterial), num(input.Limit), str(input.Marker));
  return {
    Rotations: page.items.map((m) => ({
      KeyId: key.keyId,
      KeyMaterialId: m.materialId,
      KeyMaterialDescription: m.description ?? undefined,
      ImportState: m.importState ?? undefined,
      KeyMaterialState: m.pendingRotation ? 'PENDING_ROTATION' : m.materialId === key.currentMaterialId ? 'CURRENT' : 'NON_CURRENT',
      ExpirationModel: m.expirationModel ?? undefined,
      ValidTo: m.validTo === null ? undefined : new Date(m.validTo),
      RotationDate: m.rotationType === null ? undefined : new Date(m.rotatedAt ?? m.createdAt),
      RotationType: m.rotationType ?? undefined,
    })),
    NextMarker: page.nextMarker,
    Truncated: page.nextMarker !== undefined,
  };
};
