// The composition root's stop (main/app.ts): every step runs even when one before it fails, so that a
// data directory in which a file cannot be removed never leaves the listener serving, the database open
// or the directory's lock held; the failures are reported once all steps have run. A failed start lets
// go of the lock, and the usual causes of one are said in words that name the data directory. Its
// listeners share one budget of buffered request bodies.
import { execFileSync } from 'node:child_process';
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
    const failed = lines.filter((l) => l.includes('stop: a step failed')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(failed).toHaveLength(2);
    // Each says what failed by its errno or Node code, not by a message (which names paths, and may quote anything).
    for (const line of failed) {
      expect(line.code).toMatch(/^(E[A-Z]+|ERR_[A-Z_]+)$/);
      expect(JSON.stringify(line)).not.toContain(dataDir);
    }
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

  it.skipIf(process.platform === 'win32')('refuses a data directory other users can write to, before it reads the root key or admin token put there (POSIX modes: skipped on Windows, which has none and where nothing is checked)', async () => {
    // What another local user does to a shared working directory's .kura-dev (or a careless mkdir -m 777):
    // their root key and their admin token, waiting for Kura to take them as its own.
    const dataDir = tempDataDir('kura-app-open-');
    fs.chmodSync(dataDir, 0o777);
    fs.writeFileSync(path.join(dataDir, 'root.key'), Buffer.alloc(32, 0x41));
    fs.writeFileSync(path.join(dataDir, 'admin.token'), 'the other user knows this token');
    const err = await startAppliance(config(dataDir), { log: createLogger('error', () => undefined) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(startFailureOf(err, config(dataDir))).toEqual({
      code: 'DataDirectory',
      message: `cannot use the data directory ${dataDir}: other users can write to it (mode 0777; chmod 700 it), and another user could put their own root key or admin token in it`,
    });
    // Nothing was made or locked there.
    expect(fs.readdirSync(dataDir).sort()).toEqual(['admin.token', 'root.key']);
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

/** A certificate and key for the XKS TLS listener (their contents do not matter: no TLS client connects). */
function xksCertificate(dataDir: string): { certFile: string; keyFile: string } {
  const certFile = path.join(dataDir, 'xks.crt');
  const keyFile = path.join(dataDir, 'xks.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=127.0.0.1', '-days', '1'], { stdio: 'ignore' });
  return { certFile, keyFile };
}

describe('the XKS TLS listener', () => {
  it('says when other users can read its private key file, and starts all the same', async () => {
    const dataDir = tempDataDir('kura-app-tls-key-');
    const { certFile, keyFile } = xksCertificate(dataDir);
    fs.chmodSync(keyFile, 0o644);
    const lines: string[] = [];
    const appliance = await startAppliance({ ...config(dataDir), xksTls: { certFile, keyFile, host: '127.0.0.1', port: 0 } }, { log: createLogger('warn', (l) => lines.push(l)) });
    try {
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: 'other users can read the XKS TLS private key file: chmod 600 it', file: keyFile, mode: '0644' }),
      );
      expect(appliance.xksTlsServer).toBeDefined();
    } finally {
      await appliance.stop();
    }
  });
});

describe('the listeners of one appliance', () => {
  it('share one budget of buffered request bodies: what one holds counts against the other', async () => {
    const dataDir = tempDataDir('kura-app-budget-');
    const { certFile, keyFile } = xksCertificate(dataDir);
    const base = config(dataDir);
    const appliance = await startAppliance(
      { ...base, limits: { ...base.limits, maxBufferedBodyBytes: 100_000 }, xksTls: { certFile, keyFile, host: '127.0.0.1', port: 0 } },
      { log: createLogger('error', () => undefined) },
    );
    const socket = net.connect(appliance.server.port, '127.0.0.1');
    try {
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      // A body the main listener holds: 80,000 of its announced 90,000 bytes.
      socket.write(`POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 90000\r\n\r\n`);
      socket.write(Buffer.alloc(80_000, 0x20));
      for (let i = 0; i < 200 && appliance.server.bufferedBodyBytes() < 80_000; i++) await new Promise((r) => setTimeout(r, 10));
      expect(appliance.server.bufferedBodyBytes()).toBe(80_000);
      expect(appliance.xksTlsServer?.bufferedBodyBytes()).toBe(80_000);
    } finally {
      socket.destroy();
      await appliance.stop();
    }
  });
});
