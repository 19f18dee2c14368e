// Runs Debian's openssl (3.x) as an outside peer for the asymmetric tests: files in a temporary
// directory, one process per operation. Only test code uses this.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export interface OpenSslResult {
  ok: boolean;
  stdout: Buffer;
  stderr: string;
}

export class OpenSslWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'kura-openssl-'));

  /** Writes bytes to a file in the workspace and returns its path. */
  file(name: string, data: Uint8Array | string): string {
    const path = join(this.dir, name);
    writeFileSync(path, data);
    return path;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  read(name: string): Buffer {
    return readFileSync(join(this.dir, name));
  }

  run(args: string[]): OpenSslResult {
    const result = spawnSync('openssl', args, { cwd: this.dir });
    return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr.toString() };
  }

  /** Runs and throws with openssl's own message when it fails. */
  must(args: string[]): Buffer {
    const result = this.run(args);
    if (!result.ok) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A workspace for the calling test file, removed after its last test. */
export function fileWorkspace(): OpenSslWorkspace {
  const ws = new OpenSslWorkspace();
  afterAll(() => ws.dispose());
  return ws;
}

export function opensslVersion(): string {
  return spawnSync('openssl', ['version']).stdout.toString().trim();
}
