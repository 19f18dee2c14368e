// A token of a PKCS#11 module, found by its label. Slot IDs are not stable (SoftHSM derives them from
// the token's serial and reassigns them when a token is made; USB readers number slots in plug order),
// so an HSM is registered by module + token label (DESIGN.md, "HSM key stores"), and the slot is
// looked up on every connect. Labels are 32 blank-padded bytes in CK_TOKEN_INFO: compared trimmed.
//
// A token made after the module was initialised is not in its slot list until the module is
// initialised again; `findToken` does that once (Pkcs11Module.rescan) when the label is missing and
// the module has no open session.
//
// A label is not an identity: anyone can initialise a token with the same one (a re-initialised SoftHSM
// token, a second device labelled alike, a hostile USB token). So a token registered with a serial
// number is found by label and serial (`findRegisteredToken`): one with the label and another serial is
// not it, and its caller refuses it before any C_Login, so the PIN never reaches it. A serial that is
// blank or all zeros names no token (NSS softokn answers 0000000000000000 for every database): such a
// registration is found by label alone, as before, and two tokens with the label are refused, not guessed.
import pkcs11js from 'pkcs11js';
import type { Handle } from 'pkcs11js';
import { isTransient } from './errors.js';
import type { Pkcs11Module } from './module.js';
import { serialIdentifies } from './token-serial.js';

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
    /** The serial number it was found with; `present()` compares it when it names a token. */
    readonly serialNumber = '',
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
   * an operation's own failure when a vendor's code means both (SoftHSM's CKR_GENERAL_ERROR). A
   * C_GetTokenInfo that fails transiently (CKR_FUNCTION_FAILED, out of memory: errors.ts isTransient)
   * says nothing of the token being gone, so it counts as present: taking it as absent would fail the
   * key store on one call that could work when tried again.
   */
  async present(): Promise<boolean> {
    try {
      const info = await this.module.call('tokenInfo', this.slot);
      return info.label === this.label && (!serialIdentifies(this.serialNumber) || info.serialNumber.trim() === this.serialNumber.trim());
    } catch (e) {
      return isTransient(e);
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

async function scan(module: Pkcs11Module, label: string): Promise<Pkcs11Token[]> {
  const found: Pkcs11Token[] = [];
  for (const slot of await module.call('slots')) {
    try {
      const info = await module.call('tokenInfo', slot);
      if (info.label === label) found.push(new Pkcs11Token(module, slot, label, info.serialNumber));
    } catch (e) {
      // A slot whose token went away between the list and the look is not the one; a module whose host stopped has none.
      if (module.gone) throw e;
    }
  }
  return found;
}

/** Every token with this label (trimmed), rescanning the module once if there is none. */
async function tokensLabelled(module: Pkcs11Module, label: string): Promise<Pkcs11Token[]> {
  const wanted = label.trim();
  const found = await scan(module, wanted);
  return found.length > 0 || !(await module.rescan()) ? found : scan(module, wanted);
}

/** The (first) token with this label (trimmed), rescanning the module once if it is not found; undefined if there is none. */
export async function findToken(module: Pkcs11Module, label: string): Promise<Pkcs11Token | undefined> {
  return (await tokensLabelled(module, label))[0];
}

/**
 * The token registered with this label and serial number, or why none is:
 * - `absent`: no token has the label;
 * - `other-serial`: tokens have the label, none the serial (`found`: theirs), so none is the registered one;
 * - `ambiguous`: more than one token has the label (and the serial, or the serial names no token).
 */
export type RegisteredToken =
  | { token: Pkcs11Token }
  | { token?: undefined; refused: 'absent' }
  | { token?: undefined; refused: 'other-serial' | 'ambiguous'; found: string[] };

/** Finds a registered token by label and, when it names one (serialIdentifies), serial number. */
export async function findRegisteredToken(module: Pkcs11Module, label: string, serialNumber: string | undefined): Promise<RegisteredToken> {
  const labelled = await tokensLabelled(module, label);
  if (labelled.length === 0) return { refused: 'absent' };
  const pinned = serialNumber !== undefined && serialIdentifies(serialNumber);
  const matching = pinned ? labelled.filter((t) => t.serialNumber.trim() === serialNumber.trim()) : labelled;
  const found = labelled.map((t) => t.serialNumber.trim());
  if (matching.length === 0) return { refused: 'other-serial', found };
  if (matching.length > 1) return { refused: 'ambiguous', found };
  return { token: matching[0]! };
}
