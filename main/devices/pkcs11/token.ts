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
import { callError } from './errors.js';
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

  describe(): TokenDescription {
    const api = this.module.api;
    let info;
    let mechanisms: number[];
    try {
      info = api.C_GetTokenInfo(this.slot);
      mechanisms = api.C_GetMechanismList(this.slot);
    } catch (e) {
      throw callError('C_GetTokenInfo', e);
    }
    let aesGcm = false;
    if (mechanisms.includes(pkcs11js.CKM_AES_GCM)) {
      const flags = api.C_GetMechanismInfo(this.slot, pkcs11js.CKM_AES_GCM).flags;
      aesGcm = (flags & pkcs11js.CKF_ENCRYPT) !== 0 && (flags & pkcs11js.CKF_DECRYPT) !== 0;
    }
    return {
      label: info.label.trim(),
      manufacturerId: info.manufacturerID.trim(),
      model: info.model.trim(),
      serialNumber: info.serialNumber.trim(),
      loginRequired: (info.flags & pkcs11js.CKF_LOGIN_REQUIRED) !== 0,
      userPinInitialized: (info.flags & pkcs11js.CKF_USER_PIN_INITIALIZED) !== 0,
      userPinLocked: (info.flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0,
      aesGcm,
    };
  }

  /**
   * Whether the token still answers, with the same label: the check that tells a vanished token from
   * an operation's own failure when a vendor's code means both (SoftHSM's CKR_GENERAL_ERROR).
   */
  present(): boolean {
    try {
      return this.module.api.C_GetTokenInfo(this.slot).label.trim() === this.label;
    } catch {
      return false;
    }
  }

  /**
   * Logs the user in on a session (PKCS#11 logs in per token and application, so every session of this
   * process on the token is then logged in until the last one closes or C_Logout).
   * pkcs11js takes the PIN only as a JavaScript string, which Kura cannot wipe; the binding copies it
   * into a native buffer it frees without wiping. The caller keeps the string no longer than the call.
   */
  login(session: Handle, pin: string): void {
    try {
      this.module.api.C_Login(session, pkcs11js.CKU_USER, pin);
    } catch (e) {
      throw callError('C_Login', e);
    }
  }

  logout(session: Handle): void {
    try {
      this.module.api.C_Logout(session);
    } catch {
      // Not logged in any more (token gone, sessions closed): the state asked for holds.
    }
  }
}

function scan(module: Pkcs11Module, label: string): Pkcs11Token | undefined {
  const api = module.api;
  let slots: Handle[];
  try {
    slots = api.C_GetSlotList(true);
  } catch (e) {
    throw callError('C_GetSlotList', e);
  }
  for (const slot of slots) {
    try {
      if (api.C_GetTokenInfo(slot).label.trim() === label) return new Pkcs11Token(module, slot, label);
    } catch {
      // A slot whose token went away between the list and the look: not the one.
    }
  }
  return undefined;
}

/** The token with this label (trimmed), rescanning the module once if it is not found; undefined if there is none. */
export function findToken(module: Pkcs11Module, label: string): Pkcs11Token | undefined {
  const wanted = label.trim();
  return scan(module, wanted) ?? (module.rescan() ? scan(module, wanted) : undefined);
}
