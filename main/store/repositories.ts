// The store's ports: one repository per aggregate, and the Store that holds them. kms/, audit/, auth/
// and seal/ depend on these interfaces only; ./sqlite/ implements them over the embedded SQLite database
// (the default), and a PostgreSQL implementation for several nodes sharing one database (DESIGN.md,
// "Past one machine") would implement the same ones. test/store/contract/ is the suite every
// implementation passes.
//
// Aggregates — what one repository owns, and so what one of its changes keeps consistent:
// - a key with its materials and its tags (KeyRepository). A material is named by (key, material ID), a
//   tag by (key, tag key): neither exists without its key, both go when it goes, and the key's rules
//   span them (its current material; its state follows its imported materials' expiry; at most 50
//   tags, counted inside the transaction that adds them).
// - an alias (AliasRepository). It has its own identity (a name unique in an account and region; its own
//   ARN in AWS) and points at a key, but UpdateAlias moves it from one key to another: it belongs to
//   neither, so it is not part of the key aggregate.
// - an import token (ImportTokenRepository). Its own identity (the token's hash) and its own life: used
//   once, gone after 24 hours whatever becomes of its key, removed in bulk by the scheduler.
// - a custom key store, a credential, the appliance (its ID and seal configuration, one of each), and
//   the audit log (one chain; the caller numbers the entries and the store refuses a number twice, which
//   is what serializes the chain when several nodes share a database).
// One rule crosses aggregates: deleting a key deletes the aliases and import tokens that name it (AWS
// deletes a key's aliases with it). The store keeps it (SQLite: ON DELETE CASCADE), so no caller has to.
//
// Conventions every implementation keeps:
// - A write takes the job's Tx first and is part of that transaction: it commits or rolls back with it.
// - A read takes an optional Tx last: with one, it reads inside that transaction (seeing what the
//   transaction wrote so far); without one, it reads committed data only.
// - Records are the plain shapes of ./records.ts, returned in the order each method states.
// - A write the database refuses (a duplicate, a missing key it refers to) rejects the promise; the
//   caller's transaction then rolls back as a whole.
import type { AliasRecord, ApprovalRecord, ApprovalRequestRecord, ApprovalRequestStatus, OperatorRecord, QuorumPolicyRecord, AuditRecord, CredentialRecord, CustomKeyStoreRecord, HsmRecord, ImportTokenRecord, XksCredentialRecord, XksKeyRecord, XksStoreRecord, KeyRecord, MaterialRecord, SealConfigRecord, TagRecord } from './records.js';
import type { Database, Tx } from './transaction.js';

/** Keys, with their materials and tags. */
/** What the console's key search matches: a state (as the key reads: see `derived`), an origin, text in the key ID or description (all given must hold). */
export interface KeyFilter {
  /** The state the key reads as: its stored state, or the one the first of `derived` that selects it gives it. */
  state?: string;
  origin?: string;
  text?: string;
  derived?: readonly DerivedKeyState[];
}

/**
 * A state a key reads as that is not the one stored (the KMS domain decides which, as DescribeKey reads a
 * key): the keys stored in one of the states `from` that the rest selects read as `state`. A search or a
 * tally by state counts them there. Of several, the first that selects a key gives its state.
 * - `stores`: keys of one of these custom key stores (a standard key, of none, is never selected);
 * - `origin` and `materialExpiredAt`: keys of that origin with a material of their own (not one pending
 *   rotation) that has expired at that time, as expiredMaterials selects them (IMPORTED, ValidTo at or before it).
 */
export type DerivedKeyState =
  | { state: string; from: readonly string[]; stores: readonly string[] }
  | { state: string; from: readonly string[]; origin: string; materialExpiredAt: number };

export interface KeyRepository {
  find(keyId: string, tx?: Tx): Promise<KeyRecord | undefined>;
  /** The key of an external key store bound to an external key (AWS allows one per external key). */
  findByXksKeyId(customKeyStoreId: string, xksKeyId: string, tx?: Tx): Promise<KeyRecord | undefined>;
  /** Keys of one account and region in key ID order: those after `afterKeyId`, at most `limit`. */
  list(accountId: string, region: string, afterKeyId: string, limit: number, tx?: Tx): Promise<KeyRecord[]>;
  /** As list, of the keys that match `filter` (the operator console's search). */
  search(accountId: string, region: string, filter: KeyFilter, afterKeyId: string, limit: number, tx?: Tx): Promise<KeyRecord[]>;
  /** How many keys of one account and region match `filter`. */
  countMatching(accountId: string, region: string, filter: KeyFilter, tx?: Tx): Promise<number>;
  /** How many keys of one account and region are in each state (stored, or as the first of `derived` that selects the key gives it), and of each origin. */
  tally(accountId: string, region: string, derived?: readonly DerivedKeyState[], tx?: Tx): Promise<{ byState: Record<string, number>; byOrigin: Record<string, number> }>;
  /** Refused if the key ID is taken, or `customKeyStoreId` names no custom key store. */
  insert(tx: Tx, k: KeyRecord): Promise<void>;
  /**
   * Writes every mutable field of the key. What CreateKey fixes stays as inserted, whatever `k` says:
   * account, region, key usage, key spec, origin, creation time, custom key store and external key.
   */
  update(tx: Tx, k: KeyRecord): Promise<void>;
  /** Deletes the key with its materials and tags, and the aliases and import tokens that name it. */
  delete(tx: Tx, keyId: string): Promise<void>;
  /** Keys pending deletion whose window ended at or before `nowMs`, earliest first. */
  dueForDeletion(nowMs: number, tx?: Tx): Promise<KeyRecord[]>;
  /** Enabled keys with automatic rotation whose next rotation is at or before `nowMs`, earliest first. */
  dueForRotation(nowMs: number, tx?: Tx): Promise<KeyRecord[]>;

  findMaterial(keyId: string, materialId: string, tx?: Tx): Promise<MaterialRecord | undefined>;
  /**
   * A key's materials, oldest first by when they were made or imported (materials made at the same time
   * in the order they were inserted): an order no change to a material moves it in.
   */
  listMaterials(keyId: string, tx?: Tx): Promise<MaterialRecord[]>;
  /** How many of a key's materials came from rotations of this type (AUTOMATIC, ON_DEMAND). */
  countMaterials(keyId: string, rotationType: string, tx?: Tx): Promise<number>;
  /** Refused if the key does not exist or already has a material of that ID. */
  insertMaterial(tx: Tx, m: MaterialRecord): Promise<void>;
  /** Rewrites every field of a material but its key and material ID (re-import, deletion, expiry, rotation into place). */
  updateMaterial(tx: Tx, m: MaterialRecord): Promise<void>;
  /** Imported materials still present (IMPORTED) whose ValidTo is at or before `nowMs`, earliest first. */
  expiredMaterials(nowMs: number, tx?: Tx): Promise<MaterialRecord[]>;

  /** A key's tags in tag key order (by code point), those after `afterKey` in that order. */
  listTags(keyId: string, afterKey?: string, tx?: Tx): Promise<TagRecord[]>;
  countTags(keyId: string, tx?: Tx): Promise<number>;
  /** Adds the tag, or replaces the value of the key's tag with that tag key. */
  putTag(tx: Tx, keyId: string, t: TagRecord): Promise<void>;
  /** Removes the key's tag with that tag key; one it does not have is no error. */
  deleteTag(tx: Tx, keyId: string, tagKey: string): Promise<void>;
}

/** Aliases: names in an account and region that point at a key. */
export interface AliasRepository {
  find(accountId: string, region: string, aliasName: string, tx?: Tx): Promise<AliasRecord | undefined>;
  /** Aliases of one account and region in name order, those after `afterName`, at most `limit`; only the key's when `keyId` is not null. */
  list(accountId: string, region: string, keyId: string | null, afterName: string, limit: number, tx?: Tx): Promise<AliasRecord[]>;
  /** Refused if the account and region already have an alias of that name, or the key does not exist. */
  insert(tx: Tx, a: AliasRecord): Promise<void>;
  /** Points the alias at another key; its update time becomes `nowMs`, its creation time stays. */
  retarget(tx: Tx, a: AliasRecord, keyId: string, nowMs: number): Promise<void>;
  delete(tx: Tx, a: AliasRecord): Promise<void>;
}

/** Import tokens of GetParametersForImport, kept by their SHA-256 with the wrapping key's reference. */
export interface ImportTokenRepository {
  find(tokenHash: Buffer, tx?: Tx): Promise<ImportTokenRecord | undefined>;
  /** Refused unless the key exists. */
  insert(tx: Tx, t: ImportTokenRecord): Promise<void>;
  delete(tx: Tx, tokenHash: Buffer): Promise<void>;
  /**
   * Deletes the tokens that expired at or before `nowMs`, and those made after `madeAfterMs` (a wall
   * clock stepped back since they were made, ./common/clock.ts CLOCK_STEP_TOLERANCE_MS); returns how many.
   */
  deleteExpired(tx: Tx, nowMs: number, madeAfterMs?: number): Promise<number>;
}

/** Custom key stores (AWS CreateCustomKeyStore): HSM tokens and external key store proxies. */
export interface CustomKeyStoreRepository {
  find(id: string, tx?: Tx): Promise<CustomKeyStoreRecord | undefined>;
  /** Every custom key store of every account and Region, oldest first (ties in ID order). */
  list(tx?: Tx): Promise<CustomKeyStoreRecord[]>;
  /** The custom key stores of one account and Region, oldest first (ties in ID order). */
  listIn(scope: { accountId: string; region: string }, tx?: Tx): Promise<CustomKeyStoreRecord[]>;
  /** Refused if the ID is taken, the name is taken in the store's account and Region, or another store uses the same HSM. */
  insert(tx: Tx, c: CustomKeyStoreRecord): Promise<void>;
  /** Changes the name, HSM and settings of a store (never its account or Region); refused if the name (in its account and Region) or the HSM is another store's. */
  update(tx: Tx, c: Pick<CustomKeyStoreRecord, 'id' | 'name' | 'hsmId' | 'config'>): Promise<void>;
  setConnectionState(tx: Tx, id: string, state: CustomKeyStoreRecord['connectionState']): Promise<void>;
  /** How many keys live in a store (keys pending deletion included). */
  countKeys(id: string, tx?: Tx): Promise<number>;
  /** False if there was no such store; refused while a key still lives in it (AWS: delete its keys first). */
  delete(tx: Tx, id: string): Promise<boolean>;
}

/** HSMs registered with the appliance. */
export interface HsmRepository {
  find(id: string, tx?: Tx): Promise<HsmRecord | undefined>;
  /** Every HSM, oldest first (ties in ID order). */
  list(tx?: Tx): Promise<HsmRecord[]>;
  /** Refused if the ID, or the module and token label, are taken. */
  insert(tx: Tx, h: HsmRecord): Promise<void>;
  /** False if there was no such HSM; refused while a custom key store uses it. */
  delete(tx: Tx, id: string): Promise<boolean>;
}

/** XKS proxy stores, their credentials and their keys (one aggregate: a store owns the other two). */
export interface XksRepository {
  findStore(id: string, tx?: Tx): Promise<XksStoreRecord | undefined>;
  findStoreByPrefix(uriPathPrefix: string, tx?: Tx): Promise<XksStoreRecord | undefined>;
  /** Oldest first (ties in ID order). */
  listStores(tx?: Tx): Promise<XksStoreRecord[]>;
  /** Refused if the ID or the prefix is taken. */
  insertStore(tx: Tx, s: XksStoreRecord): Promise<void>;
  /** Deletes a store and its credentials; refused while keys live in it. False if there was none. */
  deleteStore(tx: Tx, id: string): Promise<boolean>;
  /** Gives a store on an HSM its token's new user PIN, sealed. False if there was no such store on an HSM. */
  setStorePin(tx: Tx, id: string, pinSealed: Buffer): Promise<boolean>;
  findCredential(accessKeyId: string, tx?: Tx): Promise<XksCredentialRecord | undefined>;
  listCredentials(storeId: string, tx?: Tx): Promise<XksCredentialRecord[]>;
  insertCredential(tx: Tx, c: XksCredentialRecord): Promise<void>;
  deleteCredential(tx: Tx, accessKeyId: string): Promise<boolean>;
  findKey(storeId: string, externalKeyId: string, tx?: Tx): Promise<XksKeyRecord | undefined>;
  listKeys(storeId: string, tx?: Tx): Promise<XksKeyRecord[]>;
  insertKey(tx: Tx, k: XksKeyRecord): Promise<void>;
  setKeyStatus(tx: Tx, storeId: string, externalKeyId: string, status: XksKeyRecord['status']): Promise<boolean>;
  deleteKey(tx: Tx, storeId: string, externalKeyId: string): Promise<boolean>;
}

/** Custodians, quorum policies, approval requests and their approvals (issue 13). */
export interface CeremonyRepository {
  findOperator(name: string, tx?: Tx): Promise<OperatorRecord | undefined>;
  /** Oldest first (ties in name order). */
  listOperators(tx?: Tx): Promise<OperatorRecord[]>;
  /** Refused if the name or the public key (fingerprint) is taken. */
  insertOperator(tx: Tx, o: OperatorRecord): Promise<void>;
  setOperatorPassphrase(tx: Tx, name: string, passphrase: string | null): Promise<boolean>;
  /** False if there was none. Approvals it made stay (they name it). */
  deleteOperator(tx: Tx, name: string): Promise<boolean>;

  findPolicy(actionClass: string, tx?: Tx): Promise<QuorumPolicyRecord | undefined>;
  /** In action class order. */
  listPolicies(tx?: Tx): Promise<QuorumPolicyRecord[]>;
  /** Inserts or replaces the policy of its class. */
  putPolicy(tx: Tx, p: QuorumPolicyRecord): Promise<void>;

  findRequest(id: string, tx?: Tx): Promise<ApprovalRequestRecord | undefined>;
  /** Newest first (ties in ID order). */
  listRequests(tx?: Tx): Promise<ApprovalRequestRecord[]>;
  /** Refused if the ID is taken. */
  insertRequest(tx: Tx, r: ApprovalRequestRecord): Promise<void>;
  /**
   * Moves a request to `to` only if its status is one of `from` (compare and set, so that one caller
   * wins a race: a request runs exactly once); sets outcome and executedAt when given. True if it moved.
   */
  transitionRequest(
    tx: Tx,
    id: string,
    from: readonly ApprovalRequestStatus[],
    to: ApprovalRequestStatus,
    fields?: { outcome?: string; executedAt?: number; sealedResult?: string },
  ): Promise<boolean>;
  /** A request's sealed result, cleared as it is read (one taker); undefined when there is none (left). */
  takeResult(tx: Tx, id: string): Promise<string | undefined>;

  /**
   * How many approvals of each request count — by an operator still enrolled with the key that signed —
   * (requests with none are absent): one query for a list.
   */
  countApprovals(tx?: Tx): Promise<Map<string, number>>;

  /** Oldest first. */
  listApprovals(requestId: string, tx?: Tx): Promise<ApprovalRecord[]>;
  /** Refused if that operator approved that request already. */
  insertApproval(tx: Tx, a: ApprovalRecord): Promise<void>;
}

/** API credentials, their secrets sealed under the root key. */
export interface CredentialRepository {
  find(accessKeyId: string, tx?: Tx): Promise<CredentialRecord | undefined>;
  /** Every credential, oldest first (ties in access key ID order). */
  list(tx?: Tx): Promise<CredentialRecord[]>;
  /** Refused if the access key ID is taken. */
  insert(tx: Tx, c: CredentialRecord): Promise<void>;
  /** False if there was no such credential. */
  delete(tx: Tx, accessKeyId: string): Promise<boolean>;
}

/** The appliance's identity and how its root key is sealed: one of each, set once. */
export interface ApplianceRepository {
  applianceId(tx?: Tx): Promise<string | undefined>;
  /** The appliance ID, set to `newId` first (in a transaction of its own) if there is none: the first one set stays. */
  ensureApplianceId(newId: string, nowMs: number): Promise<string>;
  sealConfig(tx?: Tx): Promise<SealConfigRecord | undefined>;
  /** Stores the one seal configuration; false (and nothing written) if there already is one. */
  insertSealConfig(tx: Tx, s: SealConfigRecord): Promise<boolean>;
  /**
   * Records the sealing token's serial number in a pkcs11 seal configuration that has none (one
   * initialised before Kura kept it); false (and nothing written) if it has one or is not pkcs11.
   */
  recordPkcs11SerialNumber(tx: Tx, serialNumber: string): Promise<boolean>;
}

/** Which entries AuditRepository.query returns; every filter given must hold. */
export interface AuditQuery {
  afterSeq?: number;
  /** Entries before this sequence number (a page of the console's audit view, newest first). */
  beforeSeq?: number;
  /** Entries whose JSON names this principal, or this outcome ('ok' or 'error'). */
  principal?: string;
  outcome?: string;
  /** Entries written at or after this time. */
  sinceMs?: number;
  /** Entries whose JSON names this key ID: its `keyId` field, or `details.sourceKeyId` (ReEncrypt's source key). */
  keyId?: string;
  /** Entries whose JSON names this operation (its `operation` field). */
  operation?: string;
  /** Entries whose JSON names this approval request (its `details.approvalRequestId` field). */
  approvalRequestId?: string;
  limit?: number;
  /** With `limit`: the newest matches (still returned oldest first), not the oldest. */
  newest?: boolean;
}

/** The audit log's rows; the chain itself (hashes, verification) is main/audit's. */
export interface AuditRepository {
  /** The newest entry (inside a transaction: including what it appended). */
  last(tx?: Tx): Promise<AuditRecord | undefined>;
  /** Refused if an entry of that sequence number exists. */
  insert(tx: Tx, a: AuditRecord): Promise<void>;
  /**
   * Inserts consecutive entries with one statement, as the last thing it does (the audit log commits
   * its batches as single-statement jobs: WriteOptions.singleStatement); refused as a whole if any of
   * their sequence numbers exists.
   */
  insertMany(tx: Tx, rows: AuditRecord[]): Promise<void>;
  /** Entries after `afterSeq` in sequence order, at most `limit`. */
  page(afterSeq: number, limit: number, tx?: Tx): Promise<AuditRecord[]>;
  count(tx?: Tx): Promise<number>;
  /** Entries matching the query, in sequence order. */
  query(q: AuditQuery, tx?: Tx): Promise<AuditRecord[]>;
}

/** An open store: its transactions and its repositories, all over one database. */
export interface Store {
  db: Database;
  keys: KeyRepository;
  aliases: AliasRepository;
  importTokens: ImportTokenRepository;
  customKeyStores: CustomKeyStoreRepository;
  hsms: HsmRepository;
  xks: XksRepository;
  ceremony: CeremonyRepository;
  credentials: CredentialRepository;
  appliance: ApplianceRepository;
  audit: AuditRepository;
  /** Waits for queued writes, then closes the database. */
  close(): Promise<void>;
}
