// Reaching an HSM token: probe (load the module and find the token, no PIN: what `kura hsm add|test`
// checks) and connect (log in, open the session pool, build the HsmKeyStore). Every failure is an
// HsmConnectionError with AWS's ConnectionErrorCode (./connection-error.ts), and leaves nothing open:
// a session opened before the failure is closed and the module lease released.
import type { Logger } from '../../common/log.js';
import {
  findToken,
  meaningOf,
  ModulePathError,
  Pkcs11Module,
  Pkcs11Session,
  SessionPool,
  type Pkcs11Token,
} from '../../devices/pkcs11/index.js';
import { connectionCodeOf, HsmConnectionError } from './connection-error.js';
import { HsmKeyStore } from './hsm-key-store.js';

export interface HsmTokenConfig {
  modulePath: string;
  tokenLabel: string;
  /** NSS softokn only: its C_Initialize library parameters (configdir=… etc.). */
  libraryParameters?: string;
}

export interface HsmTokenInfo {
  label: string;
  manufacturerId: string;
  model: string;
  serialNumber: string;
  /** The vendor table's name for the module (SoftHSM, NSS, default). */
  vendor: string;
  loginRequired: boolean;
  aesGcm: boolean;
}

export const DEFAULT_SESSIONS = 8;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function leaseModule(config: HsmTokenConfig): Pkcs11Module {
  try {
    return Pkcs11Module.acquire({ modulePath: config.modulePath, libraryParameters: config.libraryParameters });
  } catch (e) {
    if (e instanceof ModulePathError) throw new HsmConnectionError('CLUSTER_NOT_FOUND', e.message);
    const why = e instanceof Error && !meaningOf(e) ? e.message : `its C_Initialize failed (${e instanceof Error ? e.message : 'unknown error'})`;
    throw new HsmConnectionError('CLUSTER_NOT_FOUND', `The PKCS#11 module ${config.modulePath} cannot be used: ${why}`);
  }
}

function tokenOf(module: Pkcs11Module, config: HsmTokenConfig): Pkcs11Token {
  let token: Pkcs11Token | undefined;
  try {
    token = findToken(module, config.tokenLabel);
  } catch (e) {
    throw new HsmConnectionError('INTERNAL_ERROR', `The PKCS#11 module ${config.modulePath} could not list its tokens (${e instanceof Error ? e.message : 'unknown error'}).`);
  }
  if (!token) throw new HsmConnectionError('INSUFFICIENT_CLOUDHSM_HSMS', `No token labelled "${config.tokenLabel.trim()}" is present in ${config.modulePath}.`);
  return token;
}

/** Loads the module and finds the token, without logging in. Throws HsmConnectionError. */
export async function probeHsmToken(config: HsmTokenConfig): Promise<HsmTokenInfo> {
  const module = leaseModule(config);
  try {
    const token = tokenOf(module, config);
    const d = token.describe();
    return { label: d.label, manufacturerId: d.manufacturerId, model: d.model, serialNumber: d.serialNumber, vendor: module.vendor.name, loginRequired: d.loginRequired, aesGcm: d.aesGcm };
  } catch (e) {
    if (e instanceof HsmConnectionError) throw e;
    throw new HsmConnectionError('INSUFFICIENT_CLOUDHSM_HSMS', `The token "${config.tokenLabel.trim()}" did not answer (${e instanceof Error ? e.message : 'unknown error'}).`);
  } finally {
    module.release();
  }
}

/**
 * Loads the module, finds the token, logs in with the PIN and opens the session pool. Throws
 * HsmConnectionError (INVALID_CREDENTIALS for a wrong PIN, USER_LOCKED_OUT, USER_LOGGED_IN,
 * USER_NOT_FOUND for an uninitialised user PIN, CLUSTER_NOT_FOUND, INSUFFICIENT_CLOUDHSM_HSMS, …).
 */
export async function connectHsmKeyStore(config: HsmTokenConfig & { pin: string }, opts: { log?: Logger; sessions?: number } = {}): Promise<HsmKeyStore> {
  const log = opts.log ?? silent;
  const module = leaseModule(config);
  let loginSession: Buffer | undefined;
  try {
    const token = tokenOf(module, config);
    const d = token.describe();
    const label = `"${d.label}"`;
    if (!d.userPinInitialized) throw new HsmConnectionError('USER_NOT_FOUND', `The user PIN of the token ${label} is not initialised.`);
    if (d.userPinLocked) throw new HsmConnectionError('USER_LOCKED_OUT', `The user PIN of the token ${label} is locked.`);
    if (!d.aesGcm) throw new HsmConnectionError('INTERNAL_ERROR', `The token ${label} does not offer AES-GCM encryption.`);
    if (!module.vendor.blobKeyDerivation) throw new HsmConnectionError('INTERNAL_ERROR', `The token ${label} cannot derive per-blob keys.`);
    loginSession = module.openSession(token.slot);
    try {
      token.login(loginSession, config.pin);
    } catch (e) {
      const code = connectionCodeOf(meaningOf(e));
      throw new HsmConnectionError(code, `Logging in to the token ${label} failed: ${e instanceof Error ? e.message : 'unknown error'}.`);
    }
    const pool = new SessionPool<Pkcs11Session>(
      {
        open: () => new Pkcs11Session(token, module.openSession(token.slot)),
        close: (s) => module.closeSession(s.handle),
        reusable: (s) => !s.broken,
      },
      opts.sessions ?? DEFAULT_SESSIONS,
    );
    log.info('HSM token connected', { token: d.label, vendor: module.vendor.name, model: d.model, serial: d.serialNumber });
    return new HsmKeyStore({ module, token, loginSession, pool, log });
  } catch (e) {
    if (loginSession) module.closeSession(loginSession);
    module.release();
    if (e instanceof HsmConnectionError) throw e;
    throw new HsmConnectionError(connectionCodeOf(meaningOf(e)), `Connecting to the token "${config.tokenLabel.trim()}" failed: ${e instanceof Error ? e.message : 'unknown error'}.`);
  }
}
