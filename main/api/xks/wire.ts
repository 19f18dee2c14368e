// The XKS proxy API's request and response bodies with the spec's own field names (XKS Proxy API
// v1.0.3, "API operations": GetKeyMetadata, Encrypt, Decrypt, GetHealthStatus). Binary fields are
// standard Base64 (RFC 4648 §4) strings on the wire; decode.ts turns requests into the Decoded* forms
// below (bytes), after validating them.

import type { Base64 } from '../http.js';

/**
 * {"name":"base64",…} in the members' order, undefined members left out: the text JSON.stringify gives,
 * without its scan of the values (../http.ts, Base64).
 */
export function base64MembersJson(members: { readonly [name: string]: Base64 | undefined }): string {
  let out = '{';
  for (const name of Object.keys(members)) {
    const value = members[name];
    if (value === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(name)}:"${value}"`;
  }
  return `${out}}`;
}

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
  [member: string]: Base64 | undefined;
  ciphertext: Base64;
  ciphertextMetadata?: Base64;
  initializationVector: Base64;
  authenticationTag: Base64;
  ciphertextDataIntegrityValue?: Base64;
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
  [member: string]: Base64 | undefined;
  plaintext: Base64;
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
