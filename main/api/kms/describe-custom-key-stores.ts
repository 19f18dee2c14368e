// TrentService.DescribeCustomKeyStores
import { num, str, type KmsHandler } from './handler.js';

export const describeCustomKeyStores: KmsHandler = async ({ kms }, ctx, input) => {
  const page = await kms.describeCustomKeyStores(ctx, {
    customKeyStoreId: str(input.CustomKeyStoreId),
    customKeyStoreName: str(input.CustomKeyStoreName),
    limit: num(input.Limit),
    marker: str(input.Marker),
  });
  return {
    CustomKeyStores: page.items.map((c) => ({
      CustomKeyStoreId: c.id,
      CustomKeyStoreName: c.name,
      CustomKeyStoreType: c.type,
      CloudHsmClusterId: c.cloudHsmClusterId,
      TrustAnchorCertificate: c.trustAnchorCertificate,
      XksProxyConfiguration:
        c.xksProxyConfiguration === undefined
          ? undefined
          : {
              Connectivity: c.xksProxyConfiguration.connectivity,
              AccessKeyId: c.xksProxyConfiguration.accessKeyId,
              UriEndpoint: c.xksProxyConfiguration.uriEndpoint,
              UriPath: c.xksProxyConfiguration.uriPath,
            },
      ConnectionState: c.connectionState,
      ConnectionErrorCode: c.connectionErrorCode,
      CreationDate: new Date(c.createdAt),
    })),
    NextMarker: page.nextMarker,
    Truncated: page.nextMarker !== undefined,
  };
};
