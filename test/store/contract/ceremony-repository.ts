// The contract of CeremonyRepository (main/store/repositories.ts), which any implementation passes:
// operators found by name and listed oldest first, one per name and one per public key, their passphrase
// set and cleared; quorum policies inserted and replaced per action class; approval requests listed newest
// first, moved between statuses only by compare and set (so that of two callers one wins and a request
// runs once); approvals once per operator and request, kept after their operator is removed.
import { describe, expect, it } from 'vitest';
import type { ApprovalRequestRecord, ApprovalRequestStatus, Store } from '../../../main/store/index.js';
import { approvalRecord, approvalRequestRecord, freshStore, operatorRecord, quorumPolicyRecord, type OpenStore } from './harness.js';

/** Inserts requests in one transaction and returns them. */
async function insertRequests(s: Store, ...requests: ApprovalRequestRecord[]): Promise<ApprovalRequestRecord[]> {
  await s.db.write(async (tx) => {
    for (const r of requests) await s.ceremony.insertRequest(tx, r);
  });
  return requests;
}

export function ceremonyRepositoryContract(name: string, open: OpenStore): void {
  describe(`CeremonyRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('finds operators by name and lists them oldest first, ties in name order', async () => {
      const s = store();
      const [carol, bob, alice] = [operatorRecord({ name: 'carol', createdAt: 5 }), operatorRecord({ name: 'bob', createdAt: 9, algorithm: 'ecdsa-p256' }), operatorRecord({ name: 'alice', createdAt: 9, passphrase: '{"N":16384}' })];
      await s.db.write(async (tx) => {
        for (const o of [carol, bob, alice]) await s.ceremony.insertOperator(tx, o);
      });
      expect(await s.ceremony.findOperator('bob')).toEqual(bob);
      expect(await s.ceremony.findOperator('alice')).toEqual(alice);
      expect(await s.ceremony.findOperator('dave')).toBeUndefined();
      expect(await s.ceremony.listOperators()).toEqual([carol, alice, bob]);
    });

    it('refuses a second operator of the same name or the same public key, and keeps the first', async () => {
      const s = store();
      const alice = operatorRecord({ name: 'alice' });
      await s.db.write((tx) => s.ceremony.insertOperator(tx, alice));
      await expect(s.db.write((tx) => s.ceremony.insertOperator(tx, operatorRecord({ name: 'alice' })))).rejects.toThrow();
      await expect(s.db.write((tx) => s.ceremony.insertOperator(tx, operatorRecord({ name: 'bob', publicKey: alice.publicKey, fingerprint: alice.fingerprint })))).rejects.toThrow();
      expect(await s.ceremony.listOperators()).toEqual([alice]);
    });

    it('sets and clears an operator\'s passphrase, and deletes an operator', async () => {
      const s = store();
      const alice = operatorRecord({ name: 'alice' });
      await s.db.write((tx) => s.ceremony.insertOperator(tx, alice));
      expect(await s.db.write((tx) => s.ceremony.setOperatorPassphrase(tx, 'alice', '{"salt":"c2FsdA"}'))).toBe(true);
      expect(await s.ceremony.findOperator('alice')).toEqual({ ...alice, passphrase: '{"salt":"c2FsdA"}' });
      expect(await s.db.write((tx) => s.ceremony.setOperatorPassphrase(tx, 'alice', null))).toBe(true);
      expect(await s.ceremony.findOperator('alice')).toEqual(alice);
      expect(await s.db.write((tx) => s.ceremony.setOperatorPassphrase(tx, 'bob', '{}'))).toBe(false);
      expect(await s.db.write((tx) => s.ceremony.deleteOperator(tx, 'alice'))).toBe(true);
      expect(await s.ceremony.findOperator('alice')).toBeUndefined();
      expect(await s.db.write((tx) => s.ceremony.deleteOperator(tx, 'alice'))).toBe(false);
    });

    it('inserts and replaces a policy per action class, and lists them in action class order', async () => {
      const s = store();
      const deletion = quorumPolicyRecord({ actionClass: 'key-deletion', operators: ['carol', 'alice'] });
      const imports = quorumPolicyRecord({ actionClass: 'key-import', threshold: 1, operators: ['bob'], expiryMs: 60_000 });
      await s.db.write(async (tx) => {
        await s.ceremony.putPolicy(tx, deletion);
        await s.ceremony.putPolicy(tx, imports);
      });
      expect(await s.ceremony.findPolicy('key-deletion')).toEqual(deletion);
      expect(await s.ceremony.findPolicy('operator-admin')).toBeUndefined();
      expect(await s.ceremony.listPolicies()).toEqual([deletion, imports]);

      const replaced = { ...deletion, threshold: 3, operators: ['dave', 'carol', 'alice'], expiryMs: 3_600_000, updatedAt: 2_000 };
      await s.db.write((tx) => s.ceremony.putPolicy(tx, replaced));
      expect(await s.ceremony.findPolicy('key-deletion')).toEqual(replaced);
      expect(await s.ceremony.listPolicies()).toEqual([replaced, imports]);
    });

    it('finds requests by ID, lists them newest first (ties in ID order), and refuses an ID twice', async () => {
      const s = store();
      const [old, newB, newA] = await insertRequests(
        s,
        approvalRequestRecord({ createdAt: 10 }),
        approvalRequestRecord({ id: 'req-b', createdAt: 20 }),
        approvalRequestRecord({ id: 'req-a', createdAt: 20, status: 'FAILED', outcome: 'KMSInvalidStateException: gone', executedAt: 30 }),
      );
      expect(await s.ceremony.findRequest(newA!.id)).toEqual(newA);
      expect(await s.ceremony.findRequest('req-none')).toBeUndefined();
      expect(await s.ceremony.listRequests()).toEqual([newA, newB, old]);
      await expect(insertRequests(s, approvalRequestRecord({ id: 'req-b', createdAt: 40 }))).rejects.toThrow();
      expect(await s.ceremony.findRequest('req-b')).toEqual(newB);
    });

    it('moves a request only from the statuses given: PENDING to EXECUTING once, then to EXECUTED with its outcome', async () => {
      const s = store();
      const [r] = await insertRequests(s, approvalRequestRecord());
      const transition = (id: string, from: ApprovalRequestStatus[], to: ApprovalRequestStatus, fields?: { outcome?: string; executedAt?: number }) =>
        s.db.write((tx) => s.ceremony.transitionRequest(tx, id, from, to, fields));

      expect(await transition(r!.id, ['PENDING'], 'EXECUTING')).toBe(true);
      expect(await s.ceremony.findRequest(r!.id)).toEqual({ ...r, status: 'EXECUTING' });
      expect(await transition(r!.id, ['PENDING'], 'EXECUTING')).toBe(false);
      expect(await transition(r!.id, ['PENDING', 'FAILED'], 'CANCELLED')).toBe(false);
      expect(await transition(r!.id, [], 'CANCELLED')).toBe(false);
      expect((await s.ceremony.findRequest(r!.id))?.status).toBe('EXECUTING');

      expect(await transition(r!.id, ['PENDING', 'EXECUTING'], 'EXECUTED', { outcome: 'KeyState PendingDeletion', executedAt: 5_000 })).toBe(true);
      expect(await s.ceremony.findRequest(r!.id)).toEqual({ ...r, status: 'EXECUTED', outcome: 'KeyState PendingDeletion', executedAt: 5_000 });
      expect(await transition('req-none', ['PENDING'], 'EXECUTING')).toBe(false);
    });

    it('keeps outcome and execution time a transition does not give', async () => {
      const s = store();
      const [pending, failed] = await insertRequests(s, approvalRequestRecord(), approvalRequestRecord({ status: 'FAILED', outcome: 'AccessDeniedException: no', executedAt: 3_000 }));
      expect(await s.db.write((tx) => s.ceremony.transitionRequest(tx, pending!.id, ['PENDING'], 'CANCELLED'))).toBe(true);
      expect(await s.ceremony.findRequest(pending!.id)).toEqual({ ...pending, status: 'CANCELLED' });
      expect(await s.db.write((tx) => s.ceremony.transitionRequest(tx, failed!.id, ['FAILED'], 'CANCELLED', { executedAt: 4_000 }))).toBe(true);
      expect(await s.ceremony.findRequest(failed!.id)).toEqual({ ...failed, status: 'CANCELLED', executedAt: 4_000 });
    });

    it('lets one of two racing callers take a PENDING request', async () => {
      const s = store();
      const [r] = await insertRequests(s, approvalRequestRecord());
      const take = () => s.db.write((tx) => s.ceremony.transitionRequest(tx, r!.id, ['PENDING'], 'EXECUTING'));
      expect((await Promise.all([take(), take(), take()])).sort()).toEqual([false, false, true]);
    });

    it('keeps approvals oldest first (ties in operator order), once per operator and request', async () => {
      const s = store();
      const [alice, bob] = [operatorRecord({ name: 'alice' }), operatorRecord({ name: 'bob' })];
      const [r1, r2] = await insertRequests(s, approvalRequestRecord(), approvalRequestRecord());
      const [byBob, byAlice] = [approvalRecord(r1!.id, bob, { createdAt: 7 }), approvalRecord(r1!.id, alice, { createdAt: 7 })];
      await s.db.write(async (tx) => {
        for (const o of [alice, bob]) await s.ceremony.insertOperator(tx, o);
        for (const a of [byBob, byAlice]) await s.ceremony.insertApproval(tx, a);
      });
      expect(await s.ceremony.listApprovals(r1!.id)).toEqual([byAlice, byBob]);
      expect(await s.ceremony.listApprovals(r2!.id)).toEqual([]);

      await expect(s.db.write((tx) => s.ceremony.insertApproval(tx, approvalRecord(r1!.id, alice, { createdAt: 9 })))).rejects.toThrow();
      const earlier = approvalRecord(r2!.id, alice, { createdAt: 3 });
      await s.db.write((tx) => s.ceremony.insertApproval(tx, earlier));
      expect(await s.ceremony.listApprovals(r2!.id)).toEqual([earlier]);
      expect(await s.ceremony.listApprovals(r1!.id)).toEqual([byAlice, byBob]);
    });

    it('counts approvals per request in one call (a request with none is absent)', async () => {
      const s = store();
      const [alice, bob] = [operatorRecord({ name: 'alice' }), operatorRecord({ name: 'bob' })];
      const [r1, r2, r3] = await insertRequests(s, approvalRequestRecord(), approvalRequestRecord(), approvalRequestRecord());
      await s.db.write(async (tx) => {
        for (const o of [alice, bob]) await s.ceremony.insertOperator(tx, o);
        for (const a of [approvalRecord(r1!.id, alice), approvalRecord(r1!.id, bob), approvalRecord(r2!.id, bob)]) await s.ceremony.insertApproval(tx, a);
      });
      const counts = await s.ceremony.countApprovals();
      expect(Object.fromEntries(counts)).toEqual({ [r1!.id]: 2, [r2!.id]: 1 });
      expect(counts.has(r3!.id)).toBe(false);
    });

    it('counts no approval of an operator since removed, or enrolled again with another key', async () => {
      const s = store();
      const [alice, bob] = [operatorRecord({ name: 'alice' }), operatorRecord({ name: 'bob' })];
      const [r1, r2] = await insertRequests(s, approvalRequestRecord(), approvalRequestRecord());
      await s.db.write(async (tx) => {
        for (const o of [alice, bob]) await s.ceremony.insertOperator(tx, o);
        for (const a of [approvalRecord(r1!.id, alice), approvalRecord(r1!.id, bob), approvalRecord(r2!.id, bob)]) await s.ceremony.insertApproval(tx, a);
      });
      await s.db.write(async (tx) => {
        await s.ceremony.deleteOperator(tx, 'alice');
        await s.ceremony.deleteOperator(tx, 'bob');
        await s.ceremony.insertOperator(tx, operatorRecord({ name: 'bob' }));
      });
      expect(Object.fromEntries(await s.ceremony.countApprovals())).toEqual({});
      expect(await s.ceremony.listApprovals(r1!.id)).toHaveLength(2);
    });

    it('gives a sealed result once, to one of two racing takers; an ended request keeps no sealed secrets', async () => {
      const s = store();
      const [r] = await insertRequests(s, approvalRequestRecord({ sealedSecrets: 'c2VjcmV0' }));
      expect(await s.db.write((tx) => s.ceremony.takeResult(tx, r!.id))).toBeUndefined();
      await s.db.write((tx) => s.ceremony.transitionRequest(tx, r!.id, ['PENDING'], 'EXECUTING'));
      await s.db.write((tx) => s.ceremony.transitionRequest(tx, r!.id, ['EXECUTING'], 'EXECUTED', { outcome: 'applied', sealedResult: 'cmVzdWx0' }));
      expect(await s.ceremony.findRequest(r!.id)).toMatchObject({ sealedSecrets: null, sealedResult: 'cmVzdWx0' });
      const take = () => s.db.write((tx) => s.ceremony.takeResult(tx, r!.id));
      expect((await Promise.all([take(), take()])).map(String).sort()).toEqual(['cmVzdWx0', 'undefined']);
      expect((await s.ceremony.findRequest(r!.id))?.sealedResult).toBeNull();
      expect(await s.db.write((tx) => s.ceremony.takeResult(tx, 'no-such-request'))).toBeUndefined();
    });

    it('keeps the approvals of an operator who was removed', async () => {
      const s = store();
      const alice = operatorRecord({ name: 'alice' });
      const [r] = await insertRequests(s, approvalRequestRecord());
      const approval = approvalRecord(r!.id, alice);
      await s.db.write(async (tx) => {
        await s.ceremony.insertOperator(tx, alice);
        await s.ceremony.insertApproval(tx, approval);
      });
      expect(await s.db.write((tx) => s.ceremony.deleteOperator(tx, 'alice'))).toBe(true);
      expect(await s.ceremony.listApprovals(r!.id)).toEqual([approval]);
    });
  });
}
