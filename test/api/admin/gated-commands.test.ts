// Operator commands a quorum gates (issue 13: `kura hsm`, `kura xks`, `kura credentials`), through the
// admin API's own handler over a real SQLite store, with a fake HSM token behind the HSM commands and
// the executor app.ts wires: without a policy a command runs at once; with a 2-of-3 `key-store` or
// `credentials` policy it answers 202 and changes nothing until two operators have signed, then runs
// once with what was asked — a token PIN kept sealed beside the request (never in its parameters or in
// the clear in the database) and gone once it ended, its answer (a new secret access key) sealed until
// its requester takes it, once. A run that fails is recorded FAILED and not retried, so approvals wait
// while the appliance is sealed; the executor's admission holds only for a request that is running.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminDeps } from '../../../main/api/admin/routes.js';
import type { Quorum } from '../../../main/ceremony/quorum.js';
import type { ApprovalView } from '../../../main/console/index.js';
import { adminCaller, approveWith, custodian, openQuorumAdmin, type Custodian } from '../../support/custodians.js';
import { auditEntriesAfter, type Domain } from '../../support/domain.js';
import { FakeHsms } from '../../support/fake-hsm.js';

const TOKEN = 'test-admin-token';
const PIN = 'fake-token-pin-4711';
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

const team: Record<'alice' | 'bob' | 'carol', Custodian> = { alice: custodian('ed25519'), bob: custodian('p256'), carol: custodian('ed25519') };

let d: Domain;
let deps: AdminDeps;
let quorum: Quorum;
const hsms = new FakeHsms();
const call = adminCaller(() => deps, TOKEN);
const approve = approveWith(call);

/** A 202's approval request, then two approvals (alice's and bob's): the request as it ended. */
async function approved(answer: { status: number; body: Record<string, unknown> }): Promise<ApprovalView> {
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  const request = answer.body.approvalRequest as ApprovalView;
  const statement = Buffer.from(request.statement, 'base64');
  const first = await approve(request.id, team.alice.sign(statement), 'alice');
  expect((first.body as unknown as ApprovalView).status).toBe('PENDING');
  const second = await approve(request.id, team.bob.sign(statement), 'bob');
  expect(second.status, JSON.stringify(second.body)).toBe(200);
  return second.body as unknown as ApprovalView;
}

const dbText = () => fs.readFileSync(d.file).toString('latin1') + (fs.existsSync(`${d.file}-wal`) ? fs.readFileSync(`${d.file}-wal`).toString('latin1') : '');

beforeAll(async () => {
  hsms.addToken('gated-token', PIN, 'serial-gated');
  ({ d, deps, quorum } = await openQuorumAdmin(TOKEN, { hsmConnector: hsms }));
  for (const [name, c] of Object.entries(team)) expect((await call('POST', '/operators', { name, publicKey: c.publicPem })).status).toBe(200);
  expect((await call('PUT', '/operators/carol/passphrase', { passphrase: 'carol signs in to the console' })).status).toBe(200);
});

afterAll(async () => {
  await d?.close();
});

describe('without a policy for its class', () => {
  it('a command runs at once and answers 200 {applied: true, …}', async () => {
    const r = await call('POST', '/xks/stores', { uriPathPrefix: 'ungated' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ applied: true, storeId: expect.any(String), accessKeyId: expect.any(String), secretAccessKey: expect.any(String) });
  });

  it('an empty prefix serves a store at /kms/xks/v1 itself, as AWS allows; "/" is the same prefix', async () => {
    const r = await call('POST', '/xks/stores', { uriPathPrefix: '' });
    expect([r.status, r.body.uriPath]).toEqual([200, '/kms/xks/v1']);
    const again = await call('POST', '/xks/stores', { uriPathPrefix: '/' });
    expect([again.status, again.body.error]).toEqual([409, 'AlreadyExists']);
    expect((await call('DELETE', `/xks/stores/${r.body.storeId as string}`)).status).toBe(200);
  });
});

describe('with 2-of-3 policies for key-store and credentials', () => {
  beforeAll(async () => {
    for (const c of ['key-store', 'credentials']) {
      expect((await call('PUT', `/quorum/${c}`, { threshold: 2, operators: ['alice', 'bob', 'carol'] })).status).toBe(200);
    }
  });

  it('an HSM added with a PIN waits for two approvals; the PIN is sealed beside the request, then gone', async () => {
    const asked = await call('POST', '/hsms', { modulePath: MODULE, tokenLabel: 'gated-token', pin: PIN });
    expect(asked.status).toBe(202);
    const request = asked.body.approvalRequest as ApprovalView;
    expect(request).toMatchObject({ action: 'kura:hsms.add', actionClass: 'key-store', status: 'PENDING', threshold: 2, requester: 'kura:admin', hasResult: false });
    expect(JSON.parse(request.parameters)).toEqual({ command: 'hsms.add', input: { modulePath: MODULE, tokenLabel: 'gated-token' } });
    expect((await call('GET', '/hsms')).body.hsms).toEqual([]);
    const record = await d.store.ceremony.findRequest(request.id);
    expect(record?.sealedSecrets).toEqual(expect.any(String));
    expect(dbText()).not.toContain(PIN);

    const before = Number((await call('GET', '/audit/verify')).body.entries);
    const done = await approved(asked);
    expect(done.status).toBe('EXECUTED');
    expect(done.outcome).toMatch(/^applied \{"hsmId":"cluster-/);
    expect(done.hasResult).toBe(true);
    const hsmList = (await call('GET', '/hsms')).body.hsms as { hsmId: string }[];
    expect(hsmList).toHaveLength(1);
    expect((await d.store.ceremony.findRequest(request.id))?.sealedSecrets).toBeNull();
    // The registration's own audit entry names the request that ran it.
    const entries = await auditEntriesAfter(d, before);
    expect(entries.find((e) => e.operation === 'RegisterHsm')).toMatchObject({ principal: 'kura:admin', outcome: 'ok', details: { approvalRequestId: request.id } });
    expect(JSON.stringify(entries)).not.toContain(PIN);

    // Its answer, once, to its requester.
    const result = await call('POST', `/approvals/${request.id}/result`);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ id: request.id, action: 'kura:hsms.add', result: { hsmId: hsmList[0]!.hsmId, token: { label: 'gated-token' } } });
    expect((await call('POST', `/approvals/${request.id}/result`)).status).toBe(404);
  });

  it('a wrong PIN is found when the approved request runs: FAILED, recorded, not retried', async () => {
    const asked = await call('POST', '/hsms', { modulePath: MODULE, tokenLabel: 'gated-token', pin: 'not-the-pin' });
    const done = await approved(asked);
    expect(done.status).toBe('FAILED');
    expect(done.outcome).toMatch(/^[A-Za-z]+: /);
    expect(done.outcome).not.toContain('not-the-pin');
    expect((await call('GET', '/hsms')).body.hsms).toHaveLength(1);
    const third = await approve(done.id, team.carol.sign(Buffer.from(done.statement, 'base64')), 'carol');
    expect([third.status, third.body.error]).toEqual([409, 'InvalidState']);
  });

  it('a credential asked by a signed-in operator is theirs to take once; a stranger cannot take it', async () => {
    const session = (await call('POST', '/sessions', { operator: 'carol', passphrase: 'carol signs in to the console' }, 'none')).body.token as string;
    const asked = await call('POST', '/credentials', { accountId: '444455556666', description: 'gated' }, session);
    expect((asked.body.approvalRequest as ApprovalView).requester).toBe('carol');
    expect(((await call('GET', '/credentials')).body.credentials as unknown[]).length).toBe(0);
    const done = await approved(asked);
    expect(done.status).toBe('EXECUTED');
    const made = ((await call('GET', '/credentials')).body.credentials as { accessKeyId: string }[])[0]!;
    expect(done.outcome).toBe(`applied {"accessKeyId":"${made.accessKeyId}"}`);

    // Neither the outcome nor the database holds the secret; the requester's answer does, once.
    expect((await call('PUT', '/operators/alice/passphrase', { passphrase: 'alice is not the requester' })).status).toBe(200);
    const aliceSession = (await call('POST', '/sessions', { operator: 'alice', passphrase: 'alice is not the requester' }, 'none')).body.token as string;
    const stranger = await call('POST', `/approvals/${done.id}/result`, {}, aliceSession);
    expect([stranger.status, stranger.body.error]).toEqual([403, 'AccessDenied']);
    const taken = await call('POST', `/approvals/${done.id}/result`, {}, session);
    expect(taken.status).toBe(200);
    const secret = (taken.body.result as { secretAccessKey: string }).secretAccessKey;
    expect(secret).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(dbText()).not.toContain(secret);
    expect((await d.credentials.lookup(made.accessKeyId))?.secret).toBe(secret);
    expect((await call('POST', `/approvals/${done.id}/result`, {}, session)).status).toBe(404);

    // Deleting it is gated too.
    const removed = await approved(await call('DELETE', `/credentials/${made.accessKeyId}`));
    expect(removed.status).toBe('EXECUTED');
    expect((await call('GET', '/credentials')).body.credentials).toEqual([]);
  });

  it('XKS store changes are key store changes: a store, its credential and its key each wait for the quorum', async () => {
    const store = await approved(await call('POST', '/xks/stores', { uriPathPrefix: 'gated' }));
    const storeId = JSON.parse(store.outcome!.replace(/^applied /, '')).storeId as string;
    const key = await approved(await call('POST', `/xks/stores/${storeId}/keys`, { usage: ['ENCRYPT'] }));
    expect(key.status).toBe('EXECUTED');
    const keys = (await call('GET', `/xks/stores/${storeId}/keys`)).body.keys as { externalKeyId: string; keyStatus: string }[];
    expect(keys).toHaveLength(1);
    const disabled = await approved(await call('POST', `/xks/stores/${storeId}/keys/${keys[0]!.externalKeyId}/disable`, {}));
    expect(disabled.status).toBe('EXECUTED');
    expect(((await call('GET', `/xks/stores/${storeId}/keys`)).body.keys as { keyStatus: string }[])[0]!.keyStatus).toBe('DISABLED');
    // What could not run is refused at once, before custodians are asked to sign it: a store that still
    // has keys, a prefix Kura cannot serve or that is taken, a store or key that does not exist.
    const pending = async () => (await quorum.listRequests()).filter((q) => q.status === 'PENDING').length;
    const pendingBefore = await pending();
    const refusals: [string, string, unknown, number, string][] = [
      ['DELETE', `/xks/stores/${storeId}`, undefined, 409, 'InvalidState'],
      ['POST', '/xks/stores', { uriPathPrefix: 'admin' }, 400, 'Validation'],
      ['POST', '/xks/stores', { uriPathPrefix: 'gated' }, 409, 'AlreadyExists'],
      ['POST', '/xks/stores/xks-nosuch/keys', { usage: ['ENCRYPT'] }, 404, 'NotFound'],
      ['DELETE', `/xks/stores/${storeId}/keys/kura-xks-nope`, undefined, 404, 'NotFound'],
      ['POST', `/xks/stores/${storeId}/keys/kura-xks-nope/enable`, {}, 404, 'NotFound'],
      ['DELETE', `/xks/stores/${storeId}/credentials/XKSNOSUCHCREDENTIAL2345`, undefined, 404, 'NotFound'],
      ['DELETE', '/hsms/cluster-aaaaaaaaaaa', undefined, 404, 'CloudHsmClusterNotFound'],
    ];
    for (const [method, route, body, status, error] of refusals) {
      const r = await call(method, route, body);
      expect([route, r.status, r.body.error]).toEqual([route, status, error]);
    }
    expect(await pending()).toBe(pendingBefore);
    expect(((await call('GET', '/xks/stores')).body.stores as { storeId: string }[]).map((s) => s.storeId)).toContain(storeId);
  });

  it("an XKS store's new PIN is a key store change: it waits for the quorum, sealed beside the request, and is never in the audit log", async () => {
    const hsmId = ((await call('GET', '/hsms')).body.hsms as { hsmId: string }[])[0]!.hsmId;
    const store = await approved(await call('POST', '/xks/stores', { uriPathPrefix: 'gated-pin', hsmId, pin: PIN }));
    const storeId = JSON.parse(store.outcome!.replace(/^applied /, '')).storeId as string;
    const before = Number((await call('GET', '/audit/verify')).body.entries);
    const asked = await call('POST', `/xks/stores/${storeId}/pin`, { pin: PIN });
    expect(asked.status).toBe(202);
    const request = asked.body.approvalRequest as ApprovalView;
    expect(request).toMatchObject({ action: 'kura:xks.stores.update', actionClass: 'key-store', status: 'PENDING' });
    expect(JSON.parse(request.parameters)).toEqual({ command: 'xks.stores.update', input: { storeId } });
    expect((await d.store.ceremony.findRequest(request.id))?.sealedSecrets).toEqual(expect.any(String));
    const done = await approved(asked);
    expect([done.status, done.outcome]).toEqual(['EXECUTED', `applied ${JSON.stringify({ hsmId, storeId })}`]);
    expect((await d.store.ceremony.findRequest(request.id))?.sealedSecrets).toBeNull();
    const entries = await auditEntriesAfter(d, before);
    expect(entries.find((e) => (e.details as { xksStoreId?: string } | undefined)?.xksStoreId === storeId)).toMatchObject({ outcome: 'ok', details: { xksStoreId: storeId, hsmId, approvalRequestId: request.id } });
    expect(JSON.stringify(entries)).not.toContain(PIN);
    expect(dbText()).not.toContain(PIN);
    // Refused at once, before custodians are asked: a store without an HSM, one that does not exist, no PIN.
    const standard = await approved(await call('POST', '/xks/stores', { uriPathPrefix: 'gated-standard' }));
    const standardId = JSON.parse(standard.outcome!.replace(/^applied /, '')).storeId as string;
    const pending = (await quorum.listRequests()).filter((q) => q.status === 'PENDING').length;
    for (const [route, body, status, error] of [
      [`/xks/stores/${standardId}/pin`, { pin: PIN }, 400, 'Validation'],
      ['/xks/stores/xks-nosuch/pin', { pin: PIN }, 404, 'NotFound'],
      [`/xks/stores/${storeId}/pin`, {}, 400, 'Validation'],
    ] as const) {
      const r = await call('POST', route, body);
      expect([route, r.status, r.body.error]).toEqual([route, status, error]);
    }
    expect((await quorum.listRequests()).filter((q) => q.status === 'PENDING').length).toBe(pending);
  });

  it('while sealed, approvals wait (503 Sealed) rather than run the command sealed and burn the request', async () => {
    const asked = await call('POST', '/credentials', { accountId: '111122223333', principalArn: 'arn:aws:iam::111122223333:user/sealed' });
    expect(asked.status).toBe(202);
    const request = asked.body.approvalRequest as ApprovalView;
    const statement = Buffer.from(request.statement, 'base64');
    d.root.seal();
    try {
      const refused = await approve(request.id, team.alice.sign(statement), 'alice');
      expect([refused.status, refused.body.error]).toEqual([503, 'Sealed']);
      expect((await call('GET', `/approvals/${request.id}`)).body).toMatchObject({ status: 'PENDING', approvals: [] });
    } finally {
      await d.root.initAndUnsealDev(d.rootKey);
    }
    const done = await approved(asked);
    expect(done.status).toBe('EXECUTED');
  });

  it("the executor's admission holds only for a request that is running, with its own parameters", async () => {
    const asked = await call('POST', '/xks/stores', { uriPathPrefix: 'held' });
    const id = (asked.body.approvalRequest as ApprovalView).id;
    const replay = quorum.admitCommand({ operator: 'kura:admin' }, 'xks.stores.create', { uriPathPrefix: 'held' }, { approvedRequest: id });
    await expect(replay).rejects.toMatchObject({ code: 'AccessDenied' });
    const changed = quorum.admitCommand({ operator: 'kura:admin' }, 'xks.stores.create', { uriPathPrefix: 'elsewhere' }, { approvedRequest: id });
    await expect(changed).rejects.toMatchObject({ code: 'AccessDenied' });
    const other = quorum.admitCommand({ operator: 'kura:admin' }, 'hsms.add', { modulePath: MODULE, tokenLabel: 'x' }, { approvedRequest: id });
    await expect(other).rejects.toMatchObject({ code: 'AccessDenied' });
    expect((await call('GET', `/approvals/${id}`)).body.status).toBe('PENDING');
  });

  it('while an approved request runs, the executor is admitted only with the parameters approved: a command or a KMS call changed is refused', async () => {
    // As runIfApproved leaves it once the quorum is reached: EXECUTING, its action about to run. Only
    // the parameters' digest is left to tell the approved call from another one.
    const running = async (id: string) => expect(await d.store.db.write((tx) => d.store.ceremony.transitionRequest(tx, id, ['PENDING'], 'EXECUTING'))).toBe(true);
    const asked = await call('POST', '/xks/stores', { uriPathPrefix: 'running' });
    const id = (asked.body.approvalRequest as ApprovalView).id;
    await running(id);
    const admin = { operator: 'kura:admin' };
    await expect(quorum.admitCommand(admin, 'xks.stores.create', { uriPathPrefix: 'elsewhere' }, { approvedRequest: id })).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(quorum.admitCommand(admin, 'xks.stores.create', { uriPathPrefix: 'running', extra: 1 }, { approvedRequest: id })).rejects.toMatchObject({ code: 'AccessDenied' });
    expect(await quorum.admitCommand(admin, 'xks.stores.create', { uriPathPrefix: 'running' }, { approvedRequest: id })).toEqual({ admitted: true });

    // A KMS call the key-deletion quorum gates, replayed by the executor with another input.
    expect((await call('PUT', '/quorum/key-deletion', { threshold: 2, operators: ['alice', 'bob', 'carol'] })).status).toBe(200);
    const input = { KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', PendingWindowInDays: 30 };
    const asKms = (over: Record<string, unknown>, approvedRequest?: string) => ({
      caller: { ...d.ctx('ScheduleKeyDeletion'), input: { ...input, ...over }, ...(approvedRequest ? { approvedRequest } : {}) },
      action: 'kms:ScheduleKeyDeletion',
      keys: [],
    });
    const gated = await quorum.admit(asKms({})).then(() => undefined, (e: unknown) => e);
    expect(gated).toMatchObject({ code: 'AccessDenied', approvalRequestId: expect.stringMatching(/^apr-/) });
    const kmsId = (gated as { approvalRequestId: string }).approvalRequestId;
    await running(kmsId);
    await expect(quorum.admit(asKms({ PendingWindowInDays: 7 }, kmsId))).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(quorum.admit(asKms({ KeyId: '00000000-0000-4000-8000-000000000000' }, kmsId))).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(quorum.admit(asKms({}, kmsId))).resolves.toBeUndefined();
  });
});
