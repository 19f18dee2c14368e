// Imported key material (BYOK), with AWS KMS's import workflow (API reference: GetParametersForImport,
// ImportKeyMaterial, DeleteImportedKeyMaterial; Developer Guide, "Importing key material"):
// GetParametersForImport hands out an RSA wrapping public key and an import token (24 hours, single use,
// bound to the key); ImportKeyMaterial gives the wrapped material to the key's key store, which unwraps,
// checks and keeps it (the plaintext never reaches kms/); DeleteImportedKeyMaterial and expiry
// (main/kms/jobs/due.ts) empty it again, and material past its ValidTo is already unusable before that
// (../model/expiry.ts). The material ID comes from the material, so importing the same material again
// restores the same ID and old ciphertexts decrypt again.
import { createHash } from 'node:crypto';
import { CLOCK_STEP_TOLERANCE_MS, DAY_MS } from '../../common/clock.js';
import { KmsError, kmsErrors } from '../../common/errors.js';
import { KEY_SPEC_INFO, isKeySpec } from '../../crypto/asymmetric/index.js';
import { randomBytes } from '../../crypto/bytes.js';
import { materialRefFromStorage, type NewMaterial, type WrappingAlgorithm, type WrappingKeySpec } from '../../keystores/key-store.js';
import type { ImportTokenRecord, Tx } from '../../store/index.js';
import type { CallContext, Change } from '../key-directory.js';
import {
  arnOf,
  ExpirationModel,
  generatedMaterialFields,
  ImportState,
  KeyState,
  materialExpired,
  materialFromRecord,
  Origin,
  requireImportable,
  SYMMETRIC_DEFAULT,
  type Key,
  type Material,
} from '../model/index.js';
import type { OperationDeps } from './common.js';

export const IMPORT_PARAMETERS_VALID_MS = DAY_MS;
const MAX_VALID_TO_MS = 365 * DAY_MS;
const WRAPPING_ALGORITHMS: readonly WrappingAlgorithm[] = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'];
const WRAPPING_KEY_SPECS: readonly WrappingKeySpec[] = ['RSA_2048', 'RSA_3072', 'RSA_4096'];
const ImportType = { Existing: 'EXISTING_KEY_MATERIAL', New: 'NEW_KEY_MATERIAL' } as const;

const tokenHash = (token: Uint8Array): Buffer => createHash('sha256').update(token).digest();
const invalidToken = () => new KmsError('InvalidImportToken', 'The import token is not valid for this key (it is unknown, already used, or was issued for another key).');

/** Empties an imported material; the key goes to PendingImport unless it is pending deletion. */
export async function emptyImportedMaterial(deps: OperationDeps, tx: Tx, k: Key, m: Material): Promise<Key> {
  await deps.keys.updateMaterial(tx, { ...m, materialRef: null, importState: ImportState.PendingImport });
  // Material imported for a rotation that has not happened yet is not the key's: the key is unchanged.
  if (m.pendingRotation) return k;
  const next: Key = { ...k, state: k.state === KeyState.PendingDeletion ? k.state : KeyState.PendingImport };
  await deps.keys.update(tx, next);
  return next;
}

/** What DeleteImportedKeyMaterial did; `removed` goes to the key store after the commit, not to the caller. */
interface Removal {
  key: Key;
  materialId?: string;
  removed?: Material;
}

export interface ImportKeyMaterialInput {
  keyId: string;
  importToken: Buffer;
  encryptedKeyMaterial: Buffer;
  validTo?: Date;
  expirationModel?: string;
  importType?: string;
  keyMaterialDescription?: string;
  keyMaterialId?: string;
}

export class ImportOperations {
  constructor(private readonly deps: OperationDeps) {}

  getParametersForImport(
    ctx: CallContext,
    input: { keyId: string; wrappingAlgorithm: string; wrappingKeySpec: string },
  ): Promise<{ key: Key; importToken: Buffer; publicKey: Buffer; parametersValidTo: number }> {
    const { directory } = this.deps;
    const algorithm = input.wrappingAlgorithm as WrappingAlgorithm;
    const spec = input.wrappingKeySpec as WrappingKeySpec;
    return directory.run(ctx, {
      kind: 'change',
      keyRef: input.keyId,
      check: () => {
        if (input.wrappingAlgorithm === 'RSAES_PKCS1_V1_5') {
          throw kmsErrors.validation('RSAES_PKCS1_V1_5 is no longer supported for importing key material; use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.');
        }
        if (!WRAPPING_ALGORITHMS.includes(algorithm)) {
          throw kmsErrors.validation(`Wrapping algorithm ${input.wrappingAlgorithm} is not supported here; use one of ${WRAPPING_ALGORITHMS.join(', ')}.`);
        }
        if (!WRAPPING_KEY_SPECS.includes(spec)) {
          throw kmsErrors.validation(`Wrapping key spec ${input.wrappingKeySpec} is not supported here; use one of ${WRAPPING_KEY_SPECS.join(', ')}.`);
        }
      },
      prepare: async () => {
        const k = await directory.resolve(ctx, input.keyId, false);
        requireImportable(k, 'GetParametersForImport');
        if (isKeySpec(k.keySpec) && KEY_SPEC_INFO[k.keySpec].family === 'rsa' && algorithm.startsWith('RSAES_OAEP')) {
          throw kmsErrors.validation('RSA private key material is too long for RSAES_OAEP wrapping; use RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.');
        }
        return { keys: [k] as [Key] };
      },
      // The wrapping key pair is made (RSA key generation: slow) before the transaction, kept by the key's store.
      make: async ({ keys: [k] }) => {
        const importToken = Buffer.concat([Buffer.from('kura-import-1:'), randomBytes(48)]);
        const hash = tokenHash(importToken);
        const wrapping = await directory.storeOf(k).createWrappingKey(hash.toString('hex'), spec);
        return { importToken, hash, wrapping };
      },
      apply: async ({ tx }, { keys: [k] }, { importToken, hash, wrapping }) => {
        const now = directory.now();
        const token: ImportTokenRecord = {
          tokenHash: hash,
          keyId: k.keyId,
          wrappingAlgorithm: algorithm,
          wrappingKeySpec: spec,
          wrappingKeyRef: wrapping.ref,
          createdAt: now,
          expiresAt: now + IMPORT_PARAMETERS_VALID_MS,
        };
        await this.deps.importTokens.insert(tx, token);
        return {
          result: { key: k, importToken, publicKey: wrapping.publicKey, parametersValidTo: token.expiresAt },
          keyId: k.keyId,
          details: { wrappingAlgorithm: algorithm, wrappingKeySpec: spec },
        };
      },
    });
  }

  importKeyMaterial(ctx: CallContext, input: ImportKeyMaterialInput): Promise<{ key: Key; materialId: string }> {
    const { directory, keys, importTokens } = this.deps;
    const now = directory.now();
    const model = (input.expirationModel ?? ExpirationModel.Expires) as ExpirationModel;
    const validTo = input.validTo?.getTime();
    const importType = input.importType ?? ImportType.Existing;
    const hash = tokenHash(input.importToken);
    return directory.run<{ keys: [Key]; token: ImportTokenRecord }, NewMaterial, { key: Key; materialId: string }>(ctx, {
      kind: 'change',
      keyRef: input.keyId,
      check: () => {
        if (model === ExpirationModel.Expires) {
          if (validTo === undefined) throw kmsErrors.validation('ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.');
          if (!Number.isFinite(validTo) || validTo <= now) throw kmsErrors.validation('ValidTo must be in the future.');
          if (validTo > now + MAX_VALID_TO_MS) throw kmsErrors.validation('ValidTo can be at most 365 days from now.');
        } else if (validTo !== undefined) {
          throw kmsErrors.validation('ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.');
        }
      },
      prepare: async () => {
        const k = await directory.resolve(ctx, input.keyId, false);
        requireImportable(k, 'ImportKeyMaterial');
        // The API model: each of these is "optional and only usable with symmetric encryption keys" (an
        // asymmetric or HMAC key has one material, imported once and re-imported as it is).
        if (k.keySpec !== SYMMETRIC_DEFAULT) {
          const symmetricOnly = { ImportType: input.importType, KeyMaterialDescription: input.keyMaterialDescription, KeyMaterialId: input.keyMaterialId };
          const given = Object.entries(symmetricOnly).filter(([, v]) => v !== undefined).map(([name]) => name);
          if (given.length > 0) throw kmsErrors.validation(`${given.join(', ')} can be used only with symmetric encryption keys; ${arnOf(k)} is ${k.keySpec}.`);
        }
        if (importType === ImportType.New && input.keyMaterialId !== undefined) {
          throw kmsErrors.validation('KeyMaterialId names material imported before; it goes with ImportType EXISTING_KEY_MATERIAL only.');
        }
        const token = await importTokens.find(hash);
        if (!token || token.keyId !== k.keyId) throw invalidToken();
        if (token.expiresAt <= now) throw new KmsError('ExpiredImportToken', 'The import token has expired; call GetParametersForImport again.');
        // Made later than the clock now reads: the clock was stepped back since, and the token's 24 hours
        // would last as much longer (a year, for one made while the clock read a year ahead).
        if (token.createdAt > now + CLOCK_STEP_TOLERANCE_MS) {
          throw new KmsError('ExpiredImportToken', `The import token was made at ${new Date(token.createdAt).toISOString()}, later than this appliance's clock now reads: the clock was stepped back since. Call GetParametersForImport again.`);
        }
        return { keys: [k], token };
      },
      make: async ({ keys: [k], token }) => {
        const made = await directory.storeOf(k).importMaterial(
          { keyId: k.keyId, keySpec: k.keySpec },
          {
            tokenId: hash.toString('hex'),
            wrappingKeyRef: materialRefFromStorage(token.wrappingKeyRef),
            wrappingKeySpec: token.wrappingKeySpec as WrappingKeySpec,
            wrappingAlgorithm: token.wrappingAlgorithm as WrappingAlgorithm,
            encryptedKeyMaterial: input.encryptedKeyMaterial,
          },
        );
        if (input.keyMaterialId !== undefined && input.keyMaterialId !== made.materialId) {
          throw new KmsError('IncorrectKeyMaterial', `The key material does not have the KeyMaterialId ${input.keyMaterialId}.`);
        }
        return made;
      },
      apply: async ({ tx, lookup }, _prepared, made) => {
        const cur = await directory.resolve(ctx, input.keyId, false, lookup);
        requireImportable(cur, 'ImportKeyMaterial');
        // Single use: a token that another import consumed meanwhile is gone.
        if (!(await importTokens.find(hash, tx))) throw invalidToken();
        const fields = {
          materialRef: made.ref,
          publicKey: made.publicKey,
          importState: ImportState.Imported,
          validTo: validTo ?? null,
          expirationModel: model,
          description: input.keyMaterialDescription ?? null,
        };
        const materials = await lookup.materials(cur.keyId);
        const existing = materials.find((m) => m.materialId === made.materialId);
        // The API model: a KeyMaterialId names material already associated with the key.
        if (input.keyMaterialId !== undefined && !existing) {
          throw new KmsError('IncorrectKeyMaterial', `The key material ID ${input.keyMaterialId} is not associated with ${arnOf(cur)}; a first import takes no KeyMaterialId.`);
        }
        let next: Key = cur;
        if (importType === ImportType.New && (cur.currentMaterialId || materials.length > 0)) {
          if (existing) throw new KmsError('IncorrectKeyMaterial', 'This key material was already imported into this key; NEW_KEY_MATERIAL must be new.');
          await keys.insertMaterial(tx, { ...generatedMaterialFields(), ...fields, keyId: cur.keyId, materialId: made.materialId, createdAt: now, rotationType: null, pendingRotation: true });
        } else if (existing) {
          // The API model: without a description, KMS keeps the one given when the material was last imported.
          await keys.updateMaterial(tx, { ...existing, ...fields, description: input.keyMaterialDescription ?? existing.description });
        } else if (materials.length > 0) {
          throw new KmsError('IncorrectKeyMaterial', 'The key material is not the key material that was previously imported into this key.');
        } else {
          await keys.insertMaterial(tx, { ...generatedMaterialFields(), ...fields, keyId: cur.keyId, materialId: made.materialId, createdAt: now, rotationType: null });
          next = { ...next, currentMaterialId: made.materialId };
        }
        const after = (await keys.listMaterials(cur.keyId, tx)).map(materialFromRecord).filter((m) => !m.pendingRotation);
        const current = after.find((m) => m.materialId === next.currentMaterialId);
        // Material that expired and waits for the scheduler to empty it counts as missing, as it will then.
        const waiting = after.some((m) => m.importState !== ImportState.Imported || materialExpired(m, now));
        next = {
          ...next,
          state: next.state === KeyState.PendingImport && !waiting ? KeyState.Enabled : next.state,
          expirationModel: current?.expirationModel ?? model,
          validTo: current ? current.validTo : (validTo ?? null),
        };
        await keys.update(tx, next);
        await importTokens.delete(tx, hash);
        return { result: { key: next, materialId: made.materialId }, keyId: cur.keyId, details: { keyMaterialId: made.materialId, importType, expirationModel: model } };
      },
    });
  }

  /**
   * Empties imported material (the current material unless KeyMaterialId names another). On a key
   * that has no imported material left (PendingImport) it has no effect, as in AWS's key state table.
   */
  async deleteImportedKeyMaterial(ctx: CallContext, input: { keyId: string; keyMaterialId?: string }): Promise<{ key: Key; materialId?: string }> {
    const { directory } = this.deps;
    const out = await directory.run<{ keys: [Key] }, never, Removal>(ctx, {
      kind: 'change',
      keyRef: input.keyId,
      prepare: async () => {
        const k = await directory.resolve(ctx, input.keyId, false);
        if (k.origin !== Origin.External) {
          throw new KmsError('UnsupportedOperation', `DeleteImportedKeyMaterial is valid only for keys with Origin EXTERNAL; ${arnOf(k)} has ${k.origin}.`);
        }
        return { keys: [k] };
      },
      apply: async ({ tx, lookup }): Promise<Change<Removal>> => {
        const cur = await directory.resolve(ctx, input.keyId, false, lookup);
        const wanted = input.keyMaterialId ?? cur.currentMaterialId;
        const m = (await lookup.materials(cur.keyId)).find((x) => x.materialId === wanted);
        if (input.keyMaterialId !== undefined && !m) throw kmsErrors.notFound(`${arnOf(cur)} has no key material ${input.keyMaterialId}.`);
        if (!m || m.importState !== ImportState.Imported) {
          return { result: { key: cur, materialId: m?.materialId }, keyId: cur.keyId, details: { noEffect: true } };
        }
        const next = await emptyImportedMaterial(this.deps, tx, cur, m);
        return { result: { key: next, materialId: m.materialId, removed: m }, keyId: cur.keyId, details: { keyMaterialId: m.materialId } };
      },
      after: async ({ key, removed }) => {
        if (removed?.materialRef) await directory.storeOf(key).destroy({ keyId: key.keyId, materialId: removed.materialId, ref: removed.materialRef });
      },
    });
    return { key: out.key, materialId: out.materialId };
  }
}
