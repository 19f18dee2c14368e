// Ceremony transcripts (main/ceremony/transcript.ts) and their admin routes (GET
// /admin/v1/approvals/ID/transcript, POST /admin/v1/audit/verify-transcript), in process over a real
// SQLite store and audit log and a Quorum that is not a dev one: a 2-of-3 operator add run to EXECUTED
// (with a refused signature on the way and unrelated entries around it) gives a transcript with every
// field, step and audit entry that names it and the heads around them, which verifies; altering its
// head, a cited hash or a cited entry's text, its parameters or a signature (also one given without a
// public key, which only the appliance's record of the approval can vouch for), or leaving an entry
// out, makes it fail, as does rewriting the log under it. A pending request has none (409); a failed and a
// cancelled one have theirs; the Markdown shows the approvals' operators and fingerprints.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalView } from '../../main/console/index.js';
import type { AdminDeps } from '../../main/api/admin/routes.js';
import { renderTranscriptMarkdown, verifyTranscript, type Transcript, type TranscriptStep } from '../../main/ceremony/transcript.js';
import { adminCaller, approveWith, custodian, openQuorumAdmin } from '../support/custodians.js';
import type { Domain } from '../support/domain.js';
import { sqliteOf, writeSql } from '../support/sqlite.js';

const TOKEN = 'transcript-test-token';
type View = ApprovalView;
interface Row { seq: number; entry: string; hash: Buffer }

const alice = custodian('ed25519');
const bob = custodian('p256');
const carol = custodian('p256', 'ieee-p1363');
const dave = custodian('ed25519');
const erin = custodian('p256');
const mallory = custodian('ed25519');

let d: Domain;
let deps: AdminDeps;
const call = adminCaller(() => deps, TOKEN);
const approve = approveWith(call);
const statementOf = (v: View): Buffer => Buffer.from(v.statement, 'base64');
const rows = () => sqliteOf(d.store).all<Row>('SELECT seq, entry, hash FROM audit_log ORDER BY seq');
const copy = (t: Transcript): Transcript => JSON.parse(JSON.stringify(t)) as Transcript;
const verifies = async (t: unknown) => {
  const { status, body } = await call('POST', '/audit/verify-transcript', t);
  return { status, body };
};
const transcriptOf = async (id: string): Promise<Transcript> => {
  const r = await call('GET', `/approvals/${id}/transcript`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as unknown as Transcript;
};
/** A gated operator change: the request it became. */
const requested = async (method: string, path: string, body?: unknown): Promise<View> => {
  const r = await call(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.approvalRequest as View;
};
/** An entry no approval request names, as other work writes between a ceremony's steps. */
const unrelated = () => d.audit.append({ principal: 'kura:admin', source: 'admin', operation: 'CreateCredential', outcome: 'ok' });

let add: View;
let added: Transcript;
let signatures: { alice: string; bob: string };

beforeAll(async () => {
  ({ d, deps } = await openQuorumAdmin(TOKEN));
  for (const [name, c] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
    expect((await call('POST', '/operators', { name, publicKey: c.publicPem })).status).toBe(200);
  }
  expect((await call('PUT', '/quorum/operators', { threshold: 2, operators: ['alice', 'bob', 'carol'] })).status).toBe(200);
  await unrelated();
  d.clock.advance(1000);
  add = await requested('POST', '/operators', { name: 'dave', publicKey: dave.publicPem });
});

afterAll(async () => {
  await d?.close();
});

describe('a 2-of-3 operator add', () => {
  it('has no transcript while it is pending (409), nor does a request that does not exist (404)', async () => {
    expect(await call('GET', `/approvals/${add.id}/transcript`)).toMatchObject({ status: 409, body: { error: 'InvalidState' } });
    expect(await call('GET', '/approvals/apr-000000000000000000000000/transcript')).toMatchObject({ status: 404, body: { error: 'NotFound' } });
  });

  it('runs to EXECUTED: a refused signature, alice, an unrelated entry, bob', async () => {
    d.clock.advance(1000);
    expect((await approve(add.id, mallory.sign(statementOf(add)))).status).toBe(403);
    d.clock.advance(1000);
    const a = alice.sign(statementOf(add));
    expect((await approve(add.id, a, 'alice')).body).toMatchObject({ status: 'PENDING' });
    await unrelated();
    d.clock.advance(1000);
    const b = bob.sign(statementOf(add));
    expect((await approve(add.id, b)).body).toMatchObject({ status: 'EXECUTED' });
    signatures = { alice: a.toString('base64'), bob: b.toString('base64') };
    await unrelated();
    added = await transcriptOf(add.id);
  });

  it('its transcript names the request, its policy, every step in time order and the material\'s fingerprint', async () => {
    const t = added;
    const view = (await call('GET', `/approvals/${add.id}`)).body as unknown as View;
    expect(t.format).toBe('kura-transcript/v1');
    expect(t.applianceId).toBe(d.applianceId);
    expect(t.request).toEqual({
      id: add.id,
      action: 'kura:OperatorAdd',
      actionClass: 'operators',
      parameters: add.parameters,
      parametersDigest: createHash('sha256').update(add.parameters).digest('hex'),
      requester: 'kura:admin',
      createdAt: add.createdAt,
      expiresAt: add.expiresAt,
      status: 'EXECUTED',
      outcome: 'applied',
      executedAt: view.executedAt,
    });
    expect(Buffer.from(t.statement).equals(statementOf(add))).toBe(true);
    expect(t.policy).toEqual({ actionClass: 'operators', threshold: 2, operators: ['alice', 'bob', 'carol'] });
    expect(t.steps.map((s) => s.step)).toEqual(['requested', 'refused', 'approved', 'approved', 'action', 'executed']);
    const approvals = t.steps.filter((s): s is Extract<TranscriptStep, { step: 'approved' }> => s.step === 'approved');
    expect(approvals).toEqual([
      { step: 'approved', at: expect.any(String), operator: 'alice', fingerprint: alice.fingerprint, signature: signatures.alice, publicKey: alice.publicPem },
      { step: 'approved', at: expect.any(String), operator: 'bob', fingerprint: bob.fingerprint, signature: signatures.bob, publicKey: bob.publicPem },
    ]);
    expect(t.steps[1]).toEqual({ step: 'refused', at: expect.any(String), by: 'kura:admin', operation: 'ApprovalSubmitted', errorCode: 'AccessDenied' });
    expect(t.steps[4]).toMatchObject({ step: 'action', by: 'kura:quorum', operation: 'OperatorAdd', result: 'ok' });
    expect(t.steps.map((s) => Date.parse(s.at))).toEqual(t.steps.map((s) => Date.parse(s.at)).sort((x, y) => x - y));
    expect(t.material).toEqual([{ name: 'OperatorKeyFingerprint', value: dave.fingerprint, from: 'parameters' }]);
  });

  it('cites every audit entry that names it, as stored, with the heads just before and at the last', async () => {
    const all = await rows();
    const naming = all.filter((r) => (JSON.parse(r.entry) as { details?: { approvalRequestId?: string } }).details?.approvalRequestId === add.id);
    expect(added.audit.entries).toEqual(naming.map((r) => ({ seq: r.seq, hash: r.hash.toString('hex'), entry: r.entry })));
    expect(naming.map((r) => JSON.parse(r.entry).operation)).toEqual(['ApprovalRequested', 'ApprovalSubmitted', 'ApprovalSubmitted', 'ApprovalSubmitted', 'OperatorAdd', 'ApprovalExecuted']);
    // The unrelated entry between alice's and bob's approvals is not cited; those before and after bound it.
    expect(naming.at(-1)!.seq - naming[0]!.seq).toBe(naming.length);
    const before = all.find((r) => r.seq === naming[0]!.seq - 1)!;
    expect(added.audit.headBefore).toBe(`${before.seq}:${before.hash.toString('hex')}`);
    expect(added.audit.headAfter).toBe(`${naming.at(-1)!.seq}:${naming.at(-1)!.hash.toString('hex')}`);
    expect(all.at(-1)!.seq).toBeGreaterThan(naming.at(-1)!.seq);
  });

  it('verifies against the log, through the admin API and directly', async () => {
    expect(await verifies(added)).toEqual({ status: 200, body: { ok: true, problems: [] } });
    expect(await verifyTranscript(added, d.audit)).toEqual({ ok: true, problems: [] });
  });

  it('does not verify once its head after, its head before, a cited hash or a cited entry\'s text is altered', async () => {
    const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
    const headAfter = copy(added);
    const [seq, hash] = headAfter.audit.headAfter.split(':');
    headAfter.audit.headAfter = `${seq}:${flip(hash!)}`;
    const r = await verifies(headAfter);
    expect(r.body.ok).toBe(false);
    expect(r.body.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^headAfter: entry \d+'s hash in the log is/)]));

    const headBefore = copy(added);
    headBefore.audit.headBefore = headBefore.audit.headBefore.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    expect((await verifies(headBefore)).body).toMatchObject({ ok: false, problems: [expect.stringMatching(/^headBefore: /)] });

    const citedHash = copy(added);
    citedHash.audit.entries[2]!.hash = flip(citedHash.audit.entries[2]!.hash);
    expect((await verifies(citedHash)).body).toMatchObject({ ok: false, problems: [expect.stringMatching(/its hash in the log is/)] });

    // Bob's approval rewritten as carol's: the text no longer matches the log.
    const text = copy(added);
    const bobs = text.audit.entries.find((e) => e.entry.includes('"operatorName":"bob"'))!;
    bobs.entry = bobs.entry.replace('"operatorName":"bob"', '"operatorName":"carol"');
    const textAnswer = (await verifies(text)).body;
    expect(textAnswer.ok).toBe(false);
    expect(textAnswer.problems).toContain(`entry ${bobs.seq}: its text differs from the log's`);
  });

  it('does not verify with an entry left out, other parameters, a forged signature, or another shape', async () => {
    const omitted = copy(added);
    const [dropped] = omitted.audit.entries.splice(1, 1);
    expect((await verifies(omitted)).body.problems).toContain(`entry ${dropped!.seq} names approval request ${add.id} but the transcript leaves it out`);

    const params = copy(added);
    params.request.parameters = params.request.parameters.replace('"dave"', '"dan"');
    expect((await verifies(params)).body.problems).toEqual(expect.arrayContaining(['the parameters digest is not the SHA-256 of the parameters', expect.stringMatching(/parameters differ\(s\) from the appliance's record/)]));

    const forged = copy(added);
    const step = forged.steps.find((s) => s.step === 'approved') as Extract<TranscriptStep, { step: 'approved' }>;
    step.signature = mallory.sign(Buffer.from(forged.statement)).toString('base64');
    expect((await verifies(forged)).body).toEqual({ ok: false, problems: ["alice's signature does not verify over the statement"] });

    const swapped = copy(added);
    (swapped.steps.find((s) => s.step === 'approved') as { publicKey: string }).publicKey = mallory.publicPem;
    expect((await verifies(swapped)).body).toEqual({ ok: false, problems: [`alice's public key does not have the fingerprint ${alice.fingerprint}`] });

    expect((await verifies({ format: 'kura-transcript/v0' })).body).toEqual({ ok: false, problems: ['the transcript\'s format is not kura-transcript/v1'] });
    const noEntries = copy(added);
    noEntries.audit.entries = [];
    expect((await verifies(noEntries)).body).toMatchObject({ ok: false, problems: expect.arrayContaining(['audit.entries is not a non-empty list']) });
    expect(await call('POST', '/audit/verify-transcript', '[1]')).toMatchObject({ status: 400, body: { error: 'Serialization' } });
    expect((await call('POST', '/audit/verify-transcript', undefined, 'wrong')).status).toBe(403);
  });

  it('does not verify with its policy or material section changed (the quorum on record; what the request names)', async () => {
    const policy = copy(added);
    policy.policy = { actionClass: 'operators', threshold: 3, operators: ['alice', 'bob', 'carol'] };
    expect((await verifies(policy)).body).toEqual({ ok: false, problems: [`the policy section differs from the quorum request ${add.id} was made under (2 of alice, bob, carol)`] });

    const material = copy(added);
    material.material = [{ name: 'KeyId', value: '1234abcd-12ab-34cd-56ef-1234567890ab', from: 'parameters' }];
    expect((await verifies(material)).body).toEqual({ ok: false, problems: ['the material section is not what the request names'] });
    // Checked without the appliance's records too: the request itself says what it touched.
    expect((await verifyTranscript(material, d.audit)).problems).toContain('the material section is not what the request names');
    // The same content with its keys in another order is the same section.
    const reordered = copy(added);
    reordered.material = reordered.material.map((m) => ({ from: m.from, value: m.value, name: m.name }));
    expect((await verifies(reordered)).body).toEqual({ ok: true, problems: [] });
  });

  it('an approval without a public key (its operator since removed) verifies only as the appliance recorded it', async () => {
    const withoutKey = (signature?: string) => {
      const t = copy(added);
      const step = t.steps.find((s) => s.step === 'approved') as Extract<TranscriptStep, { step: 'approved' }>;
      step.publicKey = null;
      if (signature !== undefined) step.signature = signature;
      return t;
    };
    expect((await verifies(withoutKey())).body).toEqual({ ok: true, problems: [] });
    const forged = withoutKey(Buffer.alloc(64, 7).toString('base64'));
    expect((await verifies(forged)).body).toEqual({ ok: false, problems: ["alice's signature cannot be checked: the transcript gives no public key, and it is not the signature this appliance recorded"] });
    expect(await verifyTranscript(withoutKey(), d.audit)).toEqual({ ok: false, problems: ["alice's signature cannot be checked: the transcript gives no public key, and no record of the approval is at hand"] });
  });

  it('still verifies after a later refused approval names the request; a new transcript cites that too', async () => {
    expect((await approve(add.id, carol.sign(statementOf(add)))).status).toBe(409);
    expect(await verifies(added)).toMatchObject({ body: { ok: true } });
    const again = await transcriptOf(add.id);
    expect(again.audit.entries).toHaveLength(added.audit.entries.length + 1);
    expect(again.steps.at(-1)).toMatchObject({ step: 'refused', errorCode: 'InvalidState' });
    expect(await verifies(again)).toMatchObject({ body: { ok: true } });
  });

  it('renders as printable Markdown with the approvals\' operators and fingerprints, and the audit entries', () => {
    const md = renderTranscriptMarkdown(added);
    expect(md).toMatch(new RegExp(`^# Ceremony transcript: ${add.id}$`, 'm'));
    expect(md).toContain('| # | Operator | Key fingerprint | Time | Signature (base64) |');
    expect(md).toMatch(new RegExp(`^\\| 1 \\| alice \\| \`${alice.fingerprint}\` \\| .+ \\| \`${signatures.alice.replace(/[+]/g, '\\+')}\` \\|$`, 'm'));
    expect(md).toMatch(new RegExp(`^\\| 2 \\| bob \\| \`${bob.fingerprint}\` \\|`, 'm'));
    expect(md).toContain(`Chain head before: \`${added.audit.headBefore}\``);
    expect(md).toContain(`Chain head after: \`${added.audit.headAfter}\``);
    for (const e of added.audit.entries) expect(md).toContain(`| ${e.seq} | \`${e.hash}\` |`);
    expect(md).toContain(added.request.parametersDigest);
    expect(md).toContain(dave.fingerprint);
  });
});

describe('failed and cancelled requests', () => {
  it('a request whose action fails when it runs has a transcript that ends "failed" and verifies', async () => {
    // Two requests to enrol erin: the first to run takes the name, so the second fails when it runs.
    const first = await requested('POST', '/operators', { name: 'erin', publicKey: erin.publicPem });
    const second = await requested('POST', '/operators', { name: 'erin', publicKey: mallory.publicPem });
    for (const r of [first, second]) {
      await approve(r.id, alice.sign(statementOf(r)));
      await approve(r.id, carol.sign(statementOf(r)));
    }
    const t = await transcriptOf(second.id);
    expect(t.request).toMatchObject({ status: 'FAILED', outcome: expect.stringMatching(/^AlreadyExists: /) });
    expect(t.steps.at(-1)).toEqual({ step: 'failed', at: expect.any(String), outcome: t.request.outcome });
    expect(await verifies(t)).toMatchObject({ body: { ok: true } });
  });

  it('a cancelled request has a transcript that ends "cancelled" and verifies', async () => {
    const r = await requested('DELETE', '/operators/carol');
    await approve(r.id, bob.sign(statementOf(r)));
    expect((await call('POST', `/approvals/${r.id}/cancel`, {})).status).toBe(200);
    const t = await transcriptOf(r.id);
    expect(t.steps.map((s) => s.step)).toEqual(['requested', 'approved', 'cancelled']);
    expect(t.steps.at(-1)).toMatchObject({ by: 'kura:admin' });
    expect(t.request.executedAt).toBeNull();
    expect(await verifies(t)).toMatchObject({ body: { ok: true } });
  });
});

describe('a rewritten log', () => {
  it('a transcript no longer verifies once an entry before its head after is changed in the database', async () => {
    const seq = added.audit.entries[3]!.seq;
    const entry = added.audit.entries[3]!.entry;
    await writeSql(d.store, (sql) => sql.run('UPDATE audit_log SET entry = ? WHERE seq = ?', entry.replace('"outcome":"ok"', '"outcome":"error"'), seq));
    const r = (await verifies(added)).body;
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(expect.arrayContaining([`the audit chain does not verify: entry ${seq}: its content does not match its hash (the entry was changed)`, `entry ${seq}: its text differs from the log's`]));
  });
});

describe('a wall clock stepped back during a ceremony', () => {
  it('lists its steps in the order they happened when the wall clock was stepped back during the ceremony', async () => {
    const req = await requested('POST', '/operators', { name: 'zoe', publicKey: custodian('ed25519').publicPem });
    d.clock.advance(1000);
    expect((await approve(req.id, alice.sign(statementOf(req)))).body).toMatchObject({ status: 'PENDING' });
    // NTP steps the clock back three minutes (less than would refuse the request) before bob signs.
    d.clock.step(-180_000);
    expect((await approve(req.id, bob.sign(statementOf(req)))).body).toMatchObject({ status: 'EXECUTED' });
    const t = await transcriptOf(req.id);
    expect(t.steps.map((s) => s.step)).toEqual(['requested', 'approved', 'approved', 'action', 'executed']);
    expect(t.steps.filter((s): s is Extract<TranscriptStep, { step: 'approved' }> => s.step === 'approved').map((s) => s.operator)).toEqual(['alice', 'bob']);
    // The times are shown as the clock read them.
    expect(Date.parse(t.steps[2]!.at)).toBeLessThan(Date.parse(t.steps[0]!.at));
    d.clock.step(180_000);
  });

  it('puts an approval the log names no operator for after the request, not before it', async () => {
    const req = await requested('POST', '/operators', { name: 'yuri', publicKey: custodian('ed25519').publicPem });
    d.clock.advance(1000);
    expect((await approve(req.id, alice.sign(statementOf(req)))).body).toMatchObject({ status: 'PENDING' });
    d.clock.advance(1000);
    expect((await approve(req.id, bob.sign(statementOf(req)))).body).toMatchObject({ status: 'EXECUTED' });
    // An entry as a release before operatorName was logged wrote it: alice's approval has none to match.
    await writeSql(d.store, (sql) =>
      sql.run(`UPDATE audit_log SET entry = replace(entry, '"operatorName":"alice"', '"operatorName":"?"') WHERE entry LIKE '%ApprovalSubmitted%' AND entry LIKE ?`, `%${req.id}%`),
    );
    const t = await transcriptOf(req.id);
    expect(t.steps.map((s) => s.step)).toEqual(['requested', 'approved', 'approved', 'action', 'executed']);
  });
});
