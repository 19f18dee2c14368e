// A `kura serve --dev` (the compiled dist/) started under util-linux's prlimit(1), so that the abuse
// tests run it with a low RLIMIT_NOFILE from its first instruction (a server that sizes its connection
// cap from the limit must see the low one). prlimit execs the server: the child's pid is the server's.
// Otherwise it is test/support/kura-process.ts's startKura: same flags, same readiness line, same handle.
import { spawn, spawnSync } from 'node:child_process';
import { KURA_BIN, ROOT, tempDataDir, type KuraProcess } from './kura-process.js';

/** Where prlimit is, or undefined when util-linux's prlimit is not installed. */
export function findPrlimit(): string | undefined {
  for (const candidate of ['/usr/bin/prlimit', '/bin/prlimit']) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

export async function startKuraWithNofile(nofile: number, opts: { args?: string[]; env?: NodeJS.ProcessEnv; dataDir?: string } = {}): Promise<KuraProcess & { pid: number }> {
  const prlimit = findPrlimit();
  if (prlimit === undefined) throw new Error('util-linux prlimit is needed (Debian: apt-get install util-linux)');
  const dataDir = opts.dataDir ?? tempDataDir('kura-fuzz-');
  const args = [`--nofile=${nofile}:${nofile}`, '--', process.execPath, KURA_BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--dev', ...(opts.args ?? [])];
  const proc = spawn(prlimit, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kura did not start in 20 s.\nstdout: ${out}\nstderr: ${err}`)), 20_000);
    const check = () => {
      const m = /(?:KMS endpoint: |listening on )(http:\/\/[\d.]+:\d+)/.exec(out);
      if (m && out.includes('export AWS_ENDPOINT_URL_KMS=')) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kura (prlimit --nofile=${nofile} ${args.slice(2).join(' ')}) exited with ${code} before starting.\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const grab = (name: string) => new RegExp(`export ${name}=(\\S+)`).exec(out)?.[1] ?? '';
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    proc,
    pid: proc.pid!,
    accessKeyId: grab('AWS_ACCESS_KEY_ID'),
    secretAccessKey: grab('AWS_SECRET_ACCESS_KEY'),
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
