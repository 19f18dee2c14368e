// Time-driven changes (DESIGN.md, "Keys": deletion at the end of its window, imported material expiry,
// automatic rotation), run over the injectable clock by the one scheduler (./scheduler.ts). Each is a
// change through the key directory's unit of work, audited as the scheduler: the key and everything
// that belonged to it deleted, and what its key store held of its materials destroyed; imported
// material past its ValidTo emptied (the row stays, so the same material can be imported again under
// the same ID) and its key left waiting for an import; expired import tokens removed with their
// wrapping keys; keys whose rotation date has come given new material. A run that deleted a key or
// emptied material ends by having the database forget the deleted bytes (Database.forgetDeleted), so
// that a copy of the files taken later holds no sealed material of a deleted key. Rotation needs the root key, so
// it waits while the appliance is sealed; the rest does not, but for the deletion of a key in a custom key
// store: its material is destroyed where the store keeps it (an HSM token), which no store can reach while
// the PINs are sealed, so such a key waits for the unseal and for the stores that were connected to
// connect again (wiring.ts, reopenCustomKeyStores), which a run of the timer may not overtake. A store
// still not connected then is as AWS has it: the key is
// deleted and the material on the token is left behind ("a best effort to delete the key material",
// ScheduleKeyDeletion), which the audit entry and the log say, naming the label it has there. A key in an
// external key store leaves nothing behind that Kura made, connected or not: its external key was never
// Kura's to delete ("has no effect on the associated external key"), and the audit entry names it.
import { CLOCK_STEP_TOLERANCE_MS } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { RootKeyHolder } from '../../seal/root-key.js';
import type { Database } from '../../store/transaction.js';
import type { SchedulerCall } from '../key-directory.js';
import { arnOf, KeyState, keyFromRecord, materialExpired, RotationType, SYMMETRIC_DEFAULT, type Key, type Material } from '../model/index.js';
import type { OperationDeps } from '../operations/common.js';
import { emptyImportedMaterial } from '../operations/import.js';
import { addMaterial } from '../operations/rotation.js';
import { loggedError } from '../storage-failures.js';

export interface DueRun {
  deleted: string[];
  rotated: string[];
  expired: string[];
}

const as = (operation: string): SchedulerCall => ({ scheduler: true, operation });

export class ScheduledJobs {
  /**
   * Whether the custom key stores have connected again since the appliance was last unsealed (false
   * while sealed: a seal resets it, and it is set only while unsealed): until
   * then a key of theirs is not deleted, since its material is out of reach (a run of the timer between
   * the unseal and the reconnect would have left it on its token).
   */
  private storesReopened = false;

  constructor(private readonly deps: OperationDeps & { root: RootKeyHolder; db: Pick<Database, 'forgetDeleted'>; log: Logger }) {
    deps.root.onSeal(() => {
      this.storesReopened = false;
    });
  }

  /** The custom key stores that were connected have connected again (or failed to) since the unseal. */
  customKeyStoresReopened(): void {
    // A seal while they reconnected: the next unseal reconnects them again first.
    if (this.deps.root.isUnsealed) this.storesReopened = true;
  }

  /** Runs what has fallen due by now; each key's change commits on its own. */
  async runDue(): Promise<DueRun> {
    const now = this.deps.directory.now();
    const run: DueRun = { deleted: [], rotated: [], expired: [] };
    await this.deleteDue(now, run);
    if (this.deps.root.isUnsealed) await this.rotateDue(now, run);
    await this.expireImportedMaterial(now, run);
    await this.expireImportTokens(now);
    // A deleted key, or emptied material, is gone from the database's files too, not only from its tables.
    if (run.deleted.length > 0 || run.expired.length > 0) await this.deps.db.forgetDeleted();
    return run;
  }

  private async deleteDue(now: number, run: DueRun): Promise<void> {
    const { directory, keys } = this.deps;
    for (const due of await keys.dueForDeletion(now)) {
      // Its material is on a custom key store: wait for the unseal, and for the stores to connect again.
      if (due.customKeyStoreId !== null && !this.storesReopened) continue;
      await directory.run<{ keys: [] }, never, { key: Key; materials: Material[] } | null>(as('DeleteKey'), {
        kind: 'change',
        whileSealed: true,
        apply: async ({ tx, lookup }) => {
          const cur = await lookup.key(due.keyId);
          // Cancelled, or deleted by another run, since it was listed.
          if (!cur || cur.state !== KeyState.PendingDeletion || cur.deletionAt === null || cur.deletionAt > now) return { result: null, unchanged: true };
          const materials = await lookup.materials(cur.keyId);
          await keys.delete(tx, cur.keyId);
          const store = cur.customKeyStoreId;
          // A key of an external key store names its external key: the KMS key no longer uses it, and nothing deletes it.
          let details: Record<string, string | boolean> | undefined;
          if (store !== null) details = { customKeyStoreId: store, customKeyStoreConnected: directory.storeConnected(store) };
          if (details && cur.xksKeyId !== null) details.xksKeyId = cur.xksKeyId;
          return { result: { key: cur, materials }, keyId: cur.keyId, ...(details ? { details } : {}) };
        },
        after: async (deleted) => {
          if (!deleted) return;
          run.deleted.push(deleted.key.keyId);
          try {
            const store = directory.storeOf(deleted.key);
            for (const m of deleted.materials) if (m.materialRef) await store.destroy({ keyId: m.keyId, materialId: m.materialId, ref: m.materialRef });
          } catch (e) {
            if (deleted.key.customKeyStoreId === null) throw e;
            // An external key store holds nothing of Kura's: its key's own material was sealed in the rows just
            // deleted, and its external key is the external key manager's, which AWS never deletes either.
            if (deleted.key.xksKeyId !== null) return;
            // The key is gone; what its store holds of it is the operator's to remove, found by its label.
            this.deps.log.warn('a deleted key left its material on its custom key store', {
              keyId: deleted.key.keyId,
              customKeyStoreId: deleted.key.customKeyStoreId,
              label: arnOf(deleted.key),
              ...loggedError(e),
            });
          }
        },
      });
    }
  }

  private async rotateDue(now: number, run: DueRun): Promise<void> {
    const { directory, keys } = this.deps;
    for (const due of (await keys.dueForRotation(now)).map(keyFromRecord)) {
      await directory.run(as('RotateKey'), {
        kind: 'change',
        make: async () => directory.storeOf(due).generate(due.keyId, SYMMETRIC_DEFAULT),
        discard: async (made) => directory.storeOf(due).destroy({ keyId: due.keyId, materialId: made.materialId, ref: made.ref }),
        apply: async ({ tx, lookup }, _prepared, made) => {
          const cur = await lookup.key(due.keyId);
          if (!cur || !cur.rotationEnabled || cur.state !== KeyState.Enabled || cur.nextRotationAt === null || cur.nextRotationAt > now) {
            return { result: undefined, unchanged: true };
          }
          await addMaterial(this.deps, tx, cur, made, RotationType.Automatic);
          return { result: undefined, keyId: cur.keyId };
        },
        after: async () => {
          run.rotated.push(due.keyId);
        },
      });
    }
  }

  private async expireImportedMaterial(now: number, run: DueRun): Promise<void> {
    const { directory, keys } = this.deps;
    for (const listed of await keys.expiredMaterials(now)) {
      await directory.run<{ keys: [] }, never, { key: Key; emptied: Material } | null>(as('ExpireImportedKeyMaterial'), {
        kind: 'change',
        whileSealed: true,
        apply: async ({ tx, lookup }) => {
          const k = await lookup.key(listed.keyId);
          // Read again inside the transaction: an import that committed since the listing (the same
          // material again, with a new ValidTo or none) is the customer's answer and must stand.
          const expired = k && (await lookup.materials(k.keyId)).find((m) => m.materialId === listed.materialId);
          if (!k || !expired || !materialExpired(expired, now)) return { result: null, unchanged: true };
          await emptyImportedMaterial(this.deps, tx, k, expired);
          return { result: { key: k, emptied: expired }, keyId: k.keyId, details: { keyMaterialId: expired.materialId } };
        },
        after: async (done) => {
          if (!done) return;
          const { key, emptied } = done;
          run.expired.push(key.keyId);
          if (emptied.materialRef) await directory.storeOf(key).destroy({ keyId: key.keyId, materialId: emptied.materialId, ref: emptied.materialRef });
        },
      });
    }
  }

  /**
   * Audits that the scheduler saw the wall clock stepped (./scheduler.ts): by how much, from and to
   * what, and until when (elapsed time) its work is held. A change of nothing, audited as the scheduler.
   */
  async recordClockJump(details: { stepMs: number; from: string; to: string; heldForMs: number }): Promise<void> {
    await this.deps.directory.run(as('ClockJumpObserved'), {
      kind: 'change',
      whileSealed: true,
      apply: async () => ({ result: undefined, details }),
    });
  }

  /** Import tokens past their 24 hours go with their wrapping private keys; audited when there were any. */
  private async expireImportTokens(now: number): Promise<void> {
    const { directory, importTokens } = this.deps;
    await directory.run(as('ExpireImportTokens'), {
      kind: 'change',
      whileSealed: true,
      apply: async ({ tx }) => {
        const removed = await importTokens.deleteExpired(tx, now, now + CLOCK_STEP_TOLERANCE_MS);
        return { result: removed, unchanged: removed === 0, details: { tokens: removed } };
      },
    });
  }
}
