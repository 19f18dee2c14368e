// The XKS proxy API's request and response bodies with the spec's own field names (XKS Proxy API
// v1.0.3, "API operations": GetKeyMetadata, Encrypt, Decrypt, GetHealthStatus). Binary fields are
// standard Base64 (RFC 4648 §4) strings on the wire; decode.ts turns requests into the Decoded* forms
// below (bytes), after validating them.

/** requestMetadata: which members each route requires is in decode.ts (REQUIRED_METADATA). */
export interface RequestMetadata {
  awsPrincipalArn?: string;
  awsSourceVpc?: string;
  awsSourceVpce?: string;
  kmsKeyArn?: string;
  /** Any value: a proxy must not refuse a kmsOperation the spec does not list. */
  kmsOperation: string;
  /** Opaque: never validated beyond being a string. */
  kmsRequestId: string;
  kmsViaService?: string;
}

export interface GetKeyMetadataRequest {
  requestMetadata: RequestMetadata;
}

export interface GetKeyMetadataResponse {
  keySpec: 'AES_256';
  keyUsage: string[];
  keyStatus: 'ENABLED' | 'DISABLED';
}

export interface EncryptRequest {
  requestMetadata: RequestMetadata;
  plaintext: string;
  encryptionAlgorithm: 'AES_GCM';
  additionalAuthenticatedData?: string;
  ciphertextDataIntegrityValueAlgorithm?: 'SHA_256';
}

export interface EncryptResponse {
  ciphertext: string;
  ciphertextMetadata?: string;
  initializationVector: string;
  authenticationTag: string;
  ciphertextDataIntegrityValue?: string;
}

export interface DecryptRequest {
  requestMetadata: RequestMetadata;
  ciphertext: string;
  ciphertextMetadata?: string;
  encryptionAlgorithm: 'AES_GCM';
  additionalAuthenticatedData?: string;
  initializationVector: string;
  authenticationTag: string;
}

export interface DecryptResponse {
  plaintext: string;
}

export interface GetHealthStatusRequest {
  requestMetadata: RequestMetadata;
}

export interface GetHealthStatusResponse {
  xksProxyFleetSize: number;
  xksProxyVendor: string;
  xksProxyModel: string;
  ekmVendor: string;
  ekmFleetDetails: { id: string; model: string; healthStatus: 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE' }[];
}

export interface ErrorResponse {
  errorName: string;
  errorMessage?: string;
}

// ---- decoded requests (what the routes work on) -----------------------------------------------------

export interface DecodedEncrypt {
  requestMetadata: RequestMetadata;
  plaintext: Buffer;
  /** undefined when the request had no additionalAuthenticatedData. */
  aad: Buffer | undefined;
  /** The request asked for a ciphertextDataIntegrityValue (SHA_256). */
  wantsCdiv: boolean;
}

export interface DecodedDecrypt {
  requestMetadata: RequestMetadata;
  ciphertext: Buffer;
  ciphertextMetadata: Buffer | undefined;
  aad: Buffer | undefined;
  iv: Buffer;
  tag: Buffer;
}
