// The operator console's own commands (main/api/admin/console-commands.ts) through POST
// /admin/v1/commands/NAME, as the browser console calls them, over a real SQLite store whose KMS calls
// the quorum gates (as app.ts wires it): status and the dev appliance's refusal to seal; keys created,
// paged, filtered and searched; a key's detail (every alias and rotation, past one page); enable,
// disable, a deletion scheduled and cancelled; the BYOK ceremony's steps — import parameters with
// fingerprints, material wrapped with RSA-OAEP by the test, an import the key-import quorum gates, run by
// two approvals; a gated deletion; the audit log's pages, newest first; the dashboard's counts; and the
// desktop's entry point (runConsoleCommand), which needs a session for everything but signing in, the
// status and unsealing by shares, and where an operator may cancel the gated KMS call they asked for
// (made as their kura-console principal).
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConsoleCommand, type AdminDeps } from '../../../main/api/admin/routes.js';
import { RefusalLog } from '../../../main/audit/refusals.js';
import type { ApprovalView, KeyDetailView, KeyMetadataView, KeyPageView } from '../../../main/console/index.js';
import { adminCaller, approveWith, custodian, openQuorumAdmin, type Custodian } from '../../support/custodians.js';
import { auditEntriesAfter, type Domain } from '../../support/domain.js';
import { materialRecord } from '../../store/contract/harness.js';

const TOKEN = 'test-admin-token';
const ACCOUNT = '111122223333';
const team: Record<'alice' | 'bob' | 'carol', Custodian> = { alice: custodian('ed25519'), bob: custodian('p256'), carol: custodian('ed25519') };

let d: Domain;
let deps: AdminDeps;
const http = adminCaller(() => deps, TOKEN);
const approve = approveWith(http);
/** A console command by name, with the admin token. */
const run = (name: string, input: unknown = {}, token?: string) => http('POST', `/commands/${name}`, input, token);
const ok = async <T>(name: string, input: unknown = {}): Promise<T> => {
  const r = await run(name, input);
  expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body as T;
};

async function approvedByTwo(view: ApprovalView): Promise<ApprovalView> {
  const statement = Buffer.from(view.statement, 'base64');
  await approve(view.id, team.alice.sign(statement), 'alice');
  const done = await approve(view.id, team.bob.sign(statement), 'bob');
  return done.body as unknown as ApprovalView;
}

beforeAll(async () => {
  ({ d, deps } = await openQuorumAdmin(TOKEN, { gateKms: true }));
  deps.consoleAccount = { accountId: ACCOUNT, region: 'us-east-1' };
  deps.endpoints = () => ({ kms: 'http://127.0.0.1:7420', console: 'http://127.0.0.1:7420/console/' });
  for (const [name, c] of Object.entries(team)) expect((await http('POST', '/operators', { name, publicKey: c.publicPem })).status).toBe(200);
});

afterAll(async () => {
  await d?.close();
});

describe('the appliance', () => {
  it('status names the appliance; a dev appliance refuses to seal; unknown commands and inputs are refused', async () => {
    expect(await ok('status')).toEqual({ state: 'unsealed', mode: 'dev', threshold: expect.any(Number), shares: expect.any(Number), progress: 0, applianceId: d.applianceId, version: 'test' });
    const seal = await run('seal');
    expect([seal.status, seal.body.error]).toEqual([409, 'InvalidState']);
    expect((await run('no.such.command')).status).toBe(404);
    expect((await run('keys.list', { limit: 0 })).status).toBe(400);
    // Before sign-in the console may read the seal state and give shares, not a PIN.
    expect((await run('status', {}, 'not-a-token')).body).toMatchObject({ state: 'unsealed' });
    expect((await run('unseal', { pin: '1234' }, 'not-a-token')).status).toBe(403);
    expect((await run('dashboard', {}, 'not-a-token')).status).toBe(403);
  });

  it('a route whose path field is malformed says which field, rather than that there is no such route', async () => {
    for (const [method, path, field] of [
      ['GET', '/operators/a%20b', 'name'],
      ['DELETE', '/credentials/akia-lower', 'accessKeyId'],
      ['GET', '/approvals/x%2Fy', 'id'],
      ['DELETE', `/xks/stores/s/keys/${'k'.repeat(129)}`, 'externalKeyId'],
    ] as const) {
      const res = await http(method, path);
      expect([res.status, res.body.error], path).toEqual([400, 'Validation']);
      expect(res.body.message, path).toMatch(new RegExp(`^"${field}" in the path is not one`));
    }
    expect((await http('GET', '/no/such/route')).body).toEqual({ error: 'NotFound', message: 'No admin route GET /no/such/route.' });
  });

  it('an unsealed appliance refuses shares it would not check: no unseal is audited, nothing reconnects, and the refusals are coalesced', async () => {
    let reconnects = 0;
    const onUnsealed = deps.onUnsealed;
    deps.onUnsealed = async () => {
      reconnects++;
    };
    const refusals = new RefusalLog({ audit: d.audit, clock: d.clock, monotonic: d.clock.monotonic });
    deps.refusals = refusals;
    try {
      const before = await d.store.audit.count();
      for (let i = 0; i < 20; i++) {
        const r = await http('POST', '/unseal', { share: `not-a-share-${i}` }, 'not-a-token');
        expect([r.status, r.body.error]).toEqual([409, 'InvalidState']);
      }
      expect(reconnects).toBe(0);
      const unseals = (await auditEntriesAfter(d, before)).filter((e) => e.operation === 'Unseal');
      // The first refusal of the window in full; the other 19 are counted when the window closes.
      expect(unseals).toEqual([expect.objectContaining({ principal: 'anonymous', outcome: 'error', errorCode: 'InvalidState' })]);
    } finally {
      deps.onUnsealed = onUnsealed;
      delete deps.refusals;
      await refusals.stop();
    }
  });

  it('network.status lists the non-loopback interfaces that are up', async () => {
    const n = await ok<{ offline: boolean; interfaces: { name: string; address: string }[] }>('network.status');
    expect(n.offline).toBe(n.interfaces.length === 0);
    expect(n.interfaces.every((i) => i.address !== '127.0.0.1' && i.address !== '::1')).toBe(true);
  });
});

describe('keys', () => {
  const made: KeyMetadataView[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) made.push(await ok<KeyMetadataView>('keys.create', { description: i % 2 ? `odd key ${i}` : `even 100% key ${i}` }));
    made.push(await ok<KeyMetadataView>('keys.create', { description: 'to import', origin: 'EXTERNAL' }));
  });

  it('keys.create answers KeyMetadata in the chosen account; keys.list pages in key ID order with the total', async () => {
    expect(made[0]).toMatchObject({ AWSAccountId: ACCOUNT, KeyState: 'Enabled', Origin: 'AWS_KMS', Description: 'even 100% key 0' });
    const ids = made.map((k) => k.KeyId).sort();
    const first = await ok<KeyPageView>('keys.list', { limit: 3 });
    expect(first).toMatchObject({ accountId: ACCOUNT, region: 'us-east-1', total: 8 });
    expect(first.keys.map((k) => k.keyId)).toEqual(ids.slice(0, 3));
    expect(first.next).toBe(ids[2]);
    const rest = await ok<KeyPageView>('keys.list', { limit: 10, after: first.next });
    expect(rest.keys.map((k) => k.keyId)).toEqual(ids.slice(3));
    expect(rest.next).toBeNull();
    expect(rest.keys[0]).toEqual({ keyId: ids[3], arn: expect.stringMatching(/^arn:aws:kms:us-east-1:111122223333:key\//), state: expect.any(String), origin: expect.any(String), keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: expect.any(String), createdAt: expect.any(String) });
  });

  it('filters by state and origin, and searches descriptions and IDs as literal text', async () => {
    expect((await ok<KeyPageView>('keys.list', { origin: 'EXTERNAL' })).keys.map((k) => k.description)).toEqual(['to import']);
    expect((await ok<KeyPageView>('keys.list', { state: 'PendingImport' })).total).toBe(1);
    expect((await ok<KeyPageView>('keys.list', { search: 'odd' })).total).toBe(3);
    // "%" and "_" are text, not wildcards.
    expect((await ok<KeyPageView>('keys.list', { search: '100%' })).total).toBe(4);
    expect((await ok<KeyPageView>('keys.list', { search: '_' })).total).toBe(0);
    expect((await ok<KeyPageView>('keys.list', { search: made[5]!.KeyId.slice(0, 13) })).keys.map((k) => k.keyId)).toContain(made[5]!.KeyId);
    expect((await ok<KeyPageView>('keys.list', { accountId: '999988887777' })).total).toBe(0);
  });

  it('keys.show gives metadata, aliases, tags, the policy, rotations and the key\'s recent audit entries', async () => {
    const k = made[1]!;
    const shown = await ok<{ metadata: KeyMetadataView; aliases: string[]; policy: string; rotationEnabled: boolean; recentAudit: { operation: string; keyId?: string }[] }>('keys.show', { keyId: k.KeyId });
    expect(shown.metadata.KeyId).toBe(k.KeyId);
    expect(shown.aliases).toEqual([]);
    expect(JSON.parse(shown.policy).Statement).toBeDefined();
    expect(shown.rotationEnabled).toBe(false);
    expect(shown.recentAudit.map((e) => e.operation)).toContain('CreateKey');
    expect(shown.recentAudit.every((e) => e.keyId === k.KeyId)).toBe(true);
    expect((await run('keys.show', { keyId: '00000000-0000-0000-0000-000000000000' })).body.error).toBe('NotFound');
  });

  it('keys.show lists every alias and rotation of the key, past the first page of ListAliases (50) and ListKeyRotations (100)', async () => {
    const k = made[3]!;
    const aliases = Array.from({ length: 51 }, (_, n) => `alias/show-${String(n).padStart(2, '0')}`);
    // 51 aliases as rows: CreateAlias stops at AWS's 50 per key, but a key may hold more from a release
    // of Kura before the quota. 101 automatic rotations as rows: the scheduler would take 101 rotation
    // periods to make them.
    await d.store.db.write(async (tx) => {
      const at = d.clock.nowMs();
      for (const aliasName of aliases) await d.store.aliases.insert(tx, { accountId: ACCOUNT, region: d.ctx('x').region, aliasName, keyId: k.KeyId, createdAt: at, updatedAt: at });
      for (let n = 0; n < 101; n++) await d.store.keys.insertMaterial(tx, materialRecord(k.KeyId, { createdAt: d.clock.nowMs() + n, rotationType: 'AUTOMATIC', rotatedAt: d.clock.nowMs() + n }));
    });
    const shown = await ok<KeyDetailView>('keys.show', { keyId: k.KeyId });
    expect(shown.aliases).toEqual(aliases);
    expect(shown.rotations).toHaveLength(101);
    expect(new Set(shown.rotations.map((m) => m.KeyMaterialId)).size).toBe(101);
  });

  it('enable, disable, and a deletion scheduled then cancelled (no key-deletion policy yet)', async () => {
    const id = made[2]!.KeyId;
    expect((await ok<KeyMetadataView>('keys.disable', { keyId: id })).KeyState).toBe('Disabled');
    expect((await ok<KeyMetadataView>('keys.enable', { keyId: id })).KeyState).toBe('Enabled');
    const scheduled = await ok<{ applied: boolean; keyState: string; deletionDate: string }>('keys.scheduleDeletion', { keyId: id, pendingWindowInDays: 7 });
    expect(scheduled).toMatchObject({ applied: true, keyId: expect.stringMatching(new RegExp(`:key/${id}$`)), keyState: 'PendingDeletion' });
    expect(Date.parse(scheduled.deletionDate) - d.clock.nowMs()).toBe(7 * 86_400_000);
    expect((await ok<KeyMetadataView>('keys.cancelDeletion', { keyId: id })).KeyState).toBe('Disabled');
  });

  it('the BYOK ceremony: parameters with fingerprints, material wrapped off-line, an import two custodians approve', async () => {
    expect((await http('PUT', '/quorum/key-import', { threshold: 2, operators: ['alice', 'bob', 'carol'] })).status).toBe(200);
    const key = made[7]!;
    const params = await ok<{ publicKey: string; publicKeyPem: string; importToken: string; publicKeyFingerprint: string; importTokenFingerprint: string; parametersValidTo: string }>('imports.parameters', {
      keyId: key.KeyId,
      wrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      wrappingKeySpec: 'RSA_2048',
    });
    expect(params.publicKeyFingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){15}$/);
    expect(params.importTokenFingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){15}$/);
    expect(createPublicKey(params.publicKeyPem).export({ format: 'der', type: 'spki' }).toString('base64')).toBe(params.publicKey);
    expect(Date.parse(params.parametersValidTo) - d.clock.nowMs()).toBe(24 * 3_600_000);

    const material = randomBytes(32);
    const wrapped = publicEncrypt({ key: params.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
    const asked = await run('imports.material', { keyId: key.KeyId, importToken: params.importToken, encryptedKeyMaterial: wrapped.toString('base64'), expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(asked.status).toBe(202);
    const request = asked.body.approvalRequest as ApprovalView;
    expect(request).toMatchObject({ action: 'kms:ImportKeyMaterial', actionClass: 'key-import', requester: `arn:aws:iam::${ACCOUNT}:user/kura-console/kura-admin` });
    expect(request.parameters).not.toContain(material.toString('base64'));
    expect((await ok<{ metadata: KeyMetadataView }>('keys.show', { keyId: key.KeyId })).metadata.KeyState).toBe('PendingImport');
    expect((await approvedByTwo(request)).status).toBe('EXECUTED');
    expect((await ok<{ metadata: KeyMetadataView }>('keys.show', { keyId: key.KeyId })).metadata).toMatchObject({ KeyState: 'Enabled', Origin: 'EXTERNAL' });
  });

  it('a deletion the key-deletion quorum gates answers the approval request, and runs once approved', async () => {
    expect((await http('PUT', '/quorum/key-deletion', { threshold: 2, operators: ['alice', 'bob', 'carol'] })).status).toBe(200);
    const id = made[3]!.KeyId;
    const asked = await run('keys.scheduleDeletion', { keyId: id, pendingWindowInDays: 30 });
    expect(asked.status).toBe(202);
    const request = asked.body.approvalRequest as ApprovalView;
    expect(request.action).toBe('kms:ScheduleKeyDeletion');
    expect((await ok<{ metadata: KeyMetadataView }>('keys.show', { keyId: id })).metadata.KeyState).toBe('Enabled');
    expect((await approvedByTwo(request)).status).toBe('EXECUTED');
    expect((await ok<{ metadata: KeyMetadataView }>('keys.show', { keyId: id })).metadata.KeyState).toBe('PendingDeletion');
  });

  it('the dashboard counts keys by state and origin, pending approvals and the audit head', async () => {
    await run('keys.scheduleDeletion', { keyId: made[4]!.KeyId }); // pending approval
    const dash = await ok<{ keys: { total: number; byState: Record<string, number>; byOrigin: Record<string, number> }; pendingApprovals: number; audit: { entries: number; head: string }; endpoints: unknown; status: { state: string } }>('dashboard');
    expect(dash.status.state).toBe('unsealed');
    expect(dash.keys.total).toBe(8);
    expect(dash.keys.byOrigin).toEqual({ AWS_KMS: 7, EXTERNAL: 1 });
    expect(dash.keys.byState.PendingDeletion).toBe(1);
    expect(dash.pendingApprovals).toBe(1);
    expect(dash.audit.head).toMatch(/^[0-9a-f]{64}$/);
    expect(dash.endpoints).toEqual({ kms: 'http://127.0.0.1:7420', console: 'http://127.0.0.1:7420/console/' });
  });
});

describe('the audit log', () => {
  it('pages newest first with filters; next is the sequence number to page before', async () => {
    const all = await ok<{ entries: { seq: number; operation: string; outcome: string; hash: string }[]; next: number | null }>('audit.list', { limit: 5 });
    expect(all.entries).toHaveLength(5);
    const seqs = all.entries.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    const older = await ok<{ entries: { seq: number }[] }>('audit.list', { limit: 5, before: all.next });
    expect(older.entries[0]!.seq).toBe(seqs[4]! - 1);
    const created = await ok<{ entries: { operation: string }[] }>('audit.list', { operation: 'CreateKey', limit: 500 });
    expect(created.entries).toHaveLength(8);
    const failed = await ok<{ entries: { outcome: string }[] }>('audit.list', { outcome: 'error', limit: 500 });
    expect(failed.entries.length).toBeGreaterThan(0);
    expect(failed.entries.every((e) => e.outcome === 'error')).toBe(true);
  });
});

describe('the desktop entry point (runConsoleCommand)', () => {
  it('signs in without a session; every other command but status needs one; errors are answered, not thrown', async () => {
    expect(await runConsoleCommand(deps, undefined, 'keys.list', {})).toEqual({ ok: false, error: { code: 'AccessDenied', message: expect.stringMatching(/Sign in first/) } });
    expect(await runConsoleCommand(deps, undefined, 'status', {})).toMatchObject({ ok: true, status: 200, value: { state: 'unsealed' } });
    expect(await runConsoleCommand(deps, undefined, 'toString', {})).toMatchObject({ ok: false, error: { code: 'UnknownOperation' } });
    // Shares need no credential: an unseal through the desktop is the console's, not the admin token holder's.
    const before = await d.store.audit.count();
    expect(await runConsoleCommand(deps, undefined, 'unseal', { shares: ['not-a-share'] })).toMatchObject({ ok: false, error: { code: 'InvalidState' } });
    expect((await auditEntriesAfter(d, before)).filter((e) => e.operation === 'Unseal').map((e) => e.principal)).toEqual(['kura:console']);
    expect((await http('PUT', '/operators/carol/passphrase', { passphrase: 'carol at the desktop app' })).status).toBe(200);
    const login = await runConsoleCommand(deps, undefined, 'session.login', { operator: 'carol', passphrase: 'carol at the desktop app' });
    expect(login).toMatchObject({ ok: true, value: { operator: 'carol' } });
    const token = ((login as { value: { token: string } }).value).token;
    expect(await runConsoleCommand(deps, token, 'keys.list', { limit: 1 })).toMatchObject({ ok: true, value: { total: 8 } });
    // Refused by the contract once the session is known: audited as the command, as over HTTP
    // (api/admin/refusals.ts); a message that quotes the input shows its control characters escaped.
    const refusedAt = await d.store.audit.count();
    expect(await runConsoleCommand(deps, token, 'keys.list', { limit: 'x' })).toMatchObject({ ok: false, error: { code: 'Validation' } });
    expect((await auditEntriesAfter(d, refusedAt)).map((e) => [e.principal, e.operation, e.outcome, e.errorCode])).toEqual([['carol', 'keys.list', 'error', 'Validation']]);
    expect(await runConsoleCommand(deps, token, 'keys.show', { keyId: 'no\u001b[2Jsuch' })).toEqual({ ok: false, error: { code: 'NotFound', message: expect.stringContaining('no\\u001b[2Jsuch') } });
    const made = await runConsoleCommand(deps, token, 'keys.create', { description: 'made at the desktop' });
    expect(made).toMatchObject({ ok: true, value: { KeyState: 'Enabled' } });
    const asked = await runConsoleCommand(deps, token, 'keys.scheduleDeletion', { keyId: (made as { value: KeyMetadataView }).value.KeyId });
    expect(asked).toMatchObject({ ok: true, status: 202, value: { applied: false, approvalRequest: { requester: `arn:aws:iam::${ACCOUNT}:user/kura-console/carol` } } });
  });

  it('an operator cancels the KMS request they made in the console; another operator cannot', async () => {
    const signIn = async (operator: 'alice' | 'bob') => {
      expect((await http('PUT', `/operators/${operator}/passphrase`, { passphrase: `${operator} at the desktop app` })).status).toBe(200);
      const login = await runConsoleCommand(deps, undefined, 'session.login', { operator, passphrase: `${operator} at the desktop app` });
      return (login as { value: { token: string } }).value.token;
    };
    const [bob, alice] = [await signIn('bob'), await signIn('alice')];
    const made = (await runConsoleCommand(deps, bob, 'keys.create', {})) as { value: KeyMetadataView };
    const asked = (await runConsoleCommand(deps, bob, 'keys.scheduleDeletion', { keyId: made.value.KeyId })) as { value: { approvalRequest: ApprovalView } };
    const id = asked.value.approvalRequest.id;
    expect(await runConsoleCommand(deps, alice, 'approvals.cancel', { id })).toMatchObject({ ok: false, error: { code: 'AccessDenied' } });
    expect(await runConsoleCommand(deps, bob, 'approvals.cancel', { id })).toMatchObject({ ok: true, value: { status: 'CANCELLED' } });
  });
});

// Last: the key it makes in eu-west-1 would count in the audit pages above.
describe('Regions', () => {
  it('a key command acts only in a Region SigV4 accepts: no made-up one, none outside --regions, every one of the table', async () => {
    const refused = async (name: string, input: unknown, allowed: RegExp) => {
      const res = await run(name, input);
      expect([res.status, res.body.error], JSON.stringify(input)).toEqual([400, 'Validation']);
      expect(res.body.message).toMatch(allowed);
    };
    const before = (await ok<KeyPageView>('keys.list', {})).total;
    await refused('keys.create', { region: 'zz-fake-1' }, /"region" must be an AWS Region .*'zz-fake-1'/);
    await refused('keys.list', { region: 'zz-fake-1' }, /"region" must be an AWS Region/);
    // A Region the table knows whose name the old pattern did not (four letters before the first dash).
    expect(await ok<KeyPageView>('keys.list', { region: 'eusc-de-east-1' })).toMatchObject({ region: 'eusc-de-east-1', total: 0 });
    deps.allowedRegions = new Set(['eu-west-1', 'us-east-1']);
    try {
      await refused('keys.create', { region: 'us-west-2' }, /"region" must be one this appliance serves \(eu-west-1, us-east-1\), not 'us-west-2'/);
      expect((await ok<KeyMetadataView>('keys.create', { region: 'eu-west-1', description: 'in eu-west-1' })).Arn).toMatch(/^arn:aws:kms:eu-west-1:/);
      // No Region named, and the console's own not served: the first Region served, not a refusal.
      deps.allowedRegions = new Set(['eu-west-1', 'eu-central-1']);
      expect(await ok<KeyPageView>('keys.list', {})).toMatchObject({ region: 'eu-central-1', total: 0 });
    } finally {
      delete deps.allowedRegions;
    }
    expect((await ok<KeyPageView>('keys.list', {})).total).toBe(before);
  });
});
