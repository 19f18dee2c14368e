// Seal mode `pkcs11` on a PKCS#11 token (DESIGN.md, "Root key and sealing"): the root key is sealed by a
// non-extractable, sensitive AES-256 key generated on the token (CKA_ENCRYPT/DECRYPT only, see
// sealingKeyTemplate in main/devices/pkcs11/session.ts), with single-part CKM_AES_GCM run on the token
// (PKCS #11 v2.40 §2.14 / v3.0 §6.13; NIST SP 800-38D): Kura's 12-byte random IV, a 128-bit tag, and
// AAD that binds the appliance ID and the purpose. The key is found again by its CKA_ID, the token by its
// label and the serial number it had at init: a token with the label and another serial (re-initialised,
// or another device labelled alike) is refused before the PIN is offered to it (InvalidState). A serial
// that names no token (blank or zeros: NSS softokn), or none recorded (an appliance initialised before
// Kura kept it), leaves the label alone to find it, and the CKA_ID and check value to refuse the wrong
// one after the login. Module loading, the CKR table and the vendor quirks are main/devices/pkcs11's.
//
// Every call opens one session, logs in, does its work, logs out and closes the session; the module
// lease is released. PKCS#11 logs in per token and process, so a token that is logged in already (an
// HSM key store of this process connected to it) cannot prove the PIN: that is refused, never taken
// as a success, and the other user's login is left alone.
//
// The PIN reaches pkcs11js as a JavaScript string (it takes no other form); it is never logged, kept or
// put in an error. Errors (KmsError codes; the admin API's statuses in main/api/admin/routes.ts):
//   wrong PIN (CKR_PIN_INCORRECT/INVALID/LEN_RANGE), PIN locked or expired    → AccessDenied (403)
//   token not present, removed, not answering                                 → KeyUnavailable (503)
//   module path refused or not loadable, no such token, no AES-GCM, user PIN
//     not initialised                                   → Validation (400) at init, InvalidState (409) at unseal
//   token logged in already by this process; a token with another serial number;
//     sealing key missing; the token's key does not open the sealed root key  → InvalidState (409)
//   two tokens with the label (and no serial to tell them apart)  → Validation (400) at init, InvalidState (409) at unseal
//   any other PKCS#11 failure                                                 → Internal (500), naming the call and CKR
import { KmsError } from '../common/errors.js';
import { constantTimeEqual, randomBytes, zeroize } from '../crypto/bytes.js';
import {
  findRegisteredToken,
  GCM_IV_BYTES,
  madeAsAsked,
  ModulePathError,
  Pkcs11CallError,
  Pkcs11Module,
  Pkcs11Session,
  SEALING_KEY_USES,
  TOKEN_GONE,
  type Pkcs11Token,
  type RegisteredToken,
  type TokenDescription,
} from '../devices/pkcs11/index.js';
import type { RootKeyToken, TokenSealedRootKey, TokenSettings } from './root-key-token.js';

const KEY_ID_BYTES = 16;

type Phase = 'init' | 'unseal';

/** A problem with what the operator named: a bad request at init, a changed machine at unseal. */
const settingsError = (phase: Phase, message: string): KmsError => new KmsError(phase === 'init' ? 'Validation' : 'InvalidState', message);

function tokenName(settings: TokenSettings): string {
  return `"${settings.tokenLabel.trim()}" of ${settings.modulePath}`;
}

/** Reads a failure of the PKCS#11 layer as a KmsError; KmsErrors and unknown errors pass unchanged. */
function kmsErrorOf(e: unknown, phase: Phase, settings: TokenSettings): unknown {
  if (e instanceof KmsError) return e;
  if (e instanceof ModulePathError) return settingsError(phase, e.message);
  if (!(e instanceof Pkcs11CallError)) return e;
  const token = tokenName(settings);
  if (TOKEN_GONE.has(e.meaning)) {
    return new KmsError('KeyUnavailable', `The token ${token} did not answer (${e.message}): plug it in and try again.`);
  }
  switch (e.meaning) {
    case 'pin-incorrect':
      return new KmsError('AccessDenied', `The token ${token} refused the PIN.`);
    case 'pin-locked':
      return new KmsError('AccessDenied', `The user PIN of the token ${token} is locked or expired; its security officer must reset it.`);
    case 'user-logged-in':
      return new KmsError(
        'InvalidState',
        `The token ${token} is logged in already by this appliance (a connected HSM key store uses it), so the PIN cannot be checked; disconnect that key store and try again.`,
      );
    case 'user-pin-not-initialized':
      return settingsError(phase, `The user PIN of the token ${token} is not initialised.`);
    case 'bad-ciphertext':
      return new KmsError('InvalidState', `The key on the token ${token} does not open this appliance's sealed root key: is it the token this appliance was initialised with?`);
    case 'mechanism-invalid':
      return settingsError(phase, `The token ${token} does not run AES-GCM as Kura uses it (${e.message}).`);
    default:
      return new KmsError('Internal', `A PKCS#11 call on the token ${token} failed: ${e.message}.`);
  }
}

/** The token a registered-token search found, or the KmsError that says why there is none. */
function tokenFound(found: RegisteredToken, settings: TokenSettings, phase: Phase): Pkcs11Token {
  if (found.token) return found.token;
  const label = `"${settings.tokenLabel.trim()}"`;
  switch (found.refused) {
    case 'absent': {
      const message = `No token labelled ${label} is present in ${settings.modulePath}`;
      if (phase === 'init') throw settingsError(phase, `${message}.`);
      throw new KmsError('KeyUnavailable', `${message}: plug in the token this appliance was initialised with and run \`kura unseal\` again.`);
    }
    case 'other-serial':
      throw new KmsError(
        'InvalidState',
        `The token labelled ${label} in ${settings.modulePath} has serial number ${found.found.join(', ')}, not ${settings.serialNumber?.trim()}, the one this appliance was initialised with: ` +
          'it is not that token (re-initialised or replaced), and Kura did not offer it the PIN. Plug in the token this appliance was initialised with.',
      );
    case 'ambiguous':
      throw settingsError(
        phase,
        `${found.found.length} tokens labelled ${label} are present in ${settings.modulePath} (serial numbers ${found.found.join(', ')}), and Kura will not guess which one to log in to: remove the one that is not ${phase === 'init' ? 'meant' : "this appliance's"}, or give it another label.`,
      );
  }
}

async function acquire(settings: TokenSettings, phase: Phase): Promise<Pkcs11Module> {
  try {
    return await Pkcs11Module.acquire({ modulePath: settings.modulePath, libraryParameters: settings.libraryParameters });
  } catch (e) {
    if (e instanceof ModulePathError || e instanceof Pkcs11CallError) throw kmsErrorOf(e, phase, settings);
    // Pkcs11Module's own messages (not a PKCS#11 library; in use with other library parameters).
    throw settingsError(phase, e instanceof Error ? e.message : `The PKCS#11 module ${settings.modulePath} cannot be used.`);
  }
}

export class Pkcs11RootKeyToken implements RootKeyToken {
  async sealRootKey(
    settings: TokenSettings,
    pin: string,
    request: { keyLabel: string; root: Uint8Array; aad: Uint8Array },
    commit: (sealed: TokenSealedRootKey) => Promise<void>,
  ): Promise<TokenSealedRootKey> {
    return this.withLogin(settings, pin, 'init', async (session, d) => {
      if (!d.aesGcm) throw settingsError('init', `The token ${tokenName(settings)} does not offer AES-GCM encryption.`);
      const keyId = randomBytes(KEY_ID_BYTES);
      const key = await session.generateSealingKey(request.keyLabel, keyId);
      try {
        // The template asks; the token decides. Refuse a token that made a key other than the one asked for.
        const asAsked = madeAsAsked(await session.readAttributes(key), SEALING_KEY_USES);
        if (!asAsked) throw settingsError('init', `The token ${tokenName(settings)} did not make a sensitive, non-extractable AES-256 key as asked.`);
        const iv = randomBytes(GCM_IV_BYTES);
        const sealedRootKey = await session.encryptAesGcm(key, iv, request.aad, request.root);
        // The token must open what it sealed before anything is stored: an init that cannot unseal is worse than none.
        const back = await session.decryptAesGcm(key, iv, request.aad, sealedRootKey);
        const same = constantTimeEqual(back, request.root);
        zeroize(back);
        if (!same) throw new KmsError('Internal', `The token ${tokenName(settings)} did not give back the root key it sealed.`);
        const sealed: TokenSealedRootKey = { serialNumber: d.serialNumber, keyId, keyLabel: request.keyLabel, iv, sealedRootKey };
        await commit(sealed);
        return sealed;
      } catch (e) {
        try {
          await session.destroyObject(key);
        } catch {
          // The token went away: the key stays, labelled with the appliance ID, and opens nothing stored.
        }
        throw e;
      }
    });
  }

  async openRootKey(settings: TokenSettings, pin: string, sealed: Omit<TokenSealedRootKey, 'serialNumber'>, aad: Uint8Array): Promise<{ rootKey: Buffer; serialNumber: string }> {
    return this.withLogin(settings, pin, 'unseal', async (session, d) => {
      const keys = await session.findSecretKeys(sealed.keyId);
      if (keys.length !== 1) {
        throw new KmsError(
          'InvalidState',
          keys.length === 0
            ? `The token ${tokenName(settings)} holds no key ${sealed.keyLabel} (CKA_ID ${sealed.keyId.toString('hex')}): is it the token this appliance was initialised with?`
            : `The token ${tokenName(settings)} holds more than one key with CKA_ID ${sealed.keyId.toString('hex')}; Kura will not guess which one seals its root key.`,
        );
      }
      return { rootKey: await session.decryptAesGcm(keys[0]!, sealed.iv, aad, sealed.sealedRootKey), serialNumber: d.serialNumber };
    });
  }

  /**
   * Loads the module, finds the token, logs in on a session of its own, runs `fn`, and always logs out,
   * closes and releases. An unseal only finds a key and decrypts: its session is read-only, so that a
   * write-protected token unseals too; init generates a key, in a read-write session.
   */
  private async withLogin<T>(settings: TokenSettings, pin: string, phase: Phase, fn: (session: Pkcs11Session, d: TokenDescription) => Promise<T>): Promise<T> {
    const module = await acquire(settings, phase);
    let token: Pkcs11Token | undefined;
    let handle: Buffer | undefined;
    let loggedIn = false;
    try {
      token = tokenFound(await findRegisteredToken(module, settings.tokenLabel, settings.serialNumber), settings, phase);
      const d = await token.describe();
      if (!d.userPinInitialized) throw new Pkcs11CallError('C_GetTokenInfo', undefined, 'user-pin-not-initialized');
      if (d.userPinLocked) throw new Pkcs11CallError('C_GetTokenInfo', undefined, 'pin-locked');
      handle = await module.openSession(token.slot, { readOnly: phase === 'unseal' });
      await token.login(handle, pin);
      loggedIn = true;
      return await fn(new Pkcs11Session(token, handle), d);
    } catch (e) {
      throw kmsErrorOf(e, phase, settings);
    } finally {
      if (handle) {
        if (loggedIn) await token!.logout(handle);
        await module.closeSession(handle);
      }
      await module.release();
    }
  }
}
