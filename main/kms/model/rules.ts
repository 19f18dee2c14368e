// What a key's state, usage, spec and origin allow, in one place: AWS KMS's "Key states of AWS KMS keys"
// table (which operations each state refuses, and with which exception), the key usage and algorithm
// rules of the API reference (Encrypt, Sign, GenerateMac, DeriveSharedSecret, …), and which operations
// only symmetric, generated or imported keys take. Every rule throws the KmsError AWS answers with.
import { KmsError, kmsErrors } from '../../common/errors.js';
import { KEY_SPEC_INFO } from '../../crypto/asymmetric/index.js';
import { keyArn } from '../identifiers.js';
import { KeyState, KeyUsage, Origin, SYMMETRIC_DEFAULT, asymmetricSpecOf, type Key } from './key.js';

export type EncryptionContext = Readonly<Record<string, string>>;

export const arnOf = (k: Pick<Key, 'region' | 'accountId' | 'keyId'>): string => keyArn(k.region, k.accountId, k.keyId);

export function requireNotPendingDeletion(k: Key): void {
  if (k.state === KeyState.PendingDeletion) throw kmsErrors.pendingDeletion(arnOf(k));
}

export function requireNotPendingImport(k: Key): void {
  if (k.state === KeyState.PendingImport) throw kmsErrors.invalidState(`${arnOf(k)} is pending import.`);
}

/** Enabled and not pending anything: what cryptographic operations need. */
export function requireUsable(k: Key): void {
  if (k.state === KeyState.Enabled) return;
  if (k.state === KeyState.Disabled) throw kmsErrors.disabled(arnOf(k));
  if (k.state === KeyState.PendingDeletion) throw kmsErrors.pendingDeletion(arnOf(k));
  throw kmsErrors.invalidState(`${arnOf(k)} is ${k.state}.`);
}

/** Encrypt, Decrypt, ReEncrypt and data keys: ENCRYPT_DECRYPT keys only. */
export function requireEncryptDecrypt(k: Key): void {
  if (k.keyUsage !== KeyUsage.EncryptDecrypt) {
    throw new KmsError('InvalidKeyUsage', `${arnOf(k)} key usage is ${k.keyUsage} which is not valid for this operation.`);
  }
}

/** The key usage an operation of the asymmetric family needs (Sign: SIGN_VERIFY, GenerateMac: GENERATE_VERIFY_MAC …). */
export function requireUsage(k: Key, usage: KeyUsage, operation: string): void {
  if (k.keyUsage !== usage) {
    throw new KmsError('InvalidKeyUsage', `${arnOf(k)} key usage is ${k.keyUsage}, which is not valid for ${operation}.`);
  }
}

/** A signing, MAC or key agreement algorithm the key's spec has. */
export function requireSpecAlgorithm(k: Key, algorithm: string, allowed: readonly string[], what: string): void {
  if (!allowed.includes(algorithm)) {
    throw new KmsError('InvalidKeyUsage', `${what} ${algorithm} is not compatible with ${arnOf(k)} (key spec ${k.keySpec}).`);
  }
}

/** The algorithm lists of a key's spec (empty for SYMMETRIC_DEFAULT, which has only its own). */
export function specAlgorithms(k: Key): { signing: readonly string[]; encryption: readonly string[]; mac: readonly string[]; keyAgreement: readonly string[] } {
  const spec = asymmetricSpecOf(k);
  if (spec === undefined) return { signing: [], encryption: [SYMMETRIC_DEFAULT], mac: [], keyAgreement: [] };
  const info = KEY_SPEC_INFO[spec];
  return { signing: info.signingAlgorithms, encryption: info.encryptionAlgorithms, mac: info.macAlgorithms, keyAgreement: info.keyAgreementAlgorithms };
}

/**
 * The encryption algorithm a request may use with a key: SYMMETRIC_DEFAULT (the default) for
 * symmetric keys; one of the spec's algorithms, which the caller must name, for RSA and SM2 keys.
 */
export function requireEncryptionAlgorithm(k: Key, algorithm: string | undefined): string {
  if (k.keySpec === SYMMETRIC_DEFAULT) {
    if (algorithm !== undefined && algorithm !== SYMMETRIC_DEFAULT) {
      throw new KmsError('InvalidKeyUsage', `The encryption algorithm ${algorithm} is not compatible with the key spec ${k.keySpec} of ${arnOf(k)}.`);
    }
    return SYMMETRIC_DEFAULT;
  }
  const allowed = specAlgorithms(k).encryption;
  if (algorithm === undefined || !allowed.includes(algorithm)) {
    throw new KmsError(
      'InvalidKeyUsage',
      `${arnOf(k)} has key spec ${k.keySpec}: name its encryption algorithm (${allowed.join(', ')})${algorithm ? `, not ${algorithm}` : ''}.`,
    );
  }
  return algorithm;
}

/** Symmetric-only operations (data keys, rotation) on another spec: InvalidKeyUsage or Unsupported, as AWS answers. */
export function requireSymmetric(k: Key, operation: string, code: 'InvalidKeyUsage' | 'UnsupportedOperation' = 'InvalidKeyUsage'): void {
  if (k.keySpec !== SYMMETRIC_DEFAULT) throw new KmsError(code, `${operation} is not valid for ${arnOf(k)}, whose key spec is ${k.keySpec}.`);
}

/** Automatic rotation: keys whose material Kura generated. */
export function requireGenerated(k: Key, operation: string): void {
  if (k.origin !== Origin.AwsKms) throw new KmsError('UnsupportedOperation', `${operation} is not supported for ${arnOf(k)}, whose origin is ${k.origin}.`);
}

/** The import workflow: keys made with Origin EXTERNAL, and not while they wait for deletion. */
export function requireImportable(k: Key, operation: string): void {
  if (k.origin !== Origin.External) {
    throw new KmsError('UnsupportedOperation', `${operation} is valid only for keys with Origin EXTERNAL; ${arnOf(k)} has ${k.origin}.`);
  }
  requireNotPendingDeletion(k);
}

/** For an asymmetric Encrypt/Decrypt: AWS binds no encryption context to RSA or SM2 ciphertexts. */
export function requireNoContext(k: Key, context: EncryptionContext | undefined): void {
  if (k.keySpec !== SYMMETRIC_DEFAULT && context && Object.keys(context).length > 0) {
    throw kmsErrors.validation(`EncryptionContext is not supported for asymmetric KMS keys (key spec ${k.keySpec}).`);
  }
}
