// A token of a PKCS#11 module, found by its label. Slot IDs are not stable (SoftHSM derives them from
// the token's serial and reassigns them when a token is made; USB readers number slots in plug order),
// so an HSM is registered by module + token label (DESIGN.md, "HSM key stores"), and the slot is
// looked up on every connect. Labels are 32 blank-padded bytes in CK_TOKEN_INFO: compared trimmed.
//
// A token made after the module was initialised is not in its slot list until the module is
// initialised again; `findToken` does that once (Pkcs11Module.rescan) when the label is missing and
// the module has no open session.
import pkcs11js from 'pkcs11js';
import type { Handle } from 'pkcs11js';
import type { Pkcs11Module } from './module.js';

export interface TokenDescription {
  label: string;
  manufacturerId: string;
  model: string;
  serialNumber: string;
  loginRequired: boolean;
  userPinInitialized: boolean;
  userPinLocked: boolean;
  /** Whether the token offers CKM_AES_GCM for encryption and decryption. */
  aesGcm: boolean;
}

export class Pkcs11Token {
  constructor(
    readonly module: Pkcs11Module,
    readonly slot: Handle,
    readonly label: string,
  ) {}

  async describe(): Promise<TokenDescription> {
    const info = await this.module.call('tokenInfo', this.slot);
    const gcm = await this.module.call('mechanismFlags', this.slot, pkcs11js.CKM_AES_GCM);
    return {
      label: info.label,
      manufacturerId: info.manufacturerId,
      model: info.model,
      serialNumber: info.serialNumber,
      loginRequired: (info.flags & pkcs11js.CKF_LOGIN_REQUIRED) !== 0,
      userPinInitialized: (info.flags & pkcs11js.CKF_USER_PIN_INITIALIZED) !== 0,
      userPinLocked: (info.flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0,
      aesGcm: gcm !== null && (gcm & pkcs11js.CKF_ENCRYPT) !== 0 && (gcm & pkcs11js.CKF_DECRYPT) !== 0,
    };
  }

  /**
   * Whether the token still answers, with the same label: the check that tells a vanished token from
   * an operation's own failure when a vendor's code means both (SoftHSM's CKR_GENERAL_ERROR).
   */
  async present(): Promise<boolean> {
    try {
      return (await this.module.call('tokenInfo', this.slot)).label === this.label;
    } catch {
      return false;
    }
  }

  /**
   * Logs the user in on a session (PKCS#11 logs in per token and application, so every session of this
   * process on the token is then logged in until the last one closes or C_Logout). The PIN is a string
   * pkcs11js takes as it is (./calls.ts): the caller keeps it no longer than the call.
   */
  login(session: Handle, pin: string): Promise<void> {
    return this.module.call('login', session, pin);
  }

  /** Logs out; a token that is gone, or sessions already closed, count as logged out. */
  logout(session: Handle): Promise<void> {
    return this.module.call('logout', session).catch(() => undefined);
  }
}

async function scan(module: Pkcs11Module, label: string): Promise<Pkcs11Token | undefined> {
  for (const slot of await module.call('slots')) {
    try {
      if ((await module.call('tokenInfo', slot)).label === label) return new Pkcs11Token(module, slot, label);
    } catch (e) {
      // A slot whose token went away between the list and the look is not the one; a module whose host stopped has none.
      if (module.gone) throw e;
    }
  }
  return undefined;
}

/** The token with this label (trimmed), rescanning the module once if it is not found; undefined if there is none. */
export async function findToken(module: Pkcs11Module, label: string): Promise<Pkcs11Token | undefined> {
  const wanted = label.trim();
  return (await scan(module, wanted)) ?? ((await module.rescan()) ? scan(module, wanted) : undefined);
}
