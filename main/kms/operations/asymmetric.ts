// Operations of asymmetric, HMAC and key agreement keys, and data key pairs, with AWS KMS semantics
// (API reference: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, DeriveSharedSecret,
// GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext). The private-key operations run in the
// key's key store; the input errors of main/crypto/asymmetric map to AWS's errors in ../crypto-errors.ts.
import { KmsError, kmsErrors } from '../../common/errors.js';
import {
  generateKeyMaterialAsync,
  isDataKeyPairSpec,
  type KeyAgreementAlgorithm,
  type KeySpec,
  type MacAlgorithm,
  type MessageType,
  type SigningAlgorithm,
} from '../../crypto/asymmetric/index.js';
import { zeroize } from '../../crypto/bytes.js';
import { withCryptoErrorsAsync } from '../crypto-errors.js';
import type { CallContext } from '../key-directory.js';
import {
  arnOf,
  KeyUsage,
  requireSpecAlgorithm,
  requireUsable,
  requireUsage,
  specAlgorithms,
  SYMMETRIC_DEFAULT,
  type EncryptionContext,
  type Key,
} from '../model/index.js';
import { dryRun, type OperationDeps } from './common.js';
import { noRecipient, type EncryptionOperations } from './encryption.js';

/**
 * A dry run (DryRun) of each operation here goes as far as the call does, running the cryptography and
 * dropping its result (wiping what is secret), and answers DryRunOperationException only where the call
 * would have succeeded: the API reference's "Checks if your request will succeed".
 */
export class AsymmetricOperations {
  constructor(private readonly deps: OperationDeps & { encryption: EncryptionOperations }) {}

  /** A usable key (aliases allowed) of the usage an operation needs, and an algorithm its spec has. */
  /** The key named, usable for `operation`; `before` refuses what the operation refuses whatever the key's state. */
  private async usableKey(
    ctx: CallContext,
    keyRef: string,
    usage: KeyUsage,
    operation: string,
    algorithm?: { name: string; of: 'signing' | 'mac' | 'keyAgreement'; what: string },
    before?: (k: Key) => void,
  ) {
    const k = await this.deps.directory.resolve(ctx, keyRef, true);
    before?.(k);
    requireUsable(k);
    requireUsage(k, usage, operation);
    if (algorithm) requireSpecAlgorithm(k, algorithm.name, specAlgorithms(k)[algorithm.of], algorithm.what);
    return { keys: [k] as [Key] };
  }

  /** The key's current material, as its key store takes it. */
  private async material(k: Key) {
    const { directory } = this.deps;
    return { store: directory.usableStoreOf(k), stored: directory.stored(k, await directory.currentMaterial(k)) };
  }

  sign(ctx: CallContext, input: { keyId: string; message: Buffer; messageType?: string; signingAlgorithm: string; dryRun?: boolean }): Promise<{ key: Key; signature: Buffer }> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      prepare: () => this.usableKey(ctx, input.keyId, KeyUsage.SignVerify, 'Sign', { name: input.signingAlgorithm, of: 'signing', what: 'Signing algorithm' }),
      run: async ({ keys: [k] }) => {
        const { store, stored } = await this.material(k);
        const messageType = (input.messageType ?? 'RAW') as MessageType;
        // A dry run signs and drops the signature (see the class comment): a RAW message too long or a
        // DIGEST of the wrong length is refused only by the signing.
        const signature = await withCryptoErrorsAsync(() => store.sign(stored, input.signingAlgorithm as SigningAlgorithm, input.message, messageType));
        if (input.dryRun) throw dryRun();
        return { key: k, signature };
      },
    });
  }

  verify(
    ctx: CallContext,
    input: { keyId: string; message: Buffer; messageType?: string; signature: Buffer; signingAlgorithm: string; dryRun?: boolean },
  ): Promise<{ key: Key }> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      prepare: () => this.usableKey(ctx, input.keyId, KeyUsage.SignVerify, 'Verify', { name: input.signingAlgorithm, of: 'signing', what: 'Signing algorithm' }),
      run: async ({ keys: [k] }) => {
        const { store, stored } = await this.material(k);
        const messageType = (input.messageType ?? 'RAW') as MessageType;
        const valid = await withCryptoErrorsAsync(() => store.verify(stored, input.signingAlgorithm as SigningAlgorithm, input.message, messageType, input.signature));
        // A dry run of a signature that does not verify answers KMSInvalidSignatureException, as the call
        // does: AWS documents no exception for it, and DryRunOperationException would say it verifies.
        if (!valid) throw new KmsError('KmsInvalidSignature', 'The signature does not verify with this key, algorithm and message.');
        if (input.dryRun) throw dryRun();
        return { key: k };
      },
    });
  }

  /** The public key (DER SubjectPublicKeyInfo) of an RSA, ECC, ML-DSA or SM2 key that is usable. */
  getPublicKey(ctx: CallContext, keyRef: string): Promise<{ key: Key; publicKey: Buffer }> {
    const { directory } = this.deps;
    return directory.run(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => {
        const k = await directory.resolve(ctx, keyRef, true);
        requireUsable(k);
        return { keys: [k] as [Key] };
      },
      run: async ({ keys: [k] }) => {
        const material = await directory.currentMaterial(k);
        if (!material.publicKey) throw new KmsError('UnsupportedOperation', `${arnOf(k)} is a ${k.keySpec} key, which has no public key.`);
        return { key: k, publicKey: material.publicKey };
      },
    });
  }

  generateMac(ctx: CallContext, input: { keyId: string; message: Buffer; macAlgorithm: string; dryRun?: boolean }): Promise<{ key: Key; mac: Buffer }> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      prepare: () => this.usableKey(ctx, input.keyId, KeyUsage.GenerateVerifyMac, 'GenerateMac', { name: input.macAlgorithm, of: 'mac', what: 'MAC algorithm' }),
      run: async ({ keys: [k] }) => {
        const { store, stored } = await this.material(k);
        const mac = await withCryptoErrorsAsync(() => store.generateMac(stored, input.macAlgorithm as MacAlgorithm, input.message));
        if (input.dryRun) {
          zeroize(mac);
          throw dryRun();
        }
        return { key: k, mac };
      },
    });
  }

  verifyMac(ctx: CallContext, input: { keyId: string; message: Buffer; macAlgorithm: string; mac: Buffer; dryRun?: boolean }): Promise<{ key: Key }> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      prepare: () => this.usableKey(ctx, input.keyId, KeyUsage.GenerateVerifyMac, 'VerifyMac', { name: input.macAlgorithm, of: 'mac', what: 'MAC algorithm' }),
      run: async ({ keys: [k] }) => {
        const { store, stored } = await this.material(k);
        const valid = await withCryptoErrorsAsync(() => store.verifyMac(stored, input.macAlgorithm as MacAlgorithm, input.message, input.mac));
        // As Verify's: a MAC that does not verify is KMSInvalidMacException in a dry run too.
        if (!valid) throw new KmsError('KmsInvalidMac', 'The MAC does not verify with this key, algorithm and message.');
        if (input.dryRun) throw dryRun();
        return { key: k };
      },
    });
  }

  deriveSharedSecret(
    ctx: CallContext,
    input: { keyId: string; keyAgreementAlgorithm: string; publicKey: Buffer; dryRun?: boolean; recipient?: unknown },
  ): Promise<{ key: Key; sharedSecret: Buffer }> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      check: () => noRecipient(input.recipient),
      prepare: () =>
        this.usableKey(ctx, input.keyId, KeyUsage.KeyAgreement, 'DeriveSharedSecret', { name: input.keyAgreementAlgorithm, of: 'keyAgreement', what: 'Key agreement algorithm' }),
      run: async ({ keys: [k] }) => {
        const { store, stored } = await this.material(k);
        const algorithm = input.keyAgreementAlgorithm as KeyAgreementAlgorithm;
        // A public key that is not a point of the key's curve is refused only by the derivation.
        const sharedSecret = await withCryptoErrorsAsync(() => store.deriveSharedSecret(stored, algorithm, input.publicKey));
        if (input.dryRun) {
          zeroize(sharedSecret);
          throw dryRun();
        }
        return { key: k, sharedSecret };
      },
    });
  }

  /**
   * A fresh key pair of keyPairSpec whose private key (PKCS#8 DER) is returned encrypted under a
   * symmetric KMS key, and in plaintext too unless the caller asked for it without. The pair is a data
   * key, made for the caller, not key material of any key store.
   */
  generateDataKeyPair(
    ctx: CallContext,
    input: { keyId: string; keyPairSpec: string; encryptionContext?: EncryptionContext; dryRun?: boolean; recipient?: unknown },
    withPlaintext: boolean,
  ): Promise<{ key: Key; privateKeyCiphertextBlob: Buffer; privateKeyPlaintext?: Buffer; publicKey: Buffer; materialId: string }> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      check: () => {
        noRecipient(input.recipient);
        if (!isDataKeyPairSpec(input.keyPairSpec)) throw kmsErrors.validation(`KeyPairSpec ${input.keyPairSpec} is not a data key pair spec.`);
      },
      prepare: async () => {
        // AWS (both operations): "You cannot use an asymmetric KMS key or a KMS key in a custom key store."
        // That holds for HSM (AWS_CLOUDHSM) and XKS (EXTERNAL_KEY_STORE) stores alike, and is checked
        // before the key's state: a key of a store that is not connected reads as Unavailable
        // (KMSInvalidStateException), which would send the caller to reconnect a store for a call that
        // is refused anyway. The answer is UnsupportedOperation whatever the store's connection or the key's state.
        const notInCustomKeyStore = (k: Key) => {
          if (k.customKeyStoreId !== null) {
            throw new KmsError('UnsupportedOperation', `${arnOf(k)} is in custom key store ${k.customKeyStoreId}, which cannot protect a data key pair.`);
          }
        };
        const operation = withPlaintext ? 'GenerateDataKeyPair' : 'GenerateDataKeyPairWithoutPlaintext';
        const prepared = await this.usableKey(ctx, input.keyId, KeyUsage.EncryptDecrypt, operation, undefined, notInCustomKeyStore);
        const [k] = prepared.keys;
        if (k.keySpec !== SYMMETRIC_DEFAULT) throw new KmsError('InvalidKeyUsage', `${arnOf(k)} must be a symmetric encryption key to protect a data key pair.`);
        return prepared;
      },
      run: async ({ keys: [k] }) => {
        // A dry run makes and encrypts the pair, then wipes it: it fails wherever the generation or the
        // encryption under k would.
        const pair = await generateKeyMaterialAsync(input.keyPairSpec as KeySpec);
        let blob: { blob: Buffer; materialId: string };
        try {
          blob = await this.deps.encryption.encryptUnder(ctx, k, pair.privateKey, input.encryptionContext);
        } catch (e) {
          zeroize(pair.privateKey);
          throw e;
        }
        if (!withPlaintext || input.dryRun) zeroize(pair.privateKey);
        if (input.dryRun) throw dryRun();
        return {
          key: k,
          privateKeyCiphertextBlob: blob.blob,
          privateKeyPlaintext: withPlaintext ? pair.privateKey : undefined,
          publicKey: pair.publicKey,
          materialId: blob.materialId,
        };
      },
    });
  }
}
