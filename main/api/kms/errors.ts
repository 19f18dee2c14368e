// KmsError codes → AWS JSON 1.1 error names and HTTP statuses, in one exhaustive table: a code added
// to main/common/errors.ts does not compile until it is mapped here.
import type { KmsErrorCode } from '../../common/errors.js';

export const KMS_WIRE_ERRORS: Record<KmsErrorCode, { name: string; status: number }> = {
  Validation: { name: 'ValidationException', status: 400 },
  Serialization: { name: 'SerializationException', status: 400 },
  UnknownOperation: { name: 'UnknownOperationException', status: 400 },
  RequestTooLarge: { name: 'RequestEntityTooLargeException', status: 413 },
  MissingAuthenticationToken: { name: 'MissingAuthenticationTokenException', status: 400 },
  IncompleteSignature: { name: 'IncompleteSignatureException', status: 400 },
  UnrecognizedClient: { name: 'UnrecognizedClientException', status: 400 },
  InvalidSignature: { name: 'InvalidSignatureException', status: 400 },
  AccessDenied: { name: 'AccessDeniedException', status: 400 },
  // Sealed is a state of the whole appliance, not of a key: 503, which clients treat as "try later".
  Sealed: { name: 'ServiceUnavailableException', status: 503 },
  NotInitialized: { name: 'ServiceUnavailableException', status: 503 },
  Internal: { name: 'KMSInternalException', status: 500 },
  NotFound: { name: 'NotFoundException', status: 400 },
  AlreadyExists: { name: 'AlreadyExistsException', status: 400 },
  Disabled: { name: 'DisabledException', status: 400 },
  InvalidState: { name: 'KMSInvalidStateException', status: 400 },
  IncorrectKey: { name: 'IncorrectKeyException', status: 400 },
  InvalidCiphertext: { name: 'InvalidCiphertextException', status: 400 },
  InvalidKeyUsage: { name: 'InvalidKeyUsageException', status: 400 },
  InvalidMarker: { name: 'InvalidMarkerException', status: 400 },
  InvalidArn: { name: 'InvalidArnException', status: 400 },
  InvalidAliasName: { name: 'InvalidAliasNameException', status: 400 },
  InvalidGrantToken: { name: 'InvalidGrantTokenException', status: 400 },
  MalformedPolicyDocument: { name: 'MalformedPolicyDocumentException', status: 400 },
  Tag: { name: 'TagException', status: 400 },
  LimitExceeded: { name: 'LimitExceededException', status: 400 },
  UnsupportedOperation: { name: 'UnsupportedOperationException', status: 400 },
  CustomKeyStoreNotFound: { name: 'CustomKeyStoreNotFoundException', status: 400 },
  DryRunOperation: { name: 'DryRunOperationException', status: 412 },
  KeyUnavailable: { name: 'KeyUnavailableException', status: 500 },
  KmsInvalidSignature: { name: 'KMSInvalidSignatureException', status: 400 },
  KmsInvalidMac: { name: 'KMSInvalidMacException', status: 400 },
  ExpiredImportToken: { name: 'ExpiredImportTokenException', status: 400 },
  InvalidImportToken: { name: 'InvalidImportTokenException', status: 400 },
  IncorrectKeyMaterial: { name: 'IncorrectKeyMaterialException', status: 400 },
  CustomKeyStoreInvalidState: { name: 'CustomKeyStoreInvalidStateException', status: 400 },
  CustomKeyStoreNameInUse: { name: 'CustomKeyStoreNameInUseException', status: 400 },
  CustomKeyStoreHasCMKs: { name: 'CustomKeyStoreHasCMKsException', status: 400 },
  CloudHsmClusterNotFound: { name: 'CloudHsmClusterNotFoundException', status: 400 },
  CloudHsmClusterInUse: { name: 'CloudHsmClusterInUseException', status: 400 },
  CloudHsmClusterNotRelated: { name: 'CloudHsmClusterNotRelatedException', status: 400 },
  CloudHsmClusterInvalidConfiguration: { name: 'CloudHsmClusterInvalidConfigurationException', status: 400 },
  IncorrectTrustAnchor: { name: 'IncorrectTrustAnchorException', status: 400 },
  DependencyTimeout: { name: 'DependencyTimeoutException', status: 503 },
  XksKeyNotFound: { name: 'XksKeyNotFoundException', status: 400 },
  XksKeyInvalidConfiguration: { name: 'XksKeyInvalidConfigurationException', status: 400 },
  XksKeyAlreadyInUse: { name: 'XksKeyAlreadyInUseException', status: 400 },
  XksProxyUriInUse: { name: 'XksProxyUriInUseException', status: 400 },
  XksProxyUriUnreachable: { name: 'XksProxyUriUnreachableException', status: 400 },
  XksProxyIncorrectAuthenticationCredential: { name: 'XksProxyIncorrectAuthenticationCredentialException', status: 400 },
  XksProxyInvalidResponse: { name: 'XksProxyInvalidResponseException', status: 400 },
  XksProxyInvalidConfiguration: { name: 'XksProxyInvalidConfigurationException', status: 400 },
};

/** An error answer in the AWS JSON 1.1 shape (`__type` and `message`, and the x-amzn-errortype header). */
export function kmsErrorResponse(
  status: number,
  name: string,
  message: string,
  requestId?: string,
): { status: number; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': name };
  if (requestId) headers['x-amzn-requestid'] = requestId;
  return { status, headers, body: JSON.stringify({ __type: name, message }) };
}
