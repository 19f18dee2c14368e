// The values a key's state, origin, spec and usage take (AWS KMS's enums, DESIGN.md "Keys"), for the
// console's filters and the create form. Which usage a spec allows is the appliance's to check: it
// answers a wrong pair with a ValidationException the form shows.

export const KEY_STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'Unavailable', 'Creating', 'Updating', 'PendingReplicaDeletion'] as const;
export const KEY_ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
export const KEY_SPECS = [
  'SYMMETRIC_DEFAULT',
  ...['RSA_2048', 'RSA_3072', 'RSA_4096'],
  ...['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519'],
  ...['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'],
  ...['ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'SM2'],
] as const;
export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;

/** The usage a spec is made with unless the operator picks another. */
export function defaultUsage(spec: string): string {
  if (spec.startsWith('HMAC_')) return 'GENERATE_VERIFY_MAC';
  if (spec.startsWith('ECC_') || spec.startsWith('ML_DSA_')) return 'SIGN_VERIFY';
  return 'ENCRYPT_DECRYPT';
}

export const stateClass = (state: string): string =>
  state === 'Enabled' ? 'badge-ok' : state === 'PendingDeletion' || state === 'Unavailable' ? 'badge-bad' : state === 'PendingImport' ? 'badge-warn' : 'badge-muted';
