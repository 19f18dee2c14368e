// The key directory (main/kms/key-directory.ts) over a real SQLite store: resolution by key ID, key
// ARN, alias name and alias ARN within the caller's account and region; its caches (a repeated
// cryptographic call reads nothing from SQLite) and their invalidation by the unit of work; and the
// unit of work's order — authorize, then the approval gate, then material made outside the transaction,
// then the change and its audit entry in one transaction — with what a refusal or a failed transaction
// leaves behind: nothing written, no entry of success, only the entry of the error.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DAY_MS } from '../../main/common/clock.js';
import type { CallContext, Key } from '../../main/kms/index.js';
import { TEST_ACCOUNT, TEST_REGION, auditEntriesAfter, kmsCode, openDomain, type Domain } from '../support/domain.js';
import { RecordingApprovalGate, RecordingAuthorizer } from '../support/recording-ports.js';
import { sqliteOf, writeSql } from '../support/sqlite.js';

const pt = (s: string) => Buffer.from(s, 'utf8');

/** Wraps a method so that each call first records `label` in `events`, then runs as before. */
function trace(events: string[], target: object, method: string, label: string) {
  const obj = target as Record<string, (...args: unknown[]) => unknown>;
  const original = obj[method]!.bind(target);
  return vi.spyOn(obj, method).mockImplementation((...args: unknown[]) => {
    events.push(label);
    return original(...args);
  });
}

describe('KeyDirectory: resolution and caches', () => {
  let d: Domain;
  const ctx = (op: string, over?: Partial<CallContext>) => d.ctx(op, over);
  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('resolves a key by key ID, key ARN, alias name and alias ARN, in the caller\'s account and region only', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.createAlias(ctx('CreateAlias'), 'alias/resolved', k.keyId);
    const c = ctx('DescribeKey');
    const names = [k.keyId, `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:key/${k.keyId}`, 'alias/resolved', `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:alias/resolved`];
    for (const name of names) expect((await d.directory.resolve(c, name, true)).keyId, name).toBe(k.keyId);
    // Only key IDs and key ARNs where an operation takes no alias.
    expect(await kmsCode(d.directory.resolve(c, 'alias/resolved', false))).toBe('NotFound');
    expect((await d.directory.resolve(c, k.keyId, false)).keyId).toBe(k.keyId);
    const elsewhere = [
      `arn:aws:kms:eu-west-1:${TEST_ACCOUNT}:key/${k.keyId}`,
      `arn:aws:kms:${TEST_REGION}:444455556666:key/${k.keyId}`,
      `arn:aws-cn:kms:${TEST_REGION}:${TEST_ACCOUNT}:key/${k.keyId}`,
      `arn:aws:kms:${TEST_REGION}:444455556666:alias/resolved`,
    ];
    for (const name of elsewhere) expect(await kmsCode(d.directory.resolve(c, name, true)), name).toBe('NotFound');
    expect(await kmsCode(d.directory.resolve(ctx('DescribeKey', { accountId: '444455556666' }), k.keyId, true))).toBe('NotFound');
    expect(await kmsCode(d.directory.resolve(ctx('DescribeKey', { region: 'eu-west-1' }), 'alias/resolved', true))).toBe('NotFound');
  });

  it('serves a repeated cryptographic call from its caches: the second Encrypt, by key or by alias, reads nothing from SQLite', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.createAlias(ctx('CreateAlias'), 'alias/cached', k.keyId);
    for (const keyId of [k.keyId, 'alias/cached']) await d.keys.encrypt(ctx('Encrypt'), { keyId, plaintext: pt('warm') });
    const get = vi.spyOn(sqliteOf(d.store), 'get');
    const all = vi.spyOn(sqliteOf(d.store), 'all');
    try {
      for (const keyId of [k.keyId, 'alias/cached']) {
        const blob = (await d.keys.encrypt(ctx('Encrypt'), { keyId, plaintext: pt('hot') })).ciphertextBlob;
        expect((await d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob })).plaintext.toString()).toBe('hot');
      }
      expect(get).not.toHaveBeenCalled();
      expect(all).not.toHaveBeenCalled();
    } finally {
      get.mockRestore();
      all.mockRestore();
    }
  });

  it('drops its caches around every change of the unit of work, failed or not, and only then sees what was written', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), { description: 'before' });
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).description).toBe('before');
    // A write that does not go through the unit of work (nothing in Kura does this) is not seen: the key is cached.
    await writeSql(d.store, (sql) => sql.run("UPDATE keys SET description = 'behind its back' WHERE key_id = ?", k.keyId));
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).description).toBe('before');
    // A change that fails in its transaction still drops the caches.
    expect(await kmsCode(d.keys.cancelKeyDeletion(ctx('CancelKeyDeletion'), k.keyId))).toBe('InvalidState');
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).description).toBe('behind its back');

    await d.keys.disableKey(ctx('DisableKey'), k.keyId);
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).state).toBe('Disabled');

    const other = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.createAlias(ctx('CreateAlias'), 'alias/moving', k.keyId);
    expect((await d.directory.resolve(ctx('DescribeKey'), 'alias/moving', true)).keyId).toBe(k.keyId);
    await d.keys.updateAlias(ctx('UpdateAlias'), 'alias/moving', other.keyId);
    expect((await d.directory.resolve(ctx('DescribeKey'), 'alias/moving', true)).keyId).toBe(other.keyId);
    await d.keys.deleteAlias(ctx('DeleteAlias'), 'alias/moving');
    expect(await kmsCode(d.directory.resolve(ctx('DescribeKey'), 'alias/moving', true))).toBe('NotFound');

    const enabled = await d.keys.createKey(ctx('CreateKey'), {});
    const before = (await d.directory.currentMaterial(enabled)).materialId;
    const rotated = await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), enabled.keyId);
    const now = await d.directory.resolve(ctx('DescribeKey'), enabled.keyId, false);
    expect((await d.directory.currentMaterial(now)).materialId).toBe(rotated.currentMaterialId);
    expect(rotated.currentMaterialId).not.toBe(before);
  });
});

describe('the unit of work', () => {
  let d: Domain;
  const events: string[] = [];
  const authorizer = new RecordingAuthorizer(events);
  const gate = new RecordingApprovalGate(events);
  const ctx = (op: string) => d.ctx(op);
  const countKeys = async () => (await sqliteOf(d.store).get<{ n: number }>('SELECT COUNT(*) AS n FROM keys'))!.n;

  beforeAll(async () => {
    d = await openDomain({ authorizer, gate });
  });
  afterAll(async () => {
    await d?.close();
  });
  beforeEach(() => {
    vi.restoreAllMocks();
    events.length = 0;
    authorizer.refuse = false;
    gate.refuse = false;
  });

  it('authorizes, then passes the approval gate, then makes material, then writes the change with its audit entry in one transaction', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    events.length = 0;
    trace(events, d.keystore, 'generate', 'make material');
    trace(events, d.store.db, 'write', 'transaction');
    trace(events, d.audit, 'appendIn', 'audit entry in the transaction');
    trace(events, d.audit, 'append', 'audit entry of its own');
    await d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId);
    expect(events).toEqual([
      'authorize kms:RotateKeyOnDemand',
      'admit kms:RotateKeyOnDemand',
      'make material',
      'transaction',
      'audit entry in the transaction',
    ]);
  });

  it('shows both ports the caller, the action and the keys the call acts on, as resolved', async () => {
    const a = await d.keys.createKey(ctx('CreateKey'), {});
    const b = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.createAlias(ctx('CreateAlias'), 'alias/ports', a.keyId);
    const blob = (await d.keys.encrypt(ctx('Encrypt'), { keyId: a.keyId, plaintext: pt('x') })).ciphertextBlob;
    authorizer.seen.length = 0;
    gate.seen.length = 0;
    const c = { ...ctx('ReEncrypt'), requestId: 'req-ports' };
    await d.keys.reEncrypt(c, { ciphertextBlob: blob, destinationKeyId: b.keyId });
    await d.keys.updateAlias(ctx('UpdateAlias'), 'alias/ports', b.keyId);
    await d.keys.listKeys(ctx('ListKeys'));
    const seen = (r: { action: string; keys: readonly Key[] }) => [r.action, r.keys.map((k) => k.keyId)];
    expect(authorizer.seen.map(seen)).toEqual([
      ['kms:ReEncrypt', [a.keyId, b.keyId]],
      ['kms:UpdateAlias', [a.keyId, b.keyId]],
      ['kms:ListKeys', []],
    ]);
    expect(gate.seen.map(seen)).toEqual(authorizer.seen.map(seen));
    expect(authorizer.seen[0]!.caller).toBe(c);
  });

  it('stops a change refused by the Authorizer before anything is made or written; only the refusal is audited', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const keysBefore = await countKeys();
    const auditBefore = await d.store.audit.count();
    const generate = vi.spyOn(d.keystore, 'generate');
    const write = vi.spyOn(d.store.db, 'write');
    events.length = 0;
    authorizer.refuse = true;
    expect(await kmsCode(d.keys.createKey(ctx('CreateKey'), { description: 'must not exist' }))).toBe('AccessDenied');
    expect(await kmsCode(d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId))).toBe('AccessDenied');
    expect(await kmsCode(d.keys.disableKey(ctx('DisableKey'), k.keyId))).toBe('AccessDenied');
    expect(generate).not.toHaveBeenCalled();
    // The only writes were the refusals' own audit entries.
    expect(write).toHaveBeenCalledTimes(3);
    expect(events.filter((e) => e.startsWith('admit'))).toEqual([]);
    authorizer.refuse = false;
    expect(await countKeys()).toBe(keysBefore);
    expect((await d.store.keys.listMaterials(k.keyId)).length).toBe(1);
    expect((await d.store.keys.find(k.keyId))!.state).toBe('Enabled');
    expect(await auditEntriesAfter(d, auditBefore)).toEqual(
      ['CreateKey', 'RotateKeyOnDemand', 'DisableKey'].map((operation) => expect.objectContaining({ operation, outcome: 'error', errorCode: 'AccessDenied' })),
    );
  });

  it('stops a change held by the ApprovalGate after authorization, before anything is made or written', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const auditBefore = await d.store.audit.count();
    const generate = vi.spyOn(d.keystore, 'generate');
    gate.refuse = true;
    events.length = 0;
    expect(await kmsCode(d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7))).toBe('AccessDenied');
    expect(await kmsCode(d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId))).toBe('AccessDenied');
    gate.refuse = false;
    expect(events).toEqual(['authorize kms:ScheduleKeyDeletion', 'admit kms:ScheduleKeyDeletion', 'authorize kms:RotateKeyOnDemand', 'admit kms:RotateKeyOnDemand']);
    expect(generate).not.toHaveBeenCalled();
    expect(await d.store.keys.find(k.keyId)).toMatchObject({ state: 'Enabled', deletionAt: null });
    expect(await auditEntriesAfter(d, auditBefore)).toEqual(
      ['ScheduleKeyDeletion', 'RotateKeyOnDemand'].map((operation) => expect.objectContaining({ operation, outcome: 'error', errorCode: 'AccessDenied', keyId: k.keyId })),
    );
  });

  it('stops a refused cryptographic call before its key store is used', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const blob = (await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: pt('secret') })).ciphertextBlob;
    const seal = vi.spyOn(d.keystore, 'encryptBlobPayload');
    const open = vi.spyOn(d.keystore, 'decryptBlobPayload');
    authorizer.refuse = true;
    expect(await kmsCode(d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: pt('x') }))).toBe('AccessDenied');
    authorizer.refuse = false;
    gate.refuse = true;
    expect(await kmsCode(d.keys.decrypt(ctx('Decrypt'), { ciphertextBlob: blob }))).toBe('AccessDenied');
    gate.refuse = false;
    expect(seal).not.toHaveBeenCalled();
    expect(open).not.toHaveBeenCalled();
  });

  it('writes the audit entry in the same transaction as the change: when the entry fails, the change is undone', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const auditBefore = await d.store.audit.count();
    vi.spyOn(d.audit, 'appendIn').mockRejectedValueOnce(new Error('the audit log is full'));
    await expect(d.keys.disableKey(ctx('DisableKey'), k.keyId)).rejects.toThrow('the audit log is full');
    expect((await d.store.keys.find(k.keyId))!.state).toBe('Enabled');
    expect(await auditEntriesAfter(d, auditBefore)).toEqual([expect.objectContaining({ operation: 'DisableKey', outcome: 'error', errorCode: 'Internal' })]);
    expect((await d.audit.verify()).ok).toBe(true);
  });

  it('leaves no entry of success when the transaction fails after writing, and gives back the material it made', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const materialsBefore = await d.store.keys.listMaterials(k.keyId);
    const auditBefore = await d.store.audit.count();
    const update = d.store.keys.update.bind(d.store.keys);
    vi.spyOn(d.store.keys, 'update').mockImplementationOnce(async (tx, key) => {
      await update(tx, key);
      throw new Error('disk I/O error');
    });
    const generate = vi.spyOn(d.keystore, 'generate');
    const destroy = vi.spyOn(d.keystore, 'destroy');
    await expect(d.keys.rotateKeyOnDemand(ctx('RotateKeyOnDemand'), k.keyId)).rejects.toThrow('disk I/O error');
    // The material row and the key's new current material were rolled back with the entry.
    expect(await d.store.keys.listMaterials(k.keyId)).toEqual(materialsBefore);
    expect((await d.store.keys.find(k.keyId))!.currentMaterialId).toBe(k.currentMaterialId);
    expect(await auditEntriesAfter(d, auditBefore)).toEqual([expect.objectContaining({ operation: 'RotateKeyOnDemand', outcome: 'error', errorCode: 'Internal' })]);
    const made = (await generate.mock.results[0]!.value) as { materialId: string };
    expect(destroy).toHaveBeenCalledWith(expect.objectContaining({ keyId: k.keyId, materialId: made.materialId }));
    expect((await d.audit.verify()).ok).toBe(true);
  });

  it('commits a read\'s entry and a failure\'s in a group commit of their own, and a change\'s inside its transaction', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const append = vi.spyOn(d.audit, 'append');
    const appendIn = vi.spyOn(d.audit, 'appendIn');
    await d.keys.encrypt(ctx('Encrypt'), { keyId: k.keyId, plaintext: pt('x') });
    expect(await kmsCode(d.keys.encrypt(ctx('Encrypt'), { keyId: 'alias/absent', plaintext: pt('x') }))).toBe('NotFound');
    // An alias that resolves to no key leaves the entry no key ID, only the caller's reference.
    expect(append.mock.calls.map(([event]) => [event.outcome, event.keyId, event.details?.keyRef])).toEqual([
      ['ok', k.keyId, undefined],
      ['error', undefined, 'alias/absent'],
    ]);
    expect(appendIn).not.toHaveBeenCalled();
    append.mockClear();
    await d.keys.updateKeyDescription(ctx('UpdateKeyDescription'), k.keyId, 'durable');
    expect(append).not.toHaveBeenCalled();
    expect(appendIn).toHaveBeenCalledTimes(1);
  });

  it('runs the scheduler\'s changes through it as well, as the scheduler', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7);
    authorizer.seen.length = 0;
    d.clock.advance(7 * DAY_MS);
    expect((await d.jobs.runDue()).deleted).toEqual([k.keyId]);
    expect(authorizer.seen.map((r) => [r.action, r.caller])).toContainEqual(['kms:DeleteKey', { scheduler: true, operation: 'DeleteKey' }]);
    // A refusing authorizer holds the scheduler's changes too.
    const next = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), next.keyId, 7);
    d.clock.advance(7 * DAY_MS);
    authorizer.refuse = true;
    await expect(d.jobs.runDue()).rejects.toMatchObject({ code: 'AccessDenied' });
    authorizer.refuse = false;
    expect((await d.store.keys.find(next.keyId))!.state).toBe('PendingDeletion');
    expect((await d.jobs.runDue()).deleted).toEqual([next.keyId]);
  });
});
