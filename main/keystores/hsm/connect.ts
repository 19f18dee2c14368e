// Reaching an HSM token: probe (load the module and find the token, no PIN: what `kura hsm add|test`
// checks) and connect (log in, open the session pool, build the HsmKeyStore). Every failure is an
// HsmConnectionError with AWS's ConnectionErrorCode (./connection-error.ts), and leaves nothing open:
// a session opened before the failure is closed and the module lease released.
//
// One login per token per process (PKCS#11 v2.40 §5.6, C_Login: a second login of the same user answers
// CKR_USER_ALREADY_LOGGED_IN, and one C_Logout logs out every session of the application): a connect
// to a token this process is logged in to already — by module, library parameters and token serial —
// shares that login (HsmKeyStore.retain()), provided it brings the same PIN. The PINs are compared as
// HMAC-SHA256 values under a key made for this process, in constant time, so no PIN is kept; a different
// PIN is INVALID_CREDENTIALS, since that PIN was never tried on the token. The shared store's session pool
// is the first connect's (its `sessions`).
//
// A registered HSM is its token's serial number as well as its label (`serialNumber`, recorded by `kura
// hsm add`): a token with the label and another serial is not the HSM registered, and is refused as
// CLUSTER_NOT_FOUND (AWS: KMS cannot find the cluster with that ID) before a session is opened, so the
// PIN is never offered to it. A registration whose serial names no token (blank or zeros: NSS softokn)
// is found by its label, and refused when two tokens carry it (../../devices/pkcs11/token.ts).
import { createHmac } from 'node:crypto';
import { SerialByKey } from '../../common/serial.js';
import type { Logger } from '../../common/log.js';
import {
  findRegisteredToken,
  meaningOf,
  TOKEN_GONE,
  ModulePathError,
  Pkcs11Module,
  Pkcs11Session,
  SessionPool,
  type Pkcs11Token,
} from '../../devices/pkcs11/index.js';
import { constantTimeEqual, randomBytes } from '../../crypto/bytes.js';
import { connectionCodeOf, HsmConnectionError } from './connection-error.js';
import { HsmKeyStore } from './hsm-key-store.js';

export interface HsmTokenConfig {
  modulePath: string;
  tokenLabel: string;
  /** NSS softokn only: its C_Initialize library parameters (configdir=… etc.). */
  libraryParameters?: string;
  /** The serial number registered (`kura hsm add`): a token with the label and another one is refused. Absent: any. */
  serialNumber?: string;
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

/** A login of this process on a token: its first store (to retain), and the PIN's MAC. */
interface Login {
  store: HsmKeyStore;
  pinMac: Buffer;
  /** Set when the login takes no more stores; settled once it has logged out. */
  loggedOut: Promise<void> | undefined;
}

/** The tokens this process is logged in to (one login per token and application, PKCS#11). */
const logins = new Map<string, Login>();
/** Connects to one token (by login key), one at a time. */
const perToken = new SerialByKey();

/** The key of the PIN MACs: made for this process, never stored. */
const PIN_MAC_KEY = randomBytes(32);
const macOf = (pin: string): Buffer => createHmac('sha256', PIN_MAC_KEY).update(pin, 'utf8').digest();

/** A token by its module and library parameters (one configuration per module per process) and its serial number, or its label if it has none. */
const loginKey = (modulePath: string, libraryParameters: string | undefined, d: { serialNumber: string; label: string }): string =>
  JSON.stringify([modulePath, libraryParameters ?? null, d.serialNumber !== '' ? `serial:${d.serialNumber}` : `label:${d.label}`]);

async function leaseModule(config: HsmTokenConfig, callDeadlineMs: number | undefined): Promise<Pkcs11Module> {
  try {
    return await Pkcs11Module.acquire({ modulePath: config.modulePath, libraryParameters: config.libraryParameters, callDeadlineMs });
  } catch (e) {
    if (e instanceof ModulePathError) throw new HsmConnectionError('CLUSTER_NOT_FOUND', e.message);
    const meaning = meaningOf(e);
    // A module whose device does not answer, or fails, while it loads or initialises (a call past its
    // deadline, CKR_DEVICE_ERROR) reads as it would mid-use: a token that is not there, or a device
    // error; not a module that cannot be used.
    if (meaning !== undefined && meaning !== 'cryptoki-state' && TOKEN_GONE.has(meaning)) {
      throw new HsmConnectionError(connectionCodeOf(meaning), `The device behind the PKCS#11 module ${config.modulePath} did not work while the module started (${(e as Error).message}).`);
    }
    // A library that is not a module names itself in its message already.
    if (e instanceof Error && !meaning) throw new HsmConnectionError('CLUSTER_NOT_FOUND', e.message);
    throw new HsmConnectionError('CLUSTER_NOT_FOUND', `The PKCS#11 module ${config.modulePath} cannot be used: its C_Initialize failed (${e instanceof Error ? e.message : 'unknown error'}).`);
  }
}

async function tokenOf(module: Pkcs11Module, config: HsmTokenConfig): Promise<Pkcs11Token> {
  const label = config.tokenLabel.trim();
  let found;
  try {
    found = await findRegisteredToken(module, label, config.serialNumber);
  } catch (e) {
    throw new HsmConnectionError(connectionCodeOf(meaningOf(e)), `The PKCS#11 module ${config.modulePath} could not list its tokens (${e instanceof Error ? e.message : 'unknown error'}).`);
  }
  if (found.token) return found.token;
  switch (found.refused) {
    case 'absent':
      throw new HsmConnectionError('INSUFFICIENT_CLOUDHSM_HSMS', `No token labelled "${label}" is present in ${config.modulePath}.`);
    case 'other-serial':
      throw new HsmConnectionError(
        'CLUSTER_NOT_FOUND',
        `The token labelled "${label}" in ${config.modulePath} has serial number ${found.found.join(', ')}, not ${config.serialNumber?.trim()}, the one registered: ` +
          'it is not the registered token (re-initialised or replaced), and Kura did not log in to it. ' +
          'If the change is intended, the keys of the registered token are not on it: register it as a new HSM (kura hsm add; ' +
          'its module and label are taken until this registration is removed with kura hsm remove) and make a new key store on it.',
      );
    case 'ambiguous':
      throw new HsmConnectionError(
        'CLUSTER_NOT_FOUND',
        `${found.found.length} tokens labelled "${label}" are present in ${config.modulePath} (serial numbers ${found.found.join(', ')}), and Kura will not guess which one is the HSM: give them distinct labels, or remove the one that is not it.`,
      );
  }
}

/** Loads the module and finds the token, without logging in. Throws HsmConnectionError. */
export async function probeHsmToken(config: HsmTokenConfig, opts: { callDeadlineMs?: number } = {}): Promise<HsmTokenInfo> {
  const module = await leaseModule(config, opts.callDeadlineMs);
  try {
    const token = await tokenOf(module, config);
    const d = await token.describe();
    return { label: d.label, manufacturerId: d.manufacturerId, model: d.model, serialNumber: d.serialNumber, vendor: module.vendor.name, loginRequired: d.loginRequired, aesGcm: d.aesGcm };
  } catch (e) {
    if (e instanceof HsmConnectionError) throw e;
    throw new HsmConnectionError('INSUFFICIENT_CLOUDHSM_HSMS', `The token "${config.tokenLabel.trim()}" did not answer (${e instanceof Error ? e.message : 'unknown error'}).`);
  } finally {
    await module.release();
  }
}

/**
 * Loads the module, finds the token, logs in with the PIN and opens the session pool — or, when this
 * process is logged in to the token already, checks the PIN against that login's and shares it. Throws
 * HsmConnectionError (INVALID_CREDENTIALS for a wrong PIN, USER_LOCKED_OUT, USER_LOGGED_IN when
 * something else of this process holds the login, USER_NOT_FOUND for an uninitialised user PIN,
 * CLUSTER_NOT_FOUND, INSUFFICIENT_CLOUDHSM_HSMS, …).
 */
export async function connectHsmKeyStore(
  config: HsmTokenConfig & { pin: string },
  opts: { log?: Logger; sessions?: number; callDeadlineMs?: number } = {},
): Promise<HsmKeyStore> {
  const log = opts.log ?? silent;
  const module = await leaseModule(config, opts.callDeadlineMs);
  let loginSession: Buffer | undefined;
  try {
    const token = await tokenOf(module, config);
    const d = await token.describe();
    const label = `"${d.label}"`;
    const key = loginKey(module.path, config.libraryParameters, d);
    const pinMac = macOf(config.pin);
    // From finding no login to making one, another connect to the token would log in a second time.
    return await perToken.run(key, async () => {
      for (let live = logins.get(key); live; live = logins.get(key)) {
        if (live.loggedOut) {
          // That login is on its way out: logging in before its C_Logout would be refused.
          await live.loggedOut.catch(() => undefined);
          if (logins.get(key) === live) logins.delete(key);
          continue;
        }
        if (!constantTimeEqual(live.pinMac, pinMac)) {
          throw new HsmConnectionError('INVALID_CREDENTIALS', `This process is logged in to the token ${label} already, with another PIN.`);
        }
        const shared = live.store.retain();
        if (!shared) {
          logins.delete(key);
          continue;
        }
        await module.release();
        log.info('HSM token connected (shared login)', { token: d.label, stores: shared.sharedBy });
        return shared;
      }
      if (!d.userPinInitialized) throw new HsmConnectionError('USER_NOT_FOUND', `The user PIN of the token ${label} is not initialised.`);
      if (d.userPinLocked) throw new HsmConnectionError('USER_LOCKED_OUT', `The user PIN of the token ${label} is locked.`);
      if (!d.aesGcm) throw new HsmConnectionError('INTERNAL_ERROR', `The token ${label} does not offer AES-GCM encryption.`);
      if (!module.vendor.blobKeyDerivation) throw new HsmConnectionError('INTERNAL_ERROR', `The token ${label} cannot derive per-blob keys.`);
      loginSession = await module.openSession(token.slot);
      try {
        await token.login(loginSession, config.pin);
      } catch (e) {
        const code = connectionCodeOf(meaningOf(e));
        throw new HsmConnectionError(code, `Logging in to the token ${label} failed: ${e instanceof Error ? e.message : 'unknown error'}.`);
      }
      const pool = new SessionPool<Pkcs11Session>(
        {
          open: async () => new Pkcs11Session(token, await module.openSession(token.slot)),
          close: (s) => module.closeSession(s.handle),
          reusable: (s) => !s.broken,
        },
        opts.sessions ?? DEFAULT_SESSIONS,
      );
      log.info('HSM token connected', { token: d.label, vendor: module.vendor.name, model: d.model, serial: d.serialNumber });
      const store: HsmKeyStore = new HsmKeyStore({
        module,
        token,
        loginSession,
        pool,
        log,
        onEnd: (loggedOut) => {
          const ending = logins.get(key);
          if (ending?.store !== store) return;
          ending.loggedOut = loggedOut;
          void loggedOut
            .catch(() => undefined)
            .then(() => {
              if (logins.get(key) === ending) logins.delete(key);
            });
        },
      });
      logins.set(key, { store, pinMac, loggedOut: undefined });
      return store;
    });
  } catch (e) {
    if (loginSession) await module.closeSession(loginSession);
    await module.release();
    if (e instanceof HsmConnectionError) throw e;
    throw new HsmConnectionError(connectionCodeOf(meaningOf(e)), `Connecting to the token "${config.tokenLabel.trim()}" failed: ${e instanceof Error ? e.message : 'unknown error'}.`);
  }
}
