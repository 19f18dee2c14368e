// Gated operator commands and console sign-in against a real `kura serve --dev` process, as a script
// would drive them (issue 13): a 2-of-3 `credentials` policy set at once on the dev appliance; `kura
// credentials create` that becomes an approval request (printed, and as JSON); two custodians' `kura
// approvals sign --key` with keys made by openssl; `kura approvals result` giving the requester the new
// secret once; the credential then signing @aws-sdk/client-kms calls. And `kura operators passphrase`
// from a file, then a sign-in over HTTP with it.
import fs from 'node:fs';
import path from 'node:path';
import { CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCustodianKey } from '../support/custodians.js';
import { kmsClient } from '../support/kms-client.js';
import { runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const dir = tempDataDir('kura-cli-gated-');
const file = (name: string) => path.join(dir, name);
const opensslKey = (name: string, ...genpkeyArgs: string[]) => opensslCustodianKey(dir, name, ...genpkeyArgs);


describe('gated operator commands and console sign-in, through the kura CLI', () => {
  let kura: KuraProcess;
  const alice = opensslKey('alice', '-algorithm', 'ed25519');
  const bob = opensslKey('bob', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
  const carol = opensslKey('carol', '-algorithm', 'ed25519');
  const kuraIn = (...args: string[]) => runKura([...args, '--data-dir', kura.dataDir]);
  const ok = async <T>(...args: string[]): Promise<T> => {
    const r = await kuraIn(...args, '--json');
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const clients: KMSClient[] = [];

  beforeAll(async () => {
    kura = await startKura();
    for (const [name, k] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) await ok('operators', 'add', name, '--public-key', k.pub);
    await ok('quorum', 'set', 'credentials', '--threshold', '2', '--operators', 'alice,bob,carol');
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await kura?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('credentials create becomes a request; two signatures run it; the requester takes the secret once, and it works', async () => {
    const text = await kuraIn('credentials', 'create', '--account', '444455556666');
    expect(text.code).toBe(0);
    const id = /approval request (apr-[0-9a-f]{24}) created: needs 2 of alice, bob, carol/.exec(text.stdout)?.[1];
    expect(id, text.stdout).toBeDefined();
    expect(text.stdout).not.toMatch(/Secret access key/);
    expect(await ok<unknown[]>('credentials', 'list')).toEqual([expect.objectContaining({ accountId: '111122223333' })]);

    const asJson = await ok<{ applied: boolean; approvalRequest: { id: string; action: string } }>('credentials', 'create', '--account', '777788889999');
    expect(asJson).toMatchObject({ applied: false, approvalRequest: { action: 'kura:credentials.create' } });
    await ok('approvals', 'cancel', asJson.approvalRequest.id);

    await ok('approvals', 'sign', id!, '--key', alice.key);
    const done = await ok<{ status: string; outcome: string; hasResult: boolean }>('approvals', 'sign', id!, '--key', bob.key);
    expect(done).toMatchObject({ status: 'EXECUTED', hasResult: true });
    const accessKeyId = /"accessKeyId":"(AKIA[A-Z2-7]{16})"/.exec(done.outcome)?.[1];
    expect(accessKeyId, done.outcome).toBeDefined();

    const taken = await ok<{ id: string; action: string; result: { accessKeyId: string; secretAccessKey: string; accountId: string } }>('approvals', 'result', id!);
    expect(taken).toMatchObject({ id, action: 'kura:credentials.create', result: { accessKeyId, accountId: '444455556666' } });
    const again = await kuraIn('approvals', 'result', id!, '--json');
    expect(again.code).not.toBe(0);
    expect(JSON.parse(again.stderr).error).toMatchObject({ code: 'NotFound', message: expect.stringContaining('(it was taken)') });

    const kms = kmsClient(kura, { accessKeyId: taken.result.accessKeyId, secretAccessKey: taken.result.secretAccessKey });
    clients.push(kms);
    const made = await kms.send(new CreateKeyCommand({}));
    expect(made.KeyMetadata?.Arn).toMatch(/^arn:aws:kms:us-east-1:444455556666:key\//);
  });

  it('`approvals result` of an executed KMS call says it keeps no answer, not that someone took it; a failed run reads in one sentence', async () => {
    await ok('quorum', 'set', 'key-deletion', '--threshold', '2', '--operators', 'alice,bob,carol');
    const made = await ok<{ KeyId: string }>('keys', 'create');
    const asked = await ok<{ approvalRequest: { id: string } }>('keys', 'schedule-deletion', made.KeyId, '--days', '7');
    const id = asked.approvalRequest.id;
    const twice = (await ok<{ approvalRequest: { id: string } }>('keys', 'schedule-deletion', made.KeyId, '--days', '8')).approvalRequest.id;
    await ok('approvals', 'sign', id, '--key', alice.key);
    expect(await ok('approvals', 'sign', id, '--key', carol.key)).toMatchObject({ status: 'EXECUTED', hasResult: false });
    const r = await kuraIn('approvals', 'result', id);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`has no result to take (kms:ScheduleKeyDeletion keeps no answer for its requester: what it did is the request's outcome`);
    expect(r.stderr).not.toContain('was taken');

    // The second request for the same key fails when it runs; its line ends with one full stop, not two.
    await ok('approvals', 'sign', twice, '--key', alice.key);
    const failed = await kuraIn('approvals', 'sign', twice, '--key', bob.key);
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(/2 of 2 approval\(s\); FAILED at \S+: InvalidState: arn:\S+ is pending deletion\.\n$/);
  });

  it('operators passphrase sets the console passphrase from a file; the operator signs in with it over HTTP', async () => {
    fs.writeFileSync(file('carol.pass'), 'carol: twelve or more characters\n', { mode: 0o600 });
    expect(await ok('operators', 'passphrase', 'carol', '--passphrase-file', file('carol.pass'))).toEqual({ name: 'carol', hasPassphrase: true });
    const short = await kuraIn('operators', 'passphrase', 'carol', '--passphrase-file', file('alice.pub.pem'), '--passphrase-stdin', '--json');
    expect(short.code).toBe(2);
    const login = async (passphrase: string) =>
      fetch(`${kura.url}/admin/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operator: 'carol', passphrase }) });
    expect((await login('not it at all, sorry')).status).toBe(403);
    const res = await login('carol: twelve or more characters');
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const who = await fetch(`${kura.url}/admin/v1/session`, { headers: { authorization: `Bearer ${token}` } });
    expect(await who.json()).toMatchObject({ operator: 'carol' });
    const listed = await ok<{ name: string; hasPassphrase: boolean; fingerprint: string }[]>('operators', 'list');
    expect(listed.find((o) => o.name === 'carol')?.hasPassphrase).toBe(true);
    // As text: the fingerprints in one column (names and algorithms padded), and who can sign in.
    const text = await kuraIn('operators', 'list');
    expect(text.code, text.stderr).toBe(0);
    const rows = text.stdout.trimEnd().split('\n');
    // (The dev appliance's own operator, dev, comes first.)
    expect(rows.map((r) => r.split(/ {2,}/)[0])).toEqual(listed.map((o) => o.name));
    expect(listed.map((o) => o.name).slice(-3)).toEqual(['alice', 'bob', 'carol']);
    const fingerprintAt = rows.map((r, i) => r.indexOf(listed[i]!.fingerprint));
    expect(fingerprintAt.every((at) => at > 0 && at === fingerprintAt[0])).toBe(true);
    expect(rows.map((r) => r.endsWith('  console sign-in'))).toEqual(listed.map((o) => o.hasPassphrase));
    expect(rows.find((r) => r.startsWith('alice '))).toMatch(/ {2}no console passphrase$/);
  });
});
