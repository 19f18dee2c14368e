// Audit entries for requests refused before anyone was identified (bad or missing signatures, unknown
// access keys, a sealed appliance), coalesced so that a flood costs bytes, not megabytes.
//
// The audit log is a hash chain that cannot be pruned, and these requests need no credential: one
// entry each would let any local process grow it without bound. So, per source address and reason,
// the first refusal of a window is written in full (on the disk before it is answered, as every
// call's entry is) and the refusals that follow within the window are only counted;
// when the window ends, one entry records how many there were. An attacker gets one entry per reason
// per window.
// Fields are bounded by the caller (main/api/kms/dispatch.ts): a known operation name or a short
// hash, never the raw header.
//
// Windows are per source *address*, and loopback has sixteen million of them: a local process binding
// each request to another 127.x.y.z address opened a window per request. Every loopback address is
// one source here (which local process sent a request is not visible anyway), and the windows held at
// once are few (MAX_WINDOWS), so addresses past them — an IPv6 client on the XKS TLS listener has
// plenty — share one overflow window.
// A window's length is measured on the monotonic clock: a wall clock stepped back an hour kept every
// window open that hour longer (its count unwritten, its address's next refusals unwritten), and one
// stepped forward closed them all at once. The times written (windowStartedAt/EndedAt) are wall-clock.
import type { Clock } from '../common/clock.js';
import type { Monotonic } from '../common/monotonic.js';
import type { AuditEvent, AuditLog } from './audit-log.js';

export interface Refusal {
  source: AuditEvent['source'];
  /** The peer's address (on loopback, which local process is not visible: the address is all). */
  remote: string;
  /** The error code the request was refused with. */
  reason: string;
  operation: string;
  accessKeyId?: string;
  requestId?: string;
}

interface Window {
  /** Wall-clock, for the entry. */
  startedAt: number;
  /** Monotonic, for the window's length. */
  opened: number;
  first: Refusal;
  repeats: number;
}

export const REFUSAL_WINDOW_MS = 60_000;
/** Distinct (source, address, reason) windows held at once; beyond it, refusals share one overflow window. */
export const MAX_WINDOWS = 64;

/** The address a window is kept for: every loopback address (IPv4 127/8, ::1, IPv4-mapped) is one. */
function windowAddress(remote: string): string {
  const v4 = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
  return v4.startsWith('127.') || remote === '::1' ? 'loopback' : remote;
}

export class RefusalLog {
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;

  constructor(private readonly deps: { audit: AuditLog; clock: Clock; monotonic: Monotonic; windowMs?: number }) {
    this.windowMs = deps.windowMs ?? REFUSAL_WINDOW_MS;
  }

  /** Starts closing windows on a timer (the appliance does; unit tests call closeExpired). */
  start(): void {
    this.timer ??= setInterval(() => void this.closeExpired().catch(() => undefined), Math.min(this.windowMs, 10_000));
    this.timer.unref();
  }

  /**
   * Records one refusal. Resolves once its entry is committed, or at once when it was only counted
   * in an open window.
   */
  async record(r: Refusal): Promise<void> {
    const now = this.deps.monotonic.nowMs();
    let key = `${r.source}|${windowAddress(r.remote)}|${r.reason}`;
    if (!this.windows.has(key) && this.windows.size >= MAX_WINDOWS) key = `${r.source}|*|*`;
    const open = this.windows.get(key);
    if (open && now - open.opened < this.windowMs) {
      open.repeats++;
      return;
    }
    // The new window is in place before the old one's count is written (which waits on the log): a
    // refusal arriving meanwhile is counted in it, not in a window of its own that this one would replace.
    this.windows.set(key, { startedAt: this.deps.clock.nowMs(), opened: now, first: r, repeats: 0 });
    if (open) await this.writeCount(open);
    await this.deps.audit.append({
      principal: 'anonymous',
      accessKeyId: r.accessKeyId,
      source: r.source,
      operation: r.operation,
      outcome: 'error',
      errorCode: r.reason,
      requestId: r.requestId,
      details: { remote: r.remote },
    });
  }

  /** Writes the counted entry of every window that has ended. */
  async closeExpired(): Promise<void> {
    const now = this.deps.monotonic.nowMs();
    for (const [key, w] of [...this.windows]) if (now - w.opened >= this.windowMs) await this.close(key, w);
  }

  /** On stop: every open window's count is written, so no refusal goes unrecorded. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const [key, w] of [...this.windows]) await this.close(key, w);
  }

  private async close(key: string, w: Window): Promise<void> {
    if (this.windows.get(key) === w) this.windows.delete(key);
    await this.writeCount(w);
  }

  /** The entry that says how many refusals a window counted after its first (none when there were none). */
  private async writeCount(w: Window): Promise<void> {
    if (w.repeats === 0) return;
    await this.deps.audit.append({
      principal: 'anonymous',
      source: w.first.source,
      operation: 'RefusedRepeatedly',
      outcome: 'error',
      errorCode: w.first.reason,
      details: {
        remote: w.first.remote,
        repeats: w.repeats,
        windowStartedAt: w.startedAt,
        windowEndedAt: w.startedAt + Math.min(this.deps.monotonic.nowMs() - w.opened, this.windowMs),
      },
    });
  }
}
