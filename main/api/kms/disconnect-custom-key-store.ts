// TrentService.DisconnectCustomKeyStore
import type { KmsHandler } from './handler.js';

export const disconnectCustomKeyStore: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.disconnectCustomKeyStore(ctx, input.CustomKeyStoreId as string);
  return {};
};
