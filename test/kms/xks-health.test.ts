// When the XKS proxy runs deep health checks and which report it answers with (main/kms/xks-health.ts),
// over a check the test controls and a FixedClock: a report served for a minute at most, the next check
// started in the background once a report is half that old, one check per store at a time, reports of
// checks that straddle a seal or a deletion never stored, and a failing check neither cached nor fatal.
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';
import { HEALTH_CACHE_MS, HEALTH_REFRESH_MS, XksHealthReports, type HealthReport, type HealthStatus } from '../../main/kms/xks-health.js';
import { FixedClock } from '../support/fixed-clock.js';

const report = (healthStatus: HealthStatus): HealthReport => ({ ekmVendor: 'Kura', ekmFleetDetails: [{ id: 'hsm', model: 'test', healthStatus }] });

/** A check per call, each answered when the test says so. */
class Checks {
  readonly calls: { storeId: string; answer: (r: HealthReport | undefined) => void; fail: (e: Error) => void }[] = [];

  check = (storeId: string): Promise<HealthReport | undefined> =>
    new Promise((resolve, reject) => {
      this.calls.push({ storeId, answer: resolve, fail: reject });
    });

  last() {
    const c = this.calls.at(-1);
    if (!c) throw new Error('no check was started');
    return c;
  }
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('XKS deep health checks', () => {
  let clock: FixedClock;
  let checks: Checks;
  let logged: string[];
  let health: XksHealthReports;

  beforeEach(() => {
    clock = new FixedClock();
    checks = new Checks();
    logged = [];
    health = new XksHealthReports({ monotonic: clock.monotonic, log: createLogger('error', (line) => void logged.push(line)), check: checks.check });
  });

  it('waits for the first check, then serves its report for up to a minute', async () => {
    const first = health.report('s1');
    checks.last().answer(report('ACTIVE'));
    expect(await first).toEqual(report('ACTIVE'));
    clock.advance(HEALTH_REFRESH_MS - 1);
    expect(await health.report('s1')).toEqual(report('ACTIVE'));
    expect(checks.calls).toHaveLength(1);
  });

  it('starts the next check in the background once a report is half a minute old, and serves the new report when it lands', async () => {
    const first = health.report('s1');
    checks.last().answer(report('ACTIVE'));
    await first;
    clock.advance(HEALTH_REFRESH_MS);
    // Answered at once from the report it has, while the next check runs.
    expect(await health.report('s1')).toEqual(report('ACTIVE'));
    expect(checks.calls).toHaveLength(2);
    // A call meanwhile starts no other check.
    expect(await health.report('s1')).toEqual(report('ACTIVE'));
    expect(checks.calls).toHaveLength(2);
    checks.last().answer(report('DEGRADED'));
    await settled();
    expect(await health.report('s1')).toEqual(report('DEGRADED'));
  });

  it('waits for a check when its report is a minute old; calls meanwhile wait for the same check', async () => {
    const first = health.report('s1');
    checks.last().answer(report('ACTIVE'));
    await first;
    clock.advance(HEALTH_CACHE_MS);
    const a = health.report('s1');
    const b = health.report('s1');
    expect(checks.calls).toHaveLength(2);
    checks.last().answer(report('UNAVAILABLE'));
    expect(await a).toEqual(report('UNAVAILABLE'));
    expect(await b).toEqual(report('UNAVAILABLE'));
  });

  it('a wall clock stepped back does not make a report live past its minute', async () => {
    const first = health.report('s1');
    checks.last().answer(report('ACTIVE'));
    await first;
    // A minute and a second pass while NTP steps the wall clock back 59 s: on the wall clock the report
    // is 2 s old; it is 61 s old.
    clock.advance(HEALTH_CACHE_MS + 1_000);
    clock.step(-59_000);
    const again = health.report('s1');
    expect(checks.calls).toHaveLength(2);
    checks.last().answer(report('DEGRADED'));
    expect(await again).toEqual(report('DEGRADED'));
  });

  it('a wall clock stepped either way does not throw away a fresh report', async () => {
    const first = health.report('s1');
    checks.last().answer(report('ACTIVE'));
    await first;
    clock.step(-3600_000);
    expect(await health.report('s1')).toEqual(report('ACTIVE'));
    clock.step(2 * 3600_000);
    expect(await health.report('s1')).toEqual(report('ACTIVE'));
    expect(checks.calls).toHaveLength(1);
  });

  it('keeps each store apart', async () => {
    const a = health.report('a');
    const b = health.report('b');
    expect(checks.calls.map((c) => c.storeId)).toEqual(['a', 'b']);
    checks.calls[0]!.answer(report('ACTIVE'));
    checks.calls[1]!.answer(report('UNAVAILABLE'));
    expect([await a, await b]).toEqual([report('ACTIVE'), report('UNAVAILABLE')]);
  });

  it('counts a report from when its check started', async () => {
    const first = health.report('s1');
    clock.advance(HEALTH_CACHE_MS - 10);
    checks.last().answer(report('ACTIVE'));
    await first;
    clock.advance(10);
    const next = health.report('s1');
    expect(checks.calls).toHaveLength(2);
    checks.last().answer(report('DEGRADED'));
    expect(await next).toEqual(report('DEGRADED'));
  });

  it('stores nothing from a check that was running when the reports were forgotten (the appliance sealed, say), and later calls do not wait for it', async () => {
    const before = health.report('s1');
    const stale = checks.last();
    health.forget();
    const after = health.report('s1');
    expect(checks.calls).toHaveLength(2);
    checks.last().answer(report('UNAVAILABLE'));
    expect(await after).toEqual(report('UNAVAILABLE'));
    // The check from before the seal ends: its caller gets its report, which is not kept.
    stale.answer(report('ACTIVE'));
    expect(await before).toEqual(report('ACTIVE'));
    expect(await health.report('s1')).toEqual(report('UNAVAILABLE'));
    expect(checks.calls).toHaveLength(2);
  });

  it('forgets one store on its own', async () => {
    const a = health.report('a');
    checks.last().answer(report('ACTIVE'));
    const b = health.report('b');
    checks.last().answer(report('ACTIVE'));
    await Promise.all([a, b]);
    health.forget('a');
    void health.report('a');
    expect(await health.report('b')).toEqual(report('ACTIVE'));
    expect(checks.calls.map((c) => c.storeId)).toEqual(['a', 'b', 'a']);
  });

  it("keeps another store's running check when one store is forgotten (deleted)", async () => {
    const b = health.report('b');
    health.forget('a');
    checks.last().answer(report('ACTIVE'));
    expect(await b).toEqual(report('ACTIVE'));
    expect(await health.report('b')).toEqual(report('ACTIVE'));
    expect(checks.calls).toHaveLength(1);
  });

  it('caches no report for a store that does not exist', async () => {
    const none = health.report('gone');
    checks.last().answer(undefined);
    expect(await none).toBeUndefined();
    void health.report('gone');
    expect(checks.calls).toHaveLength(2);
  });

  it('passes a failed check to its callers and logs it by type; the next call checks again', async () => {
    const failed = health.report('s1');
    checks.last().fail(new TypeError('secret detail'));
    await expect(failed).rejects.toThrow(TypeError);
    expect(logged.join('\n')).toMatch(/xks health check failed.*TypeError/);
    expect(logged.join('\n')).toMatch(/"xksStoreId":"s1"/);
    expect(logged.join('\n')).not.toMatch(/secret detail/);
    const next = health.report('s1');
    checks.last().answer(report('ACTIVE'));
    expect(await next).toEqual(report('ACTIVE'));
  });

  it('survives a background check that fails', async () => {
    const first = health.report('s1');
    checks.last().answer(report('ACTIVE'));
    await first;
    clock.advance(HEALTH_REFRESH_MS);
    expect(await health.report('s1')).toEqual(report('ACTIVE'));
    checks.last().fail(new Error('device error'));
    await settled();
    expect(await health.report('s1')).toEqual(report('ACTIVE'));
    expect(checks.calls).toHaveLength(3);
  });
});
