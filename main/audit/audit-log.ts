// Append-only, hash-chained audit log.
// Each entry is canonical JSON (keys sorted) of who did what to which key with what outcome; never
// plaintext, key material or secrets (the type below has no field that could hold them).
// hash(n) = SHA-256( "kura-audit-v1" || u64be(seq) || prev_hash || entry ); the first prev_hash is 32
// zero bytes. Changing, removing or reordering any entry breaks every hash after it, which `verify`
// reports with the first sequence number that fails.
import { createHash } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import type { Database, SqliteAuditRepository, WriteTx } from '../store/index.js';

export interface AuditEvent {
  /** Principal ARN, or 'anonymous' for requests that failed authentication. */
  principal: string;
  accessKeyId?: string;
  source: 'kms' | 'admin' | 'scheduler' | 'cli';
  operation: string;
  keyId?: string;
  outcome: 'ok' | 'error';
  errorCode?: string;
  requestId?: string;
  details?: Record<string, string | number | boolean>;
}

const GENESIS = Buffer.alloc(32);

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export function chainHash(seq: number, prevHash: Uint8Array, entry: string): Buffer {
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(BigInt(seq));
  return createHash('sha256').update('kura-audit-v1').update(seqBytes).update(prevHash).update(entry, 'utf8').digest();
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: string | null;
  /** First sequence number at which the chain breaks, with why. */
  firstBad?: { seq: number; reason: string };
}

export class AuditLog {
  constructor(private readonly deps: { db: Database; repo: SqliteAuditRepository; clock: Clock }) {}

  /** Appends inside the caller's transaction, so the entry commits (or not) with the change it records. */
  async appendIn(tx: WriteTx, event: AuditEvent): Promise<void> {
    const last = await this.deps.repo.lastIn(tx);
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? GENESIS;
    const at = this.deps.clock.nowMs();
    const entry = canonical({ ...event, at });
    await this.deps.repo.insert(tx, { seq, at, entry, prevHash, hash: chainHash(seq, prevHash, entry) });
  }

  /** Appends in a transaction of its own; resolves once the entry is durable. */
  append(event: AuditEvent): Promise<void> {
    return this.deps.db.write((tx) => this.appendIn(tx, event));
  }

  async verify(onProgress?: (done: number, total: number) => void): Promise<AuditVerification> {
    const total = await this.deps.repo.count();
    let prev: Buffer = GENESIS;
    let expectedSeq = 1;
    let done = 0;
    for (;;) {
      const page = await this.deps.repo.page(expectedSeq - 1, 1000);
      if (page.length === 0) break;
      for (const r of page) {
        if (r.seq !== expectedSeq) return { ok: false, entries: done, head: null, firstBad: { seq: expectedSeq, reason: `entry ${expectedSeq} is missing` } };
        if (!r.prevHash.equals(prev)) return { ok: false, entries: done, head: null, firstBad: { seq: r.seq, reason: 'its link to the previous entry is broken (an entry was removed, reordered or changed)' } };
        if (!chainHash(r.seq, r.prevHash, r.entry).equals(r.hash)) return { ok: false, entries: done, head: null, firstBad: { seq: r.seq, reason: 'its content does not match its hash (the entry was changed)' } };
        prev = r.hash;
        expectedSeq++;
        done++;
      }
      onProgress?.(done, total);
    }
    return { ok: true, entries: done, head: done ? prev.toString('hex') : null };
  }
}
