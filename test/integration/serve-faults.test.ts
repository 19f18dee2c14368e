// Faults around a real `kura serve` process that must not stop it, or must stop it cleanly: a production
// Kura restarts sealed, so an unplanned exit is an outage until a quorum of custodians unseals it.
// Its stdout and stderr failing (a reader gone: EPIPE; a full disk: ENOSPC) must cost the log, not the
// appliance. Signals: SIGUSR1 must not open Node's inspector (any local user could attach and run
// code inside Kura); SIGHUP without an XKS TLS listener to reload must not kill it. A step of the stop
// that fails must not keep the others from running (the listener closing, the lock let go); a serve
// that fails after its appliance started stops the appliance and exits. A data directory Kura cannot
// write is said in words naming it, whatever the cleanup after the failure meets. An open-file limit too
// low to run with is refused in words, before Kura loads its modules.
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { KURA_BIN, ROOT, tempDataDir } from '../support/kura-process.js';

interface Served {
  proc: ChildProcess;
  dataDir: string;
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** `kura serve --dev --port 0` with the given stderr (a pipe by default); resolves once its banner is read from stdout. */
async function serve(opts: { stderr?: number; args?: string[]; dataDir?: string; openFiles?: number } = {}): Promise<Served> {
  const dataDir = opts.dataDir ?? tempDataDir('kura-faults-');
  const argv = [KURA_BIN, 'serve', '--dev', '--port', '0', '--data-dir', dataDir, ...(opts.args ?? [])];
  const stdio: ['ignore', 'pipe', 'pipe' | number] = ['ignore', 'pipe', opts.stderr ?? 'pipe'];
  const proc =
    opts.openFiles === undefined
      ? spawn(process.execPath, argv, { cwd: ROOT, stdio })
      : spawn('bash', ['-c', `ulimit -n ${opts.openFiles} && exec "$0" "$@"`, process.execPath, ...argv], { cwd: ROOT, stdio });
  running.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kura did not start.\nstdout: ${out}\nstderr: ${err}`)), 20_000);
    proc.stdout!.on('data', () => {
      if (/export AWS_SECRET_ACCESS_KEY=\S+\n/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(({ code }) => reject(new Error(`kura exited with ${code} before starting.\nstdout: ${out}\nstderr: ${err}`)));
  });
  const grab = (name: string) => new RegExp(`export ${name}=(\\S+)`).exec(out)![1]!;
  return { proc, dataDir, url: grab('AWS_ENDPOINT_URL_KMS'), accessKeyId: grab('AWS_ACCESS_KEY_ID'), secretAccessKey: grab('AWS_SECRET_ACCESS_KEY'), stdout: () => out, stderr: () => err, exited };
}

/** Resolves with how the process ended, or with 'still running' after `ms`. */
async function endedWithin(k: Served, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  return Promise.race([k.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);
}

async function listKeys(k: Served): Promise<number> {
  const client = kmsClient(k);
  try {
    return (await client.send(new ListKeysCommand({}))).Keys!.length;
  } finally {
    client.destroy();
  }
}

describe('kura serve: its output streams failing', () => {
  it('goes on serving when the readers of its stdout and stderr go away (EPIPE), and stops gracefully on SIGTERM', async () => {
    const k = await serve();
    k.proc.stdout!.destroy();
    k.proc.stderr!.destroy();
    // Each call logs a line on stderr: the first write fails with EPIPE, the later ones are dropped.
    for (let i = 0; i < 5; i++) expect(await listKeys(k)).toBeGreaterThanOrEqual(0);
    expect(await endedWithin(k, 300)).toBe('still running');
    k.proc.kill('SIGTERM');
    expect(await endedWithin(k, 10_000)).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('goes on serving when its log file is on a full disk (ENOSPC), says so once on stdout, and stops gracefully', async () => {
    const full = fs.openSync('/dev/full', 'w');
    let k: Served;
    try {
      k = await serve({ stderr: full });
    } finally {
      fs.closeSync(full);
    }
    for (let i = 0; i < 5; i++) expect(await listKeys(k)).toBeGreaterThanOrEqual(0);
    expect(await endedWithin(k, 300)).toBe('still running');
    expect(k.stdout()).toMatch(/writing to stderr failed \(ENOSPC\)/);
    expect(k.stdout().match(/writing to stderr failed/g)).toHaveLength(1);
    k.proc.kill('SIGTERM');
    expect(await endedWithin(k, 10_000)).toEqual({ code: 0, signal: null });
  }, 60_000);
});

/** Whether something accepts a TCP connection on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('kura serve: signals', () => {
  it('ignores SIGUSR1: no inspector opens on 127.0.0.1:9229, and it goes on serving', async () => {
    const k = await serve();
    k.proc.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 1000));
    expect(k.stderr()).not.toMatch(/Debugger listening/);
    expect(k.stderr()).toMatch(/SIGUSR1 ignored/);
    expect(await listening(9229)).toBe(false);
    expect(await listKeys(k)).toBeGreaterThanOrEqual(0);
    k.proc.kill('SIGTERM');
    expect(await endedWithin(k, 10_000)).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('ignores SIGHUP without an XKS TLS listener: it goes on serving, then stops gracefully on SIGTERM', async () => {
    const k = await serve();
    k.proc.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    expect(await endedWithin(k, 0)).toBe('still running');
    expect(k.stderr()).toMatch(/SIGHUP ignored/);
    expect(await listKeys(k)).toBeGreaterThanOrEqual(0);
    k.proc.kill('SIGTERM');
    expect(await endedWithin(k, 10_000)).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe('kura serve: a stop whose step fails', () => {
  it('still closes the listener and lets go of the lock, promptly, and exits non-zero', async () => {
    const k = await serve();
    const port = Number(new URL(k.url).port);
    // The runtime file replaced by a non-empty directory: its removal, the stop's first step, throws.
    const runtime = path.join(k.dataDir, 'kura.runtime.json');
    fs.rmSync(runtime);
    fs.mkdirSync(runtime);
    fs.writeFileSync(path.join(runtime, 'x'), '');
    k.proc.kill('SIGTERM');
    // Well before the 15 s graceful-stop timeout.
    const ended = await endedWithin(k, 8_000);
    expect(ended).not.toBe('still running');
    expect(ended).not.toEqual({ code: 0, signal: null });
    expect(k.stderr()).toMatch(/remove the runtime file/);
    expect(k.stderr()).not.toMatch(/"msg":"kura stopped"/);
    expect(await listening(port)).toBe(false);
    // The lock was let go: another appliance starts on the same directory.
    fs.rmSync(runtime, { recursive: true });
    const next = await serve({ dataDir: k.dataDir });
    expect(await listKeys(next)).toBeGreaterThanOrEqual(0);
    next.proc.kill('SIGTERM');
    expect(await endedWithin(next, 10_000)).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe('kura serve: a failure after the appliance started', () => {
  it('stops the appliance and exits non-zero promptly with the error, its port closed', async () => {
    const dataDir = tempDataDir('kura-faults-late-');
    // Writing dev-credential.json, after startAppliance, fails: a non-empty directory is in its place.
    fs.mkdirSync(path.join(dataDir, 'dev-credential.json'));
    fs.writeFileSync(path.join(dataDir, 'dev-credential.json', 'x'), '');
    const proc = spawn(process.execPath, [KURA_BIN, 'serve', '--dev', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(proc);
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await Promise.race([
      new Promise<number | null>((r) => proc.once('exit', (c) => r(c))),
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    expect(code).not.toBe('still running');
    expect(code).not.toBe(0);
    expect(err).toMatch(/kura serve: .*dev-credential\.json/);
    const port = Number(/"endpoint":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(err)![1]);
    expect(await listening(port)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'kura.runtime.json'))).toBe(false);
  }, 60_000);
});

/** Whether `chattr` can set attributes here (root on a file system that has them): even root cannot write an immutable file. */
function chattrWorks(): boolean {
  const dir = tempDataDir('kura-chattr-');
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `kura serve` on `dataDir` to its exit: its code and stderr. */
function serveToExit(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, [KURA_BIN, 'serve', '--dev', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(proc);
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((r) => proc.once('exit', (code) => r({ code, stderr })));
}

describe.skipIf(!chattrWorks())('kura serve: a data directory it cannot write (chattr; skipped where chattr cannot set attributes: not root, or a filesystem without them, e.g. tmpfs)', () => {
  /** A data directory a first serve has made; after SIGKILL, with the kura.pid a crash leaves behind. */
  async function madeDataDir(signal: NodeJS.Signals = 'SIGKILL'): Promise<string> {
    const k = await serve();
    k.proc.kill(signal);
    await k.exited;
    return k.dataDir;
  }

  it('an immutable kura.db: SQLITE_READONLY, naming the data directory and what must be writable', async () => {
    const dataDir = await madeDataDir();
    const db = path.join(dataDir, 'kura.db');
    execFileSync('chattr', ['+i', db]);
    try {
      const r = await serveToExit(dataDir);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`kura serve: cannot write the database in the data directory ${dataDir} (SQLITE_READONLY)`);
    } finally {
      execFileSync('chattr', ['-i', db]);
    }
  }, 60_000);

  it('an immutable data directory: SQLITE_CANTOPEN, naming it', async () => {
    const dataDir = await madeDataDir('SIGTERM');
    execFileSync('chattr', ['+i', dataDir]);
    try {
      const r = await serveToExit(dataDir);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`kura serve: cannot open the database in the data directory ${dataDir} (SQLITE_CANTOPEN)`);
    } finally {
      execFileSync('chattr', ['-i', dataDir]);
    }
  }, 60_000);

  it('an append-only data directory: the EPERM is reported, not the cleanup\'s failure to remove kura.pid', async () => {
    const dataDir = await madeDataDir();
    execFileSync('chattr', ['+a', dataDir]);
    try {
      const r = await serveToExit(dataDir);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`kura serve: cannot use the data directory ${dataDir}: not allowed (EPERM)`);
      expect(r.stderr).not.toMatch(/is a file/);
    } finally {
      execFileSync('chattr', ['-a', dataDir]);
    }
  }, 60_000);
});

describe('kura serve: the open-file limit', () => {
  it('below 128 is refused in words naming `ulimit -n`, with no stack trace and a non-zero exit', async () => {
    const dataDir = tempDataDir('kura-faults-nofile-');
    const proc = spawn('bash', ['-c', 'ulimit -n 64 && exec "$0" "$@"', process.execPath, KURA_BIN, 'serve', '--dev', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(proc);
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(stderr).toBe('kura serve: the open-file limit is 64, and Kura needs at least 128 (its module files, database, listener and client connections); raise it (`ulimit -n 1024` in the shell, LimitNOFILE=1024 in a systemd unit) and start it again\n');
  }, 30_000);

  it('at 128 runs, and answers as many calls at once as its default connection cap (32)', async () => {
    const k = await serve({ openFiles: 128 });
    const client = kmsClient(k);
    try {
      const answers = await Promise.all(Array.from({ length: 32 }, () => client.send(new ListKeysCommand({})).then(() => 'ok', (e: Error) => e.name)));
      expect(answers.filter((a) => a !== 'ok')).toEqual([]);
    } finally {
      client.destroy();
    }
    k.proc.kill('SIGTERM');
    expect(await endedWithin(k, 10_000)).toEqual({ code: 0, signal: null });
  }, 60_000);
});
