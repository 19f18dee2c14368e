// The data directory's lock (main/store/sqlite/directory-lock.ts) as the kernel holds it: a second
// taker — another connection of this process, or another process — is refused at once while it is held;
// it is free again when released, and when its holding process is killed (no clean-up runs then).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryLockedError, lockDirectory } from '../../main/store/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-dirlock-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Another process that takes the lock of `file` through the built module and holds it until killed. */
function holderProcess(file: string): Promise<{ kill9: () => Promise<void> }> {
  const module = pathToFileURL(path.resolve('dist', 'store', 'sqlite', 'directory-lock.js')).href;
  const code = `const { lockDirectory } = await import(${JSON.stringify(module)}); await lockDirectory(${JSON.stringify(file)}); console.log('held'); setInterval(() => {}, 1000);`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) resolve({ kill9: async () => void (proc.kill('SIGKILL'), await exited) });
    });
    void exited.then(() => reject(new Error('the holder exited before taking the lock')));
  });
}

describe('the data directory lock', () => {
  it('refuses a second taker in this process until released', async () => {
    const file = path.join(dir, 'a.lock');
    const lock = await lockDirectory(file);
    await expect(lockDirectory(file)).rejects.toBeInstanceOf(DirectoryLockedError);
    await lock.release();
    await lock.release();
    const again = await lockDirectory(file);
    await again.release();
  });

  it('refuses while another process holds it, and is free the moment that process is killed', async () => {
    const file = path.join(dir, 'b.lock');
    const holder = await holderProcess(file);
    await expect(lockDirectory(file)).rejects.toBeInstanceOf(DirectoryLockedError);
    await holder.kill9();
    const lock = await lockDirectory(file);
    await lock.release();
  }, 20_000);
});
