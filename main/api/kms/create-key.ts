// TrentService.CreateKey
import { keyMetadata, tagsIn } from './shapes.js';
import { bool, str, type KmsHandler } from './handler.js';

export const createKey: KmsHandler = async ({ kms }, ctx, input) => {
  const k = await kms.createKey(ctx, {
    description: str(input.Description),
    keyUsage: str(input.KeyUsage),
    keySpec: str(input.KeySpec),
    customerMasterKeySpec: str(input.CustomerMasterKeySpec),
    origin: str(input.Origin),
    policy: str(input.Policy),
    tags: tagsIn(input.Tags),
    customKeyStoreId: str(input.CustomKeyStoreId),
    multiRegion: bool(input.MultiRegion),
    xksKeyId: str(input.XksKeyId),
  });
  return { KeyMetadata: keyMetadata(kms, k, await kms.cloudHsmClusterIdOf(k)) };
};
