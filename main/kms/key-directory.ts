// The key directory: finds keys (by key ID, key ARN, alias name or alias ARN, in the caller's account and
// region, as AWS resolves them), reads key, alias and material records through caches so that a
// cryptographic call does not query SQLite for records it read a moment ago, and runs the one unit of
// work that every change and every cryptographic call of the KMS domain goes through (DESIGN.md, "The
// unit of work"):
//
//   request checks → sealed? → prepare (resolve from the caches, state rules) → authorize → approval gate
//   → a read: the call itself, then its audit entry, committed durably (a group commit of its own)
//   → a change: material made outside the transaction (key stores may be slow), then one transaction
//     with the change and its audit entry, committed durably before the call is answered
//   → a failure anywhere: an audit entry of the error (as a read's), and the error goes on unchanged.
//
// Nothing else in kms/ writes or audits. This process is the only writer of its database, so the caches
// are dropped around every change (before the transaction, so that no load started earlier can put the
// old row back, and after the commit); a generation counter makes a load that raced with a change
// discard its result (./record-cache.ts).
// Why one file of this length: the unit of work, the caches it drops and the audit entry it writes are
// one invariant (no call answered without its entry, no cache older than a commit); apart, each half
// would depend on the other's order.
import type { AuditEvent, AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../common/clock.js';
import { isKmsError, kmsErrors } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { partitionOf } from '../common/regions.js';
import type { KeyStore, KeyStoreRegistry, StoredMaterial } from '../keystores/key-store.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { AliasRecord, DerivedKeyState, Store, Tx } from '../store/index.js';
import type { ApprovalGate } from './approval-gate.js';
import type { Authorizer } from './authorization.js';
import { aliasArn, keyArn, keyIdNamedBy, parseKeyRef } from './identifiers.js';
import { arnOf, EXPIRY, KeyState, keyAsOf, keyFromRecord, materialExpired, materialFromRecord, mayExpire, type Key, type Material } from './model/index.js';
import { RecordCache } from './record-cache.js';
import { loggedError } from './storage-failures.js';

/** Who is calling, and where: the account comes from the credential, the region from the SigV4 scope. */
export interface CallContext {
  accountId: string;
  region: string;
  principal: string;
  accessKeyId?: string;
  requestId?: string;
  /** The TrentService action, as the audit log names it. */
  operation: string;
  /**
   * The request's input as it came (JSON, before decoding): what an approval request records, so that
   * a gated call can run again exactly as it was asked once its quorum approves it.
   */
  input?: Readonly<Record<string, unknown>>;
  /**
   * A live call's input with its sensitive values (those the API model marks so: a PIN, a proxy's secret)
   * taken out, and those values: what an approval request shows and signs, and what it keeps sealed.
   */
  splitInput?: () => { open: Record<string, unknown>; secrets: SensitiveValue[] };
  /** An approved call's run: the sensitive values its `input` (the open form) had taken out. */
  secrets?: readonly SensitiveValue[];
  /** Set only by the executor of an approved request: its ID (the approval gate admits it once). */
  approvedRequest?: string;
  /**
   * Set by the unit of work when it audits the call: the key IDs its audit entry names (ReEncrypt: the
   * destination as keyId, the source as sourceKeyId), so that the endpoint's log line names the same keys.
   */
  auditedKeys?: { keyId?: string; sourceKeyId?: string };
}

/** One sensitive value of a request's JSON: where it was (member names, list indexes) and what it was. */
export interface SensitiveValue {
  path: (string | number)[];
  value: unknown;
}

/** Kura's own time-driven changes (main/kms/jobs): no account or region; audited as the scheduler. */
export interface SchedulerCall {
  scheduler: true;
  operation: string;
}

/** An operator's call through the admin API or the CLI (registering an HSM …): audited as the admin source. */
export interface OperatorCall {
  operator: string;
  operation: string;
  /** Set when an approved request runs the change: its audit entry names the request (for its transcript). */
  approvedRequest?: string;
  /**
   * Only the checks: the change's check and prepare run (refusing what they refuse, audited), and
   * nothing is made or changed; the call resolves with undefined. The admin API runs a gated command
   * so before asking custodians to approve it, so that they are not asked to sign what cannot run.
   */
  checkOnly?: boolean;
}

export type Caller = CallContext | SchedulerCall | OperatorCall;

const isScheduler = (c: Caller): c is SchedulerCall => 'scheduler' in c;
const isOperator = (c: Caller): c is OperatorCall => 'operator' in c;

/** How a call reads keys, aliases and materials: through the caches, or through its own transaction. */
export interface Lookup {
  key(keyId: string): Promise<Key | undefined>;
  alias(accountId: string, region: string, name: string): Promise<AliasRecord | undefined>;
  /** Every material of a key (the expiry of imported material decides the key's state at request time). */
  materials(keyId: string): Promise<Material[]>;
}

/** What a call's preparation found: the keys it acts on, which the authorizer and the approval gate judge. */
export interface Prepared {
  keys: readonly Key[];
}

/** What a change's transaction step gets: the transaction, and lookups that read through it. */
export interface InTransaction {
  tx: Tx;
  lookup: Lookup;
}

export type AuditDetails = NonNullable<AuditEvent['details']>;

/** What a change's transaction step did, for its audit entry. */
export interface Change<T> {
  result: T;
  /** The key the change was made to. */
  keyId?: string;
  details?: AuditDetails;
  /** A scheduled job that found nothing left to do (another run did it): nothing was written, nothing is audited. */
  unchanged?: boolean;
}

interface Steps<P extends Prepared> {
  /**
   * The key as the caller named it (ID, ARN or alias; ReEncrypt: DestinationKeyId). The audit entry of a
   * read or of a failure names the key ID it resolved to (see auditedKeys).
   */
  keyRef?: string;
  /** ReEncrypt's SourceKeyId as the caller named it: the key that decrypts, audited as details.sourceKeyId. */
  sourceKeyRef?: string;
  /**
   * A call that opens a ciphertext whose header names its key, when the caller need not name it: which
   * key that is ('key': the call's own, Decrypt; 'source': ReEncrypt's source).
   */
  ciphertextKey?: 'key' | 'source';
  /** What a read's or a failure's audit entry says besides its keys (an operator's listing: the store it lists). */
  details?: AuditDetails;
  /** Request checks that AWS answers before anything else, even while sealed. */
  check?(): void;
  /** Changes that need no key material (deletion at the end of its window) run while sealed too. */
  whileSealed?: boolean;
  /** Resolves what the call acts on, from the caches, and applies the state rules. */
  prepare?(): Promise<P>;
}

/** A call that changes nothing: it runs, then its audit entry is committed durably. */
export interface ReadWork<P extends Prepared, T> extends Steps<P> {
  kind: 'read';
  run(prepared: P): Promise<T>;
}

/**
 * A change: `make` runs outside the transaction (new material: key stores may be slow), `apply` inside
 * it; `discard` gives back what `make` made when the transaction fails or finds nothing to change.
 */
export interface ChangeWork<P extends Prepared, M, T> extends Steps<P> {
  kind: 'change';
  make?(prepared: P): Promise<M>;
  discard?(made: M, prepared: P): Promise<void>;
  apply(w: InTransaction, prepared: P, made: M): Promise<Change<T>>;
  /** After the commit: what the key stores must forget of what the change removed (a failure is logged: the change stands). */
  after?(result: T, made: M): Promise<void>;
}

export type Work<P extends Prepared, M, T> = ReadWork<P, T> | ChangeWork<P, M, T>;

export interface KeyDirectoryDeps {
  store: Pick<Store, 'db' | 'keys' | 'aliases'>;
  root: RootKeyHolder;
  audit: AuditLog;
  clock: Clock;
  registry: KeyStoreRegistry;
  authorizer: Authorizer;
  gate: ApprovalGate;
  log: Logger;
}

const NOTHING: Prepared = { keys: [] };

/** The stored states in which a key of a custom key store that is not connected reads as Unavailable (asOfNow). */
const UNAVAILABLE_FROM: readonly string[] = [KeyState.Enabled, KeyState.Disabled];

/** The keys one call resolved, for its audit entry. */
interface ResolvedKeys {
  /** Each reference the call resolved, as the caller wrote it, and the ID of the key it named. */
  byRef: Map<string, string>;
  /** The key a ciphertext's header named (Decrypt or ReEncrypt without the key named). */
  fromCiphertext?: string;
}

export class KeyDirectory {
  /**
   * The keys each call in progress has resolved, by its caller (a request's own context): a call's
   * audit entry names key IDs, whatever the caller wrote (an alias, an ARN) and even when it fails
   * after resolving (a disabled key, another key's ciphertext), so that `kura audit list --key` finds it.
   */
  private readonly resolving = new WeakMap<Caller, ResolvedKeys>();
  private readonly keyCache = new RecordCache<Key>();
  private readonly aliasCache = new RecordCache<AliasRecord>();
  private readonly materialCache = new RecordCache<Material>();
  private readonly materialListCache = new RecordCache<Material[]>();

  constructor(private readonly deps: KeyDirectoryDeps) {}

  now(): number {
    return this.deps.clock.nowMs();
  }

  /** The unit of work: see the file header for its steps and their order. */
  async run<P extends Prepared, M, T>(caller: Caller, work: Work<P, M, T>): Promise<T> {
    const resolved: ResolvedKeys = { byRef: new Map() };
    this.resolving.set(caller, resolved);
    try {
      work.check?.();
      if (!work.whileSealed) this.deps.root.requireUnsealed();
      const prepared = work.prepare ? await work.prepare() : (NOTHING as P);
      const request = { caller, action: `kms:${caller.operation}`, keys: prepared.keys };
      await this.deps.authorizer.authorize(request);
      if (isOperator(caller) && caller.checkOnly) return undefined as T;
      await this.deps.gate.admit(request);
      if (work.kind === 'read') {
        const result = await work.run(prepared);
        await this.deps.audit.append(this.entry(caller, 'ok', this.auditedKeys(caller, work, resolved)));
        return result;
      }
      return await this.change(caller, work, prepared);
    } catch (e) {
      await this.auditFailure(caller, this.auditedKeys(caller, work, resolved), e);
      throw e;
    } finally {
      if (this.resolving.get(caller) === resolved) this.resolving.delete(caller);
    }
  }

  /**
   * The keys a read's or a failure's audit entry names: the key ID each reference resolved to (or, if it
   * was not resolved, the key ID a key ID or key ARN names), with the caller's reference beside it in
   * details where it was something else (an alias, an ARN). ReEncrypt's source is details.sourceKeyId.
   */
  private auditedKeys(caller: Caller, work: Steps<Prepared>, resolved: ResolvedKeys): { keyId?: string; details?: AuditDetails } {
    const idOf = (ref: string | undefined, fromCiphertext: boolean) =>
      ref === undefined ? (fromCiphertext ? resolved.fromCiphertext : undefined) : (resolved.byRef.get(ref) ?? keyIdNamedBy(ref));
    const keyId = idOf(work.keyRef, work.ciphertextKey === 'key');
    const sourceKeyId = idOf(work.sourceKeyRef, work.ciphertextKey === 'source');
    const details: AuditDetails = { ...work.details };
    if (work.keyRef !== undefined && work.keyRef !== keyId) details.keyRef = work.keyRef;
    if (sourceKeyId !== undefined) details.sourceKeyId = sourceKeyId;
    if (work.sourceKeyRef !== undefined && work.sourceKeyRef !== sourceKeyId) details.sourceKeyRef = work.sourceKeyRef;
    if (!isScheduler(caller) && !isOperator(caller)) caller.auditedKeys = { keyId, sourceKeyId };
    return { keyId, details: Object.keys(details).length > 0 ? details : undefined };
  }

  /** Records the key a ciphertext's header named, for the call's audit entry (see Steps.ciphertextKey). */
  noteCiphertextKey(caller: Caller, keyId: string): void {
    const resolved = this.resolving.get(caller);
    if (resolved) resolved.fromCiphertext = keyId;
  }

  private async change<P extends Prepared, M, T>(caller: Caller, work: ChangeWork<P, M, T>, prepared: P): Promise<T> {
    const made = (work.make ? await work.make(prepared) : undefined) as M;
    this.clearCaches();
    let out: Change<T>;
    try {
      out = await this.deps.store.db.write(async (tx) => {
        const change = await work.apply({ tx, lookup: this.txLookup(tx) }, prepared, made);
        if (!change.unchanged) await this.deps.audit.appendIn(tx, this.entry(caller, 'ok', { keyId: change.keyId, details: change.details }));
        return change;
      });
    } catch (e) {
      await this.discard(work, made, prepared);
      throw e;
    } finally {
      this.clearCaches();
    }
    if (out.unchanged) {
      await this.discard(work, made, prepared);
    } else {
      // The change is committed and audited: what follows cannot undo it, so a failure is logged, not answered.
      try {
        await work.after?.(out.result, made);
      } catch (e) {
        this.deps.log.error('cleaning up after a committed change failed', { operation: caller.operation, ...loggedError(e) });
      }
    }
    return out.result;
  }

  /** Gives back what a change made and did not use; a failure to do so is logged, never put before the change's own outcome. */
  private async discard<P extends Prepared, M, T>(work: ChangeWork<P, M, T>, made: M, prepared: P): Promise<void> {
    try {
      await work.discard?.(made, prepared);
    } catch (e) {
      this.deps.log.error('discarding unused key material failed', loggedError(e));
    }
  }

  /** The entry of a failed call, on the disk before the call is answered; a failure to write it is logged, and the call's own error answered. */
  private async auditFailure(caller: Caller, keys: { keyId?: string; details?: AuditDetails }, e: unknown): Promise<void> {
    const errorCode = isKmsError(e) ? e.code : 'Internal';
    try {
      await this.deps.audit.append(this.entry(caller, 'error', { ...keys, errorCode }));
    } catch (auditErr) {
      this.deps.log.error('audit append failed', {
        requestId: isScheduler(caller) || isOperator(caller) ? undefined : caller.requestId,
        ...loggedError(auditErr),
      });
    }
  }

  private entry(caller: Caller, outcome: 'ok' | 'error', what: { keyId?: string; details?: AuditDetails; errorCode?: string }): AuditEvent {
    if (isScheduler(caller)) return { principal: 'kura:scheduler', source: 'scheduler', operation: caller.operation, outcome, ...what };
    if (isOperator(caller)) {
      const entry: AuditEvent = { principal: caller.operator, source: 'admin', operation: caller.operation, outcome, ...what };
      if (caller.approvedRequest !== undefined) entry.details = { ...what.details, approvalRequestId: caller.approvedRequest };
      return entry;
    }
    const entry: AuditEvent = {
      principal: caller.principal,
      accessKeyId: caller.accessKeyId,
      source: 'kms',
      operation: caller.operation,
      outcome,
      requestId: caller.requestId,
      ...what,
    };
    // A call an approval request ran names it, so that its transcript finds it in the log.
    if (caller.approvedRequest !== undefined) entry.details = { ...what.details, approvalRequestId: caller.approvedRequest };
    return entry;
  }

  // ---- caches ------------------------------------------------------------------------------------

  private clearCaches(): void {
    this.keyCache.clear();
    this.aliasCache.clear();
    this.materialCache.clear();
    this.materialListCache.clear();
  }

  /** A key by its ID, from the cache, as stored (not as of now: see resolve). */
  findKey(keyId: string): Promise<Key | undefined> {
    return this.keyCache.get(keyId, async () => {
      const r = await this.deps.store.keys.find(keyId);
      return r && keyFromRecord(r);
    });
  }

  /** One material of a key, from the cache. */
  material(keyId: string, materialId: string): Promise<Material | undefined> {
    return this.materialCache.get(`${keyId}/${materialId}`, async () => {
      const r = await this.deps.store.keys.findMaterial(keyId, materialId);
      return r && materialFromRecord(r);
    });
  }

  readLookup(): Lookup {
    const { keys, aliases } = this.deps.store;
    return {
      key: (id) => this.findKey(id),
      alias: (a, r, n) => this.aliasCache.get(`${a}/${r}/${n}`, () => aliases.find(a, r, n)),
      materials: async (id) => (await this.materialListCache.get(id, async () => (await keys.listMaterials(id)).map(materialFromRecord))) ?? [],
    };
  }

  private txLookup(tx: Tx): Lookup {
    const { keys, aliases } = this.deps.store;
    return {
      key: async (id) => {
        const r = await keys.find(id, tx);
        return r && keyFromRecord(r);
      },
      alias: (a, r, n) => aliases.find(a, r, n, tx),
      materials: async (id) => (await keys.listMaterials(id, tx)).map(materialFromRecord),
    };
  }

  // ---- resolution --------------------------------------------------------------------------------

  /**
   * The key in the state it has at this request's time: an imported key whose material has passed its
   * ValidTo is PendingImport now, whether or not the scheduler has written that down yet
   * (./model/expiry.ts). Changes made through a transaction see the same state.
   */
  /**
   * A key as of now: imported material past its ValidTo makes it PendingImport; and, on the read path
   * only (no transaction's lookup given), a key in a custom key store that is not connected is
   * Unavailable, as in AWS. Unavailable is derived, never stored: a change's transaction reads the
   * stored state, so what it writes back keeps it, and the key is usable again once its store connects.
   */
  async asOfNow(k: Key, lookup?: Lookup): Promise<Key> {
    const asOf = mayExpire(k) ? keyAsOf(k, await (lookup ?? this.readLookup()).materials(k.keyId), this.now()) : k;
    if (lookup !== undefined || asOf.customKeyStoreId === null) return asOf;
    return UNAVAILABLE_FROM.includes(asOf.state) && !this.deps.registry.isConnected(asOf.customKeyStoreId) ? { ...asOf, state: KeyState.Unavailable } : asOf;
  }

  /**
   * asOfNow's rules, for a query that filters or counts many keys by state in the store (the console's key
   * search and tally), in asOfNow's order: imported material expired now makes a key PendingImport
   * (keyAsOf's EXPIRY); then, of the custom key stores `storeIds`, those not connected now make their keys
   * in the states asOfNow turns Unavailable read as Unavailable.
   */
  derivedStates(storeIds: readonly string[]): DerivedKeyState[] {
    return [
      { state: EXPIRY.state, from: EXPIRY.from, origin: EXPIRY.origin, materialExpiredAt: this.now() },
      { state: KeyState.Unavailable, from: UNAVAILABLE_FROM, stores: storeIds.filter((id) => !this.deps.registry.isConnected(id)) },
    ];
  }

  /** Resolves what a caller named as KeyId. `allowAlias` is false for operations that take only a key ID or key ARN. */
  async resolve(ctx: CallContext, raw: string, allowAlias: boolean, txLookup?: Lookup): Promise<Key> {
    const lookup = txLookup ?? this.readLookup();
    const ref = parseKeyRef(raw, allowAlias);
    const account = ref.accountId ?? ctx.accountId;
    const region = ref.region ?? ctx.region;
    const notFound = () => kmsErrors.notFound(ref.kind === 'alias' ? `Alias ${aliasArn(region, account, ref.aliasName)} is not found.` : `Key '${keyArn(region, account, ref.keyId)}' does not exist`);
    // Keys live in one account and one region, as in AWS: an ARN naming another (or the region in a
    // partition it is not in) is not found here.
    if (account !== ctx.accountId || region !== ctx.region || (ref.partition !== undefined && ref.partition !== partitionOf(region))) throw notFound();
    let keyId: string;
    if (ref.kind === 'alias') {
      const alias = await lookup.alias(account, region, ref.aliasName);
      if (!alias) throw notFound();
      keyId = alias.keyId;
    } else {
      keyId = ref.keyId;
    }
    const key = await lookup.key(keyId);
    if (!key || key.accountId !== account || key.region !== region) throw notFound();
    this.resolving.get(ctx)?.byRef.set(raw, key.keyId);
    return this.asOfNow(key, txLookup);
  }

  // ---- material --------------------------------------------------------------------------------------

  /**
   * The current material of a usable key. Checked again for expiry here, at the point of use: the key's
   * state was decided when it was resolved, and its ValidTo may have come since (a data key pair, for
   * one, is generated in between).
   */
  async currentMaterial(k: Key): Promise<Material> {
    const material = k.currentMaterialId ? await this.material(k.keyId, k.currentMaterialId) : undefined;
    if (!material) throw kmsErrors.internal();
    if (materialExpired(material, this.now())) throw kmsErrors.invalidState(`${arnOf(k)} is PendingImport.`);
    return material;
  }

  /** Whether a custom key store is connected now (its keys are usable). */
  storeConnected(customKeyStoreId: string): boolean {
    return this.deps.registry.isConnected(customKeyStoreId);
  }

  /** The key store a key lives in. */
  storeOf(k: Pick<Key, 'customKeyStoreId'>): KeyStore {
    return this.deps.registry.storeFor(k.customKeyStoreId);
  }

  /**
   * The key store of a key a cryptographic operation uses. A custom key store disconnected since the key
   * was read (its state checked) makes the key Unavailable now: KMSInvalidStateException, as the check
   * would have answered, not CustomKeyStoreNotFound.
   */
  usableStoreOf(k: Pick<Key, 'customKeyStoreId' | 'keyId'>): KeyStore {
    if (k.customKeyStoreId !== null && !this.deps.registry.isConnected(k.customKeyStoreId)) {
      throw kmsErrors.invalidState(`Key ${k.keyId} is Unavailable: its custom key store ${k.customKeyStoreId} is not connected.`);
    }
    return this.deps.registry.storeFor(k.customKeyStoreId);
  }

  /** A material as its key store is asked to use it; a material without a reference (deleted imported material) is not usable. */
  stored(k: Key, m: Material): StoredMaterial {
    if (m.materialRef === null) throw kmsErrors.internal();
    return { keyId: k.keyId, materialId: m.materialId, keySpec: k.keySpec, ref: m.materialRef, publicKey: m.publicKey };
  }
}
