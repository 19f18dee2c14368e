// The one error type of the asymmetric, HMAC and key agreement primitives. The KMS layer maps each
// reason to the AWS error a request gets (ValidationException, InvalidKeyUsageException,
// InvalidCiphertextException, KMSInvalidSignatureException …); nothing here knows those names.
// Messages name specs, algorithms and lengths, never key bytes, plaintext or signatures.

export const ASYMMETRIC_INPUT_ERROR_REASONS = [
  /** The key spec is not one this module handles (e.g. SYMMETRIC_DEFAULT). */
  'unsupported-key-spec',
  /** The algorithm does not belong to the key spec (e.g. ECDSA_SHA_384 with ECC_NIST_P256). */
  'unsupported-algorithm',
  /** The message type does not fit the algorithm (e.g. DIGEST with ED25519_SHA_512, EXTERNAL_MU with RSA). */
  'unsupported-message-type',
  /** A DIGEST (or EXTERNAL_MU μ) does not have the length the algorithm needs. */
  'digest-length',
  /** A RAW message or a MAC message over 4096 bytes. */
  'message-too-long',
  /** A public key that is not DER SubjectPublicKeyInfo of the spec's type, size or curve, or not on the curve. */
  'bad-public-key',
  /** A private key that is not the spec's PKCS#8 (or raw HMAC) key material. */
  'bad-private-key',
  /** A ciphertext that does not decrypt: wrong key, wrong algorithm, tampered or malformed. */
  'decrypt-failed',
  /** A plaintext over the algorithm's limit for the key size (AWS's table). */
  'plaintext-too-long',
  /** An empty plaintext where the algorithm cannot encrypt one (SM2PKE). */
  'empty-plaintext',
] as const;

export type AsymmetricInputErrorReason = (typeof ASYMMETRIC_INPUT_ERROR_REASONS)[number];

export class AsymmetricInputError extends Error {
  readonly reason: AsymmetricInputErrorReason;

  constructor(reason: AsymmetricInputErrorReason, message: string) {
    super(message);
    this.name = 'AsymmetricInputError';
    this.reason = reason;
  }
}

export const isAsymmetricInputError = (e: unknown): e is AsymmetricInputError => e instanceof AsymmetricInputError;
