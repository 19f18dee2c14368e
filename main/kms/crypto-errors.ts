// The failures a request can cause in main/crypto/asymmetric, mapped to KMS error codes in one place.
import { KmsError } from '../common/errors.js';
import { isAsymmetricInputError, type AsymmetricInputErrorReason } from '../crypto/asymmetric/index.js';
import type { KmsErrorCode } from '../common/errors.js';

const CODE: Record<AsymmetricInputErrorReason, KmsErrorCode> = {
  'unsupported-key-spec': 'InvalidKeyUsage',
  'unsupported-algorithm': 'InvalidKeyUsage',
  'unsupported-message-type': 'Validation',
  'digest-length': 'Validation',
  'message-too-long': 'Validation',
  'bad-public-key': 'Validation',
  'bad-private-key': 'Internal',
  'decrypt-failed': 'InvalidCiphertext',
  'plaintext-too-long': 'Validation',
  'empty-plaintext': 'Validation',
};

function mapped(e: unknown): unknown {
  if (!isAsymmetricInputError(e)) return e;
  const code = CODE[e.reason];
  return new KmsError(code, code === 'Internal' ? 'An internal error occurred in Kura; see its log.' : e.message);
}

/** Runs a primitive and turns its input errors into KmsErrors (their messages carry no key bytes). */
export function withCryptoErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw mapped(e);
  }
}

/** withCryptoErrors for primitives that answer with a promise. */
export async function withCryptoErrorsAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapped(e);
  }
}
