// The AWS CLI harness of the CLI integration tests: a dev-mode Kura, a work directory, an environment
// that keeps the machine's ~/.aws and AWS_* out, and awsRun / awsJson / awsFail against that Kura with
// Debian's v2 (/usr/bin/aws) or, for what its older model lacks, the newer v1 `aws` on PATH.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { startKura, type KuraProcess } from './kura-process.js';

/** Debian's AWS CLI v2 (2.9.19): it does not read AWS_ENDPOINT_URL_KMS, so every call passes --endpoint-url. */
export const DEBIAN_AWS = '/usr/bin/aws';
export const REGION = 'us-east-1';

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export class AwsCli {
  private kuraProcess: KuraProcess | undefined;
  private workDir: string | undefined;
  private cliEnv: NodeJS.ProcessEnv = {};

  /** `tempPrefix` names the work directory; every process gets `timeoutMs` before it is killed. */
  constructor(
    private readonly tempPrefix: string,
    readonly timeoutMs: number,
  ) {}

  get kura(): KuraProcess {
    if (!this.kuraProcess) throw new Error('AwsCli.start() has not run');
    return this.kuraProcess;
  }

  get work(): string {
    if (this.workDir === undefined) throw new Error('AwsCli.start() has not run');
    return this.workDir;
  }

  /** Starts Kura and makes the work directory and the CLI's environment (for beforeAll). */
  async start(): Promise<void> {
    this.kuraProcess = await startKura();
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), this.tempPrefix));
    // Empty config and credential files so the machine's ~/.aws never leaks in; no inherited AWS_*.
    const config = path.join(this.workDir, 'config');
    const credentials = path.join(this.workDir, 'credentials');
    fs.writeFileSync(config, '');
    fs.writeFileSync(credentials, '');
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    this.cliEnv = {
      ...inherited,
      AWS_ACCESS_KEY_ID: this.kuraProcess.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.kuraProcess.secretAccessKey,
      AWS_DEFAULT_REGION: REGION,
      AWS_PAGER: '',
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_EC2_METADATA_DISABLED: 'true',
      // Errors surface at once instead of after retries.
      AWS_RETRY_MODE: 'standard',
      AWS_MAX_ATTEMPTS: '1',
    };
  }

  /** Stops Kura and removes the work directory (for afterAll). */
  async stop(): Promise<void> {
    await this.kuraProcess?.stop();
    if (this.workDir !== undefined) fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  /** The CLI's environment with some variables replaced (a wrong secret, another region). */
  envWith = (over: Record<string, string>): NodeJS.ProcessEnv => ({ ...this.cliEnv, ...over });

  /** Runs any program in the work directory, by default with the CLI's environment; never throws. */
  run = (bin: string, args: string[], env: NodeJS.ProcessEnv = this.cliEnv): Promise<RunResult> =>
    new Promise((resolve) => {
      execFile(bin, args, { env, cwd: this.work, timeout: this.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string | null }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr) + (e && typeof e.code === 'string' ? `\n[spawn error ${e.code}: ${e.message}]` : ''),
        });
      });
    });

  /** How a finished process went, for error messages. */
  show = (bin: string, args: string[], r: RunResult): string => {
    const how = r.signal ? `killed by ${r.signal} (timeout ${this.timeoutMs} ms?)` : `exit ${r.code}`;
    return `${bin} ${args.join(' ')} → ${how}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  };

  /** An AWS CLI call against Kura, JSON output; never throws. */
  awsCall = (args: string[], bin = DEBIAN_AWS): Promise<RunResult> => this.run(bin, ['--endpoint-url', this.kura.url, '--output', 'json', ...args]);

  /** Runs a CLI call that must succeed; returns its stdout. */
  awsRun = async (args: string[], bin = DEBIAN_AWS): Promise<string> => {
    const r = await this.awsCall(args, bin);
    if (r.code !== 0) throw new Error(`expected success: ${this.show(bin, args, r)}`);
    return r.stdout;
  };

  /** Runs a CLI call that must succeed and print JSON; returns it parsed. */
  awsJson = async <T>(args: string[], bin = DEBIAN_AWS): Promise<T> => {
    const out = await this.awsRun(args, bin);
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new Error(`expected JSON from ${bin} ${args.join(' ')}, got: ${JSON.stringify(out)}`);
    }
  };

  /**
   * Runs a Debian-v2 call that must fail with a service error; returns stderr. Exit code 254 is the
   * CLI's "the service returned an error" (252 would be a parameter the CLI itself refused).
   */
  awsFail = async (args: string[]): Promise<string> => {
    const r = await this.awsCall(args);
    if (r.code !== 254) throw new Error(`expected exit 254 (service error): ${this.show(DEBIAN_AWS, args, r)}`);
    expect(r.stdout).toBe('');
    return r.stderr;
  };

  /** A v1 `aws` on PATH other than Debian's v2 (which /bin/aws also resolves to), or undefined. */
  findNewerAws = async (): Promise<string | undefined> => {
    const r = await this.run('which', ['-a', 'aws']);
    const debian = fs.realpathSync(DEBIAN_AWS);
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .find((p) => {
        try {
          return fs.realpathSync(p) !== debian;
        } catch {
          return false;
        }
      });
  };
}

/** Runs a program and collects its output; never throws (a failure is a non-zero code). */
export function runProgram(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

/**
 * Debian's AWS CLI v2 against a running Kura, with its dev credential, config files in `work` and
 * nothing of the machine's AWS_* or ~/.aws: returns a runner of `aws --endpoint-url … kms ARGS`.
 */
export function debianKmsCli(kura: Pick<KuraProcess, 'url' | 'accessKeyId' | 'secretAccessKey'>, work: string): (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
    AWS_ACCESS_KEY_ID: kura.accessKeyId,
    AWS_SECRET_ACCESS_KEY: kura.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: path.join(work, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'credentials'),
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
  };
  return (args) => runProgram(DEBIAN_AWS, ['--endpoint-url', kura.url, 'kms', ...args, '--output', 'json'], env);
}

/** Encrypts `text` with the CLI under `keyId`, then decrypts it: each call's stderr, and the plaintext that came back. */
export async function cliRoundTrip(cli: ReturnType<typeof debianKmsCli>, work: string, keyId: string, text: string): Promise<{ stderr: string[]; plaintext: string }> {
  fs.writeFileSync(path.join(work, 'plain.txt'), text);
  const enc = await cli(['encrypt', '--key-id', keyId, '--plaintext', `fileb://${path.join(work, 'plain.txt')}`]);
  if (enc.code !== 0) return { stderr: [enc.stderr], plaintext: '' };
  fs.writeFileSync(path.join(work, 'ct.bin'), Buffer.from((JSON.parse(enc.stdout) as { CiphertextBlob: string }).CiphertextBlob, 'base64'));
  const dec = await cli(['decrypt', '--ciphertext-blob', `fileb://${path.join(work, 'ct.bin')}`]);
  const plaintext = dec.code === 0 ? Buffer.from((JSON.parse(dec.stdout) as { Plaintext: string }).Plaintext, 'base64').toString() : '';
  return { stderr: [enc.stderr, dec.stderr], plaintext };
}
