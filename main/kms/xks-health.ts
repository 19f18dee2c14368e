// When the XKS proxy runs a store's deep health check, and which report it answers with (XKS Proxy API
// v1.0.3, "GetHealthStatus", KMS considerations). AWS KMS gives up on a proxy after 250 ms, and a
// deep check — a test encryption and decryption on the store's key manager — may take longer on a slow
// device, or not end at all on one that has stopped answering. The spec lets a proxy run its checks on
// its own and answer with a cached report, at most one minute old. So, per store:
// - a report younger than HEALTH_CACHE_MS is answered as it is; once it is HEALTH_REFRESH_MS old, the
//   call that reads it also starts the next check, in the background, so that a store asked every
//   minute or so always has a fresh report ready;
// - with no report young enough, the call waits for a check (the routes give it 200 ms: past that they
//   answer DependencyTimeoutException, and the check's report serves the next call);
// - one check per store runs at a time: calls that arrive meanwhile wait for the same one;
// - forget() (the appliance sealed, a store deleted) drops the reports, and a check that was running
//   then stores nothing and is waited for by no later call: its report may describe a state that no
//   longer holds.
// A report's age is elapsed time, on the monotonic clock: on the wall clock, one stepped back 59 s let
// a report be served 59 s past its minute (and one stepped back further forced a check per step).
import { errorFields, type Logger } from '../common/log.js';

/** How long a deep check's report is served (the spec: at most one minute). */
export const HEALTH_CACHE_MS = 60_000;
/** From this age, reading a report starts the next check in the background. */
export const HEALTH_REFRESH_MS = 30_000;

export type HealthStatus = 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE';
export type HealthReport = { ekmVendor: string; ekmFleetDetails: { id: string; model: string; healthStatus: HealthStatus }[] };

export class XksHealthReports {
  private readonly reports = new Map<string, { report: HealthReport; at: number }>();
  /** Per store, its check running now; a check stores its report only while it is still the one here. */
  private readonly running = new Map<string, Promise<HealthReport | undefined>>();

  constructor(
    private readonly deps: {
      /** Elapsed time (main/common/monotonic.ts), never the wall clock. */
      monotonic: { nowMs(): number };
      log: Logger;
      /** One deep check of a store; undefined when there is no such store. Never throws for a key manager's failure. */
      check(storeId: string): Promise<HealthReport | undefined>;
    },
  ) {}

  /** The store's report: a cached one (refreshed in the background once it is getting old), or a check's. */
  async report(storeId: string): Promise<HealthReport | undefined> {
    const cached = this.reports.get(storeId);
    const age = cached ? this.deps.monotonic.nowMs() - cached.at : Infinity;
    if (cached && age < HEALTH_CACHE_MS) {
      if (age >= HEALTH_REFRESH_MS) void this.checking(storeId).catch(() => undefined);
      return cached.report;
    }
    return this.checking(storeId);
  }

  /** Drops one store's report, or every report; checks running now store nothing, and later calls do not wait for them. */
  forget(storeId?: string): void {
    if (storeId === undefined) {
      this.reports.clear();
      this.running.clear();
    } else {
      this.reports.delete(storeId);
      this.running.delete(storeId);
    }
  }

  /** The store's running check, or a new one. */
  private checking(storeId: string): Promise<HealthReport | undefined> {
    const running = this.running.get(storeId);
    if (running) return running;
    const startedAt = this.deps.monotonic.nowMs();
    const check: Promise<HealthReport | undefined> = this.deps
      .check(storeId)
      .then(
        (report) => {
          // Forgotten meanwhile (forget() took it off `running`): its report may no longer hold.
          if (report && this.running.get(storeId) === check) this.reports.set(storeId, { report, at: startedAt });
          return report;
        },
        (e: unknown) => {
          this.deps.log.error('xks health check failed', { xksStoreId: storeId, ...errorFields(e) });
          throw e;
        },
      )
      .finally(() => {
        if (this.running.get(storeId) === check) this.running.delete(storeId);
      });
    this.running.set(storeId, check);
    return check;
  }
}
