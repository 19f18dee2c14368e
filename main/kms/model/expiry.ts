// Expiry of imported key material at request time. AWS KMS: when imported key material expires, KMS
// deletes it and the key's state becomes PendingImport (Developer Guide, "Importing key material";
// ImportKeyMaterial, ValidTo), so that every cryptographic operation answers KMSInvalidStateException.
//
// The scheduler (main/kms/jobs/due.ts) does the database bookkeeping — it empties the material row and
// writes the key's new state — but it runs once a minute; a request must not be able to use material in
// the minute after its ValidTo. So every read of a key's state, and every use of a material, applies the
// same rule at the request's own time; the answers are those the key will give once the scheduler has run.
import { ImportState, KeyState, Origin, type Key, type Material } from './key.js';

/** Imported material whose ValidTo has come (ValidTo <= now, as the scheduler selects it), but which is not yet emptied. */
export function materialExpired(m: Pick<Material, 'importState' | 'validTo'>, now: number): boolean {
  return m.importState === ImportState.Imported && m.validTo !== null && m.validTo <= now;
}

/** A material as the scheduler will leave it: expired material reads as PENDING_IMPORT (its reference is not used). */
export function materialAsOf(m: Material, now: number): Material {
  return materialExpired(m, now) ? { ...m, importState: ImportState.PendingImport } : m;
}

/** The states a key keeps whatever becomes of its materials. */
const KEPT_THROUGH_EXPIRY: readonly KeyState[] = [KeyState.PendingImport, KeyState.PendingDeletion];

/**
 * keyAsOf's rule as data, which mayExpire and keyAsOf read and KeyDirectory hands to the store for a query
 * over many keys (the console's key search and tally): a key of origin `origin` in one of the states `from`
 * reads as `state` once a material of its own (not one pending rotation) has expired (materialExpired).
 */
export const EXPIRY: { readonly origin: Origin; readonly from: readonly KeyState[]; readonly state: KeyState } = {
  origin: Origin.External,
  from: Object.values(KeyState).filter((s) => !KEPT_THROUGH_EXPIRY.includes(s)),
  state: KeyState.PendingImport,
};

/** Whether a key's state depends on its materials' expiry, so that they must be read to know it. */
export function mayExpire(k: Key): boolean {
  return k.origin === EXPIRY.origin && EXPIRY.from.includes(k.state);
}

/**
 * The key as the scheduler will leave it once it has emptied its expired materials: PendingImport as
 * soon as one of its materials has expired (the material of a rotation that has not happened yet
 * excepted: it is not the key's until RotateKeyOnDemand), and PendingDeletion stays.
 */
export function keyAsOf(k: Key, materials: readonly Material[], now: number): Key {
  if (!mayExpire(k)) return k;
  return materials.some((m) => !m.pendingRotation && materialExpired(m, now)) ? { ...k, state: EXPIRY.state } : k;
}

/**
 * Whether an imported key lacks usable material: none was imported yet, or one of its materials was
 * deleted or has expired. Such a key cannot be Enabled or Disabled, only PendingImport (or PendingDeletion).
 */
export function awaitsImport(k: Key, materials: readonly Material[], now: number): boolean {
  if (k.origin !== Origin.External) return false;
  const own = materials.filter((m) => !m.pendingRotation);
  return own.length === 0 || own.some((m) => m.importState !== ImportState.Imported || materialExpired(m, now));
}
