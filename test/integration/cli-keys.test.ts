// `kura keys` against a real `kura serve --dev` process: a key made with `kura keys create` (and usable
// through the AWS SDK with the dev credential), found by `list` (every page, and one page with --limit),
// shown, disabled and enabled, scheduled for deletion and cancelled; then, with a key-deletion quorum
// policy, schedule-deletion answering an approval request instead of deleting. And the errors: an
// unknown key (exit 1, in one line or as JSON), a bad option value (exit 2), and --help; on a production
// appliance, which has no default account, a list without --account says to give it.
import fs from 'node:fs';
import { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCustodianKey } from '../support/custodians.js';
import { kmsClient } from '../support/kms-client.js';
import { runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const DEV_ACCOUNT = '111122223333';
const dir = tempDataDir('kura-cli-keys-');

interface Metadata { KeyId: string; Arn: string; KeyState: string; Origin: string; KeySpec: string; Description: string; AWSAccountId: string }
interface Page { accountId: string; region: string; total: number; next: string | null; keys: { keyId: string; state: string; description: string; origin: string }[] }

describe('kura keys', () => {
  let kura: KuraProcess;
  const kuraIn = (...args: string[]) => runKura([...args, '--data-dir', kura.dataDir]);
  const ok = async <T>(...args: string[]): Promise<T> => {
    const r = await kuraIn(...args, '--json');
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code, args.join(' ')).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    kura = await startKura();
  }, 60_000);
  afterAll(async () => {
    await kura?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('create, list (all pages, and --limit), show, disable, enable; the key works through the AWS SDK', async () => {
    const made = await ok<Metadata>('keys', 'create', '--description', 'made by kura keys');
    expect(made).toMatchObject({ KeyState: 'Enabled', Origin: 'AWS_KMS', KeySpec: 'SYMMETRIC_DEFAULT', Description: 'made by kura keys', AWSAccountId: DEV_ACCOUNT });
    const text = await kuraIn('keys', 'create', '--origin', 'EXTERNAL', '--description', 'byok');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Key ID: +[0-9a-f-]{36}$/m);
    expect(text.stdout).toMatch(/^State: +PendingImport$/m);
    const third = await ok<Metadata>('keys', 'create');

    const kms = kmsClient(kura);
    try {
      const enc = await kms.send(new EncryptCommand({ KeyId: made.KeyId, Plaintext: Buffer.from('hello') }));
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
      expect(Buffer.from(dec.Plaintext!).toString()).toBe('hello');
    } finally {
      kms.destroy();
    }

    const all = await ok<Page>('keys', 'list');
    expect(all).toMatchObject({ accountId: DEV_ACCOUNT, region: 'us-east-1', total: 3, next: null });
    expect(all.keys.map((k) => k.keyId).sort()).toEqual([made.KeyId, third.KeyId, text.stdout.match(/^Key ID: +(\S+)$/m)![1]].sort());
    // One key a page: `list` follows `next` to the end; --limit stops after one page.
    const one = await ok<Page>('keys', 'list', '--limit', '1');
    expect(one.keys).toHaveLength(1);
    expect(one.total).toBe(3);
    expect(one.next).toBe(one.keys[0]!.keyId);
    expect((await ok<Page>('keys', 'list', '--search', 'made by')).keys.map((k) => k.keyId)).toEqual([made.KeyId]);
    expect((await ok<Page>('keys', 'list', '--origin', 'EXTERNAL')).keys.map((k) => k.description)).toEqual(['byok']);
    const listed = await kuraIn('keys', 'list', '--state', 'Enabled');
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toHaveLength(2);
    expect(listed.stdout).toContain(made.KeyId);

    const shown = await ok<{ metadata: Metadata; aliases: string[]; recentAudit: { operation: string }[] }>('keys', 'show', made.KeyId);
    expect(shown.metadata).toMatchObject({ KeyId: made.KeyId, KeyState: 'Enabled' });
    expect(shown.recentAudit.map((e) => e.operation)).toContain('Encrypt');
    const shownText = await kuraIn('keys', 'show', made.Arn);
    expect(shownText.code).toBe(0);
    expect(shownText.stdout).toMatch(new RegExp(`^Key ID: +${made.KeyId}$`, 'm'));

    expect(await ok<Metadata>('keys', 'disable', made.KeyId)).toMatchObject({ KeyId: made.KeyId, KeyState: 'Disabled' });
    expect((await ok<Page>('keys', 'list', '--state', 'Disabled')).keys.map((k) => k.keyId)).toEqual([made.KeyId]);
    const enabled = await kuraIn('keys', 'enable', made.KeyId);
    expect(enabled).toMatchObject({ code: 0, stdout: `${made.KeyId} is Enabled.\n`, stderr: '' });
  });

  it('schedule-deletion applies without a policy; cancel-deletion takes it back, leaving the key disabled', async () => {
    const key = await ok<Metadata>('keys', 'create');
    const scheduled = await ok<{ applied: boolean; keyId: string; keyState: string; deletionDate: string }>('keys', 'schedule-deletion', key.KeyId, '--days', '7');
    expect(scheduled).toMatchObject({ applied: true, keyState: 'PendingDeletion' });
    expect(scheduled.keyId).toContain(key.KeyId);
    const days = (Date.parse(scheduled.deletionDate) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6);
    expect(days).toBeLessThanOrEqual(7.01);
    expect((await ok<{ metadata: Metadata }>('keys', 'show', key.KeyId)).metadata.KeyState).toBe('PendingDeletion');

    const cancelled = await kuraIn('keys', 'cancel-deletion', key.KeyId);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`${key.KeyId}'s deletion is cancelled; it is Disabled`);
    expect((await ok<{ metadata: Metadata }>('keys', 'show', key.KeyId)).metadata.KeyState).toBe('Disabled');

    const text = await kuraIn('keys', 'schedule-deletion', key.KeyId);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${key.KeyId} is PendingDeletion: it will be deleted at \\d{4}-\\d\\d-\\d\\dT.*kura keys cancel-deletion ${key.KeyId}\\)\\.\\n$`));
    await ok('keys', 'cancel-deletion', key.KeyId);

    const badDays = await kuraIn('keys', 'schedule-deletion', key.KeyId, '--days', '3');
    expect(badDays.code).toBe(2);
    expect(badDays.stderr).toContain('--days must be a whole number from 7 to 30');
  });

  it('an unknown key is refused in one line (exit 1), or as a JSON error; a missing key ID is a usage error', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const sub of ['show', 'enable', 'disable', 'schedule-deletion', 'cancel-deletion']) {
      const r = await kuraIn('keys', sub, missing);
      expect(r.code, sub).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^kura keys ${sub}: .*${missing}.*\\n$`));
    }
    const json = await kuraIn('keys', 'show', 'not-a-key', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'NotFound', message: expect.stringContaining('not-a-key') } });
    const none = await kuraIn('keys', 'show');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('kura keys show: name one key');
    const badAccount = await kuraIn('keys', 'list', '--account', '12');
    expect(badAccount.code).toBe(1);
    expect(badAccount.stderr).toMatch(/^kura keys list: .*accountId/);
    const badOrigin = await kuraIn('keys', 'create', '--origin', 'AWS_CLOUDHSM');
    expect(badOrigin.code).toBe(2);
  });

  it("lists a description of many lines on its key's one line: a description cannot forge a row", async () => {
    const made = await ok<Metadata>('keys', 'create', '--description', 'first line\nforged-key  Enabled\tAWS_KMS');
    const listed = await kuraIn('keys', 'list', '--search', 'first line');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines.filter((l) => l.includes(made.KeyId))).toEqual([expect.stringContaining('first line\\u000aforged-key  Enabled\\u0009AWS_KMS')]);
    expect(lines.some((l) => l.startsWith('forged-key'))).toBe(false);
  });

  it('--help on the command and each subcommand', async () => {
    const top = await runKura(['keys', '--help']);
    expect(top.code).toBe(0);
    for (const sub of ['list', 'show', 'create', 'enable', 'disable', 'schedule-deletion', 'cancel-deletion']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
      const r = await runKura(['keys', sub, '--help']);
      expect(r.code, sub).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: kura keys ${sub}`));
    }
    expect((await runKura(['keys', 'list', '--help'])).stdout).toContain('--limit N');
    expect((await runKura(['--help'])).stdout).toMatch(/^ +keys +/m);
  });

  // Last: the policy gates every later deletion.
  it('with a key-deletion quorum policy, schedule-deletion answers an approval request, and the key stays', async () => {
    const alice = opensslCustodianKey(dir, 'alice', '-algorithm', 'ed25519');
    const bob = opensslCustodianKey(dir, 'bob', '-algorithm', 'ed25519');
    await ok('operators', 'add', 'alice', '--public-key', alice.pub);
    await ok('operators', 'add', 'bob', '--public-key', bob.pub);
    await ok('quorum', 'set', 'key-deletion', '--threshold', '2', '--operators', 'alice,bob');
    const key = await ok<Metadata>('keys', 'create');

    const text = await kuraIn('keys', 'schedule-deletion', key.KeyId, '--days', '7');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^approval request apr-[0-9a-f]{24} created: needs 2 of alice, bob/);
    expect(text.stdout).not.toContain('PendingDeletion');
    const json = await ok<{ applied: boolean; approvalRequest: { id: string; status: string } }>('keys', 'schedule-deletion', key.KeyId);
    expect(json).toMatchObject({ applied: false, approvalRequest: { status: 'PENDING' } });
    expect((await ok<{ metadata: Metadata }>('keys', 'show', key.KeyId)).metadata.KeyState).toBe('Enabled');

    const requests = await ok<{ id: string; status: string }[]>('approvals', 'list');
    expect(requests.filter((a) => a.status === 'PENDING').map((a) => a.id)).toContain(json.approvalRequest.id);
  });
});

describe('kura keys on a production appliance', () => {
  it('without --account says to name it with --account (it named only the admin API\'s "accountId" field)', async () => {
    const k = await startKura({ dev: false });
    try {
      const kuraIn = (args: string[], input?: string) => runKura([...args, '--data-dir', k.dataDir], input !== undefined ? { input } : {});
      const init = await kuraIn(['init', '--shares', '1', '--threshold', '1', '--json']);
      expect(init.code).toBe(0);
      expect((await kuraIn(['unseal'], `${(JSON.parse(init.stdout) as { shares: string[] }).shares[0]}\n`)).code).toBe(0);
      const r = await kuraIn(['keys', 'list']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--account ID');
      expect(r.stderr).toContain('this appliance has no default account');
      expect((await kuraIn(['keys', 'list', '--account', '111122223333', '--json'])).code).toBe(0);
    } finally {
      await k.stop();
    }
  });
});
