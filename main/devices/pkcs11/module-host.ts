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
import { withBuffers, type HostAnswer, type HostRequest, type HostStarted } from './host-protocol.js';

/** How long a call to a hosted module may take, from when it is sent, before its host is taken as stuck. */
export const TOKEN_CALL_DEADLINE_MS = 10_000;
/** How long a host may take to start and load its library. */
export const HOST_START_DEADLINE_MS = 15_000;
/** Threads of a host's pool: its device work runs there, as many calls at once as a token's session pool holds (keystores/hsm/connect.ts). */
export const HOST_POOL_THREADS = 8;

/** The built host script: beside this file in dist/, and dist/'s also when this file runs as TypeScript (tests). */
function hostScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (import.meta.url.endsWith('.js')) return path.join(here, 'host.js');
  return path.join(packageRoot(here), 'dist', 'devices', 'pkcs11', 'host.js');
}

/**
 * A started host process, as ModuleHost needs it, whatever started it: Node's child_process.fork here
 * (forkHost), Electron's utilityProcess in the packaged desktop app, whose binary does not run as plain
 * Node.js (main/desktop/module-hosts.ts).
 */
export interface HostProcess {
  /** Sends a request; a request that cannot be sent ends the process (its exit is then reported). */
  send(message: HostRequest): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once, when the process has ended or could not start, with why. */
  onExit(listener: (why: string) => void): void;
  /** Ends the process at once (SIGKILL where the transport allows). */
  kill(): void;
  /** Lets the process end on its own once idle (its channel closes); killed if it does not within 2 s. */
  end(): void;
}

export type HostLauncher = (script: string, args: string[], env: NodeJS.ProcessEnv) => HostProcess;

/**
 * A host's environment: Kura's, which a vendor's library may read its configuration from (SOFTHSM2_CONF,
 * YUBIHSM_PKCS11_CONF, …), less the admin token, which is nothing of a library's.
 */
function hostEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.KURA_ADMIN_TOKEN;
  // The host's own pool, for its device work (host.ts); an operator's larger size stays.
  if (!(Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10) >= HOST_POOL_THREADS)) env.UV_THREADPOOL_SIZE = String(HOST_POOL_THREADS);
  return env;
}

/** A host started with child_process.fork. It does not keep this process alive (a pending call's deadline timer does). */
export const forkHost: HostLauncher = (script, args, env) => {
  const child: ChildProcess = fork(script, args, { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [], env });
  child.unref();
  child.channel?.unref();
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return {
    send: (message) => {
      child.send(message, (e) => {
        if (e) kill();
      });
    },
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => {
      let told = false;
      const tell = (why: string) => {
        if (told) return;
        told = true;
        listener(why);
      };
      child.on('exit', (code, signal) => tell(signal ?? `exit code ${String(code)}`));
      child.on('error', (e) => tell(e.message));
    },
    kill,
    end: () => {
      if (child.connected) child.disconnect();
      setTimeout(kill, 2_000).unref();
    },
  };
};

let launcher: HostLauncher = forkHost;

/** How hosts are started from now on (the desktop app's main process sets Electron's). */
export function setHostLauncher(next: HostLauncher): void {
  launcher = next;
}

interface Pending {
  name: CallName;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  sentAt: number;
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
  /** The host's process ID, once it has started. */
  pid = 0;
  /** Armed for the oldest pending call's deadline. */
  private watchdog: NodeJS.Timeout | undefined;
  private starting: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;

  private constructor(
    private readonly child: HostProcess,
    private readonly library: string,
    private readonly deadlineMs: number,
  ) {
    child.onMessage((m) => this.received(m as HostAnswer | HostStarted));
    child.onExit((why) => {
      live.delete(this);
      this.stop(`its host process ended (${why})`);
    });
    // Killed when this process exits, from its start until it has ended, in a call or not.
    live.add(this);
    watchExit();
  }

  /**
   * Starts a host for a library (a path checked already: ./module-path.ts). Throws Error if it cannot
   * load it, Pkcs11CallError ('token-absent') if loading it does not end within HOST_START_DEADLINE_MS.
   */
  static start(library: string, opts: { deadlineMs?: number } = {}): Promise<ModuleHost> {
    const host = new ModuleHost(launcher(hostScript(), [library], hostEnvironment()), library, opts.deadlineMs ?? TOKEN_CALL_DEADLINE_MS);
    return new Promise<ModuleHost>((resolve, reject) => {
      const timer = setTimeout(() => host.stop(`it did not load within ${seconds(HOST_START_DEADLINE_MS)}`, { answering: false }), HOST_START_DEADLINE_MS);
      host.starting = { resolve: () => resolve(host), reject, timer };
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
      this.pending.set(id, { name, resolve: resolve as (value: unknown) => void, reject, sentAt: performance.now() });
      this.arm();
      const request: HostRequest = { id, name, args };
      try {
        this.child.send(request);
      } catch (e) {
        this.stop(`its host process could not be given the call (${e instanceof Error ? e.message : 'unknown error'})`);
      }
    });
  }

  /**
   * One timer for every call's deadline: calls are sent in order, so the oldest pending one (the first of
   * the map) is the next to run out of time.
   */
  private arm(): void {
    if (this.watchdog) return;
    const oldest = this.pending.values().next().value;
    if (!oldest) return;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      const first = this.pending.values().next().value;
      if (first && performance.now() - first.sentAt >= this.deadlineMs) {
        this.stop(`a call did not answer within ${seconds(this.deadlineMs)}, so Kura stopped its host process`);
        return;
      }
      this.arm();
    }, Math.max(1, oldest.sentAt + this.deadlineMs - performance.now()));
  }

  /** Stops the host once the module is finalized: it exits when its channel closes, or is killed. */
  end(): void {
    if (this.gone !== undefined) return;
    this.settleAll('its host process was stopped');
    this.child.end();
  }

  /** Kills the host at once. */
  kill(): void {
    this.child.kill();
  }

  private received(m: HostAnswer | HostStarted): void {
    if ('started' in m) {
      const starting = this.starting;
      if (!starting) return;
      if (!m.started) return this.stop('it is not a PKCS#11 module that Kura can load');
      this.starting = undefined;
      clearTimeout(starting.timer);
      this.pid = m.pid;
      starting.resolve();
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if ('error' in m) p.reject(new Pkcs11CallError(m.error.fn, m.error.rv, m.error.meaning, m.error.why));
    else p.resolve(withBuffers(m.value));
  }

  /**
   * The host is stuck or dead: kill it, and fail what waits on it and everything after. A host that does
   * not answer while loading its library (`answering: false`) fails its start as a token that does not
   * answer, as a call past its deadline does: a library that waits that long at load is waiting on its
   * device or its daemon. Any other failure to start says the library cannot be used.
   */
  private stop(why: string, opts: { answering?: boolean } = {}): void {
    if (this.gone !== undefined) return;
    const starting = this.starting;
    this.starting = undefined;
    this.settleAll(why);
    this.kill();
    if (starting) {
      clearTimeout(starting.timer);
      starting.reject(
        opts.answering === false ? new Pkcs11CallError(`loading ${this.library}`, undefined, 'token-absent', why) : new Error(`${this.library} cannot be used: ${why}.`),
      );
    }
  }

  private settleAll(why: string): void {
    this.gone = why;
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    for (const p of this.pending.values()) p.reject(this.goneError(p.name, why));
    this.pending.clear();
  }

  private goneError(name: CallName, why: string): Pkcs11CallError {
    return new Pkcs11CallError(`the PKCS#11 call ${name}`, undefined, 'token-absent', why);
  }
}
