// TrentService.CreateCustomKeyStore
import type { XksProxySettingsInput } from '../../kms/index.js';
import { str, type KmsHandler, type KmsInput } from './handler.js';

/** The XksProxy* members of a request (CreateCustomKeyStore, UpdateCustomKeyStore). */
export function xksSettingsIn(input: KmsInput): XksProxySettingsInput {
  const c = input.XksProxyAuthenticationCredential as { AccessKeyId: string; RawSecretAccessKey: string } | undefined;
  return {
    xksProxyUriEndpoint: str(input.XksProxyUriEndpoint),
    xksProxyUriPath: str(input.XksProxyUriPath),
    xksProxyVpcEndpointServiceName: str(input.XksProxyVpcEndpointServiceName),
    xksProxyAuthenticationCredential: c === undefined ? undefined : { accessKeyId: c.AccessKeyId, rawSecretAccessKey: c.RawSecretAccessKey },
    xksProxyConnectivity: str(input.XksProxyConnectivity),
  };
}

export const createCustomKeyStore: KmsHandler = async ({ kms }, ctx, input) => ({
  CustomKeyStoreId: await kms.createCustomKeyStore(ctx, {
    customKeyStoreName: input.CustomKeyStoreName as string,
    customKeyStoreType: str(input.CustomKeyStoreType),
    cloudHsmClusterId: str(input.CloudHsmClusterId),
    trustAnchorCertificate: str(input.TrustAnchorCertificate),
    keyStorePassword: str(input.KeyStorePassword),
    ...xksSettingsIn(input),
  }),
});
