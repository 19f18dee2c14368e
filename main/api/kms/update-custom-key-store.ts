// TrentService.UpdateCustomKeyStore
import { xksSettingsIn } from './create-custom-key-store.js';
import { str, type KmsHandler } from './handler.js';

export const updateCustomKeyStore: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.updateCustomKeyStore(ctx, {
    customKeyStoreId: input.CustomKeyStoreId as string,
    newCustomKeyStoreName: str(input.NewCustomKeyStoreName),
    keyStorePassword: str(input.KeyStorePassword),
    cloudHsmClusterId: str(input.CloudHsmClusterId),
    ...xksSettingsIn(input),
  });
  return {};
};
