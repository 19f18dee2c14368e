// `kura operators|quorum|approvals` against a real `kura serve --dev` process (issue 13's scriptable
// commands, whose names and --json fields scripts rely on), with custodians' keys made by the openssl
// command line: enrolment with the fingerprint openssl's own digest gives, a private key refused before
// it is sent, a 2-of-3 key-deletion policy set at once (a dev appliance), a ScheduleKeyDeletion through
// @aws-sdk/client-kms that becomes a request, approved by an off-line P-256 signature (`export`,
// `openssl dgst`, `submit`) and an in-place Ed25519 one (`sign --key`), an off-line Ed25519 signature
// (`openssl pkeyutl -rawin`), refusals (a flipped bit, an RSA key, a used request), and cancelling; then
// the executed deletion's ceremony transcript (`kura ceremony transcript`), checked against the log by
// `kura audit verify --transcript`, and refused once its head is edited.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateKeyCommand, DescribeKeyCommand, ScheduleKeyDeletionCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ED25519, opensslCustodianKey, P256 } from '../support/custodians.js';
import { kmsClient } from '../support/kms-client.js';
import { runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

interface Err { error: { code: string; message: string } }
interface View { id: string; status: string; approvals: { operator: string; fingerprint: string }[]; statement: string; threshold: number }

const dir = tempDataDir('kura-cli-approvals-');
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });


const opensslKey = (name: string, ...genpkeyArgs: string[]) => opensslCustodianKey(dir, name, ...genpkeyArgs);

describe('kura operators, quorum and approvals', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  const alice = opensslKey('alice', ...ED25519);
  const bob = opensslKey('bob', ...P256);
  const carol = opensslKey('carol', ...ED25519);
  const rsa = opensslKey('rsa', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');

  const kuraIn = (...args: string[]) => runKura([...args, '--data-dir', kura.dataDir]);
  /** `kura … --json`, expected to succeed: its parsed output. */
  const ok = async <T>(...args: string[]): Promise<T> => {
    const r = await kuraIn(...args, '--json');
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  /** `kura … --json`, expected to fail: the error. */
  const fails = async (...args: string[]): Promise<Err['error'] & { exit: number | null }> => {
    const r = await kuraIn(...args, '--json');
    expect(r.code, args.join(' ')).not.toBe(0);
    expect(r.stdout).toBe('');
    return { ...(JSON.parse(r.stderr) as Err).error, exit: r.code };
  };
  /** A ScheduleKeyDeletion that the key-deletion policy turns into a request: the request's ID. */
  const gatedDeletion = async (): Promise<{ keyId: string; requestId: string }> => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const e = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })).then(() => undefined, (x: Error) => x);
    expect(e?.name).toBe('AccessDeniedException');
    const requestId = /apr-[0-9a-f]{24}/.exec(e!.message)?.[0];
    expect(requestId, e!.message).toBeDefined();
    return { keyId, requestId: requestId! };
  };
  const keyState = async (keyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState;

  beforeAll(async () => {
    kura = await startKura();
    kms = kmsClient(kura);
  }, 60_000);
  afterAll(async () => {
    kms?.destroy();
    await kura?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('operators add prints the fingerprint openssl\'s digest gives, in groups; --json the operator', async () => {
    const r = await kuraIn('operators', 'add', 'alice', '--public-key', alice.pub);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Enrolled alice (ed25519).');
    expect(r.stdout).toContain(`Fingerprint: ${alice.sha256.match(/.{4}/g)!.join(' ')}\n`);
    const made = await ok<{ applied: boolean; operator: Record<string, string> }>('operators', 'add', 'bob', '--public-key', bob.pub);
    expect(made.applied).toBe(true);
    expect(Object.keys(made.operator)).toEqual(['name', 'algorithm', 'fingerprint', 'hasPassphrase', 'createdAt', 'publicKey']);
    expect(made.operator).toMatchObject({ name: 'bob', algorithm: 'ecdsa-p256', fingerprint: bob.sha256.match(/.{4}/g)!.join(' ') });
    expect(made.operator.publicKey).toBe(fs.readFileSync(bob.pub, 'utf8'));
    await ok('operators', 'add', 'carol', '--public-key', carol.pub);
    const list = await ok<{ name: string }[]>('operators', 'list');
    // A dev appliance has its own console operator, `dev`, from its first start.
    expect(list.map((o) => o.name)).toEqual(['dev', 'alice', 'bob', 'carol']);
    expect(await ok('operators', 'show', 'bob')).toEqual(made.operator);
  });

  it('operators add refuses a private key before sending it, and names what is missing', async () => {
    const e = await fails('operators', 'add', 'mallory', '--public-key', rsa.key);
    expect(e).toMatchObject({ code: 'Validation', exit: 1 });
    // Named with the file: the CLI's own check, made before anything is sent.
    expect(e.message.startsWith(`kura operators add: ${rsa.key}: `)).toBe(true);
    expect(e.message).toContain('a private key');
    expect(await fails('operators', 'add', '--public-key', alice.pub)).toMatchObject({ code: 'Usage', exit: 2 });
    expect(await fails('operators', 'add', 'mallory')).toMatchObject({ code: 'Usage', message: expect.stringContaining('--public-key is required') });
    expect(await fails('operators', 'add', 'mallory', '--public-key', file('missing.pem'))).toMatchObject({ code: 'File' });
    expect(await fails('operators', 'show', 'mallory')).toMatchObject({ code: 'NotFound' });
  });

  it('quorum set applies at once on a dev appliance; quorum show lists every class', async () => {
    const set = await ok<{ applied: boolean; policy: Record<string, unknown> }>('quorum', 'set', 'key-deletion', '--threshold', '2', '--operators', 'alice,bob,carol');
    expect(set).toEqual({ applied: true, policy: { actionClass: 'key-deletion', threshold: 2, operators: ['alice', 'bob', 'carol'], expiryMinutes: 30, updatedAt: expect.any(String) } });
    const shown = await ok<{ policies: unknown[]; classes: string[] }>('quorum', 'show');
    expect(shown).toEqual({ policies: [set.policy], classes: ['key-import', 'key-deletion', 'backup', 'key-store', 'operators', 'credentials', 'rekey'] });
    const text = await kuraIn('quorum', 'show');
    expect(text.stdout).toMatch(/^key-deletion +2 of alice, bob, carol; requests expire after 30 minute\(s\)/m);
    expect(text.stdout).toMatch(/^key-import +no policy: not gated$/m);
    expect(await fails('quorum', 'set', 'everything', '--threshold', '1', '--operators', 'alice')).toMatchObject({ code: 'Usage', exit: 2 });
    expect(await fails('quorum', 'set', 'key-import', '--threshold', '0', '--operators', 'alice')).toMatchObject({ code: 'Usage' });
    expect(await fails('quorum', 'set', 'key-import', '--threshold', '1', '--operators', 'alice,,bob')).toMatchObject({ code: 'Usage' });
    expect(await fails('quorum', 'set', 'key-import', '--threshold', '3', '--operators', 'alice,bob')).toMatchObject({ code: 'Validation', exit: 1 });
  });

  it('a gated deletion: list --json, export, an off-line P-256 signature, a refused flipped bit and RSA key, then sign --key runs it', async () => {
    const { keyId, requestId } = await gatedDeletion();
    const list = await ok<Record<string, unknown>[]>('approvals', 'list');
    expect(list).toEqual([{ id: requestId, action: 'kms:ScheduleKeyDeletion', status: 'PENDING', approvals: 0, threshold: 2, expiresAt: expect.any(String) }]);
    expect(Object.keys(list[0]!)).toEqual(['id', 'action', 'status', 'approvals', 'threshold', 'expiresAt']);

    const statement = file('statement');
    expect(await ok('approvals', 'export', requestId, '--out', statement)).toEqual({ id: requestId, out: statement, bytes: fs.statSync(statement).size });
    const view = await ok<View>('approvals', 'show', requestId);
    expect(fs.readFileSync(statement).equals(Buffer.from(view.statement, 'base64'))).toBe(true);
    expect(fs.statSync(statement).mode & 0o777).toBe(0o644);

    openssl('dgst', '-sha256', '-sign', bob.key, '-out', file('bob.sig'), statement);
    const flipped = fs.readFileSync(file('bob.sig'));
    flipped[flipped.length - 3]! ^= 0x10;
    fs.writeFileSync(file('flipped.sig'), flipped);
    expect(await fails('approvals', 'submit', requestId, '--signature', file('flipped.sig'), '--operator', 'bob')).toMatchObject({ code: 'AccessDenied', exit: 1 });
    const afterBob = await ok<View>('approvals', 'submit', requestId, '--signature', file('bob.sig'), '--operator', 'bob');
    expect(afterBob).toMatchObject({ id: requestId, status: 'PENDING', approvals: [{ operator: 'bob' }] });
    expect(await keyState(keyId)).toBe('Enabled');

    expect(await fails('approvals', 'sign', requestId, '--key', rsa.key)).toMatchObject({ code: 'Key', message: expect.stringContaining('Ed25519 or ECDSA P-256') });
    expect(await fails('approvals', 'sign', requestId, '--key', alice.pub)).toMatchObject({ code: 'Key' });
    const signed = await kuraIn('approvals', 'sign', requestId, '--key', alice.key);
    expect(signed.stderr).toBe('');
    expect(signed.stdout).toMatch(new RegExp(`^Approved ${requestId} as alice \\([0-9a-f ]+\\): 2 of 2 approval\\(s\\); EXECUTED at `));
    expect(await keyState(keyId)).toBe('PendingDeletion');

    // Executed: no more approvals.
    expect(await fails('approvals', 'sign', requestId, '--key', carol.key)).toMatchObject({ code: 'InvalidState' });
    expect((await ok<Record<string, unknown>[]>('approvals', 'list'))[0]).toMatchObject({ id: requestId, status: 'EXECUTED', approvals: 2 });
  });

  it('an off-line Ed25519 signature (openssl pkeyutl -rawin) without --operator counts; cancel stops the request', async () => {
    const { keyId, requestId } = await gatedDeletion();
    const statement = file('statement2');
    expect((await kuraIn('approvals', 'export', requestId, '--out', statement)).stdout).toContain(`openssl pkeyutl -sign -inkey key.pem -rawin -in ${statement}`);
    openssl('pkeyutl', '-sign', '-inkey', carol.key, '-rawin', '-in', statement, '-out', file('carol.sig'));
    const text = await kuraIn('approvals', 'submit', requestId, '--signature', file('carol.sig'));
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/1 of 2 approval\(s\); PENDING until /);
    // A link put where --out names (another user's, in /tmp) is refused, not followed: neither the file
    // it points to nor that file's mode changes (it was chmod 644 by name after the write).
    const victim = file('victim.token');
    fs.writeFileSync(victim, 'secret\n', { mode: 0o600 });
    fs.symlinkSync(victim, file('linked-statement'));
    expect(await fails('approvals', 'export', requestId, '--out', file('linked-statement'))).toMatchObject({ code: 'File', message: expect.stringContaining('(ELOOP)') });
    expect([fs.readFileSync(victim, 'utf8'), fs.statSync(victim).mode & 0o777]).toEqual(['secret\n', 0o600]);
    const cancelled = await ok<View>('approvals', 'cancel', requestId);
    expect(cancelled).toMatchObject({ id: requestId, status: 'CANCELLED', approvals: [{ operator: 'carol' }] });
    expect(await fails('approvals', 'cancel', requestId)).toMatchObject({ code: 'InvalidState' });
    expect(await fails('approvals', 'sign', requestId, '--key', alice.key)).toMatchObject({ code: 'InvalidState' });
    expect(await keyState(keyId)).toBe('Enabled');
    expect(await fails('approvals', 'show', 'apr-000000000000000000000000')).toMatchObject({ code: 'NotFound' });
    expect(await fails('approvals', 'export', requestId)).toMatchObject({ code: 'Usage', message: expect.stringContaining('--out is required') });
  });

  it('ceremony transcript of the executed deletion verifies against the log (audit verify --transcript); one with an edited head does not', async () => {
    const { id } = (await ok<{ id: string; status: string }[]>('approvals', 'list')).find((a) => a.status === 'EXECUTED')!;
    const out = file('t.json');
    const wrote = await kuraIn('ceremony', 'transcript', id, '--out', out);
    expect(wrote.stderr).toBe('');
    // Not through a link someone else put where --out names (out-file.ts).
    const victim = file('victim2.token');
    fs.writeFileSync(victim, 'secret\n', { mode: 0o600 });
    fs.symlinkSync(victim, file('linked-transcript'));
    expect(await fails('ceremony', 'transcript', id, '--out', file('linked-transcript'))).toMatchObject({ code: 'File', message: expect.stringContaining('(ELOOP)') });
    expect(fs.readFileSync(victim, 'utf8')).toBe('secret\n');
    expect(wrote.stdout).toContain(`Wrote the JSON transcript of ${id} (EXECUTED, `);
    const t = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      format: string;
      request: { id: string; action: string; status: string; parameters: string; parametersDigest: string };
      steps: { step: string; operator?: string; fingerprint?: string }[];
      material: { name: string; value: string; from: string }[];
      audit: { headBefore: string; headAfter: string; entries: { seq: number; entry: string }[] };
    };
    expect(t).toMatchObject({ format: 'kura-transcript/v1', request: { id, action: 'kms:ScheduleKeyDeletion', status: 'EXECUTED' } });
    expect(t.request.parametersDigest).toBe(createHash('sha256').update(t.request.parameters).digest('hex'));
    const grouped = (hex: string) => hex.match(/.{4}/g)!.join(' ');
    expect(t.steps.filter((s) => s.step === 'approved')).toMatchObject([{ operator: 'bob', fingerprint: grouped(bob.sha256) }, { operator: 'alice', fingerprint: grouped(alice.sha256) }]);
    // The deletion the approvals ran is cited with the request's other entries: the refused flipped bit
    // before, carol's refused approval after.
    const keyId = (JSON.parse(t.request.parameters) as { input: { KeyId: string } }).input.KeyId;
    const ops = t.audit.entries.map((e) => JSON.parse(e.entry) as { operation: string; outcome: string; keyId?: string });
    expect(ops.map((e) => `${e.operation} ${e.outcome}`)).toEqual([
      'ApprovalRequested ok', 'ApprovalSubmitted error', 'ApprovalSubmitted ok', 'ApprovalSubmitted ok', 'ScheduleKeyDeletion ok', 'ApprovalExecuted ok', 'ApprovalSubmitted error',
    ]);
    expect(ops[4]!.keyId).toBe(keyId);
    // What it touched, by identifier: the key as asked for, and as the outcome names it (its ARN).
    expect(t.material).toEqual([
      { name: 'KeyId', value: expect.stringMatching(new RegExp(`^arn:aws:kms:[^:]+:\\d{12}:key/${keyId}$`)), from: 'outcome' },
      { name: 'KeyId', value: keyId, from: 'parameters' },
    ]);
    expect(t.steps.map((s) => s.step)).toEqual(['requested', 'refused', 'approved', 'approved', 'action', 'executed', 'refused']);
    const log = await ok<{ seq: number; hash: string }[]>('audit', 'list', '--limit', '0');
    const headOf = (n: number) => `${n}:${log.find((e) => e.seq === n)!.hash}`;
    expect(t.audit.headBefore).toBe(headOf(t.audit.entries[0]!.seq - 1));
    expect(t.audit.headAfter).toBe(headOf(t.audit.entries.at(-1)!.seq));

    const verified = await kuraIn('audit', 'verify', '--transcript', out);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`Transcript of ${id} verifies against the audit log`);
    expect(await ok('audit', 'verify', '--transcript', out)).toEqual({ ok: true, problems: [], transcript: out, approvalRequestId: id });

    const md = await kuraIn('ceremony', 'transcript', id, '--format', 'md');
    expect(md.stdout).toContain(`| 1 | bob | \`${grouped(bob.sha256)}\` |`);
    expect(md.stdout).toContain(`| 2 | alice | \`${grouped(alice.sha256)}\` |`);

    const [seq, hash] = t.audit.headAfter.split(':');
    fs.writeFileSync(file('edited.json'), JSON.stringify({ ...t, audit: { ...t.audit, headAfter: `${seq}:${hash!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))}` } }));
    const edited = await kuraIn('audit', 'verify', '--transcript', file('edited.json'));
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain(`Transcript ${file('edited.json')} does NOT verify:`);
    expect(edited.stdout).toMatch(new RegExp(`^  - headAfter: entry ${seq}'s hash in the log is ${hash}`, 'm'));
    const editedJson = await kuraIn('audit', 'verify', '--transcript', file('edited.json'), '--json');
    expect(editedJson.code).toBe(1);
    expect(JSON.parse(editedJson.stdout)).toMatchObject({ ok: false, problems: expect.arrayContaining([expect.stringMatching(/^headAfter: /)]) });

    // A request still pending has no transcript yet.
    const { requestId } = await gatedDeletion();
    expect(await fails('ceremony', 'transcript', requestId)).toMatchObject({ code: 'InvalidState', exit: 1 });
  });
});
