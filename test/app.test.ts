// The composition root's stop (main/app.ts): every step runs even when one before it fails, so that a
// data directory in which a file cannot be removed never leaves the listener serving, the database open
// or the directory's lock held; the failures are reported once all steps have run. A failed start lets
// go of the lock, and the usual causes of one are said in words that name the data directory.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAppliance, startFailureOf, type ApplianceConfig } from '../main/app.js';
import { createLogger } from '../main/common/log.js';
import { lockDirectory } from '../main/store/index.js';
import { tempDataDir } from './support/kura-process.js';

function config(dataDir: string): ApplianceConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    dev: true,
    schedulerIntervalMs: 60_000,
    limits: { maxConnections: 64, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, idleTimeoutMs: 5_000, drainMs: 1_000 },
  };
}

/** A non-empty directory where `file` was: fs.rmSync(file, { force: true }) throws on it. */
function unremovable(file: string): void {
  fs.rmSync(file, { force: true });
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'x'), '');
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('Appliance.stop', () => {
  it('runs every step when removing the runtime file and kura.pid fails, lets go of the lock, and then reports both', async () => {
    const dataDir = tempDataDir('kura-app-stop-');
    const lines: string[] = [];
    const appliance = await startAppliance(config(dataDir), { log: createLogger('info', (l) => lines.push(l)) });
    unremovable(path.join(dataDir, 'kura.runtime.json'));
    unremovable(path.join(dataDir, 'kura.pid'));
    await expect(appliance.stop()).rejects.toThrow(/not cleanly: could not remove the runtime file, release the data directory lock/);
    expect(await accepts(appliance.server.port)).toBe(false);
    expect(appliance.root.isUnsealed).toBe(false);
    // The lock is free: this process can take it again.
    const lock = await lockDirectory(path.join(dataDir, 'kura.lock'));
    await lock.release();
    expect(lines.filter((l) => l.includes('stop: a step failed'))).toHaveLength(2);
  }, 30_000);
});

describe('startAppliance failing', () => {
  it('lets go of the lock when kura.pid cannot be written', async () => {
    const dataDir = tempDataDir('kura-app-pid-');
    unremovable(path.join(dataDir, 'kura.pid'));
    await expect(startAppliance(config(dataDir), { log: createLogger('error', () => undefined) })).rejects.toThrow(/EISDIR/);
    const lock = await lockDirectory(path.join(dataDir, 'kura.lock'));
    await lock.release();
  });
});

describe('startFailureOf', () => {
  const cfg = { port: 7420, dataDir: '/var/lib/kura' };
  const failure = (code: string) => startFailureOf(Object.assign(new Error(`${code}: something`), { code }), cfg);

  it('names the data directory and says to free space for a full disk (SQLite or the file system)', () => {
    for (const code of ['SQLITE_FULL', 'ENOSPC']) {
      expect(failure(code)).toEqual({ code: 'DataDirectory', message: `cannot use the data directory /var/lib/kura: its disk is full (${code}); free space on it, then start Kura again` });
    }
  });

  it('names the data directory and what must be writable for SQLITE_CANTOPEN and SQLITE_READONLY', () => {
    expect(failure('SQLITE_CANTOPEN')).toMatchObject({ code: 'DataDirectory', message: expect.stringMatching(/^cannot open the database in the data directory \/var\/lib\/kura \(SQLITE_CANTOPEN\): the directory must be writable/) });
    expect(failure('SQLITE_READONLY')).toMatchObject({ code: 'DataDirectory', message: expect.stringMatching(/^cannot write the database in the data directory \/var\/lib\/kura \(SQLITE_READONLY\): kura\.db, its -wal and -shm files and the directory must be writable/) });
  });
});
