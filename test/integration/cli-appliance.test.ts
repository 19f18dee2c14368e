// The `kura` client commands against real appliances: finding the appliance with no flags after
// `kura serve --dev` in a directory (as after `npm start`), the runtime file and its staleness,
// `kura status` exit codes (0 unsealed, 2 sealed or uninitialized, 1 error), `kura seal` refused on a
// dev appliance, `kura stop`, a busy port, log formats, and times in ISO 8601.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KURA_BIN, isolatedEnv, runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const started: KuraProcess[] = [];
afterAll(async () => {
  for (const k of started) await k.kill9();
});

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('after `kura serve --dev` in a directory, client commands there need no flags', () => {
  const home = tempDataDir('kura-cli-home-');
  const cwd = tempDataDir('kura-cli-cwd-');
  const env = isolatedEnv(home);
  const kura = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => runKura(args, { cwd: opts.cwd ?? cwd, env: { ...env, ...opts.env } });
  let k: KuraProcess;
  beforeAll(async () => {
    k = await startKura({ cwd, defaultDataDir: true, env });
    started.push(k);
  });

  it('the data directory defaults to ./.kura-dev and holds a 0600 runtime file naming the appliance', () => {
    expect(k.dataDir).toBe(path.join(cwd, '.kura-dev'));
    const file = path.join(k.dataDir, 'kura.runtime.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(info).toMatchObject({ endpoint: k.url, dataDir: k.dataDir, pid: k.proc.pid, version: expect.any(String), dev: true });
    expect(info.startedAt).toMatch(ISO);
  });

  it('`kura credentials list` and `kura status` find it (issue #9: they looked in ~/.local/share/kura)', async () => {
    const list = await kura(['credentials', 'list']);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(k.accessKeyId);
    const status = await kura(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('State: unsealed (dev)');
    expect(status.stdout).toContain(`Endpoint: ${k.url}`);
    const json = await kura(['status', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: 'unsealed', mode: 'dev', endpoint: k.url });
  });

  it('credentials show createdAt in ISO 8601, in the CLI and in the admin API', async () => {
    const list = JSON.parse((await kura(['credentials', 'list', '--json'])).stdout) as { accessKeyId: string; createdAt: string }[];
    expect(list.map((c) => c.accessKeyId)).toContain(k.accessKeyId);
    for (const c of list) expect(c.createdAt).toMatch(ISO);
    expect((await kura(['credentials', 'list'])).stdout).toMatch(/ \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /);
    const token = fs.readFileSync(path.join(k.dataDir, 'admin.token'), 'utf8').trim();
    const res = await fetch(`${k.url}/admin/v1/credentials`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { credentials: { createdAt: unknown }[] };
    for (const c of body.credentials) expect(c.createdAt).toMatch(ISO);
    const created = await kura(['credentials', 'create', '--account', '123456789012', '--json']);
    expect(JSON.parse(created.stdout).createdAt).toMatch(ISO);
  });

  it('elsewhere, without a ./.kura-dev, they look in the user\'s data directory and say so', async () => {
    const r = await kura(['status'], { cwd: tempDataDir('kura-cli-elsewhere-'), env: { KURA_PORT: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path.join(home, '.local', 'share', 'kura'));
    expect(r.stderr).toContain('http://127.0.0.1:1');
    const xdg = await kura(['status'], { cwd: tempDataDir('kura-cli-elsewhere-'), env: { KURA_PORT: '1', XDG_DATA_HOME: path.join(home, 'xdg') } });
    expect(xdg.stderr).toContain(path.join(home, 'xdg', 'kura'));
  });

  it('KURA_DATA_DIR or --data-dir from another directory finds the endpoint in the runtime file', async () => {
    const other = tempDataDir('kura-cli-other-');
    expect((await kura(['status'], { cwd: other, env: { KURA_DATA_DIR: k.dataDir } })).code).toBe(0);
    expect((await kura(['credentials', 'list', '--data-dir', k.dataDir], { cwd: other })).stdout).toContain(k.accessKeyId);
  });

  it('`kura seal` on a dev appliance is refused (409 from the admin API) and leaves it unsealed', async () => {
    const r = await kura(['seal']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^kura seal: This is a dev appliance: it unseals only from its key file/);
    expect(r.stderr).toContain('restart it with `npm start`');
    const j = await kura(['seal', '--json']);
    expect(JSON.parse(j.stderr)).toMatchObject({ error: { code: 'InvalidState' } });
    const token = fs.readFileSync(path.join(k.dataDir, 'admin.token'), 'utf8').trim();
    const res = await fetch(`${k.url}/admin/v1/seal`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe('InvalidState');
    expect((await kura(['status'])).code).toBe(0);
  });

  it('a second appliance on the same port is refused in one line: the port is in use', async () => {
    const r = await runKura(['serve', '--dev', '--port', String(k.port), '--data-dir', tempDataDir('kura-cli-busy-')], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n').pop()).toBe(`kura serve: port ${k.port} is in use (another Kura? \`kura status\`)`);
    const j = await runKura(['serve', '--dev', '--port', String(k.port), '--data-dir', tempDataDir('kura-cli-busy-'), '--json'], { env });
    expect(JSON.parse(j.stderr.trim().split('\n').pop()!)).toEqual({ error: { code: 'PortInUse', message: `kura serve: port ${k.port} is in use (another Kura? \`kura status\`)` } });
  });

  it('POST /admin/v1/stop needs the admin token', async () => {
    const res = await fetch(`${k.url}/admin/v1/stop`, { method: 'POST' });
    expect(res.status).toBe(403);
    expect((await kura(['status'])).code).toBe(0);
  });

  it('`kura stop` stops it gracefully: serve exits 0, the runtime file and lock go', async () => {
    const r = await kura(['stop']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`Kura at ${k.url} stopped.`);
    // No SIGTERM here: serve must exit 0 on `kura stop` alone.
    expect(await k.exited()).toBe(0);
    expect(k.stderr()).toContain('"reason":"POST /admin/v1/stop"');
    expect(fs.existsSync(path.join(k.dataDir, 'kura.runtime.json'))).toBe(false);
    expect(fs.existsSync(path.join(k.dataDir, 'kura.pid'))).toBe(false);
    const after = await kura(['status'], { env: { KURA_PORT: '1' } });
    expect(after.code).toBe(1);
  });
});

describe('kura serve --json', () => {
  it('prints the start-up banner as one JSON object; kura stop --json answers in JSON', async () => {
    const home = tempDataDir('kura-cli-home-');
    const env = isolatedEnv(home);
    const dataDir = tempDataDir('kura-cli-json-');
    const proc = spawn(process.execPath, [KURA_BIN, 'serve', '--dev', '--port', '0', '--data-dir', dataDir, '--json'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await waitFor('the JSON banner', () => out.includes('\n'));
    const banner = JSON.parse(out) as { endpoint: string; dataDir: string; pid: number; dev: boolean; state: string; devCredential: { accessKeyId: string }; env: Record<string, string> };
    expect(banner).toMatchObject({ dataDir, pid: proc.pid, dev: true, state: 'unsealed' });
    expect(banner.devCredential.accessKeyId).toMatch(/^AKIA/);
    // The console, and its dev operator's sign-in, as the banner gives them.
    const { console: consoleUrl, devOperator } = JSON.parse(out) as { console: string; devOperator: { name: string; passphrase: string; keyFile: string } };
    expect(consoleUrl).toBe(`${banner.endpoint}/console/`);
    expect(devOperator).toMatchObject({ name: 'dev', keyFile: path.join(dataDir, 'dev-operator.key') });
    expect(fs.statSync(devOperator.keyFile).mode & 0o777).toBe(0o600);
    const signIn = await fetch(`${banner.endpoint}/admin/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operator: 'dev', passphrase: devOperator.passphrase }) });
    expect(signIn.status).toBe(200);
    expect(banner.env).toMatchObject({ AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1', AWS_ENDPOINT_URL_KMS: banner.endpoint });
    const stop = await runKura(['stop', '--data-dir', dataDir, '--json'], { env });
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ stopped: true, endpoint: banner.endpoint, pid: proc.pid });
    expect(await exited).toBe(0);
  });
});

describe('a stale runtime file is ignored', () => {
  it('after kill -9, the dead pid\'s endpoint is not used', async () => {
    const home = tempDataDir('kura-cli-home-');
    const cwd = tempDataDir('kura-cli-stale-');
    const env = isolatedEnv(home);
    const k = await startKura({ cwd, defaultDataDir: true, env });
    started.push(k);
    await k.kill9();
    const info = JSON.parse(fs.readFileSync(path.join(k.dataDir, 'kura.runtime.json'), 'utf8')) as { endpoint: string };
    expect(info.endpoint).toBe(k.url);
    // Something else now listens on the old endpoint: the CLI must not talk to it.
    const impostor = (await import('node:http')).createServer((_req, res) => res.end('{"state":"unsealed"}'));
    await new Promise<void>((resolve) => impostor.listen(k.port, '127.0.0.1', resolve));
    try {
      const r = await runKura(['status'], { cwd, env: { ...env, KURA_PORT: '1' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('No Kura answers at http://127.0.0.1:1');
    } finally {
      impostor.close();
    }
  });
});

describe.skipIf(process.platform === 'win32')("a ./.kura-dev that other users can write to is not this user's (POSIX modes: skipped on Windows, which has none)", () => {
  it('`kura unseal` in a shared working directory does not send the shares to the endpoint its runtime file names', async () => {
    const home = tempDataDir('kura-cli-home-');
    const cwd = tempDataDir('kura-cli-shared-');
    const env = isolatedEnv(home);
    // What another local user leaves in a directory everyone may write to (/tmp, a shared checkout): a
    // .kura-dev of theirs whose runtime file names their own listener and a live pid (this one's).
    const planted = path.join(cwd, '.kura-dev');
    fs.mkdirSync(planted);
    fs.chmodSync(planted, 0o777);
    const received: string[] = [];
    const impostor = (await import('node:http')).createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${body}`);
        res.setHeader('content-type', 'application/json');
        res.end(req.method === 'GET' ? '{"state":"sealed","mode":"shamir","threshold":2,"shares":3,"progress":0}' : '{"state":"sealed","progress":1}');
      });
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const port = (impostor.address() as { port: number }).port;
    fs.writeFileSync(path.join(planted, 'kura.runtime.json'), JSON.stringify({ endpoint: `http://127.0.0.1:${port}`, pid: process.pid, dataDir: planted, version: '0.1.0', dev: false, startedAt: new Date().toISOString() }));
    try {
      const r = await runKura(['unseal'], { cwd, env: { ...env, KURA_PORT: '1' }, input: 'kura-share-that-must-not-leak\n' });
      expect(received).toEqual([]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('No Kura answers at http://127.0.0.1:1');
    } finally {
      impostor.close();
    }
  });
});

describe('the admin token goes only to the appliance of its data directory', () => {
  it('with no appliance running there, a listener at the default endpoint (another user\'s) gets neither token nor PIN', async () => {
    const home = tempDataDir('kura-cli-home-');
    const env = isolatedEnv(home);
    // A stopped appliance's data directory: the admin token stays, the runtime file is gone.
    const k = await startKura({ dev: false, env });
    started.push(k);
    await k.stop();
    expect(fs.existsSync(path.join(k.dataDir, 'kura.runtime.json'))).toBe(false);
    const token = fs.readFileSync(path.join(k.dataDir, 'admin.token'), 'utf8').trim();
    // Another local user has taken the port the client commands fall back to.
    const received: string[] = [];
    const impostor = (await import('node:http')).createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`);
        res.setHeader('content-type', 'application/json');
        res.end('{"credentials":[],"state":"unsealed"}');
      });
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const port = String((impostor.address() as { port: number }).port);
    const pinFile = path.join(tempDataDir('kura-cli-pin-'), 'pin');
    fs.writeFileSync(pinFile, '87654321\n', { mode: 0o600 });
    const shareFile = path.join(tempDataDir('kura-cli-share-'), 'share');
    fs.writeFileSync(shareFile, 'kura-share-that-must-not-leak\n', { mode: 0o600 });
    try {
      const listed = await runKura(['credentials', 'list', '--data-dir', k.dataDir, '--json'], { env: { ...env, KURA_PORT: port } });
      const unsealed = await runKura(['unseal', '--pin-file', pinFile, '--data-dir', k.dataDir], { env: { ...env, KURA_PORT: port } });
      // Shares need no token, and are as much a secret: they go no further than the token.
      const shared = await runKura(['unseal', '--file', shareFile, '--data-dir', k.dataDir, '--json'], { env: { ...env, KURA_PORT: port } });
      expect(received.filter((r) => r.includes(token) || r.includes('87654321') || r.includes('kura-share-that-must-not-leak'))).toEqual([]);
      expect(shared.code).toBe(1);
      expect(JSON.parse(shared.stderr)).toMatchObject({ error: { code: 'NotRunning', message: expect.stringContaining('the shares are not sent') } });
      expect(listed.code).toBe(1);
      expect(JSON.parse(listed.stderr)).toMatchObject({ error: { code: 'NotRunning', message: expect.stringContaining(`No Kura is running on the data directory ${k.dataDir}`) } });
      expect(unsealed.code).toBe(1);
      // Named explicitly, an endpoint is the user's choice and gets the token.
      const named = await runKura(['credentials', 'list', '--data-dir', k.dataDir, '--endpoint', `http://127.0.0.1:${port}`], { env });
      expect(named.code).toBe(0);
      expect(received.at(-1)).toContain(`Bearer ${token}`);
    } finally {
      impostor.close();
    }
  });
});

describe('kura status exit codes on a production appliance', () => {
  const home = tempDataDir('kura-cli-home-');
  const env = isolatedEnv(home);
  let k: KuraProcess;
  const kura = (args: string[], input?: string) => runKura([...args, '--data-dir', k.dataDir], { env, ...(input !== undefined ? { input } : {}) });
  beforeAll(async () => {
    k = await startKura({ dev: false, env });
    started.push(k);
  });
  afterAll(async () => {
    await k?.stop();
  });

  it('2 uninitialized, 2 sealed, 0 unsealed, 2 sealed again; 1 when nothing answers', async () => {
    const uninitialized = await kura(['status', '--json']);
    expect(uninitialized.code).toBe(2);
    expect(JSON.parse(uninitialized.stdout)).toMatchObject({ state: 'uninitialized' });
    const init = await kura(['init', '--shares', '3', '--threshold', '2', '--json']);
    expect(init.code).toBe(0);
    const shares = (JSON.parse(init.stdout) as { shares: string[] }).shares;
    const sealed = await kura(['status']);
    expect(sealed.code).toBe(2);
    expect(sealed.stdout).toContain('State: sealed (shamir)');
    expect((await kura(['unseal'], `${shares[0]}\n${shares[2]}\n`)).code).toBe(0);
    expect((await kura(['status'])).code).toBe(0);
    // A production appliance seals (only a dev one refuses).
    const seal = await kura(['seal', '--json']);
    expect(seal.code).toBe(0);
    expect(JSON.parse(seal.stdout)).toMatchObject({ state: 'sealed' });
    expect((await kura(['status'])).code).toBe(2);
    expect((await runKura(['status', '--endpoint', 'http://127.0.0.1:1'], { env })).code).toBe(1);
  });

  it('once stopped, `kura status --data-dir` says nothing runs there, not only that the default port is silent', async () => {
    const other = await startKura({ dev: false, env });
    started.push(other);
    expect((await runKura(['stop', '--data-dir', other.dataDir], { env })).code).toBe(0);
    expect(await other.exited()).toBe(0);
    const r = await runKura(['status', '--data-dir', other.dataDir], { env: { ...env, KURA_PORT: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`No Kura answers at http://127.0.0.1:1, the default endpoint, and none is running on the data directory ${other.dataDir} (no live kura.runtime.json there).`);
  });

  it('`kura credentials env` has no secret to print for a production appliance', async () => {
    const r = await kura(['credentials', 'env']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no dev credential');
    expect(r.stdout).toBe('');
  });
});

describe('a production appliance\'s banner', () => {
  it('prints a `Next: kura init` line that works as printed, from another directory (it named only --endpoint, and init found no admin token)', async () => {
    const home = tempDataDir('kura-cli-home-');
    const cwd = tempDataDir('kura-cli-cwd-');
    const env = isolatedEnv(home);
    const k = await startKura({ dev: false, env });
    started.push(k);
    const next = /^Next: kura (.+)$/m.exec(k.stdout())?.[1];
    expect(next).toBe(`init --shares 5 --threshold 3 --data-dir ${k.dataDir}`);
    const init = await runKura(next!.split(' '), { cwd, env });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('5 shares');
    expect(await k.stop()).toBe(0);
  });
});

describe('log formats', () => {
  const home = tempDataDir('kura-cli-home-');
  const env = isolatedEnv(home);
  const TEXT_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z INFO {2}kura started version=\d+\.\d+\.\d+\S* pid=\d+ endpoint=http:\/\/127\.0\.0\.1:\d+ dataDir=\S+ dev=true state=unsealed applianceId=[0-9a-f-]{36}$/m;

  const startedLine = async (opts: { args?: string[]; env?: NodeJS.ProcessEnv }): Promise<string> => {
    const k = await startKura({ args: opts.args, env: { ...env, ...opts.env } });
    started.push(k);
    await waitFor('the start-up log line', () => k.stderr().includes('kura started'));
    expect(await k.stop()).toBe(0);
    return k.stderr();
  };

  it('--log-format text, KURA_LOG_FORMAT=text and logFormat in the config file give text lines', async () => {
    expect(await startedLine({ args: ['--log-format', 'text'] })).toMatch(TEXT_LINE);
    expect(await startedLine({ env: { KURA_LOG_FORMAT: 'text' } })).toMatch(TEXT_LINE);
    const config = path.join(tempDataDir('kura-cli-logconfig-'), 'kura.json');
    fs.writeFileSync(config, JSON.stringify({ logFormat: 'text' }));
    expect(await startedLine({ args: ['--config', config] })).toMatch(TEXT_LINE);
  });

  it('by default, JSON lines when stderr is not a terminal (a pipe here)', async () => {
    const log = await startedLine({});
    const lines = log.trim().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ time: expect.stringMatching(ISO), level: expect.any(String), msg: expect.any(String) });
    expect(log).toContain('"msg":"kura started"');
  });

  it('by default, text when stderr is a terminal (run under script(1) for a pty)', async () => {
    const dataDir = tempDataDir('kura-cli-tty-');
    const command = `exec "${process.execPath}" "${KURA_BIN}" serve --dev --port 0 --data-dir "${dataDir}"`;
    const proc = execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env } });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the start-up log line on the terminal', () => /kura started/.test(out));
      expect(out.replace(/\r/g, '')).toMatch(TEXT_LINE);
      expect(out).not.toContain('"msg":"kura started"');
    } finally {
      const stop = await runKura(['stop', '--data-dir', dataDir], { env });
      expect(stop.code).toBe(0);
    }
    expect(await exited).toBe(0);
  });
});
