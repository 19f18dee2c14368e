// TrentService.DeleteCustomKeyStore
import type { KmsHandler } from './handler.js';

export const deleteCustomKeyStore: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.deleteCustomKeyStore(ctx, input.CustomKeyStoreId as string);
  return {};
};
