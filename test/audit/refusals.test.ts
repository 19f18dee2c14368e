// Refused, unidentified requests are audited in bounded form (main/audit/refusals.ts): the first of a
// window is written at once, the rest of the window are counted into one entry, so a flood of
// refusals costs a few entries, not one each; nothing is lost across windows or on stop.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_WINDOWS, RefusalLog, type Refusal } from '../../main/audit/refusals.js';
import { openDomain, type Domain } from '../support/domain.js';
import { sqliteOf } from '../support/sqlite.js';

interface Row {
  entry: string;
}

const refusal = (over: Partial<Refusal> = {}): Refusal => ({
  source: 'kms',
  remote: '127.0.0.1',
  reason: 'MissingAuthenticationToken',
  operation: 'Encrypt',
  ...over,
});

describe('RefusalLog', () => {
  let d: Domain;
  let log: RefusalLog;
  const entries = async () => (await sqliteOf(d.store).all<Row>('SELECT entry FROM audit_log ORDER BY seq')).map((r) => JSON.parse(r.entry) as Record<string, unknown>);

  beforeEach(async () => {
    d = await openDomain({ unseal: 'none' });
    log = new RefusalLog({ audit: d.audit, clock: d.clock, monotonic: d.clock.monotonic, windowMs: 60_000 });
  });
  afterEach(async () => {
    await log.stop();
    await d.close();
  });

  it('writes the first refusal of a window in full and counts the rest into one entry', async () => {
    for (let i = 0; i < 300; i++) await log.record(refusal({ operation: i % 2 ? 'Encrypt' : 'unknown:0123456789abcdef' }));
    let rows = await entries();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ principal: 'anonymous', operation: 'unknown:0123456789abcdef', outcome: 'error', errorCode: 'MissingAuthenticationToken' });

    d.clock.advance(60_000);
    await log.closeExpired();
    rows = await entries();
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ operation: 'RefusedRepeatedly', errorCode: 'MissingAuthenticationToken', details: { repeats: 299, remote: '127.0.0.1' } });
    // The chain stays whole.
    expect((await d.audit.verify()).ok).toBe(true);
  });

  it('a wall clock stepped back an hour neither holds a window open for that hour nor its count unwritten', async () => {
    await log.record(refusal());
    await log.record(refusal());
    const startedAt = d.clock.nowMs();
    d.clock.step(-3600_000);
    d.clock.advance(60_000);
    await log.closeExpired();
    let rows = await entries();
    expect(rows.map((r) => r.operation)).toEqual(['Encrypt', 'RefusedRepeatedly']);
    // The times written are wall-clock: the window's start as it read then, and one window's length on.
    expect(rows[1]!.details).toMatchObject({ repeats: 1, windowStartedAt: startedAt, windowEndedAt: startedAt + 60_000 });
    // And the next refusal opens a new window, written in full.
    await log.record(refusal());
    rows = await entries();
    expect(rows.map((r) => r.operation)).toEqual(['Encrypt', 'RefusedRepeatedly', 'Encrypt']);
  });

  it('a wall clock stepped forward a day does not end an open window early', async () => {
    await log.record(refusal());
    d.clock.step(24 * 3600_000);
    await log.record(refusal());
    await log.closeExpired();
    expect((await entries()).map((r) => r.operation)).toEqual(['Encrypt']);
  });

  it('keeps separate windows per reason and per source address', async () => {
    await log.record(refusal());
    await log.record(refusal());
    await log.record(refusal({ reason: 'InvalidSignature' }));
    await log.record(refusal({ remote: '10.0.0.2' }));
    expect(await entries()).toHaveLength(3);
    await log.stop();
    const rows = await entries();
    expect(rows).toHaveLength(4);
    expect(rows[3]).toMatchObject({ operation: 'RefusedRepeatedly', details: { repeats: 1 } });
  });

  it('a refusal after the window has ended opens a new window, writing the old count first', async () => {
    await log.record(refusal());
    await log.record(refusal());
    d.clock.advance(61_000);
    await log.record(refusal());
    const rows = await entries();
    expect(rows.map((r) => r.operation)).toEqual(['Encrypt', 'RefusedRepeatedly', 'Encrypt']);
  });

  it('counts every refusal of a burst that arrives while an ended window is being written', async () => {
    await log.record(refusal());
    await log.record(refusal());
    d.clock.advance(61_000);
    await Promise.all([log.record(refusal()), log.record(refusal()), log.record(refusal())]);
    await log.stop();
    const rows = await entries();
    // Five refusals: each written entry stands for one, each count entry for its repeats.
    const accounted = rows.reduce((n, r) => n + (r.operation === 'RefusedRepeatedly' ? ((r.details as { repeats: number }).repeats) : 1), 0);
    expect(accounted).toBe(5);
    expect(rows.map((r) => r.operation)).toEqual(['Encrypt', 'RefusedRepeatedly', 'Encrypt', 'RefusedRepeatedly']);
  });

  it('writes nothing more for a window with a single refusal', async () => {
    await log.record(refusal());
    d.clock.advance(120_000);
    await log.closeExpired();
    await log.stop();
    expect(await entries()).toHaveLength(1);
  });

  it('bounds the windows it holds: distinct sources beyond the cap share one window', async () => {
    for (let i = 0; i < 1100; i++) await log.record(refusal({ remote: `10.0.${Math.floor(i / 256)}.${i % 256}` }));
    const written = (await entries()).length;
    expect(written).toBe(MAX_WINDOWS + 1);
    await log.stop();
    const rows = await entries();
    expect(rows[rows.length - 1]).toMatchObject({ operation: 'RefusedRepeatedly', details: { repeats: 1100 - MAX_WINDOWS - 1 } });
  });

  it('takes every loopback address as one source: binding each request to another 127.x.y.z opens no window', async () => {
    const addresses = ['127.0.0.1', '127.0.0.2', '127.45.6.7', '::1', '::ffff:127.0.0.9'];
    for (let i = 0; i < 3000; i++) await log.record(refusal({ remote: i < addresses.length ? addresses[i]! : `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));
    expect(await entries()).toHaveLength(1);
    await log.stop();
    const rows = await entries();
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ operation: 'RefusedRepeatedly', details: { repeats: 2999 } });
  });
});
