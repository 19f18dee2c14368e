// Imported key material (BYOK), with AWS KMS's import workflow: GetParametersForImport hands out an
// RSA wrapping public key and an import token (24 hours, single use, bound to the key);
// ImportKeyMaterial unwraps (RSAES_OAEP_SHA_1/256 in Kura, or RSA_AES_KEY_WRAP: OAEP-wrapped AES key
// then AES-KWP on the WebAssembly core), checks the material against the key spec, and stores it sealed
// under the root key; DeleteImportedKeyMaterial and expiry (KeyService.runDue) empty it again, and
// material past its ValidTo is already unusable before that (main/kms/material-expiry.ts).
//
// The material ID of imported material is derived from the material (HMAC-SHA256 keyed by the
// material over the key ID), so importing the same material again restores the same ID and old
// ciphertexts decrypt again, while different material is told apart (IncorrectKeyMaterialException).
import { createHash, createHmac } from 'node:crypto';
import { DAY_MS, type Clock } from '../common/clock.js';
import { KmsError, kmsErrors } from '../common/errors.js';
import {
  generateKeyMaterialAsync,
  isKeySpec,
  KEY_SPEC_INFO,
  publicKeyOf,
  rsaOaepDecrypt,
  type KeySpec,
  type RsaOaepAlgorithm,
} from '../crypto/asymmetric/index.js';
import { randomBytes, zeroize } from '../crypto/bytes.js';
import { KeyWrapIntegrityError, type KeyWrap } from '../crypto/key-wrap.js';
import type { StandardKeyStore } from '../keystores/standard.js';
import type { KeyRecord, MaterialRecord, Store } from '../store/index.js';
import { newMaterialFields, type CallContext, type KeyService } from './key-service.js';
import { materialExpired } from './material-expiry.js';

export const IMPORT_PARAMETERS_VALID_MS = DAY_MS;
const MAX_VALID_TO_MS = 365 * DAY_MS;
const WRAPPING_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const;
const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
const EPHEMERAL_AES_KEY_BYTES = 32;

/** AWS's accepted lengths of imported HMAC key material, per spec (bytes, inclusive). */
const HMAC_MATERIAL_BYTES: Record<string, [number, number]> = {
  HMAC_224: [28, 64],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
};

const tokenHash = (token: Uint8Array): Buffer => createHash('sha256').update(token).digest();

function importedMaterialId(keyId: string, material: Uint8Array): string {
  return createHmac('sha256', material).update(`kura/imported-material-id\0${keyId}`).digest('hex');
}

const badCiphertext = () =>
  new KmsError('InvalidCiphertext', 'The wrapped key material could not be unwrapped with this import token\'s wrapping key and algorithm.');

export class ImportService {
  constructor(private readonly deps: { keys: KeyService; store: Store; keystore: StandardKeyStore; keyWrap: KeyWrap; clock: Clock }) {}

  private requireExternal(k: KeyRecord, operation: string): void {
    if (k.origin !== 'EXTERNAL') {
      throw new KmsError('UnsupportedOperation', `${operation} is valid only for keys with Origin EXTERNAL; ${this.deps.keys.arnOf(k)} has ${k.origin}.`);
    }
    if (k.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(this.deps.keys.arnOf(k));
  }

  async getParametersForImport(
    ctx: CallContext,
    input: { keyId: string; wrappingAlgorithm: string; wrappingKeySpec: string },
  ): Promise<{ key: KeyRecord; importToken: Buffer; publicKey: Buffer; parametersValidTo: number }> {
    if (input.wrappingAlgorithm === 'RSAES_PKCS1_V1_5') {
      throw kmsErrors.validation('RSAES_PKCS1_V1_5 is no longer supported for importing key material; use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.');
    }
    if (!(WRAPPING_ALGORITHMS as readonly string[]).includes(input.wrappingAlgorithm)) {
      throw kmsErrors.validation(`Wrapping algorithm ${input.wrappingAlgorithm} is not supported here; use one of ${WRAPPING_ALGORITHMS.join(', ')}.`);
    }
    if (!(WRAPPING_KEY_SPECS as readonly string[]).includes(input.wrappingKeySpec)) {
      throw kmsErrors.validation(`Wrapping key spec ${input.wrappingKeySpec} is not supported here; use one of ${WRAPPING_KEY_SPECS.join(', ')}.`);
    }
    const k = await this.deps.keys.resolveKey(ctx, input.keyId);
    this.requireExternal(k, 'GetParametersForImport');
    if (KEY_SPEC_INFO[k.keySpec as KeySpec]?.family === 'rsa' && input.wrappingAlgorithm.startsWith('RSAES_OAEP')) {
      throw kmsErrors.validation('RSA private key material is too long for RSAES_OAEP wrapping; use RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.');
    }
    const wrapping = await generateKeyMaterialAsync(input.wrappingKeySpec as KeySpec);
    const importToken = Buffer.concat([Buffer.from('kura-import-1:'), randomBytes(48)]);
    const hash = tokenHash(importToken);
    const now = this.deps.clock.nowMs();
    const expiresAt = now + IMPORT_PARAMETERS_VALID_MS;
    try {
      const sealed = this.deps.keystore.sealWrappingKey(hash.toString('hex'), wrapping.privateKey);
      await this.deps.keys.runChange(ctx, async (tx) => {
        await this.deps.store.keys.insertImportToken(tx, {
          tokenHash: hash,
          keyId: k.keyId,
          wrappingAlgorithm: input.wrappingAlgorithm,
          wrappingKeySpec: input.wrappingKeySpec,
          privateKeySealed: sealed,
          createdAt: now,
          expiresAt,
        });
        return { result: undefined, keyId: k.keyId, details: { wrappingAlgorithm: input.wrappingAlgorithm, wrappingKeySpec: input.wrappingKeySpec } };
      });
    } finally {
      zeroize(wrapping.privateKey);
    }
    return { key: k, importToken, publicKey: wrapping.publicKey, parametersValidTo: expiresAt };
  }

  /** Unwraps per the token's algorithm; the caller wipes the result. */
  private unwrap(wrappingKey: Buffer, wrappingKeySpec: KeySpec, algorithm: string, encrypted: Buffer): Buffer {
    const oaep = (algorithm.endsWith('SHA_1') ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256') as RsaOaepAlgorithm;
    const rsaDecrypt = (c: Buffer) => {
      try {
        return rsaOaepDecrypt(wrappingKey, oaep, c);
      } catch {
        throw badCiphertext();
      }
    };
    if (algorithm.startsWith('RSAES_OAEP')) return rsaDecrypt(encrypted);
    // RSA_AES_KEY_WRAP: OAEP(ephemeral AES key) || AES-KWP(material); the first part is as long as the modulus.
    const modulusBytes = KEY_SPEC_INFO[wrappingKeySpec].rsaBits! / 8;
    if (encrypted.length <= modulusBytes) throw badCiphertext();
    const aesKey = rsaDecrypt(encrypted.subarray(0, modulusBytes));
    try {
      if (aesKey.length !== EPHEMERAL_AES_KEY_BYTES) throw badCiphertext();
      return this.deps.keyWrap.unwrapKey(aesKey, encrypted.subarray(modulusBytes), { padding: true });
    } catch (e) {
      if (e instanceof KeyWrapIntegrityError) throw badCiphertext();
      throw e;
    } finally {
      zeroize(aesKey);
    }
  }

  /** Checks imported material against the key spec; returns its public key (asymmetric specs). */
  private checkMaterial(k: KeyRecord, material: Buffer): Buffer | null {
    if (k.keySpec === 'SYMMETRIC_DEFAULT') {
      if (material.length !== 32) throw kmsErrors.validation(`Key material for a SYMMETRIC_DEFAULT key must be 32 bytes (256 bits), not ${material.length}.`);
      return null;
    }
    const hmac = HMAC_MATERIAL_BYTES[k.keySpec];
    if (hmac) {
      if (material.length < hmac[0] || material.length > hmac[1]) {
        throw kmsErrors.validation(`Key material for a ${k.keySpec} key must be ${hmac[0]} to ${hmac[1]} bytes, not ${material.length}.`);
      }
      return null;
    }
    if (!isKeySpec(k.keySpec)) throw kmsErrors.internal();
    try {
      return publicKeyOf(k.keySpec, material);
    } catch {
      throw kmsErrors.validation(`The key material is not a DER-encoded PKCS#8 private key of key spec ${k.keySpec}.`);
    }
  }

  async importKeyMaterial(
    ctx: CallContext,
    input: {
      keyId: string;
      importToken: Buffer;
      encryptedKeyMaterial: Buffer;
      validTo?: Date;
      expirationModel?: string;
      importType?: string;
      keyMaterialDescription?: string;
      keyMaterialId?: string;
    },
  ): Promise<{ key: KeyRecord; materialId: string }> {
    const now = this.deps.clock.nowMs();
    const model = input.expirationModel ?? 'KEY_MATERIAL_EXPIRES';
    const validTo = input.validTo?.getTime();
    if (model === 'KEY_MATERIAL_EXPIRES') {
      if (validTo === undefined) throw kmsErrors.validation('ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.');
      if (!Number.isFinite(validTo) || validTo <= now) throw kmsErrors.validation('ValidTo must be in the future.');
      if (validTo > now + MAX_VALID_TO_MS) throw kmsErrors.validation('ValidTo can be at most 365 days from now.');
    } else if (validTo !== undefined) {
      throw kmsErrors.validation('ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.');
    }
    const importType = input.importType ?? 'EXISTING_KEY_MATERIAL';
    const k = await this.deps.keys.resolveKey(ctx, input.keyId);
    this.requireExternal(k, 'ImportKeyMaterial');
    if (importType === 'NEW_KEY_MATERIAL' && k.keySpec !== 'SYMMETRIC_DEFAULT') {
      throw kmsErrors.validation('ImportType NEW_KEY_MATERIAL (for on-demand rotation) is valid only for symmetric encryption keys.');
    }
    if (importType === 'NEW_KEY_MATERIAL' && input.keyMaterialId !== undefined) {
      throw kmsErrors.validation('KeyMaterialId names material imported before; it goes with ImportType EXISTING_KEY_MATERIAL only.');
    }

    const hash = tokenHash(input.importToken);
    const token = await this.deps.store.keys.findImportToken(hash);
    if (!token || token.keyId !== k.keyId) {
      throw new KmsError('InvalidImportToken', 'The import token is not valid for this key (it is unknown, already used, or was issued for another key).');
    }
    if (token.expiresAt <= now) {
      throw new KmsError('ExpiredImportToken', 'The import token has expired; call GetParametersForImport again.');
    }

    const wrappingKey = this.deps.keystore.openWrappingKey(hash.toString('hex'), token.privateKeySealed);
    let material: Buffer | undefined;
    try {
      material = this.unwrap(wrappingKey, token.wrappingKeySpec as KeySpec, token.wrappingAlgorithm, input.encryptedKeyMaterial);
      const publicKey = this.checkMaterial(k, material);
      const materialId = importedMaterialId(k.keyId, material);
      if (input.keyMaterialId !== undefined && input.keyMaterialId !== materialId) {
        throw new KmsError('IncorrectKeyMaterial', `The key material does not have the KeyMaterialId ${input.keyMaterialId}.`);
      }
      const sealed = this.deps.keystore.sealMaterial(k.keyId, materialId, k.keySpec, material);
      const fields = {
        materialSealed: sealed,
        publicKey,
        importState: 'IMPORTED',
        validTo: validTo ?? null,
        expirationModel: model,
        description: input.keyMaterialDescription ?? null,
      };
      const result = await this.deps.keys.runChange(ctx, async (tx, lookup) => {
        const cur = await this.deps.keys.resolveKey(ctx, input.keyId, lookup);
        this.requireExternal(cur, 'ImportKeyMaterial');
        // Single use: a token that another import consumed meanwhile is gone.
        if (!(await this.deps.store.keys.findImportToken(hash, tx))) {
          throw new KmsError('InvalidImportToken', 'The import token is not valid for this key (it is unknown, already used, or was issued for another key).');
        }
        const materials = await this.deps.store.keys.listMaterialsIn(tx, cur.keyId);
        const existing = materials.find((m) => m.materialId === materialId);
        let next: KeyRecord = cur;
        if (importType === 'NEW_KEY_MATERIAL') {
          if (!cur.currentMaterialId) throw kmsErrors.validation('Import the key\'s first material with ImportType EXISTING_KEY_MATERIAL.');
          if (existing) throw new KmsError('IncorrectKeyMaterial', 'This key material was already imported into this key; NEW_KEY_MATERIAL must be new.');
          await this.deps.store.keys.insertMaterial(tx, { ...newMaterialFields(), ...fields, keyId: cur.keyId, materialId, createdAt: now, rotationType: null, pendingRotation: true });
        } else if (existing) {
          await this.deps.store.keys.updateMaterial(tx, { ...existing, ...fields });
        } else if (materials.length > 0) {
          throw new KmsError('IncorrectKeyMaterial', 'The key material is not the key material that was previously imported into this key.');
        } else {
          await this.deps.store.keys.insertMaterial(tx, { ...newMaterialFields(), ...fields, keyId: cur.keyId, materialId, createdAt: now, rotationType: null });
          next = { ...next, currentMaterialId: materialId };
        }
        const after: MaterialRecord[] = (await this.deps.store.keys.listMaterialsIn(tx, cur.keyId)).filter((m) => !m.pendingRotation);
        const current = after.find((m) => m.materialId === next.currentMaterialId);
        // Material that expired and waits for the scheduler to empty it counts as missing, as it will then.
        const waiting = after.some((m) => m.importState !== 'IMPORTED' || materialExpired(m, now));
        next = {
          ...next,
          state: next.state === 'PendingImport' && !waiting ? 'Enabled' : next.state,
          expirationModel: current?.expirationModel ?? model,
          validTo: current ? current.validTo : (validTo ?? null),
        };
        await this.deps.store.keys.update(tx, next);
        await this.deps.store.keys.deleteImportToken(tx, hash);
        return { result: next, keyId: cur.keyId, details: { keyMaterialId: materialId, importType, expirationModel: model } };
      });
      this.deps.keys.forgetMaterial(k.keyId);
      return { key: result, materialId };
    } finally {
      zeroize(wrappingKey, material);
    }
  }

  /**
   * Empties imported material (the current material unless KeyMaterialId names another). On a key
   * that has no imported material left (PendingImport) it has no effect, as in AWS's key state table.
   */
  async deleteImportedKeyMaterial(ctx: CallContext, input: { keyId: string; keyMaterialId?: string }): Promise<{ key: KeyRecord; materialId?: string }> {
    const k = await this.deps.keys.resolveKey(ctx, input.keyId);
    if (k.origin !== 'EXTERNAL') {
      throw new KmsError('UnsupportedOperation', `DeleteImportedKeyMaterial is valid only for keys with Origin EXTERNAL; ${this.deps.keys.arnOf(k)} has ${k.origin}.`);
    }
    const out = await this.deps.keys.runChange<{ key: KeyRecord; materialId?: string }>(ctx, async (tx, lookup) => {
      const cur = await this.deps.keys.resolveKey(ctx, input.keyId, lookup);
      const wanted = input.keyMaterialId ?? cur.currentMaterialId;
      const materials = await this.deps.store.keys.listMaterialsIn(tx, cur.keyId);
      const m = materials.find((x) => x.materialId === wanted);
      if (input.keyMaterialId !== undefined && !m) {
        throw kmsErrors.notFound(`${this.deps.keys.arnOf(cur)} has no key material ${input.keyMaterialId}.`);
      }
      if (!m || m.importState !== 'IMPORTED') {
        const details: Record<string, string | boolean> = { noEffect: true };
        return { result: { key: cur, materialId: m?.materialId }, keyId: cur.keyId, details };
      }
      const next = await this.deps.keys.removeImportedMaterial(tx, cur, m);
      return { result: { key: next, materialId: m.materialId }, keyId: cur.keyId, details: { keyMaterialId: m.materialId } };
    });
    this.deps.keys.forgetMaterial(k.keyId);
    return out;
  }
}
