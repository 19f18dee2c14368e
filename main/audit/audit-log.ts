// Append-only, hash-chained audit log.
// Each entry is canonical JSON (keys sorted) of who did what to which key with what outcome; never
// plaintext, key material or secrets (the type below has no field that could hold them).
// hash(n) = SHA-256( "kura-audit-v1" || u64be(seq) || prev_hash || entry ); the first prev_hash is 32
// zero bytes. Changing, removing or reordering any entry breaks every hash after it, which `verify`
// reports with the first sequence number that fails.
// A row's `at` column is a copy of the entry's `at` that the hash does not cover: what is shown and
// filtered on is the entry's, and `verify` reports a column that disagrees with it. Entries are
// numbered from 1: `verify` reports any row numbered below, which the chain's walk would never reach.
import { hash as sha } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import type { AuditQuery, AuditRecord, AuditRepository, Database, Tx } from '../store/index.js';

export interface AuditEvent {
  /** Principal ARN, or 'anonymous' for requests that failed authentication. */
  principal: string;
  accessKeyId?: string;
  source: 'kms' | 'admin' | 'scheduler' | 'cli' | 'xks';
  operation: string;
  keyId?: string;
  outcome: 'ok' | 'error';
  errorCode?: string;
  requestId?: string;
  details?: Record<string, string | number | boolean>;
}

const GENESIS = Buffer.alloc(32);

/** The time an entry's hash covers (its `at` member), rather than the row's unhashed copy. */
const hashedAt = (entry: string): number => (JSON.parse(entry) as { at: number }).at;

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  // sort() without a comparator orders strings by UTF-16 code units, as `<` does. Every XKS call's
  // entry has details, so this runs once per call.
  let out = '{';
  for (const k of Object.keys(record).sort()) {
    const v = record[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${canonical(v)}`;
  }
  return `${out}}`;
}

/** The members an entry may have (AuditEvent's and `at`), in canonical (sorted) order. */
const ENTRY_MEMBERS = ['accessKeyId', 'at', 'details', 'errorCode', 'keyId', 'operation', 'outcome', 'principal', 'requestId', 'source'] as const;
const ENTRY_MEMBER_SET: ReadonlySet<string> = new Set(ENTRY_MEMBERS);

/**
 * canonical({ ...event, at }), without sorting: an entry's members are known, so they are written in
 * their sorted order (every call writes one, so this is on the hot path). An event with a member the
 * type does not have takes the general path, so the result is the same either way (tested).
 */
export function canonicalEntry(event: AuditEvent, at: number): string {
  for (const k in event) if (!ENTRY_MEMBER_SET.has(k)) return canonical({ ...event, at });
  const withAt: Record<string, unknown> = event as unknown as Record<string, unknown>;
  let out = '{';
  for (const k of ENTRY_MEMBERS) {
    const v = k === 'at' ? at : withAt[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += `"${k}":${typeof v === 'string' ? JSON.stringify(v) : canonical(v)}`;
  }
  return `${out}}`;
}

const CHAIN_PREFIX = Buffer.from('kura-audit-v1', 'latin1');

export function chainHash(seq: number, prevHash: Uint8Array, entry: string): Buffer {
  // One buffer and one call: "kura-audit-v1" || u64be(seq) || prev_hash || entry.
  const at = CHAIN_PREFIX.length;
  const input = Buffer.allocUnsafe(at + 8 + prevHash.length + Buffer.byteLength(entry, 'utf8'));
  CHAIN_PREFIX.copy(input, 0);
  input.writeBigUInt64BE(BigInt(seq), at);
  input.set(prevHash, at + 8);
  input.write(entry, at + 8 + prevHash.length, 'utf8');
  return sha('sha256', input, 'buffer');
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: string | null;
  /** First sequence number at which the chain breaks, with why. */
  firstBad?: { seq: number; reason: string };
}

/**
 * The chain's end: the last entry's sequence number and hash (hex). Written down somewhere the
 * appliance cannot reach (`kura audit head`), it anchors the end of the log: deleting the newest
 * entries leaves a chain that is intact but shorter, which only a remembered head reveals.
 * An empty log's head is sequence 0 with the genesis hash (32 zero bytes).
 */
export interface AuditHead {
  seq: number;
  hash: string;
  /** When the last entry was written (ms since the epoch); null for an empty log. */
  at: number | null;
}

/** `SEQ:HASH`, the printable form of a head. */
export const formatHead = (h: { seq: number; hash: string }): string => `${h.seq}:${h.hash}`;

/** Parses `SEQ:HASH` (64 hex digits); undefined if malformed. */
export function parseHead(text: string): { seq: number; hash: string } | undefined {
  const m = /^(\d{1,15}):([0-9a-fA-F]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2]!.toLowerCase() } : undefined;
}

/** A decoded entry as `kura audit list` shows it. */
export interface AuditEntryView extends AuditEvent {
  seq: number;
  at: number;
  hash: string;
}

/** An entry as the log keeps it: its text is what its hash covers (an auditor can recompute it). */
export interface StoredEntry {
  seq: number;
  /** Hex. */
  hash: string;
  /** The entry's canonical JSON, exactly as stored. */
  entry: string;
}

/** Which entries `list` returns: the store's audit query, as the CLI builds it. */
export type AuditFilter = AuditQuery;

interface PendingEntry {
  event: AuditEvent;
  at: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class AuditLog {
  private pending: PendingEntry[] = [];
  /**
   * The chain's last entry as this process wrote it, so that an append does not read it back; reset
   * by a rollback of the transaction that advanced it (undefined: read it from the database).
   */
  private head: { seq: number; hash: Buffer } | undefined;
  private flushQueued = false;

  constructor(private readonly deps: { db: Database; repo: AuditRepository; clock: Clock }) {}

  /** Appends inside the caller's transaction, so the entry commits (or not) with the change it records. */
  async appendIn(tx: Tx, event: AuditEvent): Promise<void> {
    const last = await this.lastIn(tx);
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? GENESIS;
    const at = this.deps.clock.nowMs();
    const entry = canonicalEntry(event, at);
    const hash = chainHash(seq, prevHash, entry);
    await this.deps.repo.insert(tx, { seq, at, entry, prevHash, hash });
    this.advance(tx, seq, hash);
  }

  private async lastIn(tx: Tx): Promise<{ seq: number; hash: Buffer } | undefined> {
    return this.head ?? (await this.deps.repo.last(tx));
  }

  private advance(tx: Tx, seq: number, hash: Buffer): void {
    const before = this.head;
    this.head = { seq, hash };
    tx.onRollback(() => {
      this.head = before;
    });
  }

  /**
   * Appends in a transaction of its own; resolves once the entry is committed durably (fsync), for
   * every call alike: a read's entry, or a refusal's, is on the disk before its answer is sent.
   * Entries that arrive while a flush is queued join it: one job chains and inserts them all with a
   * multi-row INSERT, so a burst of calls costs one group commit (and one fsync), not one transaction
   * each. The flush writes with one statement (AuditRepository.insertMany), so the database may commit
   * it without a transaction around it.
   */
  append(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ event, at: this.deps.clock.nowMs(), resolve, reject });
      if (this.flushQueued) return;
      this.queueFlush();
    });
  }

  private queueFlush(): void {
    this.flushQueued = true;
    let taken: PendingEntry[] = [];
    const take = () => {
      this.flushQueued = false;
      taken = this.pending.splice(0);
    };
    this.deps.db
      .write(
        async (tx) => {
          take();
          if (taken.length) await this.insertAll(tx, taken);
        },
        { singleStatement: true },
      )
      .then(
        () => taken.forEach((p) => p.resolve()),
        (e: unknown) => {
          // The job may have failed before taking its entries (database closed): fail those too.
          if (taken.length === 0) take();
          taken.forEach((p) => p.reject(e));
        },
      );
  }

  private async insertAll(tx: Tx, entries: PendingEntry[]): Promise<void> {
    const last = await this.lastIn(tx);
    let seq = last?.seq ?? 0;
    let prevHash: Buffer = last?.hash ?? GENESIS;
    const rows: AuditRecord[] = [];
    for (const p of entries) {
      seq++;
      const entry = canonicalEntry(p.event, p.at);
      const hash = chainHash(seq, prevHash, entry);
      rows.push({ seq, at: p.at, entry, prevHash, hash });
      prevHash = hash;
    }
    await this.deps.repo.insertMany(tx, rows);
    this.advance(tx, seq, prevHash);
  }

  /**
   * Walks the whole chain (with `upTo`, its entries 1 to `upTo` only: what a later entry holds does
   * not change theirs). With `expectHead` (a head written down earlier), the log must also still
   * reach it: entry `seq` must exist with that hash, so that entries deleted from the end (which
   * leave a shorter chain that is otherwise intact) are detected.
   */
  async verify(onProgress?: (done: number, total: number) => void, opts: { expectHead?: { seq: number; hash: string }; upTo?: number } = {}): Promise<AuditVerification> {
    const upTo = opts.upTo ?? Number.MAX_SAFE_INTEGER;
    const total = Math.min(await this.deps.repo.count(), upTo);
    const expect = opts.expectHead;
    const [first] = await this.deps.repo.page(Number.MIN_SAFE_INTEGER, 1);
    if (first && first.seq < 1) {
      return { ok: false, entries: 0, head: null, firstBad: { seq: first.seq, reason: `an entry is numbered ${first.seq}, outside the chain (entries are numbered from 1): it was added` } };
    }
    let prev: Buffer = GENESIS;
    let expectedSeq = 1;
    let done = 0;
    for (;;) {
      const page = expectedSeq > upTo ? [] : await this.deps.repo.page(expectedSeq - 1, Math.min(1000, upTo - expectedSeq + 1));
      if (page.length === 0) break;
      for (const r of page) {
        if (r.seq !== expectedSeq) return { ok: false, entries: done, head: null, firstBad: { seq: expectedSeq, reason: `entry ${expectedSeq} is missing` } };
        if (!r.prevHash.equals(prev)) return { ok: false, entries: done, head: null, firstBad: { seq: r.seq, reason: 'its link to the previous entry is broken (an entry was removed, reordered or changed)' } };
        if (!chainHash(r.seq, r.prevHash, r.entry).equals(r.hash)) return { ok: false, entries: done, head: null, firstBad: { seq: r.seq, reason: 'its content does not match its hash (the entry was changed)' } };
        if (hashedAt(r.entry) !== r.at) return { ok: false, entries: done, head: null, firstBad: { seq: r.seq, reason: 'its time column differs from the time in the entry (the column was changed)' } };
        if (expect && r.seq === expect.seq && r.hash.toString('hex') !== expect.hash) {
          return {
            ok: false,
            entries: done,
            head: null,
            firstBad: { seq: r.seq, reason: `its hash differs from the expected head ${formatHead(expect)} (the log was rewritten from there)` },
          };
        }
        prev = r.hash;
        expectedSeq++;
        done++;
      }
      onProgress?.(done, total);
    }
    const head = done ? prev.toString('hex') : null;
    if (expect && expect.seq === 0 && expect.hash !== GENESIS.toString('hex')) {
      return { ok: false, entries: done, head, firstBad: { seq: 0, reason: `head 0 is always the genesis hash (64 zeros), not ${expect.hash}` } };
    }
    if (expect && done < expect.seq) {
      return {
        ok: false,
        entries: done,
        head,
        firstBad: { seq: done + 1, reason: `the log ends at entry ${done}, before the expected head ${formatHead(expect)} (entries were removed from its end)` },
      };
    }
    return { ok: true, entries: done, head };
  }

  /** The chain's last entry as committed; sequence 0 and the genesis hash for an empty log. */
  async currentHead(): Promise<AuditHead> {
    const last = await this.deps.repo.last();
    if (!last) return { seq: 0, hash: GENESIS.toString('hex'), at: null };
    return { seq: last.seq, hash: last.hash.toString('hex'), at: hashedAt(last.entry) };
  }

  /** The head the chain had at entry `seq` (sequence 0: the genesis hash); undefined if the log has no such entry. */
  async headAt(seq: number): Promise<{ seq: number; hash: string } | undefined> {
    if (seq === 0) return { seq: 0, hash: GENESIS.toString('hex') };
    const e = await this.entryAt(seq);
    return e && { seq, hash: e.hash };
  }

  /** Entry `seq` as stored; undefined if the log has none. */
  async entryAt(seq: number): Promise<StoredEntry | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
    const [r] = await this.deps.repo.page(seq - 1, 1);
    return r?.seq === seq ? { seq, hash: r.hash.toString('hex'), entry: r.entry } : undefined;
  }

  /** Entries matching a filter as stored — their canonical JSON text, as it was hashed — in sequence order. */
  async stored(filter: AuditFilter): Promise<StoredEntry[]> {
    const rows = await this.deps.repo.query(filter);
    return rows.map((r) => ({ seq: r.seq, hash: r.hash.toString('hex'), entry: r.entry }));
  }

  /** Entries matching a filter, decoded, in sequence order. */
  async list(filter: AuditFilter): Promise<AuditEntryView[]> {
    const rows = await this.deps.repo.query(filter);
    return rows.map((r) => ({ ...(JSON.parse(r.entry) as AuditEvent & { at: number }), seq: r.seq, hash: r.hash.toString('hex') }));
  }
}
