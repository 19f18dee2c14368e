// Starts a real `kura serve` process (the compiled dist/, as `npm start` runs it) on a free port with
// its own data directory, and reads the endpoint and dev credential it prints; runs `kura` commands.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KURA_BIN = path.join(ROOT, 'bin', 'kura.js');

export interface KuraProcess {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** Dev credential (dev mode only). */
  accessKeyId: string;
  secretAccessKey: string;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM and wait for exit (SIGKILL after 20 s); resolves with the exit code, null if killed. */
  stop(): Promise<number | null>;
  /**
   * Waits for an exit already under way (after `kura stop`), sending no signal: a SIGTERM then could
   * land in Node's teardown, once its handlers are gone, and kill the process instead of stopping it.
   * Rejects after `ms` with what the process printed.
   */
  exited(ms?: number): Promise<number | null>;
  /** SIGKILL, no cleanup. */
  kill9(): Promise<void>;
}

export function tempDataDir(prefix = 'kura-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts `kura serve --port 0` (with --dev unless dev: false). `cwd` sets the working directory; with
 * `defaultDataDir`, no --data-dir is passed, so a dev appliance uses ./.kura-dev of `cwd`, as
 * `npm start` does.
 */
export async function startKura(
  opts: {
    dataDir?: string;
    dev?: boolean;
    args?: string[];
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    defaultDataDir?: boolean;
    /** A command that execs Node with its arguments (e.g. prlimit with limits to start under); its PID stays Kura's. */
    launcher?: string[];
    /** The `kura` script to run (default: this checkout's bin/kura.js). */
    bin?: string;
  } = {},
): Promise<KuraProcess> {
  const cwd = opts.cwd ?? ROOT;
  const dataDir = opts.defaultDataDir ? path.join(cwd, '.kura-dev') : (opts.dataDir ?? tempDataDir());
  const dev = opts.dev ?? true;
  const args = [opts.bin ?? KURA_BIN, 'serve', '--port', '0', ...(opts.defaultDataDir ? [] : ['--data-dir', dataDir]), ...(dev ? ['--dev'] : []), ...(opts.args ?? [])];
  // XKS calls get 5 s for their key manager's work instead of AWS's 200 ms: on a loaded CI machine a cold
  // first call can take longer, and only test/integration/xks-hsm-hang.test.ts is about that deadline
  // (it sets --xks-answer-deadline, which wins over this).
  const env = { KURA_XKS_ANSWER_DEADLINE: '5000', ...process.env, ...opts.env };
  const [command, ...launcherArgs] = [...(opts.launcher ?? []), process.execPath];
  const proc = spawn(command!, [...launcherArgs, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kura did not start in 20 s.\nstdout: ${out}\nstderr: ${err}`)), 20_000);
    const check = () => {
      const m = /(?:KMS endpoint: |listening on )(http:\/\/[\d.]+:\d+)/.exec(out);
      // In dev mode the credential lines follow the endpoint line, possibly in a later chunk.
      if (m && (!dev || out.includes('export AWS_ENDPOINT_URL_KMS='))) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kura exited with ${code} before starting.\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const grab = (name: string) => new RegExp(`export ${name}=(\\S+)`).exec(out)?.[1] ?? '';
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    proc,
    accessKeyId: grab('AWS_ACCESS_KEY_ID'),
    secretAccessKey: grab('AWS_SECRET_ACCESS_KEY'),
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      // A stop that hangs fails its test on the exit code, not on the test runner's timeout.
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    exited(ms = 10_000) {
      return new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kura did not exit within ${ms} ms.\nstderr: ${err}`)), ms);
        void exited.then((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs `kura <args>` to completion (in `cwd`, by default the repository). */
export function runKura(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [KURA_BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.end(opts.input ?? '');
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * An environment for `kura` commands that keeps the machine's settings out: no KURA_* (so the
 * commands find the appliance themselves) and HOME set to `home`, so that the user's default data
 * directory (~/.local/share/kura) and ~/.aws are those of a temporary directory.
 */
export function isolatedEnv(home: string): NodeJS.ProcessEnv {
  return {
    KURA_ADMIN_TOKEN: '',
    KURA_DATA_DIR: '',
    KURA_CONFIG: '',
    KURA_ENDPOINT: '',
    KURA_PORT: '',
    KURA_HOST: '',
    KURA_LOG_FORMAT: '',
    KURA_LOG_LEVEL: '',
    HOME: home,
    XDG_DATA_HOME: '',
  };
}
