// Encryption with AWS KMS semantics (API reference: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
// GenerateDataKeyWithoutPlaintext, GenerateRandom). Symmetric ciphertexts are Kura's blobs
// (./../ciphertext.ts): this file builds the header, IV and AAD, and the key's key store seals or opens
// the payload (version 2: under a key it derives per blob). RSA and SM2 keys encrypt with RSAES-OAEP or
// SM2PKE in their key store. Imported material past its ValidTo is unusable from that instant
// (../model/expiry.ts).
import { randomUUID } from 'node:crypto';
import { KmsError, kmsErrors } from '../../common/errors.js';
import { AeadAuthenticationError } from '../../crypto/aead.js';
import type { AsymmetricEncryptionAlgorithm } from '../../crypto/asymmetric/index.js';
import type { BlobCaller } from '../../keystores/key-store.js';
import { randomBytes, randomIv, randomPooled } from '../../crypto/bytes.js';
import { assembleBlob, blobAad, blobKeyDerivation, BLOB_V2, encodeHeader, NONCE_BYTES, parseBlob, type ParsedBlob } from '../ciphertext.js';
import { withCryptoErrorsAsync } from '../crypto-errors.js';
import type { CallContext } from '../key-directory.js';
import {
  arnOf,
  materialExpired,
  requireEncryptDecrypt,
  requireEncryptionAlgorithm,
  requireNoContext,
  requireSymmetric,
  requireUsable,
  SYMMETRIC_DEFAULT,
  type EncryptionContext,
  type Key,
  type Material,
} from '../model/index.js';
import { dryRun, type OperationDeps } from './common.js';

/**
 * The current API model marks CiphertextBlob optional (a dry run with IGNORE_CIPHERTEXT needs none), so
 * the model's validation lets a request without it through; every call that reads a ciphertext needs it.
 */
function requireCiphertext(blob: Buffer | undefined): Buffer {
  if (blob === undefined) {
    throw kmsErrors.validation("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  }
  return blob;
}

/**
 * Whether a Decrypt or ReEncrypt dry run leaves the ciphertext out (DryRunModifiers IGNORE_CIPHERTEXT,
 * which applies only when DryRun is true). The API reference: "KMS performs only authorization
 * validation without ciphertext validation"; CiphertextBlob is then optional, and the KMS key
 * (KeyId, SourceKeyId) required, since no blob header can name it. Kura still applies the key's state,
 * usage, algorithm and encryption context rules: they need no ciphertext, and the call would apply them.
 */
function ignoresCiphertext(input: { dryRun?: boolean; dryRunModifiers?: readonly string[] }): boolean {
  return input.dryRun === true && input.dryRunModifiers?.includes('IGNORE_CIPHERTEXT') === true;
}

function requireKeyNamed(keyRef: string | undefined, member: string): void {
  if (keyRef === undefined) throw kmsErrors.validation(`${member} is required when DryRun is true and DryRunModifiers has IGNORE_CIPHERTEXT.`);
}

/** The rules a key that decrypts must meet before any ciphertext is read; answers the algorithm it decrypts with. */
function decryptRules(k: Key, context: EncryptionContext | undefined, algorithm: string | undefined): string {
  requireUsable(k);
  requireEncryptDecrypt(k);
  const alg = requireEncryptionAlgorithm(k, algorithm);
  requireNoContext(k, context);
  return alg;
}

/**
 * Whether a dry run stops before the key store: a key in a custom key store (an HSM token, an external
 * key store's proxy) is not asked to encrypt or decrypt for a call that will not run, since that store's
 * own audit (an XKS proxy's log, an HSM's) would record an operation that never happened, and the call
 * would count against the store's request quota. Such a dry run checks all that needs no key store and
 * answers DryRunOperation; a key in Kura's own store goes as far as the call does (see decrypt).
 */
const stopsBeforeKeyStore = (dryRunning: boolean | undefined, ...keys: Key[]): boolean => dryRunning === true && keys.some((k) => k.customKeyStoreId !== null);

/**
 * Recipient (a Nitro Enclaves or NitroTPM attestation document) asks for the plaintext to be encrypted to
 * the attested environment's public key instead of being returned. Kura verifies no attestation, so it
 * refuses the member rather than answer the plaintext in the clear to a caller who asked it not to.
 */
export function noRecipient(recipient: unknown): void {
  if (recipient !== undefined) throw kmsErrors.validation('Recipient (Nitro Enclaves attestation) is not supported by Kura.');
}

/**
 * Who a blob is sealed or opened for: what an external key store tells its proxy (XKS requestMetadata,
 * whose kmsRequestId is required: a call without a request ID of its own gets a fresh one, never '').
 */
const callerOf = (ctx: CallContext, k: Key): BlobCaller => ({ principal: ctx.principal, keyArn: arnOf(k), operation: ctx.operation, requestId: ctx.requestId ?? randomUUID() });

const invalid = () => new KmsError('InvalidCiphertext', 'The ciphertext is invalid, was made under another key, or the encryption context does not match.');

/** A ciphertext whose key and material were found and checked, ready to be opened by the key's store. */
type LocatedCiphertext =
  | { kind: 'asymmetric'; key: Key; material: Material; algorithm: string; ciphertext: Buffer }
  | { kind: 'symmetric'; key: Key; material: Material; parsed: ParsedBlob; aad: Buffer };

export interface Opened {
  key: Key;
  plaintext: Buffer;
  materialId: string;
  algorithm: string;
}

export class EncryptionOperations {
  constructor(private readonly deps: OperationDeps) {}

  /** Encrypts under a key's current material: Kura's blob for symmetric keys, RSA-OAEP or SM2PKE otherwise. */
  async encryptUnder(
    ctx: CallContext,
    k: Key,
    plaintext: Uint8Array,
    context: EncryptionContext | undefined,
    algorithm = SYMMETRIC_DEFAULT,
  ): Promise<{ blob: Buffer; materialId: string }> {
    const { directory } = this.deps;
    const material = await directory.currentMaterial(k);
    const store = directory.usableStoreOf(k);
    const stored = directory.stored(k, material);
    if (k.keySpec !== SYMMETRIC_DEFAULT) {
      requireNoContext(k, context);
      const blob = await withCryptoErrorsAsync(() => store.encryptAsymmetric(stored, algorithm as AsymmetricEncryptionAlgorithm, plaintext));
      return { blob, materialId: material.materialId };
    }
    // Version 2: a key derived from the material over a random nonce in the header, so that no material
    // ever meets SP 800-38D's 2^32 limit on random IVs (../ciphertext.ts): a fresh nonce per blob, or per
    // bounded epoch of blobs where the store derives on a token (KeyStore.blobNonce).
    const header = encodeHeader(k.keyId, material.materialId, store.blobNonce?.(stored, NONCE_BYTES) ?? randomPooled(NONCE_BYTES));
    const iv = randomIv();
    const payload = { version: BLOB_V2, derivation: blobKeyDerivation({ version: BLOB_V2, header }), iv, aad: blobAad(header, context), caller: callerOf(ctx, k) } as const;
    const sealed = await store.encryptBlobPayload(stored, payload, plaintext);
    return { blob: assembleBlob(header, iv, sealed), materialId: material.materialId };
  }

  /**
   * Finds the key and material of a ciphertext and checks that they may decrypt it. An RSA or SM2
   * ciphertext has no header: the request must name the key and the algorithm.
   */
  private async locate(
    ctx: CallContext,
    blob: Buffer,
    context: EncryptionContext | undefined,
    keyRef: string | undefined,
    algorithm: string | undefined,
  ): Promise<LocatedCiphertext> {
    const { directory } = this.deps;
    const named = keyRef === undefined ? undefined : await directory.resolve(ctx, keyRef, true);
    if (named && named.keySpec !== SYMMETRIC_DEFAULT) {
      const alg = decryptRules(named, context, algorithm);
      return { kind: 'asymmetric', key: named, material: await directory.currentMaterial(named), algorithm: alg, ciphertext: blob };
    }
    const parsed = parseBlob(blob);
    let k: Key;
    if (named) {
      if (named.keyId !== parsed.keyId) {
        throw new KmsError('IncorrectKey', 'The key ID in the request does not identify a KMS key that can perform this operation.');
      }
      k = named;
    } else {
      const found = await directory.findKey(parsed.keyId);
      if (!found || found.accountId !== ctx.accountId || found.region !== ctx.region) throw invalid();
      directory.noteCiphertextKey(ctx, found.keyId);
      k = await directory.asOfNow(found);
    }
    decryptRules(k, context, algorithm);
    const material = await directory.material(k.keyId, parsed.materialId);
    if (!material) throw invalid();
    // Expired material answers as deleted material does, before the scheduler has emptied its row.
    if (material.materialRef === null || materialExpired(material, directory.now())) {
      throw kmsErrors.invalidState(`The key material this ciphertext was made under has been deleted from ${arnOf(k)}; import it again.`);
    }
    return { kind: 'symmetric', key: k, material, parsed, aad: blobAad(parsed.header, context) };
  }

  private async open(ctx: CallContext, located: LocatedCiphertext): Promise<Opened> {
    const { directory } = this.deps;
    const { key, material } = located;
    const store = directory.usableStoreOf(key);
    const stored = directory.stored(key, material);
    if (located.kind === 'asymmetric') {
      const plaintext = await withCryptoErrorsAsync(() => store.decryptAsymmetric(stored, located.algorithm as AsymmetricEncryptionAlgorithm, located.ciphertext));
      return { key, plaintext, materialId: material.materialId, algorithm: located.algorithm };
    }
    const { parsed } = located;
    const payload = { version: parsed.version, derivation: parsed.version === BLOB_V2 ? blobKeyDerivation(parsed) : null, iv: parsed.iv, aad: located.aad, caller: callerOf(ctx, key) };
    try {
      const plaintext = await store.decryptBlobPayload(stored, payload, parsed.sealed);
      return { key, plaintext, materialId: material.materialId, algorithm: SYMMETRIC_DEFAULT };
    } catch (e) {
      if (e instanceof AeadAuthenticationError) throw invalid();
      throw e;
    }
  }

  encrypt(
    ctx: CallContext,
    input: { keyId: string; plaintext: Buffer; encryptionContext?: EncryptionContext; encryptionAlgorithm?: string; dryRun?: boolean },
  ): Promise<{ key: Key; ciphertextBlob: Buffer; materialId: string; algorithm: string }> {
    const { directory } = this.deps;
    return directory.run<{ keys: [Key]; algorithm: string }, never, { key: Key; ciphertextBlob: Buffer; materialId: string; algorithm: string }>(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      prepare: async () => {
        const k = await directory.resolve(ctx, input.keyId, true);
        requireUsable(k);
        requireEncryptDecrypt(k);
        return { keys: [k], algorithm: requireEncryptionAlgorithm(k, input.encryptionAlgorithm) };
      },
      run: async ({ keys: [k], algorithm }) => {
        // A dry run encrypts and drops the result, as ReEncrypt's does: what only the encryption refuses
        // (an encryption context for an asymmetric key, a plaintext too long for its RSA key) is answered
        // as the call would answer it, not as DryRunOperation. Not on a custom key store (stopsBeforeKeyStore).
        if (stopsBeforeKeyStore(input.dryRun, k)) throw dryRun();
        const { blob, materialId } = await this.encryptUnder(ctx, k, input.plaintext, input.encryptionContext, algorithm);
        if (input.dryRun) throw dryRun();
        return { key: k, ciphertextBlob: blob, materialId, algorithm };
      },
    });
  }

  /**
   * A dry run (DryRun) goes as far as the call does, opening the ciphertext too, and answers
   * DryRunOperationException only where the call would have succeeded: the API reference's "Checks if
   * your request will succeed". With IGNORE_CIPHERTEXT it reads no ciphertext (see ignoresCiphertext).
   */
  decrypt(
    ctx: CallContext,
    input: {
      ciphertextBlob: Buffer | undefined;
      encryptionContext?: EncryptionContext;
      keyId?: string;
      encryptionAlgorithm?: string;
      dryRun?: boolean;
      dryRunModifiers?: readonly string[];
      recipient?: unknown;
    },
  ): Promise<Opened> {
    const { directory } = this.deps;
    const ignoreCiphertext = ignoresCiphertext(input);
    return directory.run<{ keys: [Key]; located?: LocatedCiphertext }, never, Opened>(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      ciphertextKey: 'key',
      check: () => {
        noRecipient(input.recipient);
        if (ignoreCiphertext) requireKeyNamed(input.keyId, 'KeyId');
      },
      prepare: async () => {
        if (ignoreCiphertext) {
          const k = await directory.resolve(ctx, input.keyId!, true);
          decryptRules(k, input.encryptionContext, input.encryptionAlgorithm);
          return { keys: [k] };
        }
        const located = await this.locate(ctx, requireCiphertext(input.ciphertextBlob), input.encryptionContext, input.keyId, input.encryptionAlgorithm);
        return { keys: [located.key], located };
      },
      run: async ({ located }) => {
        if (!located || stopsBeforeKeyStore(input.dryRun, located.key)) throw dryRun();
        const opened = await this.open(ctx, located);
        if (input.dryRun) {
          opened.plaintext.fill(0);
          throw dryRun();
        }
        return opened;
      },
    });
  }

  /** DryRun and IGNORE_CIPHERTEXT as for decrypt; a dry run encrypts under the destination too (see run). */
  reEncrypt(
    ctx: CallContext,
    input: {
      ciphertextBlob: Buffer | undefined;
      sourceEncryptionContext?: EncryptionContext;
      sourceKeyId?: string;
      destinationKeyId: string;
      destinationEncryptionContext?: EncryptionContext;
      sourceEncryptionAlgorithm?: string;
      destinationEncryptionAlgorithm?: string;
      dryRun?: boolean;
      dryRunModifiers?: readonly string[];
    },
  ): Promise<{
    source: Key;
    destination: Key;
    ciphertextBlob: Buffer;
    sourceMaterialId: string;
    destinationMaterialId: string;
    sourceAlgorithm: string;
    destinationAlgorithm: string;
  }> {
    const { directory } = this.deps;
    const ignoreCiphertext = ignoresCiphertext(input);
    return directory.run(ctx, {
      kind: 'read',
      keyRef: input.destinationKeyId,
      sourceKeyRef: input.sourceKeyId,
      ciphertextKey: 'source',
      check: () => {
        if (ignoreCiphertext) requireKeyNamed(input.sourceKeyId, 'SourceKeyId');
      },
      prepare: async () => {
        const dest = await directory.resolve(ctx, input.destinationKeyId, true);
        requireUsable(dest);
        requireEncryptDecrypt(dest);
        const destinationAlgorithm = requireEncryptionAlgorithm(dest, input.destinationEncryptionAlgorithm);
        if (ignoreCiphertext) {
          requireNoContext(dest, input.destinationEncryptionContext);
          const sourceKey = await directory.resolve(ctx, input.sourceKeyId!, true);
          decryptRules(sourceKey, input.sourceEncryptionContext, input.sourceEncryptionAlgorithm);
          return { keys: [sourceKey, dest] as const, dest, destinationAlgorithm };
        }
        const source = await this.locate(ctx, requireCiphertext(input.ciphertextBlob), input.sourceEncryptionContext, input.sourceKeyId, input.sourceEncryptionAlgorithm);
        return { keys: [source.key, dest] as const, source, dest, destinationAlgorithm };
      },
      run: async ({ source, dest, destinationAlgorithm }) => {
        if (!source || stopsBeforeKeyStore(input.dryRun, source.key, dest)) throw dryRun();
        const opened = await this.open(ctx, source);
        try {
          // A dry run encrypts under the destination as well and drops the result, so that what only
          // that step refuses (an encryption context for an asymmetric destination, a plaintext too
          // long for its RSA key) is answered as the call would answer it, not as DryRunOperation.
          const { blob, materialId } = await this.encryptUnder(ctx, dest, opened.plaintext, input.destinationEncryptionContext, destinationAlgorithm);
          if (input.dryRun) throw dryRun();
          return {
            source: opened.key,
            destination: dest,
            ciphertextBlob: blob,
            sourceMaterialId: opened.materialId,
            destinationMaterialId: materialId,
            sourceAlgorithm: opened.algorithm,
            destinationAlgorithm,
          };
        } finally {
          opened.plaintext.fill(0);
        }
      },
    });
  }

  generateDataKey(
    ctx: CallContext,
    input: { keyId: string; encryptionContext?: EncryptionContext; numberOfBytes?: number; keySpec?: string; dryRun?: boolean; recipient?: unknown },
  ): Promise<{ key: Key; plaintext: Buffer; ciphertextBlob: Buffer; materialId: string }> {
    const { directory } = this.deps;
    return directory.run(ctx, {
      kind: 'read',
      keyRef: input.keyId,
      check: () => noRecipient(input.recipient),
      prepare: async () => {
        if (input.numberOfBytes === undefined && input.keySpec === undefined) {
          throw kmsErrors.validation('Please specify either number of bytes or key spec.');
        }
        if (input.numberOfBytes !== undefined && input.keySpec !== undefined) {
          throw kmsErrors.validation('Please specify either number of bytes or key spec, not both.');
        }
        const k = await directory.resolve(ctx, input.keyId, true);
        requireUsable(k);
        requireEncryptDecrypt(k);
        requireSymmetric(k, 'GenerateDataKey');
        return { keys: [k] as [Key], bytes: input.numberOfBytes ?? (input.keySpec === 'AES_128' ? 16 : 32) };
      },
      run: async ({ keys: [k], bytes }) => {
        if (stopsBeforeKeyStore(input.dryRun, k)) throw dryRun();
        const plaintext = randomBytes(bytes);
        try {
          // A dry run encrypts the data key too, then wipes it, as Encrypt's does (but not on a custom key
          // store: stopsBeforeKeyStore).
          const { blob, materialId } = await this.encryptUnder(ctx, k, plaintext, input.encryptionContext);
          if (input.dryRun) throw dryRun();
          return { key: k, plaintext, ciphertextBlob: blob, materialId };
        } catch (e) {
          // A data key that could not be encrypted, or a dry run's, is never answered: nothing else will wipe it.
          plaintext.fill(0);
          throw e;
        }
      },
    });
  }

  generateRandom(ctx: CallContext, input: { numberOfBytes?: number; customKeyStoreId?: string; recipient?: unknown }): Promise<Buffer> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      check: () => {
        if (input.numberOfBytes === undefined) throw kmsErrors.validation('NumberOfBytes is required.');
        noRecipient(input.recipient);
      },
      prepare: async () => {
        if (input.customKeyStoreId !== undefined) throw new KmsError('CustomKeyStoreNotFound', `Custom key store ${input.customKeyStoreId} does not exist.`);
        return { keys: [] };
      },
      run: async () => randomBytes(input.numberOfBytes!),
    });
  }
}
