// The port through which the root key holder (./root-key.ts) uses a token in seal mode `pkcs11`: seal a
// new root key under a fresh non-extractable key on the token, and open it again with the PIN. Its
// implementation on a PKCS#11 token is ./pkcs11-root-key-token.ts.
//
// Both calls log in with the PIN and log out before they return; nothing keeps the PIN or a session.
// Failures are KmsErrors (the table is in ./pkcs11-root-key-token.ts and SECURITY.md).

/** Which token: a PKCS#11 module, a token label (slot IDs change), NSS softokn's library parameters. */
export interface TokenSettings {
  modulePath: string;
  tokenLabel: string;
  libraryParameters?: string;
  /**
   * At unseal, the serial number the token had at init: a token with the label and another serial is
   * refused before the PIN is offered. Absent (an appliance initialised before Kura recorded it), or one
   * that names no token (blank, zeros: NSS softokn): the label alone finds it, as it did.
   */
  serialNumber?: string;
}

/** The root key as the token sealed it, and the key that sealed it. */
export interface TokenSealedRootKey {
  /** The serial number of the token that sealed it (CK_TOKEN_INFO), which unseal requires of the token. */
  serialNumber: string;
  /** CKA_ID of the sealing key (16 random bytes). */
  keyId: Buffer;
  /** CKA_LABEL of the sealing key. */
  keyLabel: string;
  /** The 12-byte GCM IV, chosen by Kura. */
  iv: Buffer;
  /** AES-256-GCM(sealing key, root key) || 16-byte tag. */
  sealedRootKey: Buffer;
}

export interface RootKeyToken {
  /**
   * Logs in, makes a sealing key labelled `keyLabel` on the token, seals `root` under it with `aad`,
   * and hands the result to `commit` while still logged in. If anything fails, `commit` included (an
   * init that lost a race), the new key is destroyed again, so a refused init leaves no key behind.
   */
  sealRootKey(
    settings: TokenSettings,
    pin: string,
    request: { keyLabel: string; root: Uint8Array; aad: Uint8Array },
    commit: (sealed: TokenSealedRootKey) => Promise<void>,
  ): Promise<TokenSealedRootKey>;

  /**
   * Logs in, opens the sealed root key on the token, logs out; with the serial number of the token that
   * opened it. The caller zeroizes the root key.
   */
  openRootKey(settings: TokenSettings, pin: string, sealed: Omit<TokenSealedRootKey, 'serialNumber'>, aad: Uint8Array): Promise<{ rootKey: Buffer; serialNumber: string }>;
}
