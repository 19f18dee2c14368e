// Domain records → AWS response shapes. AWS PascalCase starts here.
import type { KeyRecord, KeyService } from '../../kms/key-service.js';

export function keyMetadata(keys: KeyService, k: KeyRecord): Record<string, unknown> {
  return {
    AWSAccountId: k.accountId,
    KeyId: k.keyId,
    Arn: keys.arnOf(k),
    CreationDate: new Date(k.createdAt),
    Enabled: k.state === 'Enabled',
    Description: k.description,
    KeyUsage: k.keyUsage,
    KeyState: k.state,
    DeletionDate: k.deletionAt === null ? undefined : new Date(k.deletionAt),
    Origin: k.origin,
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: k.keySpec,
    KeySpec: k.keySpec,
    EncryptionAlgorithms: k.keyUsage === 'ENCRYPT_DECRYPT' ? ['SYMMETRIC_DEFAULT'] : undefined,
    MultiRegion: false,
    PendingDeletionWindowInDays: k.pendingWindowDays ?? undefined,
    CurrentKeyMaterialId: k.currentMaterialId ?? undefined,
  };
}

export const tagsIn = (tags: unknown): { tagKey: string; tagValue: string }[] =>
  ((tags as { TagKey: string; TagValue: string }[] | undefined) ?? []).map((t) => ({ tagKey: t.TagKey, tagValue: t.TagValue }));
