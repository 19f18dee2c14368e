// Operations that use asymmetric, HMAC and key agreement keys, and data key pairs: Sign, Verify,
// GetPublicKey, GenerateMac, VerifyMac, DeriveSharedSecret, GenerateDataKeyPair(WithoutPlaintext).
// Key resolution, states and material come from the KeyService; the cryptography from
// main/crypto/asymmetric, whose input errors map to AWS's errors in crypto-errors.ts.
import { KmsError, kmsErrors } from '../common/errors.js';
import {
  deriveSharedSecret,
  generateKeyMaterialAsync,
  generateMac,
  isDataKeyPairSpec,
  KEY_SPEC_INFO,
  sign,
  signAsync,
  verify,
  verifyMac,
  type KeySpec,
  type MacAlgorithm,
  type MessageType,
  type SigningAlgorithm,
} from '../crypto/asymmetric/index.js';
import { zeroize } from '../crypto/bytes.js';
import { withCryptoErrors, withCryptoErrorsAsync } from './crypto-errors.js';
import type { CallContext, EncryptionContext, KeyRecord, KeyService } from './key-service.js';

const dryRun = () => new KmsError('DryRunOperation', 'The request would have succeeded, but the DryRun option is set.');

export class KeyUseService {
  constructor(private readonly deps: { keys: KeyService }) {}

  private usage(k: KeyRecord, usage: string, operation: string): void {
    if (k.keyUsage !== usage) {
      throw new KmsError('InvalidKeyUsage', `${this.deps.keys.arnOf(k)} key usage is ${k.keyUsage}, which is not valid for ${operation}.`);
    }
  }

  private algorithm(k: KeyRecord, algorithm: string, allowed: readonly string[], what: string): void {
    if (!allowed.includes(algorithm)) {
      throw new KmsError('InvalidKeyUsage', `${what} ${algorithm} is not compatible with ${this.deps.keys.arnOf(k)} (key spec ${k.keySpec}).`);
    }
  }

  private async signingKey(ctx: CallContext, input: { keyId: string; signingAlgorithm: string }, operation: string) {
    const k = await this.deps.keys.resolveUsable(ctx, input.keyId);
    this.usage(k, 'SIGN_VERIFY', operation);
    this.algorithm(k, input.signingAlgorithm, KEY_SPEC_INFO[k.keySpec as KeySpec].signingAlgorithms, 'Signing algorithm');
    return k;
  }

  async sign(
    ctx: CallContext,
    input: { keyId: string; message: Buffer; messageType?: string; signingAlgorithm: string; dryRun?: boolean },
  ): Promise<{ key: KeyRecord; signature: Buffer }> {
    const k = await this.signingKey(ctx, input, 'Sign');
    const spec = k.keySpec as KeySpec;
    const messageType = (input.messageType ?? 'RAW') as MessageType;
    if (input.dryRun) throw dryRun();
    const material = await this.deps.keys.currentMaterial(k);
    const privateKey = this.deps.keys.privateKeyOf(k, material);
    const algorithm = input.signingAlgorithm as SigningAlgorithm;
    // Signing keys are parsed handles (HMAC keys cannot sign); RSA signs on the thread pool.
    const signature = Buffer.isBuffer(privateKey)
      ? withCryptoErrors(() => sign(spec, privateKey, algorithm, input.message, messageType))
      : await withCryptoErrorsAsync(() => signAsync(privateKey, algorithm, input.message, messageType));
    return { key: k, signature };
  }

  async verify(
    ctx: CallContext,
    input: { keyId: string; message: Buffer; messageType?: string; signature: Buffer; signingAlgorithm: string; dryRun?: boolean },
  ): Promise<{ key: KeyRecord }> {
    const k = await this.signingKey(ctx, input, 'Verify');
    const messageType = (input.messageType ?? 'RAW') as MessageType;
    if (input.dryRun) throw dryRun();
    const material = await this.deps.keys.currentMaterial(k);
    const valid = withCryptoErrors(() =>
      verify(k.keySpec as KeySpec, this.deps.keys.publicKeyOf(k, material), input.signingAlgorithm as SigningAlgorithm, input.message, messageType, input.signature),
    );
    if (!valid) throw new KmsError('KmsInvalidSignature', 'The signature does not verify with this key, algorithm and message.');
    return { key: k };
  }

  /** The public key (DER SubjectPublicKeyInfo) of an RSA, ECC, ML-DSA or SM2 key that is usable. */
  async getPublicKey(ctx: CallContext, keyRef: string): Promise<{ key: KeyRecord; publicKey: Buffer }> {
    const k = await this.deps.keys.resolveUsable(ctx, keyRef);
    const material = await this.deps.keys.currentMaterial(k);
    if (!material.publicKey) {
      throw new KmsError('UnsupportedOperation', `${this.deps.keys.arnOf(k)} is a ${k.keySpec} key, which has no public key.`);
    }
    return { key: k, publicKey: material.publicKey };
  }

  private async macKey(ctx: CallContext, keyRef: string, algorithm: string, operation: string): Promise<KeyRecord> {
    const k = await this.deps.keys.resolveUsable(ctx, keyRef);
    this.usage(k, 'GENERATE_VERIFY_MAC', operation);
    this.algorithm(k, algorithm, KEY_SPEC_INFO[k.keySpec as KeySpec].macAlgorithms, 'MAC algorithm');
    return k;
  }

  async generateMac(ctx: CallContext, input: { keyId: string; message: Buffer; macAlgorithm: string; dryRun?: boolean }): Promise<{ key: KeyRecord; mac: Buffer }> {
    const k = await this.macKey(ctx, input.keyId, input.macAlgorithm, 'GenerateMac');
    if (input.dryRun) throw dryRun();
    const material = await this.deps.keys.currentMaterial(k);
    const key = this.deps.keys.privateKeyOf(k, material) as Buffer; // HMAC material is raw bytes
    return { key: k, mac: withCryptoErrors(() => generateMac(k.keySpec as KeySpec, key, input.macAlgorithm as MacAlgorithm, input.message)) };
  }

  async verifyMac(ctx: CallContext, input: { keyId: string; message: Buffer; macAlgorithm: string; mac: Buffer; dryRun?: boolean }): Promise<{ key: KeyRecord }> {
    const k = await this.macKey(ctx, input.keyId, input.macAlgorithm, 'VerifyMac');
    if (input.dryRun) throw dryRun();
    const material = await this.deps.keys.currentMaterial(k);
    const key = this.deps.keys.privateKeyOf(k, material) as Buffer; // HMAC material is raw bytes
    const valid = withCryptoErrors(() => verifyMac(k.keySpec as KeySpec, key, input.macAlgorithm as MacAlgorithm, input.message, input.mac));
    if (!valid) throw new KmsError('KmsInvalidMac', 'The MAC does not verify with this key, algorithm and message.');
    return { key: k };
  }

  async deriveSharedSecret(
    ctx: CallContext,
    input: { keyId: string; keyAgreementAlgorithm: string; publicKey: Buffer; dryRun?: boolean; recipient?: unknown },
  ): Promise<{ key: KeyRecord; sharedSecret: Buffer }> {
    if (input.recipient !== undefined) throw kmsErrors.validation('Recipient (Nitro Enclaves attestation) is not supported by Kura.');
    const k = await this.deps.keys.resolveUsable(ctx, input.keyId);
    this.usage(k, 'KEY_AGREEMENT', 'DeriveSharedSecret');
    this.algorithm(k, input.keyAgreementAlgorithm, KEY_SPEC_INFO[k.keySpec as KeySpec].keyAgreementAlgorithms, 'Key agreement algorithm');
    if (input.dryRun) throw dryRun();
    const material = await this.deps.keys.currentMaterial(k);
    const privateKey = this.deps.keys.privateKeyOf(k, material);
    return { key: k, sharedSecret: withCryptoErrors(() => deriveSharedSecret(k.keySpec as KeySpec, privateKey, input.publicKey, 'ECDH')) };
  }

  /**
   * A fresh key pair of keyPairSpec whose private key (PKCS#8 DER) is returned encrypted under a
   * symmetric KMS key, and in plaintext too unless the caller asked for it without.
   */
  async generateDataKeyPair(
    ctx: CallContext,
    input: { keyId: string; keyPairSpec: string; encryptionContext?: EncryptionContext; dryRun?: boolean; recipient?: unknown },
    withPlaintext: boolean,
  ): Promise<{ key: KeyRecord; privateKeyCiphertextBlob: Buffer; privateKeyPlaintext?: Buffer; publicKey: Buffer; materialId: string }> {
    if (input.recipient !== undefined) throw kmsErrors.validation('Recipient (Nitro Enclaves attestation) is not supported by Kura.');
    if (!isDataKeyPairSpec(input.keyPairSpec)) throw kmsErrors.validation(`KeyPairSpec ${input.keyPairSpec} is not a data key pair spec.`);
    const k = await this.deps.keys.resolveUsable(ctx, input.keyId);
    this.usage(k, 'ENCRYPT_DECRYPT', withPlaintext ? 'GenerateDataKeyPair' : 'GenerateDataKeyPairWithoutPlaintext');
    if (k.keySpec !== 'SYMMETRIC_DEFAULT') {
      throw new KmsError('InvalidKeyUsage', `${this.deps.keys.arnOf(k)} must be a symmetric encryption key to protect a data key pair.`);
    }
    if (input.dryRun) throw dryRun();
    const pair = await generateKeyMaterialAsync(input.keyPairSpec);
    const { blob, materialId } = await this.deps.keys.encryptSymmetric(k, pair.privateKey, input.encryptionContext);
    if (!withPlaintext) zeroize(pair.privateKey);
    return {
      key: k,
      privateKeyCiphertextBlob: blob,
      privateKeyPlaintext: withPlaintext ? pair.privateKey : undefined,
      publicKey: pair.publicKey,
      materialId,
    };
  }
}
