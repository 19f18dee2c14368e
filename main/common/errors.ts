// The one error type of Kura's domain. Services throw KmsError with a code; each transport maps the
// codes to its wire names in one exhaustive table (main/api/kms/errors.ts for the KMS JSON protocol),
// so a new code does not compile until every transport has mapped it.
// Messages are shown to API callers: they never carry key material, plaintext or secrets.

export const KMS_ERROR_CODES = [
  // request shape
  'Validation',
  'Serialization',
  'UnknownOperation',
  'RequestTooLarge',
  // authentication
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'UnrecognizedClient',
  'InvalidSignature',
  'AccessDenied',
  // appliance state
  'Sealed',
  'NotInitialized',
  'Internal',
  // keys
  'NotFound',
  'AlreadyExists',
  'Disabled',
  'InvalidState',
  'IncorrectKey',
  'InvalidCiphertext',
  'InvalidKeyUsage',
  'InvalidMarker',
  'InvalidArn',
  'InvalidAliasName',
  'InvalidGrantToken',
  'MalformedPolicyDocument',
  'Tag',
  'LimitExceeded',
  'UnsupportedOperation',
  'CustomKeyStoreNotFound',
  'DryRunOperation',
  'KeyUnavailable',
  // Verify and VerifyMac: the signature or MAC does not verify
  'KmsInvalidSignature',
  'KmsInvalidMac',
  // imported key material
  'ExpiredImportToken',
  'InvalidImportToken',
  'IncorrectKeyMaterial',
  // custom key stores (an HSM registered with Kura stands where AWS has a CloudHSM cluster)
  'CustomKeyStoreInvalidState',
  'CustomKeyStoreNameInUse',
  'CustomKeyStoreHasCMKs',
  'CloudHsmClusterNotFound',
  'CloudHsmClusterInUse',
  'CloudHsmClusterNotRelated',
  'CloudHsmClusterInvalidConfiguration',
  'IncorrectTrustAnchor',
  // external key stores (XKS)
  'DependencyTimeout',
  'XksKeyNotFound',
  'XksKeyInvalidConfiguration',
  'XksKeyAlreadyInUse',
  'XksProxyUriInUse',
  'XksProxyUriUnreachable',
  'XksProxyIncorrectAuthenticationCredential',
  'XksProxyInvalidResponse',
  'XksProxyInvalidConfiguration',
] as const;

export type KmsErrorCode = (typeof KMS_ERROR_CODES)[number];

export class KmsError extends Error {
  readonly code: KmsErrorCode;

  constructor(code: KmsErrorCode, message: string) {
    super(message);
    this.name = 'KmsError';
    this.code = code;
  }
}

export const isKmsError = (e: unknown): e is KmsError => e instanceof KmsError;

/** Small factories for the errors raised in many places, so their messages read the same everywhere. */
export const kmsErrors = {
  validation: (message: string) => new KmsError('Validation', message),
  notFound: (message: string) => new KmsError('NotFound', message),
  invalidState: (message: string) => new KmsError('InvalidState', message),
  disabled: (keyArn: string) => new KmsError('Disabled', `${keyArn} is disabled.`),
  pendingDeletion: (keyArn: string) => new KmsError('InvalidState', `${keyArn} is pending deletion.`),
  sealed: () =>
    new KmsError('Sealed', 'Kura is sealed: unseal it with `kura unseal` (a quorum of root key shares) before using keys.'),
  internal: (message = 'An internal error occurred in Kura; see its log.') => new KmsError('Internal', message),
};
