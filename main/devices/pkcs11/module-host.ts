// A PKCS#11 module in a host process of its own (./host.ts), seen from Kura's process: a Cryptoki
// (./cryptoki.ts) whose calls cross the IPC channel.
//
// Every call has a deadline (TOKEN_CALL_DEADLINE_MS). A call that does not answer within it means the
// module is stuck in a native call, which nothing can cancel: Kura kills the host (SIGKILL). The call,
// and every other call waiting on that host, fails as a token that has gone away (Pkcs11CallError,
// 'token-absent'), so the key store on it turns FAILED and answers at once from then on. A host that
// dies (a crash in the vendor's library) fails its calls the same way. Nothing of either reaches Kura's
// event loop or its process; reconnecting the key store starts a new host.
//
// The host process does not keep Kura's process alive (a pending call's deadline timer does), and is
// killed when Kura's process exits, even in a call that never returns.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../common/package-root.js';
import type { CallArgs, CallName, CallResult } from './calls.js';
import type { Cryptoki } from './cryptoki.js';
import { Pkcs11CallError } from './errors.js';
import type { HostAnswer, HostRequest, HostStarted } from './host-protocol.js';

/** How long a call to a hosted module may take before its host is taken as stuck. */
export const TOKEN_CALL_DEADLINE_MS = 10_000;
/** How long a host may take to start and load its library. */
export const HOST_START_DEADLINE_MS = 15_000;

/** The built host script: beside this file in dist/, and dist/'s also when this file runs as TypeScript (tests). */
function hostScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (import.meta.url.endsWith('.js')) return path.join(here, 'host.js');
  return path.join(packageRoot(here), 'dist', 'devices', 'pkcs11', 'host.js');
}

interface Pending {
  name: CallName;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Hosts alive in this process: killed when it exits. */
const live = new Set<ModuleHost>();
let killAtExit = false;

function watchExit(): void {
  if (killAtExit) return;
  killAtExit = true;
  process.on('exit', () => {
    for (const host of live) host.kill();
  });
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export class ModuleHost implements Cryptoki {
  readonly hosted = true;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Why the host is gone; undefined while it serves. */
  private gone: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    /** The host's process ID. */
    readonly pid: number,
    private readonly deadlineMs: number,
  ) {
    child.on('message', (m: HostAnswer) => this.answered(m));
    child.on('exit', (code, signal) => this.stop(`its host process ended (${signal ?? `exit code ${String(code)}`})`));
    child.on('error', (e) => this.stop(`its host process failed (${e.message})`));
    child.unref();
    child.channel?.unref();
    live.add(this);
    watchExit();
  }

  /** Starts a host for a library (a path checked already: ./module-path.ts). Throws Error if it cannot load it. */
  static start(library: string, opts: { deadlineMs?: number } = {}): Promise<ModuleHost> {
    const child = fork(hostScript(), [library], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
    return new Promise<ModuleHost>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.removeAllListeners();
        child.kill('SIGKILL');
        reject(new Error(why));
      };
      const timer = setTimeout(() => fail(`${library} did not load within ${seconds(HOST_START_DEADLINE_MS)}.`), HOST_START_DEADLINE_MS);
      child.once('message', (m: HostStarted) => {
        if (!m.started) return fail(`${library} is not a PKCS#11 module that Kura can load.`);
        clearTimeout(timer);
        child.removeAllListeners();
        resolve(new ModuleHost(child, m.pid, opts.deadlineMs ?? TOKEN_CALL_DEADLINE_MS));
      });
      child.once('exit', (code, signal) => fail(`The host process of ${library} ended as it started (${signal ?? `exit code ${String(code)}`}).`));
      child.once('error', (e) => fail(`The host process of ${library} could not start (${e.message}).`));
    });
  }

  /** Why the host is gone (undefined while it serves). */
  get stoppedBecause(): string | undefined {
    return this.gone;
  }

  call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>> {
    if (this.gone !== undefined) return Promise.reject(this.goneError(name, this.gone));
    const id = this.nextId++;
    return new Promise<CallResult<N>>((resolve, reject) => {
      const timer = setTimeout(
        () => this.stop(`the module did not answer within ${seconds(this.deadlineMs)}, so Kura stopped its host process`),
        this.deadlineMs,
      );
      this.pending.set(id, { name, resolve: resolve as (value: unknown) => void, reject, timer });
      const request: HostRequest = { id, name, args };
      this.child.send(request, (e) => {
        if (e) this.stop(`its host process could not be reached (${e.message})`);
      });
    });
  }

  /** Stops the host once the module is finalized: it exits when its channel closes, or is killed. */
  end(): void {
    if (this.gone !== undefined) return;
    this.settleAll('its host process was stopped');
    if (this.child.connected) this.child.disconnect();
    setTimeout(() => this.kill(), 2_000).unref();
  }

  /** Kills the host at once. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private answered(m: HostAnswer): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if ('error' in m) p.reject(new Pkcs11CallError(m.error.fn, m.error.rv, m.error.meaning, m.error.why));
    else p.resolve(m.value);
  }

  /** The host is stuck or dead: kill it, and fail what waits on it and everything after. */
  private stop(why: string): void {
    if (this.gone !== undefined) return;
    this.settleAll(why);
    this.kill();
  }

  private settleAll(why: string): void {
    this.gone = why;
    live.delete(this);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.goneError(p.name, why));
    }
    this.pending.clear();
  }

  private goneError(name: CallName, why: string): Pkcs11CallError {
    return new Pkcs11CallError(`the PKCS#11 call ${name}`, undefined, 'token-absent', why);
  }
}
