// contrib/systemd/kura.service, the unit README's "Under systemd" installs. systemd is not this test's
// init (the machine may have none running), so it checks what can be checked without it:
// - systemd-analyze verify takes the file with no warning (it exits 0 on an unknown key or a bad value,
//   and only says so on stderr: both are checked);
// - its ExecStart, with the unit's paths pointed at this checkout and a temporary data directory (and
//   --port 0: a test must not take 7420), started from / as systemd starts it, brings up a production
//   appliance (uninitialized, its first start), which stops on the unit's KillSignal with exit code 0
//   within its TimeoutStopSec;
// - meanwhile the appliance writes nowhere ProtectSystem=strict makes read-only: every file or directory
//   it creates, opens for writing, renames or removes (strace) is in its data directory, /tmp
//   (PrivateTmp), /dev or /proc.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDataDir } from '../support/kura-process.js';

const UNIT = path.join(ROOT, 'contrib', 'systemd', 'kura.service');
const STRACE = '/usr/bin/strace';
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
/** Where the unit expects Kura and its data. */
const UNIT_ROOT = '/opt/kura';
const UNIT_DATA_DIR = '/var/lib/kura';

/** The [Service] section's settings, by key (a key given twice keeps its last value, as systemd's do for these). */
function serviceSettings(unit: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (section === 'Service' && eq > 0) settings.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return settings;
}

/** Paths a traced process wrote to: created, opened for writing, renamed or removed. */
function writtenPaths(trace: string): string[] {
  const paths = new Set<string>();
  for (const line of trace.split('\n')) {
    const call = /^\d+ +(\w+)\((.*)\) += (-?\d+)/.exec(line);
    if (!call) continue;
    const [, name, args, result] = call as unknown as [string, string, string, string];
    if (Number(result) < 0) continue;
    if (name === 'openat' && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(args)) continue;
    // With -y a directory descriptor is printed with its path: `5</dir>`; AT_FDCWD is the cwd, /.
    const dirfd = /^(\d+)<([^>]*)>,/.exec(args)?.[2] ?? '/';
    for (const quoted of args.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
      const p = quoted[1]!;
      paths.add(path.isAbsolute(p) ? path.normalize(p) : path.join(dirfd, p));
    }
  }
  return [...paths];
}

describe('the systemd unit (contrib/systemd/kura.service)', () => {
  const unit = fs.readFileSync(UNIT, 'utf8');
  const service = serviceSettings(unit);

  it('is taken by systemd-analyze verify without a warning', () => {
    const r = spawnSync(SYSTEMD_ANALYZE, ['verify', UNIT], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it("signals only the main process: a PKCS#11 module's host process, which SIGTERM and SIGHUP end, outlives a reload and the graceful stop", () => {
    // KillMode=control-group (the default) signals every process of the unit at a stop, and `systemctl
    // kill` does so for any signal: the module hosts (main/devices/pkcs11/host.ts) would die under the
    // main process as it logs out of its tokens, or at a certificate reload fail every HSM key store.
    expect(service.get('KillMode')).toBe('mixed');
    expect(service.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('runs the production appliance as the unit says: from /, with its data in the state directory, stopped by its KillSignal in time', async () => {
    expect(service.get('StateDirectory')).toBe('kura');
    expect(service.get('StateDirectoryMode')).toBe('0700');
    const execStart = service.get('ExecStart')!;
    expect(execStart.split(' ')).toEqual(['/usr/bin/node', `${UNIT_ROOT}/bin/kura.js`, 'serve', '--data-dir', UNIT_DATA_DIR]);
    const killSignal = service.get('KillSignal') as NodeJS.Signals;
    const stopWithinMs = Number(service.get('TimeoutStopSec')) * 1000;
    expect(stopWithinMs).toBeGreaterThan(0);

    // Under systemd the state directory exists, empty, before the service starts.
    const dataDir = tempDataDir('kura-systemd-');
    const argv = execStart
      .split(' ')
      .map((a) => a.replace(UNIT_ROOT, ROOT).replace(UNIT_DATA_DIR, dataDir))
      .map((a, i) => (i === 0 ? process.execPath : a));
    const traceFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kura-systemd-trace-')), 'trace');
    const traced = ['-f', '-qq', '-y', '-o', traceFile, '-e', 'trace=openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,truncate'];
    const child = spawn(STRACE, [...traced, ...argv, '--port', '0'], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KURA_ADMIN_TOKEN: '' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/uninitialized/i.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out, out).toMatch(/uninitialized/i);
      // To the appliance itself, as systemd sends it (KillMode=control-group: every process of the unit);
      // strace, which started it, exits with its status.
      const pid = Number(fs.readFileSync(path.join(dataDir, 'kura.pid'), 'utf8').trim());
      expect(pid).not.toBe(child.pid);
      const signalledAt = Date.now();
      process.kill(pid, killSignal);
      const code = await Promise.race([exited, new Promise<'late'>((r) => setTimeout(() => r('late'), stopWithinMs))]);
      expect(code, out).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(stopWithinMs);
    } finally {
      if (child.exitCode === null) {
        const pidFile = path.join(dataDir, 'kura.pid');
        if (fs.existsSync(pidFile)) process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
        child.kill('SIGKILL');
      }
    }

    const writable = [dataDir, os.tmpdir(), '/tmp', '/var/tmp', '/dev', '/proc'].map((d) => fs.realpathSync(d));
    const written = writtenPaths(fs.readFileSync(traceFile, 'utf8'));
    expect(written.some((p) => p.startsWith(`${fs.realpathSync(dataDir)}/`)), 'the trace shows the data directory written').toBe(true);
    const outside = written.filter((p) => !writable.some((d) => p === d || p.startsWith(`${d}/`)));
    expect(outside).toEqual([]);
  }, 120_000);
});
