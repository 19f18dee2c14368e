// Key rotation with AWS KMS semantics (API reference: EnableKeyRotation, DisableKeyRotation,
// GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations): symmetric keys only; automatic rotation
// for generated keys, every 90–2560 days (main/kms/jobs/due.ts rotates them); on demand at most 25
// times per key; an imported key rotates on demand to material imported beforehand with ImportType
// NEW_KEY_MATERIAL. Old material stays, so every ciphertext made under it still decrypts.
import { DAY_MS } from '../../common/clock.js';
import { KmsError, kmsErrors } from '../../common/errors.js';
import type { NewMaterial } from '../../keystores/key-store.js';
import type { Tx } from '../../store/index.js';
import type { CallContext } from '../key-directory.js';
import {
  arnOf,
  generatedMaterialFields,
  ImportState,
  materialAsOf,
  materialExpired,
  materialFromRecord,
  Origin,
  requireGenerated,
  requireSymmetric,
  requireUsable,
  RotationType,
  SYMMETRIC_DEFAULT,
  type Key,
  type Material,
} from '../model/index.js';
import { decodeMarker, encodeMarker, invalidMarker, paginate, updateKey, type OperationDeps, type Page } from './common.js';

export const DEFAULT_ROTATION_DAYS = 365;
export const MAX_ON_DEMAND_ROTATIONS = 25;

/** Makes new material the key's current one; an automatic rotation also sets the next rotation date. */
export async function addMaterial(deps: OperationDeps, tx: Tx, k: Key, made: NewMaterial, rotationType: RotationType): Promise<Key> {
  const now = deps.directory.now();
  await deps.keys.insertMaterial(tx, {
    ...generatedMaterialFields(),
    keyId: k.keyId,
    materialId: made.materialId,
    createdAt: now,
    rotationType,
    rotatedAt: now,
    materialRef: made.ref,
    publicKey: made.publicKey,
  });
  const next: Key = { ...k, currentMaterialId: made.materialId };
  if (rotationType === RotationType.Automatic && k.rotationPeriodDays) next.nextRotationAt = now + k.rotationPeriodDays * DAY_MS;
  await deps.keys.update(tx, next);
  return next;
}

export class RotationOperations {
  constructor(private readonly deps: OperationDeps) {}

  enableKeyRotation(ctx: CallContext, keyRef: string, periodDays = DEFAULT_ROTATION_DAYS): Promise<void> {
    return updateKey(this.deps, ctx, keyRef, (k) => {
      requireSymmetric(k, 'Automatic key rotation', 'UnsupportedOperation');
      requireGenerated(k, 'Automatic key rotation');
      requireUsable(k);
      return { ...k, rotationEnabled: true, rotationPeriodDays: periodDays, nextRotationAt: this.deps.directory.now() + periodDays * DAY_MS };
    });
  }

  disableKeyRotation(ctx: CallContext, keyRef: string): Promise<void> {
    return updateKey(this.deps, ctx, keyRef, (k) => {
      requireSymmetric(k, 'Automatic key rotation', 'UnsupportedOperation');
      requireGenerated(k, 'Automatic key rotation');
      requireUsable(k);
      return { ...k, rotationEnabled: false, nextRotationAt: null };
    });
  }

  /**
   * A key in a custom key store has no rotation status: AWS answers UnsupportedOperationException
   * ("origin is AWS_CLOUDHSM which is not valid for this operation"; the key-state table's note 7 for
   * GetKeyRotationStatus), as for EnableKeyRotation, whatever the key's state or its store's connection.
   * Other keys that do not rotate automatically (asymmetric, HMAC) report rotation off, as AWS does.
   */
  getKeyRotationStatus(ctx: CallContext, keyRef: string): Promise<Key> {
    const { directory } = this.deps;
    return directory.run<{ keys: [Key] }, never, Key>(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => {
        const k = await directory.resolve(ctx, keyRef, false);
        if (k.customKeyStoreId !== null) throw new KmsError('UnsupportedOperation', `${arnOf(k)} origin is ${k.origin} which is not valid for this operation: a key in custom key store ${k.customKeyStoreId} does not rotate.`);
        return { keys: [k] };
      },
      run: async ({ keys: [k] }) => k,
    });
  }

  /**
   * Generated keys get new material from their key store (made before the transaction); imported keys
   * take the material imported for this with ImportType NEW_KEY_MATERIAL (AWS's workflow), and without
   * one there is nothing to rotate to.
   */
  rotateKeyOnDemand(ctx: CallContext, keyRef: string): Promise<Key> {
    const { directory, keys } = this.deps;
    return directory.run<{ keys: [Key] }, NewMaterial | null, Key>(ctx, {
      kind: 'change',
      keyRef,
      prepare: async () => {
        const k = await directory.resolve(ctx, keyRef, false);
        requireSymmetric(k, 'On-demand key rotation', 'UnsupportedOperation');
        // As in AWS: keys in a custom key store do not rotate (their material is on the HSM, one object per key).
        if (k.customKeyStoreId !== null) throw new KmsError('UnsupportedOperation', `On-demand key rotation is not supported for ${arnOf(k)}, which is in custom key store ${k.customKeyStoreId}.`);
        requireUsable(k);
        return { keys: [k] };
      },
      make: async ({ keys: [k] }) => (k.origin === Origin.External ? null : directory.storeOf(k).generate(k.keyId, SYMMETRIC_DEFAULT)),
      discard: async (made, { keys: [k] }) => {
        if (made) await directory.storeOf(k).destroy({ keyId: k.keyId, materialId: made.materialId, ref: made.ref });
      },
      apply: async ({ tx, lookup }, _prepared, made) => {
        const cur = await directory.resolve(ctx, keyRef, false, lookup);
        requireUsable(cur);
        // Counted inside the transaction: rotations committed by other jobs of the same batch count too.
        // The limit is per key, generated or imported (RotateKeyOnDemand: "a maximum of 25 times per KMS key").
        const onDemand = await keys.countMaterials(cur.keyId, RotationType.OnDemand, tx);
        if (onDemand >= MAX_ON_DEMAND_ROTATIONS) {
          throw new KmsError('LimitExceeded', `${arnOf(cur)} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
        }
        if (made === null) return { result: await this.rotateToImported(tx, cur, await lookup.materials(cur.keyId)), keyId: cur.keyId, details: { rotationType: RotationType.OnDemand } };
        return { result: await addMaterial(this.deps, tx, cur, made, RotationType.OnDemand), keyId: cur.keyId, details: { rotationType: RotationType.OnDemand } };
      },
    });
  }

  private async rotateToImported(tx: Tx, cur: Key, materials: Material[]): Promise<Key> {
    const now = this.deps.directory.now();
    const pending = materials.find((m) => m.pendingRotation && m.importState === ImportState.Imported && !materialExpired(m, now));
    if (!pending) throw kmsErrors.invalidState(`${arnOf(cur)} has no key material imported with ImportType NEW_KEY_MATERIAL to rotate to.`);
    // createdAt stays: it places the material in ListKeyRotations, whose markers must not see it move.
    await this.deps.keys.updateMaterial(tx, { ...pending, pendingRotation: false, rotationType: RotationType.OnDemand, rotatedAt: now });
    const next: Key = { ...cur, currentMaterialId: pending.materialId, expirationModel: pending.expirationModel, validTo: pending.validTo };
    await this.deps.keys.update(tx, next);
    return next;
  }

  listKeyRotations(
    ctx: CallContext,
    keyRef: string,
    includeKeyMaterial: string | undefined,
    limit = 100,
    marker?: string,
  ): Promise<{ key: Key; page: Page<Material> }> {
    const { directory, keys } = this.deps;
    return directory.run<{ keys: [Key] }, never, { key: Key; page: Page<Material> }>(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => {
        const k = await directory.resolve(ctx, keyRef, false);
        // IncludeKeyMaterial "can only be used with KMS keys that support automatic or on-demand key
        // rotation" (the API model): symmetric encryption keys outside custom key stores. Without it, a
        // key that cannot rotate lists no rotations, as before.
        if (includeKeyMaterial !== undefined) {
          requireSymmetric(k, 'ListKeyRotations with IncludeKeyMaterial', 'UnsupportedOperation');
          if (k.customKeyStoreId !== null) throw new KmsError('UnsupportedOperation', `ListKeyRotations with IncludeKeyMaterial is not valid for ${arnOf(k)}, which is in custom key store ${k.customKeyStoreId} (its keys do not rotate).`);
        }
        return { keys: [k] };
      },
      run: async ({ keys: [k] }) => {
        const now = directory.now();
        const all = (await keys.listMaterials(k.keyId)).map((m) => materialAsOf(materialFromRecord(m), now));
        // The marker names the last material listed, in an order nothing moves a material in (listMaterials),
        // so a rotation or import between two pages neither skips nor repeats one. A key's material is never
        // removed while the key exists: a marker naming none of its materials was not made for this key.
        const after = decodeMarker('rotations', marker);
        const from = after === undefined ? 0 : all.findIndex((m) => m.materialId === after) + 1;
        if (from === 0 && after !== undefined) throw invalidMarker();
        const rest = all.slice(from);
        const rows = includeKeyMaterial === 'ALL_KEY_MATERIAL' ? rest : rest.filter((m) => m.rotationType !== null);
        return { key: k, page: paginate(rows, limit, (last) => encodeMarker('rotations', last.materialId)) };
      },
    });
  }
}
