// The `kura` command as a user runs it: help and usage errors, serve's settings (flags, config file,
// KURA_* environment, `npm start --` pass-through), credentials against a running dev appliance, and
// `kura audit verify` on audit logs tampered with Debian's sqlite3 CLI.
import { CreateKeyCommand, DescribeKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient, errorName } from '../support/kms-client.js';
import { KURA_BIN, ROOT, runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const SQLITE3 = '/usr/bin/sqlite3';
/** No admin token from the environment: the CLI must read the data directory's. */
const NO_TOKEN_ENV = { KURA_ADMIN_TOKEN: '', KURA_DATA_DIR: '', KURA_CONFIG: '', KURA_ENDPOINT: '', KURA_PORT: '', KURA_HOST: '' };

const kura = (args: string[], env: NodeJS.ProcessEnv = {}) => runKura(args, { env: { ...NO_TOKEN_ENV, ...env } });

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Spawned {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves with the KMS endpoint and the dev credential once all are printed. */
  ready: () => Promise<{ url: string; accessKeyId: string; secretAccessKey: string }>;
}

/** Spawns a command that runs `kura serve --dev` and collects its output. */
function spawnServe(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; detached?: boolean } = {}): Spawned {
  const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...NO_TOKEN_ENV, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    async ready() {
      let gone = false;
      void exited.then(() => (gone = true));
      await waitFor(`the dev credential lines from ${command} ${args.join(' ')}`, () => {
        if (gone) throw new Error(`exited before starting.\nstdout: ${out}\nstderr: ${err}`);
        return /export AWS_ENDPOINT_URL_KMS=\S+/.test(out);
      }, 90_000);
      return {
        url: /KMS endpoint: (http:\/\/[\d.]+:\d+)/.exec(out)![1]!,
        accessKeyId: /export AWS_ACCESS_KEY_ID=(\S+)/.exec(out)![1]!,
        secretAccessKey: /export AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)![1]!,
      };
    },
  };
}

async function adminStatus(url: string): Promise<{ state: string; mode: string }> {
  const res = await fetch(`${url}/admin/v1/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as { state: string; mode: string };
}

describe('help and usage', () => {
  it('kura --help prints the usage and every command', async () => {
    const r = await kura(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kura <command>/m);
    for (const c of ['serve', 'init', 'unseal', 'seal', 'status', 'credentials', 'audit']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it.each(['serve', 'init', 'unseal', 'seal', 'status', 'credentials', 'audit'])('kura %s --help prints its usage and exits 0', async (command) => {
    const r = await kura([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Usage:\\s+kura ${command}\\b`));
    expect(r.stderr).toBe('');
  });

  // Issue #9: usage errors are one line that points at the help, not the whole usage dump.
  it('an unknown command exits 2 with one line on stderr', async () => {
    const r = await kura(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('kura: unknown command "frobnicate" (see kura --help)\n');
  });

  // Issue #9: `kura status` exits 2 only when sealed, so its usage errors exit 1 (as Vault's).
  it('an unknown option is one line naming it; status exits 1, other commands 2', async () => {
    const r = await kura(['status', '--frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kura status: unknown option --frobnicate (see kura status --help)\n');
    const seal = await kura(['seal', '--frobnicate']);
    expect(seal.code).toBe(2);
    expect(seal.stderr).toBe('kura seal: unknown option --frobnicate (see kura seal --help)\n');
  });

  it('serve refuses a non-loopback address without TLS', async () => {
    const dir = tempDataDir('kura-cli-host-');
    const r = await kura(['serve', '--dev', '--host', '0.0.0.0', '--port', '0', '--data-dir', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/loopback/i);
    expect(r.stderr).toMatch(/TLS/);
    expect(r.stdout).not.toMatch(/KMS endpoint|listening on/);
    expect(fs.existsSync(path.join(dir, 'kura.db'))).toBe(false);
  });

  it('serve refuses a port that is not a number', async () => {
    const r = await kura(['serve', '--dev', '--port', 'abc', '--data-dir', tempDataDir('kura-cli-port-')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/port/i);
    expect(r.stderr).toContain('abc');
    expect(r.stdout).not.toMatch(/KMS endpoint|listening on/);
  });
});

describe('serve settings', () => {
  const children: Spawned[] = [];
  afterAll(async () => {
    for (const c of children) {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
      try {
        if (c.proc.spawnargs[0] === 'npm') process.kill(-c.proc.pid!, 'SIGKILL');
        else c.proc.kill('SIGKILL');
      } catch {
        // already gone
      }
      await c.exited;
    }
  });

  it('a JSON config file gives the port and data directory', async () => {
    const dir = tempDataDir('kura-cli-config-');
    const dataDir = path.join(dir, 'data');
    const config = path.join(dir, 'kura.json');
    fs.writeFileSync(config, JSON.stringify({ port: 0, dataDir }));
    const s = spawnServe(process.execPath, [KURA_BIN, 'serve', '--dev', '--config', config]);
    children.push(s);
    const { url, accessKeyId, secretAccessKey } = await s.ready();
    expect(url).not.toMatch(/:7420$/);
    expect(s.stdout()).toContain(path.join(dataDir, 'root.key'));
    // Its commands name this data directory, which is not the one they would find by themselves.
    expect(s.stdout()).toContain(`credentials env --data-dir ${dataDir})`);
    expect(s.stdout()).toContain(`stop --data-dir ${dataDir}\``);
    expect(fs.existsSync(path.join(dataDir, 'kura.db'))).toBe(true);
    expect(await adminStatus(url)).toMatchObject({ state: 'unsealed', mode: 'dev' });
    expect(await errorName(kmsClient({ url, accessKeyId, secretAccessKey }).send(new ListKeysCommand({})))).toBe('ok');
    s.proc.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('KURA_DATA_DIR and KURA_PORT set the data directory and port', async () => {
    const dataDir = path.join(tempDataDir('kura-cli-env-'), 'from-env');
    const s = spawnServe(process.execPath, [KURA_BIN, 'serve', '--dev'], { env: { KURA_DATA_DIR: dataDir, KURA_PORT: '0' } });
    children.push(s);
    const { url } = await s.ready();
    expect(url).not.toMatch(/:7420$/);
    expect(s.stdout()).toContain(path.join(dataDir, 'root.key'));
    expect(fs.existsSync(path.join(dataDir, 'kura.db'))).toBe(true);
    expect(await adminStatus(url)).toMatchObject({ state: 'unsealed' });
    s.proc.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('a flag beats the environment, which beats the config file', async () => {
    const dir = tempDataDir('kura-cli-precedence-');
    const config = path.join(dir, 'kura.json');
    fs.writeFileSync(config, JSON.stringify({ port: 0, dataDir: path.join(dir, 'from-file') }));
    const s = spawnServe(process.execPath, [KURA_BIN, 'serve', '--dev', '--config', config, '--data-dir', path.join(dir, 'from-flag')], {
      env: { KURA_DATA_DIR: path.join(dir, 'from-env') },
    });
    children.push(s);
    await s.ready();
    expect(s.stdout()).toContain(path.join(dir, 'from-flag', 'root.key'));
    expect(fs.existsSync(path.join(dir, 'from-env'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'from-file'))).toBe(false);
    s.proc.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('a config file with an unknown setting is refused', async () => {
    const dir = tempDataDir('kura-cli-badconfig-');
    const config = path.join(dir, 'kura.json');
    fs.writeFileSync(config, JSON.stringify({ port: 0, dataDir: dir, prot: 7421 }));
    const r = await kura(['serve', '--dev', '--config', config]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('"prot"');
  });

  it('a data directory that cannot be one is said to be the data directory, not the port', async () => {
    const dir = tempDataDir('kura-cli-notadir-');
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    const r = await kura(['serve', '--dev', '--port', '0', '--data-dir', path.join(file, 'kura')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot use the data directory ${path.join(file, 'kura')}: it, or a directory above it, is a file`);
    expect(r.stderr).not.toMatch(/listen|port/);
  });

  it('`npm start -- --port 0 --data-dir X` passes the options on to `kura serve --dev`', async () => {
    const dataDir = tempDataDir('kura-cli-npm-');
    const s = spawnServe('npm', ['start', '--', '--port', '0', '--data-dir', dataDir], { detached: true });
    children.push(s);
    const { url, accessKeyId, secretAccessKey } = await s.ready();
    expect(url).not.toMatch(/:7420$/);
    expect(s.stdout()).toContain('DEV MODE');
    expect(s.stdout()).toContain(path.join(dataDir, 'root.key'));
    expect(fs.existsSync(path.join(dataDir, 'kura.pid'))).toBe(true);
    expect(await adminStatus(url)).toMatchObject({ state: 'unsealed', mode: 'dev' });
    const created = await kmsClient({ url, accessKeyId, secretAccessKey }).send(new CreateKeyCommand({}));
    expect(created.KeyMetadata!.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    process.kill(-s.proc.pid!, 'SIGTERM');
    await s.exited;
    // The appliance stopped cleanly: it releases its data directory lock on the way out.
    await waitFor('the kura.pid lock to be released', () => !fs.existsSync(path.join(dataDir, 'kura.pid')), 20_000);
    await expect(fetch(`${url}/admin/v1/status`)).rejects.toThrow();
  });

  it('SIGTERM to the npm process alone stops the appliance with it (no orphan)', async () => {
    const dataDir = tempDataDir('kura-cli-npm-term-');
    const s = spawnServe('npm', ['start', '--', '--port', '0', '--data-dir', dataDir], { detached: true });
    children.push(s);
    const { url } = await s.ready();
    // Only npm's own pid, as a supervisor or `kill PID` would: not the process group.
    process.kill(s.proc.pid!, 'SIGTERM');
    await s.exited;
    await waitFor('the appliance to stop with npm', () => !fs.existsSync(path.join(dataDir, 'kura.pid')), 20_000);
    await expect(fetch(`${url}/admin/v1/status`)).rejects.toThrow();
  });
});

describe('credentials and audit against a dev appliance', () => {
  let k: KuraProcess;
  let accessKeyId = '';
  let secretAccessKey = '';
  beforeAll(async () => {
    k = await startKura();
    // startKura may resolve before the export lines that follow the endpoint line are read.
    await waitFor('the dev credential', () => /export AWS_ENDPOINT_URL_KMS=/.test(k.stdout()));
    accessKeyId = /export AWS_ACCESS_KEY_ID=(\S+)/.exec(k.stdout())![1]!;
    secretAccessKey = /export AWS_SECRET_ACCESS_KEY=(\S+)/.exec(k.stdout())![1]!;
  });
  afterAll(async () => {
    await k?.stop();
  });
  const admin = (args: string[], dataDir = k.dataDir) => kura([...args, '--endpoint', k.url, '--data-dir', dataDir]);

  it('credentials list --json shows the dev credential without any secret', async () => {
    const r = await admin(['credentials', 'list', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as Record<string, unknown>[];
    const dev = list.find((c) => c.accessKeyId === accessKeyId);
    expect(dev).toMatchObject({ accountId: '111122223333', principalArn: 'arn:aws:iam::111122223333:user/kura-dev' });
    for (const c of list) expect(Object.keys(c).sort()).toEqual(['accessKeyId', 'accountId', 'createdAt', 'description', 'principalArn']);
    expect(r.stdout).not.toContain(secretAccessKey);
    const text = await admin(['credentials', 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(accessKeyId);
    expect(text.stdout).not.toContain(secretAccessKey);
  });

  it('credentials create without the admin token fails clearly', async () => {
    const elsewhere = tempDataDir('kura-cli-notoken-');
    const missing = await admin(['credentials', 'create', '--account', '123456789012'], elsewhere);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/admin token/i);
    expect(missing.stderr).toContain(elsewhere);
    expect(missing.stdout).not.toMatch(/AKIA/);

    fs.writeFileSync(path.join(elsewhere, 'admin.token'), 'not-the-token\n', { mode: 0o600 });
    const wrong = await admin(['credentials', 'create', '--account', '123456789012'], elsewhere);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/admin token/i);
    expect(wrong.stdout).not.toMatch(/AKIA/);
    const list = JSON.parse((await admin(['credentials', 'list', '--json'])).stdout) as unknown[];
    expect(list).toHaveLength(1);
  });

  it('a created credential works until `credentials delete`, then gets UnrecognizedClientException', async () => {
    const r = await admin(['credentials', 'create', '--account', '123456789012', '--principal', 'arn:aws:iam::123456789012:user/app', '--description', 'cli test', '--json']);
    expect(r.code).toBe(0);
    const cred = JSON.parse(r.stdout) as { accessKeyId: string; secretAccessKey: string; principalArn: string; description: string };
    expect(cred).toMatchObject({ principalArn: 'arn:aws:iam::123456789012:user/app', description: 'cli test' });
    const client = kmsClient(k, cred);
    const key = await client.send(new CreateKeyCommand({}));
    expect(key.KeyMetadata!.Arn).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.KeyMetadata!.KeyId! }))).KeyMetadata!.KeyId).toBe(key.KeyMetadata!.KeyId);

    const del = await admin(['credentials', 'delete', cred.accessKeyId]);
    expect(del.code).toBe(0);
    expect(del.stdout).toContain(cred.accessKeyId);
    expect(await errorName(client.send(new DescribeKeyCommand({ KeyId: key.KeyMetadata!.KeyId! })))).toBe('UnrecognizedClientException');
    const list = JSON.parse((await admin(['credentials', 'list', '--json'])).stdout) as { accessKeyId: string }[];
    expect(list.map((c) => c.accessKeyId)).not.toContain(cred.accessKeyId);

    const again = await admin(['credentials', 'delete', cred.accessKeyId]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(cred.accessKeyId);
  });

  describe('audit verify', () => {
    let entries = 0;
    let middle = 0;
    /** A fresh copy of the stopped appliance's database in a data directory of its own. */
    const copy = (): string => {
      const dir = tempDataDir('kura-cli-audit-');
      for (const f of ['kura.db', 'kura.db-wal']) {
        const from = path.join(k.dataDir, f);
        if (fs.existsSync(from)) fs.copyFileSync(from, path.join(dir, f));
      }
      return dir;
    };
    const sql = (dir: string, statement: string) => execFileSync(SQLITE3, [path.join(dir, 'kura.db'), statement], { encoding: 'utf8' });
    const verify = async (dir: string, json = false) => kura(['audit', 'verify', '--data-dir', dir, ...(json ? ['--json'] : [])]);
    /** Checks that `audit verify` reports the log in `dir` broken at entry `seq`, as text and as JSON; returns the JSON. */
    const expectBrokenAt = async (dir: string, seq: number) => {
      const r = await verify(dir);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`BROKEN at entry ${seq}`);
      const j = await verify(dir, true);
      expect(j.code).toBe(1);
      const parsed = JSON.parse(j.stdout) as { ok: boolean; firstBad: { seq: number; reason: string } };
      expect(parsed).toMatchObject({ ok: false, firstBad: { seq } });
      return parsed;
    };

    beforeAll(async () => {
      const kms = kmsClient({ url: k.url, accessKeyId, secretAccessKey });
      for (let i = 0; i < 6; i++) await kms.send(new CreateKeyCommand({ Description: `audit ${i}` }));
      expect(await k.stop()).toBe(0);
      entries = Number(sql(k.dataDir, 'SELECT COUNT(*) FROM audit_log').trim());
      middle = Math.floor(entries / 2);
    });

    it('an untouched log verifies, in text and JSON', async () => {
      expect(entries).toBeGreaterThanOrEqual(8);
      const text = await verify(k.dataDir);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`Audit log intact: ${entries} entries`);
      const json = await verify(k.dataDir, true);
      expect(json.code).toBe(0);
      const r = JSON.parse(json.stdout) as { ok: boolean; entries: number; head: string };
      expect(r).toMatchObject({ ok: true, entries });
      expect(r.head).toBe(sql(k.dataDir, `SELECT lower(hex(hash)) FROM audit_log WHERE seq = ${entries}`).trim());
    });

    it('a changed entry is reported with its sequence number', async () => {
      const dir = copy();
      sql(dir, `UPDATE audit_log SET entry = replace(entry, '"principal":"', '"principal":"x') WHERE seq = ${middle}`);
      expect(sql(dir, `SELECT entry FROM audit_log WHERE seq = ${middle}`)).toContain('"principal":"x');
      await expectBrokenAt(dir, middle);
    });

    it('a changed entry whose own hash was recomputed breaks the next link', async () => {
      const dir = copy();
      const original = sql(dir, `SELECT entry FROM audit_log WHERE seq = ${middle}`).replace(/\n$/, '');
      const prevHex = sql(dir, `SELECT hex(prev_hash) FROM audit_log WHERE seq = ${middle}`).trim();
      const forged = original.replace('"principal":"', '"principal":"x');
      const seq = Buffer.alloc(8);
      seq.writeBigUInt64BE(BigInt(middle));
      const hash = createHash('sha256').update('kura-audit-v1').update(seq).update(Buffer.from(prevHex, 'hex')).update(forged, 'utf8').digest('hex');
      sql(dir, `UPDATE audit_log SET entry = '${forged.replaceAll("'", "''")}', hash = x'${hash}' WHERE seq = ${middle}`);
      const j = await verify(dir, true);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, firstBad: { seq: middle + 1 } });
    });

    it('a deleted middle entry is reported', async () => {
      const dir = copy();
      sql(dir, `DELETE FROM audit_log WHERE seq = ${middle}`);
      await expectBrokenAt(dir, middle);
    });

    it('two entries swapped (entry and hash) are reported', async () => {
      const dir = copy();
      const a = middle;
      const b = middle + 1;
      sql(
        dir,
        `CREATE TEMP TABLE t AS SELECT seq, entry, hash FROM audit_log WHERE seq IN (${a}, ${b});
         UPDATE audit_log SET entry = (SELECT entry FROM t WHERE t.seq = ${a + b} - audit_log.seq),
                              hash = (SELECT hash FROM t WHERE t.seq = ${a + b} - audit_log.seq) WHERE seq IN (${a}, ${b});`,
      );
      expect(sql(dir, `SELECT entry FROM audit_log WHERE seq = ${a}`)).not.toBe(sql(k.dataDir, `SELECT entry FROM audit_log WHERE seq = ${a}`));
      const parsed = await expectBrokenAt(dir, a);
      expect(parsed.firstBad.reason.length).toBeGreaterThan(0);
    });

    it('a data directory without a database is an error, not an empty log', async () => {
      const r = await verify(tempDataDir('kura-cli-nodb-'));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/No Kura database/);
    });
  });
});
