// PKCS#11 modules, one per library file per process, shared and reference-counted.
//
// Why shared: a PKCS#11 library is a process-wide singleton. Loading the same file twice gives the same
// library, and its second C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED (SoftHSM and NSS both);
// C_Finalize by one user ends every other user's sessions. So every key store (and the pkcs11 seal
// source) on a module holds a lease on one Pkcs11Module; the last release finalizes it.
//
// NSS softokn takes its database location as C_Initialize "library parameters" (configdir='sql:DIR'
// …), so one process holds one NSS database: a second lease with other parameters is refused.
// The library itself is never unloaded (dlclose): a finalized module is initialised again on its next
// lease, which both vendors support, while unloading NSS and loading it again is not something it
// promises to survive.
//
// Slots and tokens are enumerated at C_Initialize (SoftHSM does not see a token made after it), so a
// caller that cannot find a token may ask for a rescan, which re-initialises the module — only when no
// session of any lease is open, since C_Finalize would end them.
//
// Where it runs (./cryptoki.ts): a library is loaded first in a host process of its own, which reports
// what it is (C_GetInfo). Only a module whose vendor row says it is a software token Kura knows
// (`inProcess`) is then loaded in Kura's own process, once, and stays loaded; every other module stays
// in its host, and a host that is stuck or dead makes its entry stale: the next lease starts a new host.
// Leasing, rescanning and releasing a library run one at a time.
import { SerialByKey } from '../../common/serial.js';
import type { CallArgs, CallName, CallResult, ModuleDescription } from './calls.js';
import { inProcessCryptoki, type Cryptoki } from './cryptoki.js';
import { ckrOf } from './errors.js';
import { checkModulePath } from './module-path.js';
import { ModuleHost } from './module-host.js';
import { vendorOf, type Vendor } from './vendors.js';
import type { Handle } from 'pkcs11js';

export type { ModuleDescription } from './calls.js';

const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

export interface ModuleConfig {
  modulePath: string;
  /** NSS softokn only: its C_Initialize library parameters (configdir=… etc.). */
  libraryParameters?: string;
  /** How long a call to a module in a host process may take (./module-host.ts: TOKEN_CALL_DEADLINE_MS). */
  callDeadlineMs?: number;
}

/**
 * pkcs11js 2.1.7 copies libraryParameters into a buffer one byte short of the string, so the native
 * string loses its last character ("configdir=sql:/x" reaches NSS as "configdir=sql:/x" minus "x",
 * CKR 0xCE534351). One trailing space is what gets cut instead; NSS's parameter parser skips blanks.
 */
export const nssParametersForPkcs11js = (parameters: string): string => `${parameters} `;

interface Loaded {
  cryptoki: Cryptoki;
  realPath: string;
  libraryParameters: string | undefined;
  leases: number;
  initialized: boolean;
  /**
   * The library parameters of Kura's last successful C_Initialize of the module (undefined: none;
   * null: the module takes none), kept when a C_Finalize fails (see initialize()).
   */
  initializedWith: string | null | undefined;
  openSessions: number;
  /** Set by every C_Initialize. */
  description: ModuleDescription | null;
  vendor: Vendor | null;
}

/** Library files in use in this process, by resolved path. */
const loaded = new Map<string, Loaded>();
/** Leases, rescans and releases of a library, one at a time, by resolved path. */
const perLibrary = new SerialByKey();

const isStale = (m: Loaded): boolean => m.cryptoki instanceof ModuleHost && m.cryptoki.stoppedBecause !== undefined;

/**
 * C_Initialize. A module whose last C_Finalize failed (Kura goes on without it: a module whose token
 * vanished may refuse to finalize) is still initialised, and answers CKR_CRYPTOKI_ALREADY_INITIALIZED,
 * which PKCS #11 does not make fatal: Kura is the library's only user in its process (one entry per
 * library file), so the module is taken as initialised when it was Kura that initialised it, with the
 * same library parameters. Otherwise (NSS with another database) the error stands.
 */
async function initialize(m: Loaded): Promise<void> {
  const wanted = m.libraryParameters ?? null;
  const parameters = wanted === null ? null : nssParametersForPkcs11js(wanted);
  try {
    await m.cryptoki.call('initialize', parameters);
  } catch (e) {
    if (ckrOf(e) !== CKR_CRYPTOKI_ALREADY_INITIALIZED || m.initializedWith !== wanted) throw e;
  }
  m.initializedWith = wanted;
  m.initialized = true;
  m.description = await m.cryptoki.call('describeModule');
  m.vendor = vendorOf(m.description);
}

async function finalize(m: Loaded): Promise<void> {
  m.initialized = false;
  if (await m.cryptoki.call('finalize').catch(() => false)) m.initializedWith = undefined;
}

const entry = (cryptoki: Cryptoki, realPath: string, libraryParameters: string | undefined): Loaded => ({
  cryptoki,
  realPath,
  libraryParameters,
  leases: 0,
  initialized: false,
  initializedWith: undefined,
  openSessions: 0,
  description: null,
  vendor: null,
});

/**
 * A library not in use yet, initialised: in a host; or, when it is a software token Kura knows, in this
 * process (the host that told is finalized and stopped). Throws Error when it cannot be loaded,
 * Pkcs11CallError when its C_Initialize fails.
 */
async function load(realPath: string, config: ModuleConfig): Promise<Loaded> {
  const host = await ModuleHost.start(realPath, { deadlineMs: config.callDeadlineMs });
  const hosted = entry(host, realPath, config.libraryParameters);
  try {
    await initialize(hosted);
  } catch (e) {
    host.end();
    throw e;
  }
  if (!hosted.vendor?.inProcess) return hosted;
  await finalize(hosted);
  host.end();
  let api: Cryptoki;
  try {
    api = inProcessCryptoki(realPath);
  } catch {
    throw new Error(`${config.modulePath} is not a PKCS#11 module that Kura can load.`);
  }
  const inProcess = entry(api, realPath, config.libraryParameters);
  await initialize(inProcess);
  return inProcess;
}

/** A lease on a loaded, initialised module. Release it exactly once. */
export class Pkcs11Module {
  private released = false;

  private constructor(private readonly m: Loaded) {}

  /**
   * Leases the module of a library file: checks the path (./module-path.ts), loads and initialises it
   * on first use. Throws ModulePathError, Pkcs11CallError (C_Initialize), or Error when the file is not
   * a PKCS#11 library or is leased already with other library parameters.
   */
  static async acquire(config: ModuleConfig): Promise<Pkcs11Module> {
    const realPath = checkModulePath(config.modulePath);
    return perLibrary.run(realPath, async () => {
      let m = loaded.get(realPath);
      if (m && isStale(m)) {
        // Its host is stuck or dead: the leases left on it fail their calls; a new lease gets a new host.
        loaded.delete(realPath);
        m = undefined;
      }
      if (m && m.leases > 0 && m.libraryParameters !== config.libraryParameters) {
        throw new Error(`The PKCS#11 module ${config.modulePath} is in use already with other library parameters (one configuration per module per process).`);
      }
      if (!m) {
        m = await load(realPath, config);
        loaded.set(realPath, m);
      } else if (!m.initialized) {
        m.libraryParameters = config.libraryParameters;
        await initialize(m);
      }
      m.leases++;
      return new Pkcs11Module(m);
    });
  }

  /** Runs an entry of the table of calls (./calls.ts) on the module. Rejects with Pkcs11CallError. */
  call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>> {
    if (this.released) return Promise.reject(new Error('This PKCS#11 module lease was released.'));
    return this.m.cryptoki.call(name, ...args);
  }

  get path(): string {
    return this.m.realPath;
  }

  /** Whether the module's host has stopped (stuck or dead): every call of this lease fails from now on. */
  get gone(): boolean {
    return isStale(this.m);
  }

  /** The host process's ID when the module runs in one (./module-host.ts), else undefined. */
  get hostPid(): number | undefined {
    return this.m.cryptoki instanceof ModuleHost ? this.m.cryptoki.pid : undefined;
  }

  get description(): ModuleDescription {
    if (!this.m.description) throw new Error('The PKCS#11 module is not initialised.');
    return this.m.description;
  }

  get vendor(): Vendor {
    if (!this.m.vendor) throw new Error('The PKCS#11 module is not initialised.');
    return this.m.vendor;
  }

  /** Sessions open on this module by every lease: a rescan is possible only at zero. */
  get openSessions(): number {
    return this.m.openSessions;
  }

  /**
   * Opens a session (read-write unless `readOnly`), counted from the moment it is asked for, so that no
   * rescan finalizes the module under it.
   */
  async openSession(slot: Handle, opts: { readOnly?: boolean } = {}): Promise<Handle> {
    this.m.openSessions++;
    try {
      return await this.call('openSession', slot, opts.readOnly === true);
    } catch (e) {
      this.m.openSessions = Math.max(0, this.m.openSessions - 1);
      throw e;
    }
  }

  /** Closes a session; a session the module no longer knows (its token gone) counts as closed. */
  async closeSession(session: Handle): Promise<void> {
    this.m.openSessions = Math.max(0, this.m.openSessions - 1);
    await this.m.cryptoki.call('closeSession', session).catch(() => undefined);
  }

  /**
   * Re-initialises the module so that it enumerates its slots and tokens again. Only when no session
   * is open on it (in any lease); returns whether it rescanned.
   */
  rescan(): Promise<boolean> {
    return perLibrary.run(this.m.realPath, async () => {
      if (this.m.openSessions > 0 || this.released || isStale(this.m)) return false;
      await finalize(this.m);
      await initialize(this.m);
      return true;
    });
  }

  /** Gives the lease back; the last one finalizes the module, and stops its host if it has one. */
  release(): Promise<void> {
    if (this.released) return Promise.resolve();
    this.released = true;
    return perLibrary.run(this.m.realPath, async () => {
      this.m.leases--;
      if (this.m.leases > 0) return;
      this.m.openSessions = 0;
      await finalize(this.m);
      if (this.m.cryptoki.hosted) {
        this.m.cryptoki.end();
        if (loaded.get(this.m.realPath) === this.m) loaded.delete(this.m.realPath);
      }
    });
  }
}
