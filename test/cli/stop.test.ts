// `kura stop` waits up to 30 s for the appliance to let go of its data directory: a wait measured in
// elapsed time, so that the wall clock stepped while it waits (NTP at shutdown, a resumed VM) neither
// cuts it short ("still running") nor stretches it by the step. The appliance here is a stand-in: an
// admin endpoint that takes POST /stop, and a data directory lock this process holds and lets go of.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lockFile, runtimeFile } from '../../main/app.js';
import { main } from '../../main/cli/main.js';

describe('kura stop', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const c of cleanups.splice(0)) c();
  });

  it('a wall clock stepped an hour forward while it waits does not end the wait early', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-stop-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const realNow = Date.now.bind(Date);
    let stepped = 0;
    const server = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"stopping":true}');
      if (req.method === 'POST' && req.url === '/admin/v1/stop') {
        // Asked to stop: while `kura stop` waits, the clock steps forward an hour; the lock goes 300 ms later.
        setTimeout(() => (stepped = 3600_000), 100);
        setTimeout(() => fs.rmSync(lockFile(dataDir), { force: true }), 300);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fs.writeFileSync(lockFile(dataDir), String(process.pid));
    fs.writeFileSync(runtimeFile(dataDir), JSON.stringify({ endpoint, dataDir, pid: process.pid, version: 'test', startedAt: new Date().toISOString() }));
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + stepped);
    const prev = process.env.KURA_ADMIN_TOKEN;
    process.env.KURA_ADMIN_TOKEN = 'stand-in';
    cleanups.push(() => (prev === undefined ? delete process.env.KURA_ADMIN_TOKEN : (process.env.KURA_ADMIN_TOKEN = prev)));
    const errors: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (errors.push(String(s)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['stop', '--data-dir', dataDir]), errors.join('')).toBe(0);
  });
});
