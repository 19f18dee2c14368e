// TrentService.CreateCustomKeyStore
import { str, type KmsHandler, type KmsInput } from './handler.js';

/** Whether a request names any member of an external key store's settings. */
export const namesXks = (input: KmsInput): boolean => Object.keys(input).some((k) => k.startsWith('Xks') && input[k] !== undefined);

export const createCustomKeyStore: KmsHandler = async ({ kms }, ctx, input) => ({
  CustomKeyStoreId: await kms.createCustomKeyStore(ctx, {
    customKeyStoreName: input.CustomKeyStoreName as string,
    customKeyStoreType: str(input.CustomKeyStoreType),
    cloudHsmClusterId: str(input.CloudHsmClusterId),
    trustAnchorCertificate: str(input.TrustAnchorCertificate),
    keyStorePassword: str(input.KeyStorePassword),
    xks: namesXks(input),
  }),
});
