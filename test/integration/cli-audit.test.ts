// `kura audit list|tail|head|verify` on a real appliance's database, read-only while it runs:
// filters, ISO times, `tail -f` following new entries, and the head that anchors the end of the log
// (entries deleted from the end with Debian's sqlite3 CLI pass a plain verify but fail
// `verify --expect-head`). Progress on a terminal is checked under script(1).
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, ReEncryptCommand } from '@aws-sdk/client-kms';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { KURA_BIN, ROOT, isolatedEnv, runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const SQLITE3 = '/usr/bin/sqlite3';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEAD = /^(\d+):([0-9a-f]{64})$/;
const env = isolatedEnv(tempDataDir('kura-cli-audit-home-'));

interface Entry {
  seq: number;
  at: string;
  operation: string;
  outcome: string;
  keyId?: string;
  errorCode?: string;
  principal: string;
  details?: Record<string, string | number | boolean>;
  hash: string;
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sql = (dir: string, statement: string) => execFileSync(SQLITE3, [path.join(dir, 'kura.db'), statement], { encoding: 'utf8' }).trim();

describe('kura audit', () => {
  let k: KuraProcess;
  let keyA = '';
  let keyB = '';
  const kura = (args: string[], dataDir = k.dataDir) => runKura([...args, '--data-dir', dataDir], { env });
  const listJson = async (args: string[]): Promise<Entry[]> => {
    const r = await kura(['audit', 'list', ...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Entry[];
  };

  beforeAll(async () => {
    k = await startKura({ env });
    const kms = kmsClient(k);
    keyA = (await kms.send(new CreateKeyCommand({ Description: 'a' }))).KeyMetadata!.KeyId!;
    keyB = (await kms.send(new CreateKeyCommand({ Description: 'b' }))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 3; i++) await kms.send(new EncryptCommand({ KeyId: keyA, Plaintext: Buffer.from(`p${i}`) }));
    await kms.send(new EncryptCommand({ KeyId: keyB, Plaintext: Buffer.from('q') }));
    // Calls that change nothing are audited without waiting for the disk; wait until all are there.
    await waitFor('the audit entries', () => Number(sql(k.dataDir, "SELECT COUNT(*) FROM audit_log WHERE entry LIKE '%\"Encrypt\"%'")) === 4);
  });
  afterAll(async () => {
    await k?.stop();
  });

  it('list shows entries in order with ISO times, while the appliance runs', async () => {
    const all = await listJson(['--limit', '0']);
    expect(all.length).toBe(Number(sql(k.dataDir, 'SELECT COUNT(*) FROM audit_log')));
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    for (const e of all) {
      expect(e.at).toMatch(ISO);
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const text = await kura(['audit', 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^\\d+ {2}\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z {2}Encrypt {2}ok {2}arn:aws:iam::111122223333:user/kura-dev {2}key=${keyA}`, 'm'));
  });

  it('--key (ID or ARN), --operation, --since and --limit filter', async () => {
    const byKey = await listJson(['--key', keyA]);
    expect(byKey.map((e) => e.operation)).toEqual(['CreateKey', 'Encrypt', 'Encrypt', 'Encrypt']);
    expect(byKey.every((e) => e.keyId === keyA)).toBe(true);
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${keyB}`;
    expect((await listJson(['--key', arn])).map((e) => e.operation)).toEqual(['CreateKey', 'Encrypt']);
    const creates = await listJson(['--operation', 'CreateKey']);
    expect(creates.map((e) => e.keyId)).toEqual([keyA, keyB]);
    expect((await listJson(['--operation', 'Encrypt', '--key', keyB])).length).toBe(1);
    const all = await listJson(['--limit', '0']);
    expect(await listJson(['--since', '1h'])).toEqual(all.slice(-100));
    expect(await listJson(['--since', new Date(Date.now() + 3_600_000).toISOString()])).toEqual([]);
    const lastTwo = await listJson(['--limit', '2']);
    expect(lastTwo).toEqual(all.slice(-2));
    const since = await listJson(['--since', all[all.length - 2]!.at]);
    expect(since.map((e) => e.seq)).toEqual(all.filter((e) => e.at >= all[all.length - 2]!.at).map((e) => e.seq));
    const bad = await kura(['audit', 'list', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('kura audit list: --since takes an ISO 8601 time');
    expect((await kura(['audit', 'list', '--key', 'alias/x'])).stderr).toContain('--key takes a key ID or key ARN');
  });

  it('head prints SEQ:HASH of the last entry; --json adds its time', async () => {
    const r = await kura(['audit', 'head']);
    expect(r.code).toBe(0);
    const [, seq, hash] = HEAD.exec(r.stdout.trim())!;
    expect(`${seq}:${hash}`).toBe(sql(k.dataDir, "SELECT seq || ':' || lower(hex(hash)) FROM audit_log ORDER BY seq DESC LIMIT 1"));
    const j = JSON.parse((await kura(['audit', 'head', '--json'])).stdout) as { seq: number; hash: string; head: string; at: string };
    expect(j).toMatchObject({ seq: Number(seq), hash, head: `${seq}:${hash}` });
    expect(j.at).toMatch(ISO);
  });

  it('tail shows the newest entries; tail -f follows new ones until Ctrl-C', async () => {
    const last3 = await kura(['audit', 'tail', '-n3']);
    expect(last3.code).toBe(0);
    const all = await listJson(['--limit', '0']);
    expect(last3.stdout.trim().split('\n').map((l) => Number(l.split(' ')[0]))).toEqual(all.slice(-3).map((e) => e.seq));

    const follower = spawn(process.execPath, [KURA_BIN, 'audit', 'tail', '-f', '-n', '1', '--json', '--interval', '0.1', '--data-dir', k.dataDir], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once('exit', (code) => resolve(code)));
    await waitFor('the first line', () => out.includes('\n'));
    const key = (await kmsClient(k).send(new CreateKeyCommand({ Description: 'followed' }))).KeyMetadata!.KeyId!;
    await waitFor('the new entry', () => out.includes(key));
    follower.kill('SIGINT');
    expect(await exited).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Entry);
    expect(lines[0]!.seq).toBe(all[all.length - 1]!.seq);
    expect(lines.find((e) => e.keyId === key)).toMatchObject({ operation: 'CreateKey', outcome: 'ok', at: expect.stringMatching(ISO) });
    // Each entry once, in order.
    expect(lines.map((e) => e.seq)).toEqual([...new Set(lines.map((e) => e.seq))].sort((a, b) => a - b));
  });

  describe('the head anchors the end of the log', () => {
    let head = '';
    let seq = 0;
    /** A copy of the stopped appliance's database in a data directory of its own. */
    const copy = (): string => {
      const dir = tempDataDir('kura-cli-audit-copy-');
      for (const f of ['kura.db', 'kura.db-wal']) {
        if (fs.existsSync(path.join(k.dataDir, f))) fs.copyFileSync(path.join(k.dataDir, f), path.join(dir, f));
      }
      return dir;
    };
    beforeAll(async () => {
      head = (await kura(['audit', 'head'])).stdout.trim();
      seq = Number(HEAD.exec(head)![1]);
      // More entries after the head was written down: the log still reaches it.
      await kmsClient(k).send(new CreateKeyCommand({ Description: 'after the head' }));
      expect(await k.stop()).toBe(0);
    });

    it('an untouched log that grew since reaches the head', async () => {
      const r = await kura(['audit', 'verify', '--expect-head', head]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`reaches the expected head ${head}`);
    });

    it('deleting the newest entries passes a plain verify but fails --expect-head', async () => {
      const dir = copy();
      sql(dir, `DELETE FROM audit_log WHERE seq >= ${seq - 1}`);
      const plain = await kura(['audit', 'verify'], dir);
      // This is the gap the head closes: the shorter chain is intact.
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain(`Audit log intact: ${seq - 2} entries`);
      const r = await kura(['audit', 'verify', '--expect-head', head], dir);
      expect(r.code).toBe(1);
      expect(r.stdout.trim()).toBe(`Audit log BROKEN at entry ${seq - 1}: the log ends at entry ${seq - 2}, before the expected head ${head} (entries were removed from its end).`);
      const j = await kura(['audit', 'verify', '--expect-head', head, '--json'], dir);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, entries: seq - 2, expectedHead: head, firstBad: { seq: seq - 1 } });
    });

    it('rewriting the end (entry and hash recomputed, chain intact) fails --expect-head at that entry', async () => {
      const dir = copy();
      sql(dir, `DELETE FROM audit_log WHERE seq > ${seq}`);
      const original = sql(dir, `SELECT entry FROM audit_log WHERE seq = ${seq}`);
      const prevHex = sql(dir, `SELECT hex(prev_hash) FROM audit_log WHERE seq = ${seq}`);
      const forged = original.replace('"outcome":"ok"', '"outcome":"error"');
      expect(forged).not.toBe(original);
      const seqBytes = Buffer.alloc(8);
      seqBytes.writeBigUInt64BE(BigInt(seq));
      const hash = createHash('sha256').update('kura-audit-v1').update(seqBytes).update(Buffer.from(prevHex, 'hex')).update(forged, 'utf8').digest('hex');
      sql(dir, `UPDATE audit_log SET entry = '${forged.replaceAll("'", "''")}', hash = x'${hash}' WHERE seq = ${seq}`);
      expect((await kura(['audit', 'verify'], dir)).code).toBe(0);
      const r = await kura(['audit', 'verify', '--expect-head', head], dir);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`Audit log BROKEN at entry ${seq}: its hash differs from the expected head ${head}`);
    });

    it('a malformed head is a usage error', async () => {
      const r = await kura(['audit', 'verify', '--expect-head', 'latest']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--expect-head takes SEQ:HASH');
    });

    it('verify shows progress on a terminal (script(1) gives it a pty), not through a pipe', async () => {
      const command = `exec "${process.execPath}" "${KURA_BIN}" audit verify --data-dir "${k.dataDir}"`;
      const out = await new Promise<string>((resolve, reject) =>
        execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env } }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
      );
      const total = Number(sql(k.dataDir, 'SELECT COUNT(*) FROM audit_log'));
      expect(out).toContain(`verifying ${total}/${total} entries`);
      expect((await kura(['audit', 'verify'])).stderr).toBe('');
    });
  });
});

// The log records the key a call used, whatever the caller named (an alias, an ARN, nothing: Decrypt reads
// it from the ciphertext), so that --key finds every use of a key, ReEncrypt's source and destination alike.
describe('kura audit list --key names every call that used the key', () => {
  let k: KuraProcess;
  const listJson = async (key: string): Promise<Entry[]> => {
    const r = await runKura(['audit', 'list', '--key', key, '--json', '--data-dir', k.dataDir], { env });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Entry[];
  };

  beforeAll(async () => {
    k = await startKura({ env });
  });
  afterAll(async () => {
    await k?.stop();
  });

  it('Decrypt without a KeyId, ReEncrypt (both keys), calls by alias or ARN, and refused calls after resolving', async () => {
    const count = () => Number(sql(k.dataDir, 'SELECT COUNT(*) FROM audit_log'));
    const before = count();
    const kms = kmsClient(k);
    const src = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const dst = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const off = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/audited-source', TargetKeyId: src.KeyId }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/audited-off', TargetKeyId: off.KeyId }));
    await kms.send(new DisableKeyCommand({ KeyId: off.KeyId }));
    const ctx = { purpose: 'audit' };
    const blob = (await kms.send(new EncryptCommand({ KeyId: 'alias/audited-source', Plaintext: Buffer.from('p'), EncryptionContext: ctx }))).CiphertextBlob!;
    await kms.send(new EncryptCommand({ KeyId: src.Arn, Plaintext: Buffer.from('q') }));
    await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx }));
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { purpose: 'other' } }))).rejects.toThrow();
    await kms.send(new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: ctx, DestinationKeyId: dst.Arn }));
    await kms.send(new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: ctx, SourceKeyId: 'alias/audited-source', DestinationKeyId: dst.KeyId }));
    await expect(kms.send(new EncryptCommand({ KeyId: 'alias/audited-off', Plaintext: Buffer.from('r') }))).rejects.toThrow();
    kms.destroy();
    // 3 CreateKey, 2 CreateAlias, DisableKey, 3 Encrypt, 2 Decrypt, 2 ReEncrypt (reads are audited without waiting for the disk).
    await waitFor('the audit entries', () => count() === before + 13);

    const bySource = await listJson(src.KeyId!);
    expect(bySource.map((e) => [e.operation, e.outcome, e.keyId, e.details?.keyRef, e.details?.sourceKeyId, e.details?.sourceKeyRef])).toEqual([
      ['CreateKey', 'ok', src.KeyId, undefined, undefined, undefined],
      ['CreateAlias', 'ok', src.KeyId, undefined, undefined, undefined],
      ['Encrypt', 'ok', src.KeyId, 'alias/audited-source', undefined, undefined],
      ['Encrypt', 'ok', src.KeyId, src.Arn, undefined, undefined],
      ['Decrypt', 'ok', src.KeyId, undefined, undefined, undefined],
      ['Decrypt', 'error', src.KeyId, undefined, undefined, undefined],
      ['ReEncrypt', 'ok', dst.KeyId, dst.Arn, src.KeyId, undefined],
      ['ReEncrypt', 'ok', dst.KeyId, undefined, src.KeyId, 'alias/audited-source'],
    ]);
    expect((await listJson(dst.Arn!)).map((e) => e.operation)).toEqual(['CreateKey', 'ReEncrypt', 'ReEncrypt']);
    const refused = (await listJson(off.KeyId!)).filter((e) => e.operation === 'Encrypt');
    expect(refused.map((e) => [e.outcome, e.errorCode, e.keyId, e.details?.keyRef])).toEqual([['error', 'Disabled', off.KeyId, 'alias/audited-off']]);

    const text = await runKura(['audit', 'list', '--key', src.KeyId!, '--operation', 'ReEncrypt', '--data-dir', k.dataDir], { env });
    expect(text.stdout).toContain(`key=${dst.KeyId}`);
    expect(text.stdout).toContain(`sourceKeyId=${src.KeyId}`);
    const verified = await runKura(['audit', 'verify', '--data-dir', k.dataDir], { env });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
