// Key lifecycle with AWS KMS semantics (API reference: CreateKey, DescribeKey, ListKeys, EnableKey,
// DisableKey, UpdateKeyDescription, ScheduleKeyDeletion, CancelKeyDeletion; Developer Guide, "Key states
// of AWS KMS keys"). CreateKey generates the key's first material in its key store before the
// transaction (an EXTERNAL key has none until ImportKeyMaterial); deletion itself happens when the
// waiting period ends (main/kms/jobs/due.ts).
import { DAY_MS } from '../../common/clock.js';
import { KmsError, kmsErrors } from '../../common/errors.js';
import { partitionOf } from '../../common/regions.js';
import { isKeyUsageAllowed } from '../../crypto/asymmetric/index.js';
import type { NewMaterial } from '../../keystores/key-store.js';
import type { CustomKeyStoreRepository, DerivedKeyState, KeyFilter } from '../../store/index.js';
import type { CallContext } from '../key-directory.js';
import { newKeyId } from '../identifiers.js';
import {
  arnOf,
  awaitsImport,
  generatedMaterialFields,
  isKeySpecName,
  isKeyUsage,
  keyFromRecord,
  KeyState,
  KeyUsage,
  Origin,
  requireNotPendingDeletion,
  requireNotPendingImport,
  SYMMETRIC_DEFAULT,
  type Key,
  type KeySpecName,
} from '../model/index.js';
import { checkPolicyDocument, defaultKeyPolicy } from '../policy.js';
import { checkTags, decodeMarker, encodeMarker, paginate, updateKey, type OperationDeps, type Page, type TagInput } from './common.js';
import { ownedBy } from './custom-key-stores.js';

export interface CreateKeyInput {
  description?: string;
  keyUsage?: string;
  keySpec?: string;
  customerMasterKeySpec?: string;
  origin?: string;
  policy?: string;
  tags?: TagInput[];
  customKeyStoreId?: string;
  multiRegion?: boolean;
  xksKeyId?: string;
}

/** The key usages a spec allows: SYMMETRIC_DEFAULT only encrypts; the others as main/crypto/asymmetric says. */
function usageAllowed(spec: KeySpecName, usage: KeyUsage): boolean {
  return spec === SYMMETRIC_DEFAULT ? usage === KeyUsage.EncryptDecrypt : isKeyUsageAllowed(spec, usage);
}

/** CreateKey's rule for a custom key store: AWS answers CustomKeyStoreInvalidState unless it is CONNECTED. */
function requireConnected(directory: OperationDeps['directory'], id: string): void {
  if (!directory.storeConnected(id)) {
    throw new KmsError('CustomKeyStoreInvalidState', `Custom key store ${id} is not connected: connect it (ConnectCustomKeyStore) before creating keys in it.`);
  }
}

export class LifecycleOperations {
  constructor(private readonly deps: OperationDeps & { customKeyStores: Pick<CustomKeyStoreRepository, 'find' | 'listIn'> }) {}

  /**
   * AWS's rules for a key in a custom key store: the store exists in the caller's account and Region
   * (another's is CustomKeyStoreNotFound, as in AWS) and is CONNECTED, the key is a
   * symmetric encryption key, and its Origin says where its material is (AWS_CLOUDHSM, or
   * EXTERNAL_KEY_STORE with the XksKeyId of an external key that no other key of the store is bound
   * to); either Origin without a store names nothing. Returns the store's ID, or null for the standard store.
   */
  private async customKeyStoreFor(ctx: CallContext, input: CreateKeyInput, origin: string, keySpec: string, keyUsage: string): Promise<string | null> {
    const id = input.customKeyStoreId;
    if (id === undefined) {
      if (origin === Origin.AwsCloudHsm) throw kmsErrors.validation('Origin AWS_CLOUDHSM needs the CustomKeyStoreId of an AWS_CLOUDHSM key store.');
      if (origin === Origin.ExternalKeyStore) throw kmsErrors.validation('Origin EXTERNAL_KEY_STORE needs the CustomKeyStoreId of an EXTERNAL_KEY_STORE key store.');
      if (input.xksKeyId !== undefined) throw kmsErrors.validation('XksKeyId is valid only for keys in an external key store (Origin EXTERNAL_KEY_STORE).');
      return null;
    }
    const store = await this.deps.customKeyStores.find(id);
    if (!store || !ownedBy(store, ctx)) throw new KmsError('CustomKeyStoreNotFound', `Custom key store ${id} does not exist.`);
    const wanted = store.type === 'AWS_CLOUDHSM' ? Origin.AwsCloudHsm : Origin.ExternalKeyStore;
    if (origin !== wanted) throw kmsErrors.validation(`A key in an ${store.type} key store has Origin ${wanted}, not ${origin}.`);
    if (store.type === 'EXTERNAL_KEY_STORE') {
      if (input.xksKeyId === undefined) throw kmsErrors.validation('A key in an external key store needs the XksKeyId of its external key.');
      const bound = await this.deps.keys.findByXksKeyId(id, input.xksKeyId);
      if (bound) throw new KmsError('XksKeyAlreadyInUse', `External key ${input.xksKeyId} is bound to KMS key ${bound.keyId} of this external key store already.`);
    } else if (input.xksKeyId !== undefined) {
      throw kmsErrors.validation('XksKeyId is valid only for keys in an external key store (Origin EXTERNAL_KEY_STORE).');
    }
    if (keySpec !== SYMMETRIC_DEFAULT || keyUsage !== KeyUsage.EncryptDecrypt) {
      throw new KmsError('UnsupportedOperation', 'A custom key store holds only symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).');
    }
    if (input.multiRegion) throw new KmsError('UnsupportedOperation', 'A key in a custom key store cannot be a multi-Region key.');
    requireConnected(this.deps.directory, id);
    return id;
  }

  createKey(ctx: CallContext, input: CreateKeyInput): Promise<Key> {
    const { directory } = this.deps;
    return directory.run<{ keys: []; record: Key; tags: TagInput[] }, NewMaterial | null, Key>(ctx, {
      kind: 'change',
      prepare: async () => {
        if (input.keySpec && input.customerMasterKeySpec) {
          throw kmsErrors.validation('You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.');
        }
        const keySpec = input.keySpec ?? input.customerMasterKeySpec ?? SYMMETRIC_DEFAULT;
        // The API model: KeyUsage is optional for a symmetric encryption key only.
        if (input.keyUsage === undefined && keySpec !== SYMMETRIC_DEFAULT) throw kmsErrors.validation(`KeyUsage is required for a KMS key of KeySpec ${keySpec}.`);
        const keyUsage = input.keyUsage ?? KeyUsage.EncryptDecrypt;
        const origin = input.origin ?? Origin.AwsKms;
        if (!isKeySpecName(keySpec) || !isKeyUsage(keyUsage) || !usageAllowed(keySpec, keyUsage)) {
          throw kmsErrors.validation(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
        }
        const customKeyStoreId = await this.customKeyStoreFor(ctx, input, origin, keySpec, keyUsage);
        // customKeyStoreFor checked AWS_CLOUDHSM; the standard store makes AWS_KMS keys and takes EXTERNAL ones.
        if (customKeyStoreId === null && origin !== Origin.AwsKms && origin !== Origin.External) {
          throw new KmsError('UnsupportedOperation', `Kura does not support Origin ${origin} yet; keys are AWS_KMS (generated), EXTERNAL (imported) or AWS_CLOUDHSM (on an HSM).`);
        }
        const keyOrigin = origin as Origin;
        if (input.multiRegion) throw new KmsError('UnsupportedOperation', 'Kura does not support multi-Region keys.');
        const policy = input.policy ?? defaultKeyPolicy(ctx.accountId, partitionOf(ctx.region));
        checkPolicyDocument(policy);
        const tags = checkTags(input.tags ?? []);
        const imported = origin === Origin.External;
        const record: Key = {
          keyId: newKeyId(),
          accountId: ctx.accountId,
          region: ctx.region,
          description: input.description ?? '',
          keyUsage,
          keySpec,
          origin: keyOrigin,
          state: imported ? KeyState.PendingImport : KeyState.Enabled,
          createdAt: directory.now(),
          deletionAt: null,
          pendingWindowDays: null,
          rotationEnabled: false,
          rotationPeriodDays: null,
          nextRotationAt: null,
          onDemandRotationStartedAt: null,
          policy,
          currentMaterialId: null,
          expirationModel: null,
          validTo: null,
          customKeyStoreId,
          xksKeyId: customKeyStoreId !== null ? (input.xksKeyId ?? null) : null,
        };
        return { keys: [], record, tags };
      },
      // An EXTERNAL key has no material until ImportKeyMaterial; its material ID comes from the material.
      // A key on an HSM is labelled there with its ARN, so that an operator can find it on the token; a key
      // in an external key store is bound to its external key, which its store checks with the proxy.
      // The store was CONNECTED when checked; one disconnected since (while the call was authorized) is
      // not registered any more, which storeOf would answer as a store that does not exist.
      make: async ({ record }) => {
        if (record.origin === Origin.External) return null;
        if (record.customKeyStoreId !== null) requireConnected(directory, record.customKeyStoreId);
        return directory.storeOf(record).generate(record.keyId, record.keySpec, {
          label: arnOf(record),
          ...(record.xksKeyId !== null ? { externalKeyId: record.xksKeyId, caller: { principal: ctx.principal, keyArn: arnOf(record), operation: ctx.operation, requestId: ctx.requestId ?? record.keyId } } : {}),
        });
      },
      discard: async (made, { record }) => {
        if (made) await directory.storeOf(record).destroy({ keyId: record.keyId, materialId: made.materialId, ref: made.ref });
      },
      apply: async ({ tx }, { record, tags }, made) => {
        // Again in the transaction: the store may have been disconnected, even deleted, while its key store
        // made the material; the key would then reference no store (SQLite's foreign key, answered as an
        // internal error), or be committed after DeleteCustomKeyStore counted none in the store.
        if (record.customKeyStoreId !== null) {
          if (!(await this.deps.customKeyStores.find(record.customKeyStoreId, tx))) throw new KmsError('CustomKeyStoreNotFound', `Custom key store ${record.customKeyStoreId} does not exist.`);
          requireConnected(directory, record.customKeyStoreId);
        }
        if (record.xksKeyId !== null && record.customKeyStoreId !== null) {
          const bound = await this.deps.keys.findByXksKeyId(record.customKeyStoreId, record.xksKeyId, tx);
          if (bound) throw new KmsError('XksKeyAlreadyInUse', `External key ${record.xksKeyId} is bound to KMS key ${bound.keyId} of this external key store already.`);
        }
        const key: Key = { ...record, currentMaterialId: made?.materialId ?? null };
        await this.deps.keys.insert(tx, key);
        if (made) {
          await this.deps.keys.insertMaterial(tx, {
            ...generatedMaterialFields(),
            keyId: key.keyId,
            materialId: made.materialId,
            createdAt: key.createdAt,
            rotationType: null,
            materialRef: made.ref,
            publicKey: made.publicKey,
          });
        }
        for (const t of tags) await this.deps.keys.putTag(tx, key.keyId, t);
        return { result: key, keyId: key.keyId };
      },
    });
  }

  describeKey(ctx: CallContext, keyRef: string): Promise<Key> {
    return this.deps.directory.run<{ keys: [Key] }, never, Key>(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => ({ keys: [await this.deps.directory.resolve(ctx, keyRef, true)] }),
      run: async ({ keys: [k] }) => k,
    });
  }

  listKeys(ctx: CallContext, limit = 100, marker?: string): Promise<Page<Key>> {
    return this.deps.directory.run<{ keys: []; after: string }, never, Page<Key>>(ctx, {
      kind: 'read',
      prepare: async () => ({ keys: [], after: decodeMarker('keys', marker) ?? '' }),
      run: async ({ after }) => {
        const rows = (await this.deps.keys.list(ctx.accountId, ctx.region, after, limit + 1)).map(keyFromRecord);
        return paginate(rows, limit, (k) => encodeMarker('keys', k.keyId));
      },
    });
  }

  /**
   * The operator console's key list: one page of the keys of the caller's account and Region that match
   * a filter, in key ID order after `after`, and how many match in all (audited as a ListKeys read).
   */
  searchKeys(ctx: CallContext, filter: KeyFilter, after: string, limit: number): Promise<{ keys: Key[]; next: string | null; total: number }> {
    const { directory, keys: repository } = this.deps;
    return directory.run<{ keys: [] }, never, { keys: Key[]; next: string | null; total: number }>(ctx, {
      kind: 'read',
      run: async () => {
        const where: KeyFilter = { ...filter, derived: await this.derived(ctx) };
        const [rows, total] = await Promise.all([
          repository.search(ctx.accountId, ctx.region, where, after, limit + 1),
          repository.countMatching(ctx.accountId, ctx.region, where),
        ]);
        const keys = await Promise.all(rows.slice(0, limit).map((r) => directory.asOfNow(keyFromRecord(r))));
        return { keys, next: rows.length > limit ? keys[keys.length - 1]!.keyId : null, total };
      },
    });
  }

  /**
   * How many keys of the caller's account and Region are in each state and of each origin (the console's
   * dashboard); a key reads in the state DescribeKey answers (PendingImport once its imported material expired,
   * Unavailable while its custom key store is not connected).
   */
  keyTally(ctx: CallContext): Promise<{ byState: Record<string, number>; byOrigin: Record<string, number> }> {
    return this.deps.directory.run<{ keys: [] }, never, { byState: Record<string, number>; byOrigin: Record<string, number> }>(ctx, {
      kind: 'read',
      run: async () => this.deps.keys.tally(ctx.accountId, ctx.region, await this.derived(ctx)),
    });
  }

  /**
   * Which keys of the caller's account and Region read now in a state other than the one stored, as
   * DescribeKey reads one (KeyDirectory.asOfNow): PendingImport once imported material expired, Unavailable
   * while a custom key store is not connected.
   */
  private async derived(ctx: CallContext): Promise<DerivedKeyState[]> {
    return this.deps.directory.derivedStates((await this.deps.customKeyStores.listIn(ctx)).map((c) => c.id));
  }

  enableKey(ctx: CallContext, keyRef: string): Promise<void> {
    return updateKey(this.deps, ctx, keyRef, (k) => {
      requireNotPendingDeletion(k);
      requireNotPendingImport(k);
      return { ...k, state: KeyState.Enabled };
    });
  }

  disableKey(ctx: CallContext, keyRef: string): Promise<void> {
    return updateKey(this.deps, ctx, keyRef, (k) => {
      requireNotPendingDeletion(k);
      requireNotPendingImport(k);
      return { ...k, state: KeyState.Disabled };
    });
  }

  updateKeyDescription(ctx: CallContext, keyRef: string, description: string): Promise<void> {
    return updateKey(this.deps, ctx, keyRef, (k) => {
      requireNotPendingDeletion(k);
      return { ...k, description };
    });
  }

  scheduleKeyDeletion(ctx: CallContext, keyRef: string, pendingWindowDays = 30): Promise<Key> {
    const { directory } = this.deps;
    return directory.run(ctx, {
      kind: 'change',
      keyRef,
      check: () => {
        if (pendingWindowDays < 7 || pendingWindowDays > 30) {
          throw kmsErrors.validation(
            `1 validation error detected: Value '${pendingWindowDays}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`,
          );
        }
      },
      prepare: async () => ({ keys: [await directory.resolve(ctx, keyRef, false)] }),
      apply: async ({ tx, lookup }) => {
        const k = await directory.resolve(ctx, keyRef, false, lookup);
        requireNotPendingDeletion(k);
        const next: Key = { ...k, state: KeyState.PendingDeletion, deletionAt: directory.now() + pendingWindowDays * DAY_MS, pendingWindowDays };
        await this.deps.keys.update(tx, next);
        return { result: next, keyId: k.keyId, details: { pendingWindowDays } };
      },
    });
  }

  cancelKeyDeletion(ctx: CallContext, keyRef: string): Promise<Key> {
    const { directory } = this.deps;
    return directory.run(ctx, {
      kind: 'change',
      keyRef,
      prepare: async () => ({ keys: [await directory.resolve(ctx, keyRef, false)] }),
      apply: async ({ tx, lookup }) => {
        const k = await directory.resolve(ctx, keyRef, false, lookup);
        if (k.state !== KeyState.PendingDeletion) throw kmsErrors.invalidState(`${arnOf(k)} is not pending deletion.`);
        // AWS: a cancelled key is Disabled, unless it is an imported key without usable material (never
        // imported, deleted or expired while it waited): that one is PendingImport, or EnableKey would
        // enable a key that has nothing to encrypt with.
        const state = awaitsImport(k, await lookup.materials(k.keyId), directory.now()) ? KeyState.PendingImport : KeyState.Disabled;
        const next: Key = { ...k, state, deletionAt: null, pendingWindowDays: null };
        await this.deps.keys.update(tx, next);
        return { result: next, keyId: k.keyId };
      },
    });
  }
}
