// One appliance per data directory (main/app.ts takeLock, main/store/sqlite/directory-lock.ts), with
// real `kura serve` processes: several started at the same moment on one directory give exactly one
// appliance; a second start is refused with the holder's pid; a kill -9'd appliance's directory is free
// again at once; and a leftover kura.pid naming some other live process (a reused pid, after a crash and
// a reboot) does not keep an appliance from starting unattended.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KURA_BIN, ROOT, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const running: KuraProcess[] = [];
afterEach(async () => {
  for (const k of running.splice(0)) await k.stop();
});

/** `kura serve --dev --port 0` on `dataDir`: whether it came up (its endpoint line) or exited, and its output. */
function serve(dataDir: string): Promise<{ up: boolean; code: number | null; stderr: string; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, [KURA_BIN, 'serve', '--dev', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve) => {
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('export AWS_ENDPOINT_URL_KMS=')) resolve({ up: true, code: null, stderr: err, stop });
    });
    void exited.then((code) => resolve({ up: false, code, stderr: err, stop }));
  });
}

describe('one appliance per data directory', () => {
  it('of several started at the same moment on one directory, exactly one runs; the others say who holds it', async () => {
    const dataDir = tempDataDir('kura-lock-race-');
    // A first start makes the directory (dev root key, database), so that the racers all find it made.
    const first = await startKura({ dataDir });
    await first.stop();
    const results = await Promise.all([0, 1, 2, 3].map(() => serve(dataDir)));
    try {
      const up = results.filter((r) => r.up);
      expect(up).toHaveLength(1);
      const pid = Number(fs.readFileSync(path.join(dataDir, 'kura.pid'), 'utf8'));
      for (const r of results.filter((x) => !x.up)) {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(new RegExp(`Another Kura( \\(pid ${pid}\\))? is running on ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      }
    } finally {
      for (const r of results) await r.stop();
    }
  }, 60_000);

  it("is free again as soon as its appliance is killed, and a stale kura.pid naming a live process keeps nothing out", async () => {
    const dataDir = tempDataDir('kura-lock-stale-');
    const a = await startKura({ dataDir });
    await a.kill9();
    // kill -9 left kura.pid behind; after a reboot its pid may be any live process's — here, this test's.
    expect(fs.existsSync(path.join(dataDir, 'kura.pid'))).toBe(true);
    fs.writeFileSync(path.join(dataDir, 'kura.pid'), String(process.pid));
    const b = await startKura({ dataDir });
    running.push(b);
    expect(Number(fs.readFileSync(path.join(dataDir, 'kura.pid'), 'utf8'))).toBe(b.proc.pid);
    const refused = await serve(dataDir);
    expect(refused.up).toBe(false);
    expect(refused.stderr).toContain(`Another Kura (pid ${b.proc.pid}) is running on ${dataDir}.`);
  }, 60_000);
});
