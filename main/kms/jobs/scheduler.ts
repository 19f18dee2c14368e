// The one scheduler for time-driven changes (deletion at the end of its window, automatic rotation,
// expiry of imported key material and of import tokens; ./due.ts).
// It runs once at start-up, for what fell due while Kura was stopped, then on a timer. Runs never
// overlap; a failed run is logged and retried at the next tick.
import type { Logger } from '../../common/log.js';
import type { ScheduledJobs } from './due.js';

export class LifecycleScheduler {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: { jobs: ScheduledJobs; log: Logger; intervalMs: number }) {}

  /** Runs what is due now; concurrent callers share one run. */
  runOnce(): Promise<void> {
    this.running ??= this.deps.jobs
      .runDue()
      .then((r) => {
        if (r.deleted.length || r.rotated.length || r.expired.length) {
          this.deps.log.info('lifecycle run', { deleted: r.deleted.length, rotated: r.rotated.length, expired: r.expired.length });
        }
      })
      .catch((e: unknown) => this.deps.log.error('lifecycle run failed', { error: e instanceof Error ? e.message : String(e) }))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
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
