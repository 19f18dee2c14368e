// External key stores (EXTERNAL_KEY_STORE): KMS keys bound to external keys behind an XKS proxy. The KMS
// domain uses this file: the XKS client (health checks when connecting) and the store itself.
export { ExternalKeyStore, decodeExternalRef, encodeExternalRef, type ExternalKeyStoreParts } from './external-key-store.js';
export { XksClient, XksProxyError, XKS_TIMEOUT_MS, type XksClientConfig, type XksFailureKind, type XksHealth, type XksRequestMetadata } from './xks-client.js';
