// What the quorum keeps of a request once it is made (main/ceremony/quorum.ts), in process over the
// admin API and a real SQLite store: a pending request keeps the threshold and the operators of the
// policy it was asked under, whatever the policy says later; and approvals of a KMS action are refused
// while the appliance is sealed (the action could not run), taken again once it is unsealed. Changes
// approved at the same time are checked again as each applies: two removals cannot leave a policy
// with fewer operators than its threshold. An approval counts only while its operator is one the
// request's policy names and is enrolled with the key that signed it (a removed or re-keyed
// operator's approval stays on record). A request a stop interrupted mid-run is ended at the next
// start by what its action did: an audited refusal is not an effect.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AdminDeps } from '../../main/api/admin/routes.js';
import { Quorum } from '../../main/ceremony/quorum.js';
import { createLogger } from '../../main/common/log.js';
import type { Domain } from '../support/domain.js';
import { adminCaller, approveWith, custodian, openQuorumAdmin, type AdminAnswer, type AdminCall, type Custodian } from '../support/custodians.js';

const TOKEN = 'quorum-test-token';
const alice = custodian('ed25519');
const bob = custodian('p256');
const carol = custodian('ed25519');

/** Enrolls alice, bob and carol, and makes operator changes need 2 of them. */
async function enrollTwoOfThree(call: AdminCall): Promise<void> {
  for (const [name, c] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
    expect((await call('POST', '/operators', { name, publicKey: c.publicPem })).status).toBe(200);
  }
  expect((await call('PUT', '/quorum/operators', { threshold: 2, operators: ['alice', 'bob', 'carol'] })).status).toBe(200);
}

/** A domain whose operator changes need 2 of alice, bob and carol, and a caller of its admin API. */
async function openTwoOfThree(): Promise<{ d: Domain; call: AdminCall; quorum: Quorum }> {
  const { d, deps, quorum } = await openQuorumAdmin(TOKEN);
  const call = adminCaller(() => deps, TOKEN);
  await enrollTwoOfThree(call);
  return { d, call, quorum };
}

/** The statement of request `id`, as an operator signs it. */
const statementOf = async (call: AdminCall, id: string) => Buffer.from((await call('GET', `/approvals/${id}`)).body.statement as string, 'base64');

describe('approval requests keep their quorum; sealed, KMS approvals wait', () => {
  let d: Domain;
  let deps: AdminDeps;
  let call: AdminCall;
  let sealed = false;

  beforeAll(async () => {
    ({ d, deps } = await openQuorumAdmin(TOKEN));
    const quorum = new Quorum({ store: d.store, audit: d.audit, clock: d.clock, applianceId: d.applianceId, dev: false, log: createLogger('error', () => undefined), isUnsealed: () => !sealed });
    deps = { ...deps, quorum };
    call = adminCaller(() => deps, TOKEN);
    await enrollTwoOfThree(call);
  });
  afterAll(() => d?.close());

  it('a pending request keeps the threshold and operators it was made under', async () => {
    const dave = custodian('ed25519');
    const made = await call('POST', '/operators', { name: 'dave', publicKey: dave.publicPem });
    expect(made.status).toBe(202);
    const id = (made.body.approvalRequest as { id: string }).id;
    // The policy changes (itself through the quorum): 3 of 3 from now on.
    const change = await call('PUT', '/quorum/operators', { threshold: 3, operators: ['alice', 'bob', 'carol'] });
    const changeId = (change.body.approvalRequest as { id: string; statement: string }).id;
    const changeStatement = Buffer.from((change.body.approvalRequest as { statement: string }).statement, 'base64');
    const approve = approveWith(call);
    expect((await approve(changeId, alice.sign(changeStatement))).status).toBe(200);
    expect((await approve(changeId, bob.sign(changeStatement))).body).toMatchObject({ status: 'EXECUTED' });
    expect(((await call('GET', '/quorum')).body.policies as { actionClass: string; threshold: number }[]).find((p) => p.actionClass === 'operators')?.threshold).toBe(3);
    // The earlier request still needs 2, as when it was made.
    const view = await call('GET', `/approvals/${id}`);
    expect(view.body).toMatchObject({ threshold: 2, operators: ['alice', 'bob', 'carol'] });
    const statement = Buffer.from(view.body.statement as string, 'base64');
    expect((await approve(id, carol.sign(statement))).status).toBe(200);
    expect((await approve(id, alice.sign(statement))).body).toMatchObject({ status: 'EXECUTED' });
    expect(((await call('GET', '/operators')).body.operators as { name: string }[]).map((o) => o.name)).toContain('dave');
  });

  it('refuses approvals of a KMS action while sealed, and takes them once unsealed', async () => {
    expect((await call('PUT', '/quorum/key-deletion', { threshold: 1, operators: ['alice'] })).status).toBe(202);
    // The policy change itself needs 3 of 3 now.
    const pending = ((await call('GET', '/approvals')).body.approvals as { id: string; action: string; status: string }[]).find((r) => r.action === 'kura:QuorumSet' && r.status === 'PENDING')!;
    const st = Buffer.from((await call('GET', `/approvals/${pending.id}`)).body.statement as string, 'base64');
    const approve = approveWith(call);
    for (const c of [alice, bob, carol]) await approve(pending.id, c.sign(st));
    // A gated call as the unit of work hands it to the gate.
    const ctx = { ...d.ctx('ScheduleKeyDeletion'), input: { KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', PendingWindowInDays: 7 } };
    const gated = await deps.quorum!.admit({ caller: ctx, action: 'kms:ScheduleKeyDeletion', keys: [] }).catch((e: Error) => e);
    const id = /(apr-[0-9a-f]+)/.exec((gated as Error).message)![1]!;
    const statement = Buffer.from((await call('GET', `/approvals/${id}`)).body.statement as string, 'base64');
    sealed = true;
    const refused = await approve(id, alice.sign(statement));
    expect([refused.status, refused.body.error]).toEqual([503, 'Sealed']);
    expect((await call('GET', `/approvals/${id}`)).body).toMatchObject({ status: 'PENDING', approvals: [] });
    sealed = false;
    expect((await approve(id, alice.sign(statement))).status).toBe(200);
  });
});

describe('operator changes approved at once', () => {
  let d: Domain;
  let call: AdminCall;

  beforeAll(async () => {
    ({ d, call } = await openTwoOfThree());
  });
  afterAll(() => d?.close());

  it('the same approval sent twice at once (a double click) is taken once; the other is told so, not an internal error', async () => {
    const id = ((await call('POST', '/operators', { name: 'erin', publicKey: custodian('ed25519').publicPem })).body.approvalRequest as { id: string }).id;
    const signature = alice.sign(await statementOf(call, id));
    const both = await Promise.all([approveWith(call)(id, signature), approveWith(call)(id, signature)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(both.find((r) => r.status === 409)!.body).toMatchObject({ error: 'AlreadyExists', message: `alice has approved ${id} already.` });
    const refusals = (await d.audit.list({ approvalRequestId: id })).filter((e) => e.outcome === 'error');
    expect(refusals.map((e) => e.errorCode)).toEqual(['AlreadyExists']);
  });

  it('a policy naming an operator twice is refused as such, not as too few operators', async () => {
    const r = await call('PUT', '/quorum/backup', { threshold: 1, operators: ['alice', 'alice'] });
    expect([r.status, r.body.error]).toEqual([400, 'Validation']);
    expect(r.body.message).toBe('Each operator is named once: alice is named more than once.');
  });

  it('two removals that each leave enough operators, but not both: one runs, the other fails', async () => {
    const approve = approveWith(call);
    const removal = async (name: string) => ((await call('DELETE', `/operators/${name}`)).body.approvalRequest as { id: string }).id;
    const [r1, r2] = [await removal('alice'), await removal('bob')];
    await approve(r1, bob.sign(await statementOf(call, r1)));
    await approve(r2, alice.sign(await statementOf(call, r2)));
    // Carol's approvals complete both at once: each removal was checked when asked, with three operators.
    const done = await Promise.all([approve(r1, carol.sign(await statementOf(call, r1))), approve(r2, carol.sign(await statementOf(call, r2)))]);
    expect(done.map((r) => r.body.status).sort()).toEqual(['EXECUTED', 'FAILED']);
    expect(done.find((r) => r.body.status === 'FAILED')!.body.outcome).toMatch(/^InvalidState: Removing (alice|bob) would leave too few operators for the operators policy/);
    const policy = ((await call('GET', '/quorum')).body.policies as { actionClass: string; threshold: number; operators: string[] }[]).find((p) => p.actionClass === 'operators')!;
    expect(policy.threshold).toBe(2);
    expect(policy.operators).toHaveLength(2);
  });
});

describe('a wall clock stepped back after a request was made', () => {
  let d: Domain;
  let call: AdminCall;

  beforeAll(async () => {
    ({ d, call } = await openTwoOfThree());
  });
  afterAll(() => d?.close());

  it('does not stretch its life: made while the clock read a year ahead, it takes no approval once NTP puts it back', async () => {
    const approve = approveWith(call);
    d.clock.step(365 * 86_400_000);
    const id = ((await call('POST', '/operators', { name: 'frank', publicKey: custodian('ed25519').publicPem })).body.approvalRequest as { id: string }).id;
    const statement = await statementOf(call, id);
    expect((await approve(id, alice.sign(statement))).status).toBe(200);
    d.clock.step(-365 * 86_400_000);
    const refused = await approve(id, bob.sign(statement));
    expect([refused.status, refused.body.error]).toEqual([409, 'InvalidState']);
    expect(refused.body.message).toMatch(new RegExp(`^Approval request ${id} was made at .*later than this appliance's clock now reads.*stepped back`));
    expect((await call('GET', `/approvals/${id}`)).body).toMatchObject({ status: 'PENDING' });
    expect(((await call('GET', '/operators')).body.operators as { name: string }[]).map((o) => o.name)).not.toContain('frank');
  });

  it('a step back of a minute (NTP at work) leaves a request as it was', async () => {
    const approve = approveWith(call);
    const id = ((await call('POST', '/operators', { name: 'grace', publicKey: custodian('ed25519').publicPem })).body.approvalRequest as { id: string }).id;
    const statement = await statementOf(call, id);
    d.clock.step(-60_000);
    expect((await approve(id, alice.sign(statement))).status).toBe(200);
    expect((await approve(id, bob.sign(statement))).body).toMatchObject({ status: 'EXECUTED' });
  });
});

describe('approvals of an operator no longer enrolled with the key that signed', () => {
  let d: Domain;
  let call: AdminCall;
  const approve = (id: string, c: Custodian) => statementOf(call, id).then((st) => approveWith(call)(id, c.sign(st)));
  /** A request, approved by bob and carol, that runs at once. */
  const applied = async (made: AdminAnswer) => {
    const id = (made.body.approvalRequest as { id: string }).id;
    await approve(id, bob);
    expect((await approve(id, carol)).body).toMatchObject({ status: 'EXECUTED' });
  };
  const summary = async (id: string) => ((await call('GET', '/approvals')).body.approvals as { id: string; approvals: number }[]).find((a) => a.id === id)!;

  beforeEach(async () => {
    ({ d, call } = await openTwoOfThree());
  });
  afterEach(() => d?.close());

  it('stay on record but count no more once the operator is removed', async () => {
    const id = ((await call('POST', '/operators', { name: 'dave', publicKey: custodian('ed25519').publicPem })).body.approvalRequest as { id: string }).id;
    expect((await approve(id, alice)).status).toBe(200);
    await applied(await call('DELETE', '/operators/alice'));
    const after = await approve(id, bob);
    expect(after.body).toMatchObject({ status: 'PENDING', approvals: [{ operator: 'alice' }, { operator: 'bob' }] });
    expect(await summary(id)).toMatchObject({ approvals: 1 });
    expect((await approve(id, carol)).body).toMatchObject({ status: 'EXECUTED' });
  });

  it('count no more once the operator is enrolled again under the same name with another key', async () => {
    const id = ((await call('POST', '/operators', { name: 'dave', publicKey: custodian('ed25519').publicPem })).body.approvalRequest as { id: string }).id;
    expect((await approve(id, alice)).status).toBe(200);
    await applied(await call('DELETE', '/operators/alice'));
    const newAlice = custodian('p256');
    await applied(await call('POST', '/operators', { name: 'alice', publicKey: newAlice.publicPem }));
    expect((await approve(id, bob)).body).toMatchObject({ status: 'PENDING' });
    const again = await approve(id, newAlice);
    expect([again.status, again.body.error]).toEqual([409, 'AlreadyExists']);
    expect(again.body.message).toMatch(/a key no longer theirs .* does not count/);
    expect((await approve(id, carol)).body).toMatchObject({ status: 'EXECUTED' });
  });
});

describe('approvals of an operator the request does not allow', () => {
  let d: Domain;
  let call: AdminCall;
  const dave = custodian('ed25519');

  beforeAll(async () => {
    const { d: opened, deps } = await openQuorumAdmin(TOKEN);
    d = opened;
    call = adminCaller(() => deps, TOKEN);
    // Dave is enrolled before the policy, which names alice, bob and carol only.
    expect((await call('POST', '/operators', { name: 'dave', publicKey: dave.publicPem })).status).toBe(200);
    await enrollTwoOfThree(call);
  });
  afterAll(() => d?.close());

  it('do not count towards the threshold, even on record with his own key (the count filters them, not only submit)', async () => {
    const id = ((await call('POST', '/operators', { name: 'erin', publicKey: custodian('ed25519').publicPem })).body.approvalRequest as { id: string }).id;
    const statement = await statementOf(call, id);
    // submit() refuses dave's signature; here his approval is on record past it (a row written by an
    // older Kura, or by hand), with his enrolled key's fingerprint: the count must still leave it out.
    await d.store.db.write((tx) => d.store.ceremony.insertApproval(tx, { requestId: id, operator: 'dave', fingerprint: dave.fingerprint, signature: dave.sign(statement), createdAt: d.clock.nowMs() }));
    const first = await approveWith(call)(id, alice.sign(statement));
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('PENDING');
    expect((first.body.approvals as { operator: string }[]).map((a) => a.operator).sort()).toEqual(['alice', 'dave']);
    expect((await call('GET', '/operators/erin')).status).toBe(404);
    // A second operator the policy names completes it.
    expect((await approveWith(call)(id, bob.sign(statement))).body).toMatchObject({ status: 'EXECUTED' });
    expect((await call('GET', '/operators/erin')).status).toBe(200);
  });
});

describe('approved requests a stop interrupted mid-run', () => {
  let d: Domain;
  let call: AdminCall;
  let quorum: Quorum;
  const approve = (id: string, c: Custodian) => statementOf(call, id).then((st) => approveWith(call)(id, c.sign(st)));
  /** What a restart finds: a new Quorum over the same store. */
  const restarted = () => new Quorum({ store: d.store, audit: d.audit, clock: d.clock, applianceId: d.applianceId, dev: false, log: createLogger('error', () => undefined) });
  /** `c`'s approval, with a power cut after the request's action and before its end is recorded (EXECUTING stays). */
  const approveThenPowerCut = async (id: string, c: Custodian) => {
    const repo = d.store.ceremony as { transitionRequest: typeof d.store.ceremony.transitionRequest };
    const transition = repo.transitionRequest.bind(repo);
    repo.transitionRequest = async (tx, rid, from, to, fields) => {
      if (from.includes('EXECUTING')) throw new Error('power cut');
      return transition(tx, rid, from, to, fields);
    };
    try {
      await approve(id, c).catch(() => undefined);
    } finally {
      repo.transitionRequest = transition;
    }
  };
  const enrolDave = async () => ((await call('POST', '/operators', { name: 'dave', publicKey: custodian('ed25519').publicPem })).body.approvalRequest as { id: string }).id;

  beforeEach(async () => {
    ({ d, call, quorum } = await openTwoOfThree());
  });
  afterEach(() => d?.close());

  it('that took effect before the stop are ended EXECUTED at start, by their own audit entry', async () => {
    const id = await enrolDave();
    await approve(id, alice);
    // The stop comes after the enrolment committed, before the request's end was recorded.
    await approveThenPowerCut(id, bob);
    expect((await d.store.ceremony.findRequest(id))!.status).toBe('EXECUTING');
    expect((await call('GET', '/operators/dave')).status).toBe(200);

    expect(await restarted().recoverInterrupted()).toEqual([id]);
    expect(await d.store.ceremony.findRequest(id)).toMatchObject({ status: 'EXECUTED', outcome: expect.stringMatching(/^It took effect/) });
    const ended = (await d.audit.list({ approvalRequestId: id })).at(-1)!;
    expect(ended).toMatchObject({ operation: 'ApprovalExecuted', outcome: 'ok', details: { recovered: true } });
    expect(await restarted().recoverInterrupted()).toEqual([]);
  });

  it('that had not taken effect are ended FAILED, and run no more', async () => {
    const id = await enrolDave();
    // The stop comes right after the request was marked EXECUTING, before its action ran.
    await d.store.db.write((tx) => d.store.ceremony.transitionRequest(tx, id, ['PENDING'], 'EXECUTING'));
    expect(await restarted().recoverInterrupted()).toEqual([id]);
    expect(await d.store.ceremony.findRequest(id)).toMatchObject({ status: 'FAILED', outcome: expect.stringMatching(/^Interrupted/) });
    expect((await call('GET', '/operators/dave')).status).toBe(404);
    expect((await d.audit.list({ approvalRequestId: id })).at(-1)).toMatchObject({ operation: 'ApprovalExecuted', outcome: 'error', details: { recovered: true } });
  });

  it('whose action ran and was refused before the stop are ended FAILED: its audit entry of the refusal is not one of effect', async () => {
    // Key deletions need alice alone (a policy change the operators quorum approves first).
    const change = ((await call('PUT', '/quorum/key-deletion', { threshold: 1, operators: ['alice'] })).body.approvalRequest as { id: string }).id;
    await approve(change, alice);
    expect((await approve(change, bob)).body).toMatchObject({ status: 'EXECUTED' });
    const key = await d.keys.createKey(d.ctx('CreateKey'), {});
    const asked = await quorum.admit({ caller: { ...d.ctx('ScheduleKeyDeletion'), input: { KeyId: key.keyId, PendingWindowInDays: 7 } }, action: 'kms:ScheduleKeyDeletion', keys: [] }).then(() => undefined, (e: unknown) => e);
    const id = (asked as { approvalRequestId: string }).approvalRequestId;
    // Meanwhile the key went pending deletion: the approved call runs, is refused, and its refusal is
    // audited naming the request; then the stop comes before the request's end was recorded.
    await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), key.keyId, 30);
    await approveThenPowerCut(id, alice);
    expect((await d.store.ceremony.findRequest(id))!.status).toBe('EXECUTING');
    const ran = (await d.audit.list({ approvalRequestId: id })).filter((e) => e.operation === 'ScheduleKeyDeletion');
    expect(ran).toEqual([expect.objectContaining({ outcome: 'error', errorCode: expect.any(String) })]);

    expect(await restarted().recoverInterrupted()).toEqual([id]);
    expect(await d.store.ceremony.findRequest(id)).toMatchObject({ status: 'FAILED', outcome: expect.stringMatching(/^Interrupted/) });
    expect((await d.audit.list({ approvalRequestId: id })).at(-1)).toMatchObject({ operation: 'ApprovalExecuted', outcome: 'error', details: { recovered: true } });
  });
});
