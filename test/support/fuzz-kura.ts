// A `kura serve --dev` (the compiled dist/) started under util-linux's prlimit(1), so that the abuse
// tests run it with a low RLIMIT_NOFILE from its first instruction (a server that sizes its connection
// cap from the limit must see the low one). prlimit execs the server: the child's pid is the server's.
// It is test/support/kura-process.ts's startKura with prlimit as its launcher.
import { spawnSync } from 'node:child_process';
import { startKura, tempDataDir, type KuraProcess } from './kura-process.js';

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
  const k = await startKura({ ...opts, dataDir: opts.dataDir ?? tempDataDir('kura-fuzz-'), launcher: [prlimit, `--nofile=${nofile}:${nofile}`, '--'] });
  return Object.assign(k, { pid: k.proc.pid! });
}
