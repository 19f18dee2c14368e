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
import pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { callError } from './errors.js';
import { checkModulePath } from './module-path.js';
import { vendorOf, type Vendor } from './vendors.js';

export interface ModuleConfig {
  modulePath: string;
  /** NSS softokn only: its C_Initialize library parameters (configdir=… etc.). */
  libraryParameters?: string;
}

export interface ModuleDescription {
  manufacturerId: string;
  libraryDescription: string;
  libraryVersion: string;
  cryptokiVersion: string;
}

/**
 * pkcs11js 2.1.7 copies libraryParameters into a buffer one byte short of the string, so the native
 * string loses its last character ("configdir=sql:/x" reaches NSS as "configdir=sql:/x" minus "x",
 * CKR 0xCE534351). One trailing space is what gets cut instead; NSS's parameter parser skips blanks.
 */
export const nssParametersForPkcs11js = (parameters: string): string => `${parameters} `;

interface Loaded {
  api: PKCS11;
  realPath: string;
  libraryParameters: string | undefined;
  leases: number;
  initialized: boolean;
  openSessions: number;
  /** Set by every C_Initialize. */
  description: ModuleDescription | null;
  vendor: Vendor | null;
}

/** Library files loaded in this process, by resolved path: loaded once, initialised while leased. */
const loaded = new Map<string, Loaded>();

function initialize(m: Loaded): void {
  try {
    if (m.libraryParameters === undefined) m.api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    else m.api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK, libraryParameters: nssParametersForPkcs11js(m.libraryParameters) });
  } catch (e) {
    throw callError('C_Initialize', e);
  }
  m.initialized = true;
  const info = m.api.C_GetInfo();
  m.description = {
    manufacturerId: info.manufacturerID.trim(),
    libraryDescription: info.libraryDescription.trim(),
    libraryVersion: `${info.libraryVersion.major}.${info.libraryVersion.minor}`,
    cryptokiVersion: `${info.cryptokiVersion.major}.${info.cryptokiVersion.minor}`,
  };
  m.vendor = vendorOf(m.description);
}

function finalize(m: Loaded): void {
  m.initialized = false;
  try {
    m.api.C_Finalize();
  } catch {
    // A module whose token vanished may fail to finalize; it is re-initialised on its next lease anyway.
  }
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
  static acquire(config: ModuleConfig): Pkcs11Module {
    const realPath = checkModulePath(config.modulePath);
    let m = loaded.get(realPath);
    if (m && m.leases > 0 && m.libraryParameters !== config.libraryParameters) {
      throw new Error(`The PKCS#11 module ${config.modulePath} is in use already with other library parameters (one configuration per module per process).`);
    }
    if (!m) {
      const api = new pkcs11js.PKCS11();
      try {
        api.load(realPath);
      } catch {
        throw new Error(`${config.modulePath} is not a PKCS#11 module that Kura can load.`);
      }
      m = { api, realPath, libraryParameters: config.libraryParameters, leases: 0, initialized: false, openSessions: 0, description: null, vendor: null };
      loaded.set(realPath, m);
    }
    if (!m.initialized) {
      m.libraryParameters = config.libraryParameters;
      initialize(m);
    }
    m.leases++;
    return new Pkcs11Module(m);
  }

  /** The pkcs11js binding, for the files of this folder. */
  get api(): PKCS11 {
    if (this.released) throw new Error('This PKCS#11 module lease was released.');
    return this.m.api;
  }

  get path(): string {
    return this.m.realPath;
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

  openSession(slot: Handle): Handle {
    try {
      const h = this.api.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      this.m.openSessions++;
      return h;
    } catch (e) {
      throw callError('C_OpenSession', e);
    }
  }

  /** Closes a session; a session the module no longer knows (its token gone) counts as closed. */
  closeSession(session: Handle): void {
    this.m.openSessions = Math.max(0, this.m.openSessions - 1);
    try {
      this.api.C_CloseSession(session);
    } catch {
      // Already closed by the module (token removed, module finalized): nothing left to release.
    }
  }

  /**
   * Re-initialises the module so that it enumerates its slots and tokens again. Only when no session
   * is open on it (in any lease); returns whether it rescanned.
   */
  rescan(): boolean {
    if (this.m.openSessions > 0 || this.released) return false;
    finalize(this.m);
    initialize(this.m);
    return true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.m.leases--;
    if (this.m.leases === 0) {
      this.m.openSessions = 0;
      finalize(this.m);
    }
  }
}
