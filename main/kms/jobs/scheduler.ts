// The one scheduler for time-driven changes (deletion at the end of its window, automatic rotation,
// expiry of imported key material and of import tokens; ./due.ts).
// It runs once at start-up, for what fell due while Kura was stopped, then on a timer. Runs never
// overlap; a failed run is logged and retried at the next tick.
//
// What is due is decided on the wall clock (AWS's deletion dates and rotation dates are wall-clock),
// and a wall clock can be stepped: NTP correcting a drifted clock, an operator setting it wrongly, a VM
// resumed after days. Between two runs the scheduler compares how far the wall clock moved with how
// much time passed (the monotonic clock). A difference of CLOCK_JUMP_MS or more is a jump: it is logged
// loudly and audited (ClockJumpObserved). After a jump forward the scheduler does nothing for
// JUMP_SETTLE_MS of elapsed time: a clock stepped a year ahead by mistake and back by NTP a minute later
// would otherwise have destroyed every key pending deletion and emptied every imported material with a
// ValidTo, which nobody can undo. A jump that was right (a resumed VM) only has its work done a quarter
// of an hour later; AWS promises no minute for it either. A jump back destroys nothing early (what is
// due comes later), so it is logged and audited, not held.
// Across a restart there is no elapsed time to compare with; the newest audit entry's time, as the
// appliance found it on starting, stands in for the last run: a clock that reads earlier than it at the
// first run was stepped back (a dead RTC battery at 1970/2000, a time zone set wrongly) and is logged
// and audited alike. One that reads later may just have been off for a while: that is not a jump.
import type { Clock } from '../../common/clock.js';
import { errorFields, type Logger } from '../../common/log.js';
import type { Monotonic } from '../../common/monotonic.js';
import type { ScheduledJobs } from './due.js';

/** How much more (or less) than elapsed time the wall clock must move between two runs to be a jump. */
export const CLOCK_JUMP_MS = 5 * 60_000;
/** After a jump forward, how long (elapsed) the scheduler holds every change. */
export const JUMP_SETTLE_MS = 15 * 60_000;

const iso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));

export class LifecycleScheduler {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  /** The wall and monotonic clocks at the last run, to see a jump between runs. */
  private last: { wall: number; mono: number } | undefined;
  /** Monotonic time until which runs are held after a jump forward. */
  private heldUntil: number | undefined;

  constructor(
    private readonly deps: {
      jobs: ScheduledJobs;
      log: Logger;
      intervalMs: number;
      clock: Clock;
      monotonic: Monotonic;
      /** The newest audit entry's time when the appliance started (null: an empty log). */
      lastRecordedAt?: number | null;
    },
  ) {}

  /** Runs what is due now; concurrent callers share one run. */
  runOnce(): Promise<void> {
    this.running ??= this.run()
      .catch((e: unknown) => this.deps.log.error('lifecycle run failed', errorFields(e)))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async run(): Promise<void> {
    const wall = this.deps.clock.nowMs();
    const mono = this.deps.monotonic.nowMs();
    const last = this.last;
    this.last = { wall, mono };
    const recorded = this.deps.lastRecordedAt;
    if (!last && typeof recorded === 'number' && wall < recorded - CLOCK_JUMP_MS) {
      const stepMs = wall - recorded;
      this.deps.log.warn('WALL CLOCK READS EARLIER THAN THE NEWEST AUDIT ENTRY: it was stepped back while Kura was stopped; what is due comes later by as much; check the clock', {
        stepMs,
        newestEntryAt: iso(recorded),
        now: iso(wall),
      });
      await this.deps.jobs.recordClockJump({ stepMs, from: iso(recorded), to: iso(wall), heldForMs: 0 });
    }
    if (last) {
      const expected = last.wall + (mono - last.mono);
      const stepMs = wall - expected;
      if (Math.abs(stepMs) >= CLOCK_JUMP_MS) {
        const heldForMs = stepMs > 0 ? JUMP_SETTLE_MS : 0;
        if (stepMs > 0) this.heldUntil = mono + JUMP_SETTLE_MS;
        this.deps.log.warn(
          stepMs > 0
            ? 'WALL CLOCK JUMPED FORWARD (or the machine was suspended): deletions, rotations and expiries are held until it has stayed put; check the clock'
            : 'WALL CLOCK JUMPED BACK: what is due comes later by as much; check the clock',
          { stepMs, from: iso(expected), to: iso(wall), heldForMs },
        );
        await this.deps.jobs.recordClockJump({ stepMs, from: iso(expected), to: iso(wall), heldForMs });
      }
    }
    if (this.heldUntil !== undefined) {
      if (mono < this.heldUntil) {
        this.deps.log.warn('lifecycle run held after a wall clock jump', { resumesInMs: Math.ceil(this.heldUntil - mono) });
        return;
      }
      this.heldUntil = undefined;
    }
    const r = await this.deps.jobs.runDue();
    if (r.deleted.length || r.rotated.length || r.expired.length) {
      this.deps.log.info('lifecycle run', { deleted: r.deleted.length, rotated: r.rotated.length, expired: r.expired.length });
    }
  }

  async start(): Promise<void> {
    await this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
