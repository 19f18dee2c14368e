// /admin/v1/operators, /quorum and /approvals (main/api/admin/quorum.ts), driven through the admin
// API's own handler in process, over a real SQLite store and audit log and a Quorum that is not a dev
// one (so that operator changes are gated once the `operators` class has a policy): the routes' shapes,
// strict bodies, a 2-of-3 policy that turns an operator change into an approval request approved by
// Ed25519 and P-256 signatures, and the refusals — a non-operator, a bit flipped, the same operator
// twice, another request's statement, after execution, after expiry, after cancelling — each answered
// with its status, audited, and executing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalView } from '../../../main/console/index.js';
import { handleAdminRequest, type AdminDeps } from '../../../main/api/admin/routes.js';
import { createLogger } from '../../../main/common/log.js';
import { ACTION_CLASSES } from '../../../main/ceremony/quorum.js';
import { approvalStatement } from '../../../main/ceremony/statement.js';
import { adminCaller, approveWith, custodian, openQuorumAdmin } from '../../support/custodians.js';
import { auditEntriesAfter, type Domain } from '../../support/domain.js';

const TOKEN = 'test-admin-token';

type View = ApprovalView;

const alice = custodian('ed25519');
const bob = custodian('p256');
const carol = custodian('p256', 'ieee-p1363');
const dave = custodian('ed25519');
const mallory = custodian('ed25519');

let d: Domain;
let deps: AdminDeps;

const call = adminCaller(() => deps, TOKEN);

/** A call that must be refused: its status and error code. */
async function refused(method: string, path: string, body?: unknown): Promise<[number, string]> {
  const r = await call(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
  return [r.status, r.body.error!];
}

const statementOf = (v: View): Buffer => Buffer.from(v.statement, 'base64');
const approve = approveWith(call);
const operatorNames = async () => ((await call('GET', '/operators')).body.operators as { name: string }[]).map((o) => o.name);

beforeAll(async () => {
  ({ d, deps } = await openQuorumAdmin(TOKEN));
});

afterAll(async () => {
  await d?.close();
});

describe('routing', () => {
  it('needs the admin token; an appliance without the service has no such routes', async () => {
    expect((await call('GET', '/operators', undefined, 'wrong')).status).toBe(403);
    const { quorum: _, ...without } = deps;
    const res = await handleAdminRequest(without, { method: 'GET', path: '/admin/v1/operators', query: '', headers: { authorization: `Bearer ${TOKEN}` }, body: Buffer.alloc(0) });
    expect(res.status).toBe(404);
    expect(await refused('PATCH', '/operators')).toEqual([404, 'NotFound']);
    expect(await refused('GET', '/approvals/x/y')).toEqual([404, 'NotFound']);
  });

  it('logs a route that throws (a bug) by its route, type and frames, never its message', async () => {
    const lines: string[] = [];
    const throwing = new Proxy(deps.quorum!, { get: () => () => Promise.reject(new TypeError('QUOTED-INPUT')) });
    const res = await handleAdminRequest(
      { ...deps, quorum: throwing, log: createLogger('info', (l) => lines.push(l)) },
      { method: 'GET', path: '/admin/v1/operators', query: '', headers: { authorization: `Bearer ${TOKEN}` }, body: Buffer.alloc(0) },
    );
    expect(res.status).toBe(500);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'error', route: 'GET /operators' });
    expect(line.error).toMatch(/^TypeError\n {4}at /);
    expect(lines[0]).not.toContain('QUOTED-INPUT');
  });

  it('takes the admin token only whole: a prefix of it, its first character or one character more is refused', async () => {
    // A comparison that stopped at the shorter of the two would let a caller guess the token a
    // character at a time, or send one character of it.
    for (const token of [TOKEN.slice(0, -1), TOKEN.slice(0, 6), TOKEN[0]!, `${TOKEN}x`, `${TOKEN}${TOKEN}`, '']) {
      const r = await call('GET', '/operators', undefined, token);
      expect([r.status, r.body.error], JSON.stringify(token)).toEqual([403, 'AccessDenied']);
    }
    expect((await call('GET', '/operators', undefined, TOKEN)).status).toBe(200);
  });
});

describe('operators', () => {
  it('add answers 200 {applied, operator} with the fingerprint and PEM; list and show give the same', async () => {
    const r = await call('POST', '/operators', { name: 'alice', publicKey: alice.publicPem });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      applied: true,
      operator: { name: 'alice', algorithm: 'ed25519', fingerprint: alice.fingerprint, hasPassphrase: false, createdAt: new Date(d.clock.nowMs()).toISOString(), publicKey: alice.publicPem },
    });
    expect(alice.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){15}$/);
    expect((await call('POST', '/operators', { name: 'bob', publicKey: bob.publicPem })).body).toMatchObject({ applied: true, operator: { algorithm: 'ecdsa-p256', fingerprint: bob.fingerprint } });
    const list = await call('GET', '/operators');
    expect(list.body.operators).toEqual([
      { name: 'alice', algorithm: 'ed25519', fingerprint: alice.fingerprint, hasPassphrase: false, createdAt: expect.any(String) },
      { name: 'bob', algorithm: 'ecdsa-p256', fingerprint: bob.fingerprint, hasPassphrase: false, createdAt: expect.any(String) },
    ]);
    const show = await call('GET', '/operators/bob');
    expect(show.status).toBe(200);
    expect(show.body.publicKey).toBe(bob.publicPem);
  });

  it('refuses a taken name or key, a private key (without echoing it), bad names, unknown fields and wrong types', async () => {
    expect(await refused('POST', '/operators', { name: 'alice', publicKey: carol.publicPem })).toEqual([409, 'AlreadyExists']);
    expect(await refused('POST', '/operators', { name: 'alice2', publicKey: alice.publicPem })).toEqual([409, 'AlreadyExists']);
    const privatePem = mallory.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const priv = await call('POST', '/operators', { name: 'mallory', publicKey: privatePem });
    expect(priv.status).toBe(400);
    expect(priv.body.message).toContain('private key');
    expect(JSON.stringify(priv.body)).not.toContain(privatePem.split('\n')[1]);
    expect(await refused('POST', '/operators', { name: 'no spaces', publicKey: carol.publicPem })).toEqual([400, 'Validation']);
    expect(await refused('POST', '/operators', { name: 'carol', publicKey: carol.publicPem, admin: true })).toEqual([400, 'Validation']);
    expect(await refused('POST', '/operators', { name: 'carol', publicKey: 42 })).toEqual([400, 'Validation']);
    expect(await refused('POST', '/operators', { name: 'carol', publicKey: carol.publicPem, operator: 'nobody' })).toEqual([404, 'NotFound']);
    expect(await refused('POST', '/operators', '[1]')).toEqual([400, 'Serialization']);
    expect(await refused('GET', '/operators/nobody')).toEqual([404, 'NotFound']);
    expect(await operatorNames()).toEqual(['alice', 'bob']);
  });

  it('remove answers 200 {applied, removed}; an unknown one is 404', async () => {
    expect((await call('POST', '/operators', { name: 'temp', publicKey: mallory.publicPem })).status).toBe(200);
    expect((await call('DELETE', '/operators/temp')).body).toEqual({ applied: true, removed: 'temp' });
    expect(await refused('DELETE', '/operators/temp')).toEqual([404, 'NotFound']);
    expect(await refused('DELETE', '/operators/alice', { force: true })).toEqual([400, 'Validation']);
    expect(await operatorNames()).toEqual(['alice', 'bob']);
  });
});

describe('quorum policies', () => {
  it('GET /quorum lists the policies and every action class', async () => {
    expect((await call('GET', '/quorum')).body).toEqual({ policies: [], classes: [...ACTION_CLASSES] });
  });

  it('PUT refuses an unknown class, too few operators, an unenrolled one, bad types, a bad expiry and unknown fields', async () => {
    expect(await refused('PUT', '/quorum/everything', { threshold: 1, operators: ['alice'] })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: 3, operators: ['alice', 'bob'] })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: 2, operators: ['alice', 'alice'] })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: 1, operators: ['zed'] })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: '1', operators: ['alice'] })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: 1, operators: 'alice' })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: 1.5, operators: ['alice', 'bob'] })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: 1, operators: ['alice'], expiryMinutes: 0 })).toEqual([400, 'Validation']);
    expect(await refused('PUT', '/quorum/key-import', { threshold: 1, operators: ['alice'], expiry: 5 })).toEqual([400, 'Validation']);
    expect((await call('GET', '/quorum')).body.policies).toEqual([]);
  });

  it('PUT sets a policy at once while the operators class has none', async () => {
    const r = await call('PUT', '/quorum/key-deletion', { threshold: 1, operators: ['bob', 'alice'], expiryMinutes: 45 });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      applied: true,
      policy: { actionClass: 'key-deletion', threshold: 1, operators: ['bob', 'alice'], expiryMinutes: 45, updatedAt: new Date(d.clock.nowMs()).toISOString() },
    });
    expect((await call('GET', '/quorum')).body.policies).toEqual([r.body.policy]);
  });
});

describe('a 2-of-3 policy on operator changes', () => {
  let request: View;
  let other: View;

  it('once set, adding an operator answers 202 with the approval request, and adds no one', async () => {
    expect((await call('POST', '/operators', { name: 'carol', publicKey: carol.publicPem })).status).toBe(200);
    expect((await call('PUT', '/quorum/operators', { threshold: 2, operators: ['alice', 'bob', 'carol'] })).status).toBe(200);
    const r = await call('POST', '/operators', { name: 'dave', publicKey: dave.publicPem });
    expect(r.status).toBe(202);
    expect(r.body.applied).toBe(false);
    request = r.body.approvalRequest as View;
    expect(request).toMatchObject({ action: 'kura:OperatorAdd', actionClass: 'operators', status: 'PENDING', requester: 'kura:admin', threshold: 2, operators: ['alice', 'bob', 'carol'], approvals: [], executedAt: null, outcome: null });
    expect(request.id).toMatch(/^apr-[0-9a-f]{24}$/);
    expect(JSON.parse(request.parameters)).toMatchObject({ action: 'kura:OperatorAdd', name: 'dave' });
    expect(statementOf(request).equals(approvalStatement({ requestId: request.id, digest: request.parametersDigest, action: request.action, expiresAt: Date.parse(request.expiresAt), applianceId: d.applianceId }))).toBe(true);
    expect(await refused('GET', '/operators/dave')).toEqual([404, 'NotFound']);
    // A request named by an enrolled operator records them as its requester.
    const named = await call('POST', '/operators', { name: 'erin', publicKey: mallory.publicPem, operator: 'carol' });
    expect(named.status).toBe(202);
    other = named.body.approvalRequest as View;
    expect(other.requester).toBe('carol');
  });

  it('GET /approvals lists exactly id, action, status, approvals, threshold, expiresAt; GET /approvals/ID the whole view', async () => {
    const list = (await call('GET', '/approvals')).body.approvals as Record<string, unknown>[];
    expect(list.map((a) => Object.keys(a))).toEqual([
      ['id', 'action', 'status', 'approvals', 'threshold', 'expiresAt'],
      ['id', 'action', 'status', 'approvals', 'threshold', 'expiresAt'],
    ]);
    expect(list.find((a) => a.id === request.id)).toEqual({ id: request.id, action: 'kura:OperatorAdd', status: 'PENDING', approvals: 0, threshold: 2, expiresAt: request.expiresAt });
    const view = await call('GET', `/approvals/${request.id}`);
    expect(view.body).toEqual(request);
    expect(Object.keys(view.body)).toEqual([
      'id', 'action', 'actionClass', 'status', 'parameters', 'parametersDigest', 'requester', 'createdAt', 'expiresAt', 'executedAt', 'outcome', 'threshold', 'operators', 'approvals', 'statement', 'hasResult',
    ]);
    expect(await refused('GET', '/approvals/apr-000000000000000000000000')).toEqual([404, 'NotFound']);
  });

  it('refuses, audits, and does not count: a non-operator, a flipped bit, another request\'s statement, the wrong operator named, a malformed body', async () => {
    const before = await d.store.audit.count();
    const good = alice.sign(statementOf(request));
    const flipped = Buffer.from(good);
    flipped[10]! ^= 0x04;
    expect(await approve(request.id, mallory.sign(statementOf(request)))).toMatchObject({ status: 403, body: { error: 'AccessDenied' } });
    expect(await approve(request.id, flipped)).toMatchObject({ status: 403, body: { error: 'AccessDenied' } });
    expect(await approve(request.id, alice.sign(statementOf(other)))).toMatchObject({ status: 403, body: { error: 'AccessDenied' } });
    expect(await approve(request.id, good, 'bob')).toMatchObject({ status: 403, body: { error: 'AccessDenied' } });
    expect(await approve(request.id, good, 'nobody')).toMatchObject({ status: 404, body: { error: 'NotFound' } });
    const refusals = await auditEntriesAfter(d, before);
    expect(refusals).toHaveLength(5);
    expect(refusals.every((e) => e.operation === 'ApprovalSubmitted' && e.outcome === 'error' && (e.details as Record<string, unknown>).approvalRequestId === request.id)).toBe(true);
    // Bodies the route refuses before the service sees them.
    expect(await refused('POST', `/approvals/${request.id}/approvals`, { signature: 'not base64!' })).toEqual([400, 'Validation']);
    expect(await refused('POST', `/approvals/${request.id}/approvals`, { signature: '' })).toEqual([400, 'Validation']);
    expect(await refused('POST', `/approvals/${request.id}/approvals`, { signature: 'A'.repeat(516) })).toEqual([400, 'Validation']);
    expect(await refused('POST', `/approvals/${request.id}/approvals`, { signature: good.toString('base64'), key: 'x' })).toEqual([400, 'Validation']);
    expect(await refused('POST', `/approvals/${request.id}/approvals`, { signature: good.toString('base64'), operator: 7 })).toEqual([400, 'Validation']);
    expect((await call('GET', `/approvals/${request.id}`)).body).toMatchObject({ status: 'PENDING', approvals: [] });
  });

  it('the first approval (Ed25519) leaves it pending; the same operator again is refused; the second (P-256 DER) runs it', async () => {
    const first = await approve(request.id, alice.sign(statementOf(request)), 'alice');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'PENDING', approvals: [{ operator: 'alice', fingerprint: alice.fingerprint }] });
    expect(await refused('GET', '/operators/dave')).toEqual([404, 'NotFound']);
    expect(await approve(request.id, alice.sign(statementOf(request)))).toMatchObject({ status: 409, body: { error: 'AlreadyExists' } });
    const second = await approve(request.id, bob.sign(statementOf(request)));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'EXECUTED', executedAt: expect.any(String), approvals: [{ operator: 'alice' }, { operator: 'bob', fingerprint: bob.fingerprint }] });
    expect((await call('GET', '/operators/dave')).body).toMatchObject({ name: 'dave', fingerprint: dave.fingerprint });
    expect((await call('GET', '/approvals')).body.approvals).toContainEqual(expect.objectContaining({ id: request.id, status: 'EXECUTED', approvals: 2, threshold: 2 }));
  });

  it('a third approval after execution is refused (409), and nothing runs again', async () => {
    const before = await d.store.audit.count();
    expect(await approve(request.id, carol.sign(statementOf(request)))).toMatchObject({ status: 409, body: { error: 'InvalidState' } });
    expect(await auditEntriesAfter(d, before)).toEqual([expect.objectContaining({ operation: 'ApprovalSubmitted', outcome: 'error', errorCode: 'InvalidState' })]);
    expect((await call('GET', `/approvals/${request.id}`)).body).toMatchObject({ status: 'EXECUTED', approvals: [{ operator: 'alice' }, { operator: 'bob' }] });
  });

  it("an enrolled operator the class's policy does not name is refused, audited, and no approval of theirs is kept", async () => {
    // Dave is enrolled now, but the operators policy names alice, bob and carol only.
    expect((await call('GET', '/operators/dave')).status).toBe(200);
    const before = await d.store.audit.count();
    for (const named of [undefined, 'dave']) {
      const r = await approve(other.id, dave.sign(statementOf(other)), named);
      expect([r.status, r.body.error]).toEqual([403, 'AccessDenied']);
      expect(r.body.message).toBe('dave may not approve operators actions (kura quorum show).');
    }
    expect(await auditEntriesAfter(d, before)).toEqual([
      expect.objectContaining({ operation: 'ApprovalSubmitted', outcome: 'error', errorCode: 'AccessDenied', details: expect.objectContaining({ approvalRequestId: other.id }) }),
      expect.objectContaining({ operation: 'ApprovalSubmitted', outcome: 'error', errorCode: 'AccessDenied', details: expect.objectContaining({ approvalRequestId: other.id }) }),
    ]);
    expect(await d.store.ceremony.listApprovals(other.id)).toEqual([]);
    expect((await call('GET', `/approvals/${other.id}`)).body).toMatchObject({ status: 'PENDING', approvals: [] });
  });

  it('a P-256 signature as r || s counts too: removing an operator is approved by carol and alice', async () => {
    const r = await call('DELETE', '/operators/dave');
    expect(r.status).toBe(202);
    const removal = (r.body.approvalRequest as View);
    expect((await approve(removal.id, carol.sign(statementOf(removal)))).body).toMatchObject({ status: 'PENDING' });
    expect((await approve(removal.id, alice.sign(statementOf(removal)))).body).toMatchObject({ status: 'EXECUTED' });
    expect(await operatorNames()).toEqual(['alice', 'bob', 'carol']);
    // No policy names a removed operator any more.
    const policies = (await call('GET', '/quorum')).body.policies as { operators: string[] }[];
    expect(policies.some((q) => q.operators.includes('dave'))).toBe(false);
  });

  it('a policy change is a request too; an expired one takes no approvals', async () => {
    const r = await call('PUT', '/quorum/key-import', { threshold: 1, operators: ['alice'] });
    expect(r.status).toBe(202);
    const change = r.body.approvalRequest as View;
    expect(change.action).toBe('kura:QuorumSet');
    d.clock.advance(30 * 60_000);
    expect(await approve(change.id, alice.sign(statementOf(change)))).toMatchObject({ status: 409, body: { error: 'InvalidState' } });
    expect((await call('GET', '/quorum')).body.policies).not.toContainEqual(expect.objectContaining({ actionClass: 'key-import' }));
  });

  it('cancel: a pending request is cancelled and never runs; cancelling again or approving it is refused', async () => {
    d.clock.advance(-30 * 60_000);
    // Only its requester (or the administrator) cancels a request.
    const requester = (await call('GET', `/approvals/${other.id}`)).body.requester as string;
    const stranger = ['alice', 'bob', 'carol'].find((n) => n !== requester)!;
    expect(await refused('POST', `/approvals/${other.id}/cancel`, { operator: stranger })).toEqual([403, 'AccessDenied']);
    const c = await call('POST', `/approvals/${other.id}/cancel`, requester === 'kura:admin' ? {} : { operator: requester });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ id: other.id, status: 'CANCELLED' });
    expect(await refused('POST', `/approvals/${other.id}/cancel`)).toEqual([409, 'InvalidState']);
    expect(await refused('POST', `/approvals/${other.id}/cancel`, { reason: 'x' })).toEqual([400, 'Validation']);
    expect(await approve(other.id, alice.sign(statementOf(other)))).toMatchObject({ status: 409, body: { error: 'InvalidState' } });
    expect(await refused('GET', '/operators/erin')).toEqual([404, 'NotFound']);
  });
});
