// Time-driven changes (main/kms/jobs: ScheduledJobs.runDue and LifecycleScheduler): deletion at the end
// of the waiting period with everything that belonged to the key, automatic rotation every period, and
// what fell due while Kura was stopped or sealed. The clock is moved; nothing waits.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../main/common/clock.js';
import { createLogger } from '../../../main/common/log.js';
import { parseBlob } from '../../../main/kms/ciphertext.js';
import type { Key as KeyRecord } from '../../../main/kms/index.js';
import { CLOCK_JUMP_MS, JUMP_SETTLE_MS, LifecycleScheduler } from '../../../main/kms/jobs/scheduler.js';
import { kmsCode, openDomain, type Domain } from '../../support/domain.js';
import { recordingAead, type RecordingAead } from '../../support/recording-aead.js';
import { sqliteOf } from '../../support/sqlite.js';

const pt = (s: string) => Buffer.from(s, 'utf8');

async function rowsOf(d: Domain, keyId: string): Promise<Record<string, number>> {
  const count = async (table: string) => (await sqliteOf(d.store).all(`SELECT * FROM ${table} WHERE key_id = ?`, keyId)).length;
  return { keys: await count('keys'), key_materials: await count('key_materials'), aliases: await count('aliases'), tags: await count('tags') };
}

/** The scheduler's own entries (the calls a test makes in between are audited too, as source kms). */
async function schedulerEntries(d: Domain): Promise<Record<string, unknown>[]> {
  const rows = await sqliteOf(d.store).all<{ entry: string }>('SELECT entry FROM audit_log ORDER BY seq');
  return rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>).filter((e) => e.source === 'scheduler');
}

/**
 * Runs fn right after the scheduler has listed what is due (outside any transaction) and before the
 * change it makes per key: the window in which a customer's call can commit. The job must read the key
 * again inside its transaction and act on that, not on the listing.
 */
async function runDueWithChangeAfterListing(d: Domain, listing: 'dueForDeletion' | 'dueForRotation', fn: () => Promise<unknown>) {
  const keys = d.store.keys as unknown as Record<typeof listing, (...a: unknown[]) => Promise<unknown[]>>;
  const list = keys[listing].bind(keys);
  keys[listing] = async (...a: unknown[]) => {
    const listed = await list(...a);
    await fn();
    return listed;
  };
  try {
    return await d.jobs.runDue();
  } finally {
    keys[listing] = list;
  }
}

describe('scheduled key deletion', () => {
  let d: Domain;
  let aead: RecordingAead;
  beforeEach(async () => {
    aead = recordingAead();
    d = await openDomain({ aead });
  });
  afterEach(async () => {
    await d.close();
  });

  it('deletes nothing before the window ends, then the key with its materials, aliases and tags', async () => {
    const c = (op: string) => d.ctx(op);
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), { tags: [{ tagKey: 'team', tagValue: 'pay' }] });
    await d.keys.createAlias(c('CreateAlias'), 'alias/doomed', k.keyId);
    await d.keys.rotateKeyOnDemand(c('RotateKeyOnDemand'), k.keyId);
    const blob = (await d.keys.encrypt(c('Encrypt'), { keyId: k.keyId, plaintext: pt('bye') })).ciphertextBlob;
    const keeper = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), k.keyId, 7);
    expect(await rowsOf(d, k.keyId)).toEqual({ keys: 1, key_materials: 2, aliases: 1, tags: 1 });

    d.clock.set(start + 6 * DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
    d.clock.set(start + 7 * DAY_MS - 1);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
    expect((await d.keys.describeKey(c('DescribeKey'), k.keyId)).state).toBe('PendingDeletion');

    const liveBefore = aead.live();
    const cached = d.keystore.cachedMaterialForTests(k.keyId, parseBlob(blob).materialId)!;
    expect(cached.some((b) => b !== 0)).toBe(true);
    d.clock.set(start + 7 * DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [k.keyId], rotated: [], expired: [] });
    expect(await rowsOf(d, k.keyId)).toEqual({ keys: 0, key_materials: 0, aliases: 0, tags: 0 });
    expect(await sqliteOf(d.store).all('SELECT * FROM key_materials WHERE key_id = ?', k.keyId)).toEqual([]);
    // The cached bytes of its material were zeroized too; no AEAD key of it was left alive (the key
    // that sealed the blob was derived for that call and destroyed with it).
    expect(cached.every((b) => b === 0)).toBe(true);
    expect(aead.live()).toBe(liveBefore);
    expect(aead.live()).toBe(2); // the two keys derived from the root key

    expect(await kmsCode(d.keys.describeKey(c('DescribeKey'), k.keyId))).toBe('NotFound');
    expect(await kmsCode(d.keys.describeKey(c('DescribeKey'), 'alias/doomed'))).toBe('NotFound');
    expect(['NotFound', 'InvalidCiphertext']).toContain(await kmsCode(d.keys.decrypt(c('Decrypt'), { ciphertextBlob: blob })));
    expect((await d.keys.listKeys(c('ListKeys'))).items.map((x) => x.keyId)).toEqual([keeper.keyId]);

    const last = (await schedulerEntries(d)).at(-1);
    expect(last).toMatchObject({ operation: 'DeleteKey', keyId: k.keyId, source: 'scheduler', outcome: 'ok' });
    expect((await d.audit.verify()).ok).toBe(true);

    // Nothing more to do on the next run.
    d.clock.advance(DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
  });

  it('does not delete a key whose deletion was cancelled', async () => {
    const c = (op: string) => d.ctx(op);
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), k.keyId, 7);
    d.clock.set(start + 3 * DAY_MS);
    await d.keys.cancelKeyDeletion(c('CancelKeyDeletion'), k.keyId);
    d.clock.set(start + 30 * DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
    expect(await d.keys.describeKey(c('DescribeKey'), k.keyId)).toMatchObject({ state: 'Disabled', deletionAt: null });
    expect(await rowsOf(d, k.keyId)).toMatchObject({ keys: 1, key_materials: 1 });
  });

  it('does not delete a key whose deletion is cancelled after the run listed it', async () => {
    const c = (op: string) => d.ctx(op);
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), k.keyId, 7);
    d.clock.set(start + 7 * DAY_MS);
    const run = await runDueWithChangeAfterListing(d, 'dueForDeletion', () => d.keys.cancelKeyDeletion(c('CancelKeyDeletion'), k.keyId));
    expect(run.deleted).toEqual([]);
    expect(await d.keys.describeKey(c('DescribeKey'), k.keyId)).toMatchObject({ state: 'Disabled', deletionAt: null });
    expect(await rowsOf(d, k.keyId)).toMatchObject({ keys: 1, key_materials: 1 });
  });

  it('does not delete a key that was cancelled and scheduled again, for later, after the run listed it', async () => {
    // The key is PendingDeletion again, but its new deletion date is in the future: the job must
    // compare the date it reads in its transaction with now, not trust the listing.
    const c = (op: string) => d.ctx(op);
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), k.keyId, 7);
    d.clock.set(start + 7 * DAY_MS);
    const run = await runDueWithChangeAfterListing(d, 'dueForDeletion', async () => {
      await d.keys.cancelKeyDeletion(c('CancelKeyDeletion'), k.keyId);
      await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), k.keyId, 30);
    });
    expect(run.deleted).toEqual([]);
    expect(await d.keys.describeKey(c('DescribeKey'), k.keyId)).toMatchObject({ state: 'PendingDeletion', deletionAt: start + 37 * DAY_MS });
    d.clock.set(start + 37 * DAY_MS);
    expect((await d.jobs.runDue()).deleted).toEqual([k.keyId]);
  });

  it('deletes while sealed (deletion needs no root key)', async () => {
    const c = (op: string) => d.ctx(op);
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), k.keyId, 10);
    d.root.seal();
    d.clock.set(start + 10 * DAY_MS);
    expect((await d.jobs.runDue()).deleted).toEqual([k.keyId]);
    expect(await rowsOf(d, k.keyId)).toEqual({ keys: 0, key_materials: 0, aliases: 0, tags: 0 });
  });
});

describe('automatic rotation', () => {
  let d: Domain;
  beforeEach(async () => {
    d = await openDomain();
  });
  afterEach(async () => {
    await d.close();
  });

  const c = (op: string) => d.ctx(op);

  it('rotates once the period has passed, moves the next date one period on, and keeps old ciphertexts decryptable', async () => {
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), k.keyId, 90);
    const status = await d.keys.getKeyRotationStatus(c('GetKeyRotationStatus'), k.keyId);
    expect(status).toMatchObject({ rotationEnabled: true, rotationPeriodDays: 90, nextRotationAt: start + 90 * DAY_MS });
    const old = (await d.keys.encrypt(c('Encrypt'), { keyId: k.keyId, plaintext: pt('old'), encryptionContext: { g: '0' } })).ciphertextBlob;

    d.clock.set(start + 89 * DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
    expect((await d.store.keys.listMaterials(k.keyId)).length).toBe(1);

    d.clock.set(start + 90 * DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [k.keyId], expired: [] });
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
    const after: KeyRecord = await d.keys.getKeyRotationStatus(c('GetKeyRotationStatus'), k.keyId);
    expect(after.nextRotationAt).toBe(start + 180 * DAY_MS);
    expect(after.currentMaterialId).not.toBe(k.currentMaterialId);
    const materials = await d.store.keys.listMaterials(k.keyId);
    expect(materials.map((m) => m.rotationType)).toEqual([null, 'AUTOMATIC']);
    expect(materials[1]).toMatchObject({ materialId: after.currentMaterialId, createdAt: start + 90 * DAY_MS });
    const { page } = await d.keys.listKeyRotations(c('ListKeyRotations'), k.keyId, undefined);
    expect(page.items.map((m) => m.rotationType)).toEqual(['AUTOMATIC']);
    expect((await schedulerEntries(d)).at(-1)).toMatchObject({ operation: 'RotateKey', keyId: k.keyId, source: 'scheduler', outcome: 'ok' });

    const fresh = (await d.keys.encrypt(c('Encrypt'), { keyId: k.keyId, plaintext: pt('new'), encryptionContext: { g: '1' } })).ciphertextBlob;
    expect(parseBlob(fresh).materialId).toBe(after.currentMaterialId);
    expect(parseBlob(old).materialId).toBe(k.currentMaterialId);
    expect((await d.keys.decrypt(c('Decrypt'), { ciphertextBlob: old, encryptionContext: { g: '0' } })).plaintext.toString()).toBe('old');
    expect((await d.keys.decrypt(c('Decrypt'), { ciphertextBlob: fresh, encryptionContext: { g: '1' } })).plaintext.toString()).toBe('new');

    d.clock.set(start + 179 * DAY_MS);
    expect((await d.jobs.runDue()).rotated).toEqual([]);
    d.clock.set(start + 180 * DAY_MS);
    expect((await d.jobs.runDue()).rotated).toEqual([k.keyId]);
    expect((await d.store.keys.listMaterials(k.keyId)).map((m) => m.rotationType)).toEqual([null, 'AUTOMATIC', 'AUTOMATIC']);
  });

  it('an on-demand rotation does not change the automatic schedule', async () => {
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), k.keyId, 90);
    d.clock.set(start + 10 * DAY_MS);
    await d.keys.rotateKeyOnDemand(c('RotateKeyOnDemand'), k.keyId);
    expect((await d.keys.getKeyRotationStatus(c('GetKeyRotationStatus'), k.keyId)).nextRotationAt).toBe(start + 90 * DAY_MS);
    d.clock.set(start + 90 * DAY_MS);
    expect((await d.jobs.runDue()).rotated).toEqual([k.keyId]);
  });

  it('does not rotate a disabled key; rotates it once it is enabled again', async () => {
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), k.keyId, 90);
    await d.keys.disableKey(c('DisableKey'), k.keyId);
    d.clock.set(start + 100 * DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
    expect(await d.store.keys.listMaterials(k.keyId)).toHaveLength(1);

    await d.keys.enableKey(c('EnableKey'), k.keyId);
    expect((await d.jobs.runDue()).rotated).toEqual([k.keyId]);
    expect(await d.store.keys.listMaterials(k.keyId)).toHaveLength(2);
  });

  it('does not rotate a key whose rotation was disabled, nor one pending deletion', async () => {
    const start = d.clock.nowMs();
    const off = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), off.keyId, 90);
    await d.keys.disableKeyRotation(c('DisableKeyRotation'), off.keyId);
    const doomed = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), doomed.keyId, 90);
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), doomed.keyId, 30);
    d.clock.set(start + 91 * DAY_MS);
    const r = await d.jobs.runDue();
    expect(r.rotated).toEqual([]);
    expect(r.deleted).toEqual([doomed.keyId]);
    expect(await d.store.keys.listMaterials(off.keyId)).toHaveLength(1);
  });

  it('does not rotate a key disabled after the run listed it', async () => {
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), k.keyId, 90);
    d.clock.set(start + 90 * DAY_MS);
    const run = await runDueWithChangeAfterListing(d, 'dueForRotation', () => d.keys.disableKey(c('DisableKey'), k.keyId));
    expect(run.rotated).toEqual([]);
    expect(await d.store.keys.listMaterials(k.keyId)).toHaveLength(1);
  });

  it('does not rotate a key whose rotation was disabled, or set to a new period, after the run listed it', async () => {
    const start = d.clock.nowMs();
    const off = await d.keys.createKey(c('CreateKey'), {});
    const moved = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), off.keyId, 90);
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), moved.keyId, 90);
    d.clock.set(start + 90 * DAY_MS);
    const run = await runDueWithChangeAfterListing(d, 'dueForRotation', async () => {
      await d.keys.disableKeyRotation(c('DisableKeyRotation'), off.keyId);
      // EnableKeyRotation with a period starts the period again from now: next rotation in 180 days.
      await d.keys.enableKeyRotation(c('EnableKeyRotation'), moved.keyId, 180);
    });
    expect(run.rotated).toEqual([]);
    expect(await d.store.keys.listMaterials(off.keyId)).toHaveLength(1);
    expect(await d.store.keys.listMaterials(moved.keyId)).toHaveLength(1);
    expect((await d.keys.getKeyRotationStatus(c('GetKeyRotationStatus'), moved.keyId)).nextRotationAt).toBe(start + 270 * DAY_MS);
  });

  it('waits while sealed and rotates once unsealed', async () => {
    const start = d.clock.nowMs();
    const k = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), k.keyId, 90);
    d.root.seal();
    d.clock.set(start + 95 * DAY_MS);
    expect(await d.jobs.runDue()).toEqual({ deleted: [], rotated: [], expired: [] });
    const lines: string[] = [];
    const scheduler = new LifecycleScheduler({ jobs: d.jobs, log: createLogger('debug', (l) => lines.push(l)), intervalMs: 3_600_000, clock: d.clock, monotonic: d.clock.monotonic });
    await scheduler.runOnce();
    expect(lines.join('')).not.toMatch(/failed/);
    expect(await d.store.keys.listMaterials(k.keyId)).toHaveLength(1);

    await d.root.initAndUnsealDev(d.rootKey);
    await scheduler.runOnce();
    const materials = await d.store.keys.listMaterials(k.keyId);
    expect(materials.map((m) => m.rotationType)).toEqual([null, 'AUTOMATIC']);
    expect((await d.keys.getKeyRotationStatus(c('GetKeyRotationStatus'), k.keyId)).nextRotationAt).toBe(start + 185 * DAY_MS);
    expect(lines.some((l) => (JSON.parse(l) as { msg: string; rotated?: number }).rotated === 1)).toBe(true);
  });
});

describe('a lifecycle run that fails', () => {
  it("logs the error's type, frames and code, never its message (which may quote anything), and runs again next time", async () => {
    const d = await openDomain();
    try {
      const lines: string[] = [];
      const runDue = d.jobs.runDue.bind(d.jobs);
      let fail = true;
      d.jobs.runDue = async () => {
        if (!fail) return runDue();
        fail = false;
        throw Object.assign(new Error('unexpected token in "PIN=123456"'), { code: 'SQLITE_FULL' });
      };
      const scheduler = new LifecycleScheduler({ jobs: d.jobs, log: createLogger('info', (l) => lines.push(l)), intervalMs: 60_000, clock: d.clock, monotonic: d.clock.monotonic });
      await scheduler.runOnce();
      const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'lifecycle run failed');
      expect(failed).toEqual([expect.objectContaining({ level: 'error', code: 'SQLITE_FULL', error: expect.stringMatching(/^Error\n {4}at /) })]);
      expect(lines.join('')).not.toContain('123456');
      await scheduler.runOnce();
      expect(lines.filter((l) => l.includes('lifecycle run failed'))).toHaveLength(1);
    } finally {
      await d.close();
    }
  });
});

describe('a wall clock stepped while the scheduler runs', () => {
  let d: Domain;
  beforeEach(async () => {
    d = await openDomain();
  });
  afterEach(async () => {
    await d.close();
  });

  it('a year forward and back a minute later destroys, rotates and empties nothing, and is logged and audited', async () => {
    const c = (op: string) => d.ctx(op);
    const doomed = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), doomed.keyId, 7);
    const rotating = await d.keys.createKey(c('CreateKey'), {});
    await d.keys.enableKeyRotation(c('EnableKeyRotation'), rotating.keyId, 90);
    const lines: string[] = [];
    const scheduler = new LifecycleScheduler({ jobs: d.jobs, log: createLogger('info', (l) => lines.push(l)), intervalMs: 60_000, clock: d.clock, monotonic: d.clock.monotonic });
    await scheduler.runOnce();

    // A minute on, the clock reads a year ahead (a wrong RTC, an operator's typo) …
    d.clock.advance(60_000);
    d.clock.step(365 * DAY_MS);
    await scheduler.runOnce();
    // … and a minute later NTP puts it back.
    d.clock.advance(60_000);
    d.clock.step(-365 * DAY_MS);
    await scheduler.runOnce();
    d.clock.advance(JUMP_SETTLE_MS);
    await scheduler.runOnce();

    expect(await rowsOf(d, doomed.keyId)).toMatchObject({ keys: 1 });
    expect((await d.keys.describeKey(c('DescribeKey'), doomed.keyId)).state).toBe('PendingDeletion');
    expect(await d.store.keys.listMaterials(rotating.keyId)).toHaveLength(1);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/^WALL CLOCK JUMPED FORWARD/), stepMs: 365 * DAY_MS }));
    expect(logged).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/^WALL CLOCK JUMPED BACK/), stepMs: -365 * DAY_MS }));
    const jumps = (await schedulerEntries(d)).filter((e) => e.operation === 'ClockJumpObserved');
    expect(jumps.map((e) => (e.details as { stepMs: number }).stepMs)).toEqual([365 * DAY_MS, -365 * DAY_MS]);
    expect(jumps[0]).toMatchObject({ outcome: 'ok', details: { heldForMs: JUMP_SETTLE_MS } });
    expect((await d.audit.verify()).ok).toBe(true);
  });

  it('a jump forward that stays (a VM resumed after ten days) has its work done once the clock has stayed put', async () => {
    const doomed = await d.keys.createKey(d.ctx('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
    const scheduler = new LifecycleScheduler({ jobs: d.jobs, log: createLogger('error', () => undefined), intervalMs: 60_000, clock: d.clock, monotonic: d.clock.monotonic });
    await scheduler.runOnce();
    d.clock.step(10 * DAY_MS);
    await scheduler.runOnce();
    expect(await rowsOf(d, doomed.keyId)).toMatchObject({ keys: 1 });
    d.clock.advance(JUMP_SETTLE_MS - 60_000);
    await scheduler.runOnce();
    expect(await rowsOf(d, doomed.keyId)).toMatchObject({ keys: 1 });
    d.clock.advance(60_000);
    await scheduler.runOnce();
    expect(await rowsOf(d, doomed.keyId)).toMatchObject({ keys: 0 });
  });

  it('a wall clock that keeps pace with elapsed time, give or take less than a jump, holds nothing', async () => {
    const doomed = await d.keys.createKey(d.ctx('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
    const scheduler = new LifecycleScheduler({ jobs: d.jobs, log: createLogger('error', () => undefined), intervalMs: 60_000, clock: d.clock, monotonic: d.clock.monotonic });
    await scheduler.runOnce();
    for (let i = 0; i < 7 * 24; i++) {
      d.clock.advance(3600_000);
      if (i % 24 === 0) d.clock.step(CLOCK_JUMP_MS - 1_000);
      await scheduler.runOnce();
    }
    expect(await rowsOf(d, doomed.keyId)).toMatchObject({ keys: 0 });
    expect((await schedulerEntries(d)).filter((e) => e.operation === 'ClockJumpObserved')).toEqual([]);
  });
});

describe('what fell due while Kura was stopped', () => {
  it('is done by the scheduler at start-up: the deletion, and the rotation once unsealed', async () => {
    const first = await openDomain();
    const c = (op: string) => first.ctx(op);
    const start = first.clock.nowMs();
    const doomed = await first.keys.createKey(c('CreateKey'), {});
    await first.keys.createAlias(c('CreateAlias'), 'alias/gone', doomed.keyId);
    await first.keys.scheduleKeyDeletion(c('ScheduleKeyDeletion'), doomed.keyId, 7);
    const rotating = await first.keys.createKey(c('CreateKey'), {});
    await first.keys.enableKeyRotation(c('EnableKeyRotation'), rotating.keyId, 90);
    const old = (await first.keys.encrypt(c('Encrypt'), { keyId: rotating.keyId, plaintext: pt('from before') })).ciphertextBlob;
    await first.close({ keepFiles: true });

    first.clock.set(start + 120 * DAY_MS);
    const second = await openDomain({ dir: first.dir, clock: first.clock, rootKey: first.rootKey });
    const lines: string[] = [];
    const scheduler = new LifecycleScheduler({ jobs: second.jobs, log: createLogger('info', (l) => lines.push(l)), intervalMs: 3_600_000, clock: second.clock, monotonic: second.clock.monotonic });
    try {
      expect(await rowsOf(second, doomed.keyId)).toMatchObject({ keys: 1 });
      await scheduler.start();
      expect(await rowsOf(second, doomed.keyId)).toEqual({ keys: 0, key_materials: 0, aliases: 0, tags: 0 });
      expect(await kmsCode(second.keys.describeKey(second.ctx('DescribeKey'), 'alias/gone'))).toBe('NotFound');
      const materials = await second.store.keys.listMaterials(rotating.keyId);
      expect(materials.map((m) => m.rotationType)).toEqual([null, 'AUTOMATIC']);
      expect(materials[1]!.createdAt).toBe(start + 120 * DAY_MS);
      expect((await second.keys.getKeyRotationStatus(second.ctx('GetKeyRotationStatus'), rotating.keyId)).nextRotationAt).toBe(start + 210 * DAY_MS);
      expect((await second.keys.decrypt(second.ctx('Decrypt'), { ciphertextBlob: old })).plaintext.toString()).toBe('from before');
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ msg: 'lifecycle run', deleted: 1, rotated: 1 }));
      expect((await second.audit.verify()).ok).toBe(true);
    } finally {
      await scheduler.stop();
      await second.close();
    }
  });

  it('a clock stepped back while stopped (a dead RTC battery: 2001) is logged and audited at start-up; nothing is destroyed', async () => {
    const first = await openDomain();
    const doomed = await first.keys.createKey(first.ctx('CreateKey'), {});
    await first.keys.scheduleKeyDeletion(first.ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
    await first.close({ keepFiles: true });

    first.clock.set(Date.UTC(2001, 0, 1));
    const second = await openDomain({ dir: first.dir, clock: first.clock, rootKey: first.rootKey });
    const lines: string[] = [];
    const lastRecordedAt = (await second.audit.currentHead()).at;
    const scheduler = new LifecycleScheduler({ jobs: second.jobs, log: createLogger('info', (l) => lines.push(l)), intervalMs: 3_600_000, clock: second.clock, monotonic: second.clock.monotonic, lastRecordedAt });
    try {
      await scheduler.start();
      expect(await rowsOf(second, doomed.keyId)).toMatchObject({ keys: 1 });
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/^WALL CLOCK READS EARLIER THAN THE NEWEST AUDIT ENTRY/) }));
      const jumps = (await schedulerEntries(second)).filter((e) => e.operation === 'ClockJumpObserved');
      expect(jumps).toHaveLength(1);
      expect(jumps[0]!.details).toMatchObject({ stepMs: Date.UTC(2001, 0, 1) - lastRecordedAt!, to: '2001-01-01T00:00:00.000Z', heldForMs: 0 });
      // A restart with the clock where it was is no jump.
      await scheduler.stop();
      const again = new LifecycleScheduler({ jobs: second.jobs, log: createLogger('error', () => undefined), intervalMs: 3_600_000, clock: second.clock, monotonic: second.clock.monotonic, lastRecordedAt: (await second.audit.currentHead()).at });
      await again.runOnce();
      expect((await schedulerEntries(second)).filter((e) => e.operation === 'ClockJumpObserved')).toHaveLength(1);
      expect((await second.audit.verify()).ok).toBe(true);
    } finally {
      await scheduler.stop();
      await second.close();
    }
  });

  it('deletes at start-up even when the appliance starts sealed', async () => {
    const first = await openDomain();
    const start = first.clock.nowMs();
    const doomed = await first.keys.createKey(first.ctx('CreateKey'), {});
    await first.keys.scheduleKeyDeletion(first.ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
    await first.close({ keepFiles: true });

    first.clock.set(start + 8 * DAY_MS);
    const second = await openDomain({ dir: first.dir, clock: first.clock, unseal: 'none' });
    const scheduler = new LifecycleScheduler({ jobs: second.jobs, log: createLogger('error', () => undefined), intervalMs: 3_600_000, clock: second.clock, monotonic: second.clock.monotonic });
    try {
      expect(second.root.isUnsealed).toBe(false);
      await scheduler.start();
      expect(await rowsOf(second, doomed.keyId)).toEqual({ keys: 0, key_materials: 0, aliases: 0, tags: 0 });
    } finally {
      await scheduler.stop();
      await second.close();
    }
  });
});
