// The ONE vendor table: what differs between PKCS#11 modules in the operations Kura uses, found by
// running them (SoftHSM 2.6.1 and NSS softokn 3.87 through pkcs11js 2.1.7 on Debian 12; the checks
// are in test/devices/pkcs11/ and test/keystores/hsm/). A module is matched by the manufacturer ID and
// library description of C_GetInfo; anything unknown gets `default`, the conservative reading of
// PKCS #11 v2.40/v3.0. Code elsewhere reads a row's fields; it never asks which vendor it is.
//
// What every vendor shares is not here: Kura supplies each GCM IV (12 random bytes, never empty, as
// SP 800-38D §8.2.2 allows) and always sets tagBits = 128 (SoftHSM returns an empty tag without it);
// single-part C_Encrypt/C_Decrypt only; a zero-length input is passed as a zero-length view of a
// non-empty buffer (see ./session.ts); a session whose operation failed is closed (./session-pool.ts).

/** pkcs11js's CK_PARAMS_GCM: CK_GCM_PARAMS of v2.40 errata / v3.0, with ulIvBits. */
export const CK_PARAMS_GCM = 25;
/** pkcs11js's CK_PARAMS_AES_GCM: the v2.40 CK_GCM_PARAMS without ulIvBits (old header files). */
export const CK_PARAMS_AES_GCM_NO_IV_BITS = 3;

/** The blob-key derivation a module can run on a token key: CKM_AES_CBC_ENCRYPT_DATA (0x1105), zero IV. */
export type BlobKeyDerivation = 'CKM_AES_CBC_ENCRYPT_DATA';

export interface Vendor {
  /** The name Kura shows (HsmTokenInfo.vendor). */
  name: 'SoftHSM' | 'NSS' | 'default';
  matches(module: { manufacturerId: string; libraryDescription: string }): boolean;
  /** pkcs11js parameter type of CKM_AES_GCM. NSS refuses the form without ulIvBits (CKR_MECHANISM_PARAM_INVALID). */
  gcmParams: typeof CK_PARAMS_GCM | typeof CK_PARAMS_AES_GCM_NO_IV_BITS;
  /**
   * How large C_Decrypt's output buffer must be for a GCM ciphertext||tag of n bytes. SoftHSM needs room
   * for the tag (n; with n − 16 it answers CKR_BUFFER_TOO_SMALL and keeps the operation active); NSS
   * takes the plaintext's length.
   */
  decryptOutputBytes(sealedBytes: number): number;
  /**
   * CK_RVs by which C_Decrypt reports a tag that does not verify, and whether that code also reports
   * other failures (SoftHSM's CKR_GENERAL_ERROR does: it is also what a vanished token answers), in
   * which case the token is probed before the failure is read as a bad tag.
   */
  badTag: { codes: readonly number[]; ambiguous: boolean };
  /** Whether CKM_ECDSA_SHA256 exists (else: hash in Kura, sign with CKM_ECDSA). */
  ecdsaSha256: boolean;
  /** Whether multi-part GCM (C_EncryptUpdate/Final) works. NSS: CKR_OPERATION_NOT_INITIALIZED. Kura uses single-part. */
  multiPartGcm: boolean;
  /** How a per-blob key is derived on the token; null if the module cannot (then blob calls are refused, never run under the token key itself). */
  blobKeyDerivation: BlobKeyDerivation | null;
  /**
   * Whether a key template may carry CKA_COPYABLE (PKCS #11 v2.40), so that C_CopyObject cannot make a
   * copy of a token key. NSS softokn 3.87 knows neither CKA_COPYABLE nor CKA_DESTROYABLE: C_GenerateKey
   * with either answers CKR_GENERAL_ERROR. A module that does not say it implements v2.40 or later is
   * not given it either (./session.ts), whatever its row says.
   */
  copyable: boolean;
  /**
   * Whether the module is loaded in Kura's own process, its calls inline on the event loop
   * (./cryptoki.ts). Only for a software token Kura has tested (SoftHSM, NSS softokn): it works in
   * microseconds from local files, and a hand-off to another process would cost more than the call. Any
   * other module runs in a host process of its own (./module-host.ts), so that a device that stops
   * answering, or a library that crashes, fails its key store and nothing else.
   */
  inProcess: boolean;
}

const CKR_GENERAL_ERROR = 0x05;
const CKR_AEAD_DECRYPT_FAILED = 0x35;
const CKR_ENCRYPTED_DATA_INVALID = 0x40;
const CKR_ENCRYPTED_DATA_LEN_RANGE = 0x41;
const STANDARD_BAD_TAG = [CKR_AEAD_DECRYPT_FAILED, CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE] as const;

export const VENDORS: readonly Vendor[] = [
  {
    name: 'SoftHSM',
    matches: (m) => m.manufacturerId.startsWith('SoftHSM'),
    gcmParams: CK_PARAMS_GCM,
    decryptOutputBytes: (n) => n,
    // SoftHSM 2.6 (OpenSSL backend) answers a failed GCM tag check with CKR_GENERAL_ERROR.
    badTag: { codes: [CKR_GENERAL_ERROR, ...STANDARD_BAD_TAG], ambiguous: true },
    ecdsaSha256: false,
    multiPartGcm: true,
    blobKeyDerivation: 'CKM_AES_CBC_ENCRYPT_DATA',
    copyable: true,
    inProcess: true,
  },
  {
    name: 'NSS',
    matches: (m) => m.manufacturerId.startsWith('Mozilla Foundation') && m.libraryDescription.startsWith('NSS'),
    gcmParams: CK_PARAMS_GCM,
    decryptOutputBytes: (n) => Math.max(0, n - 16),
    badTag: { codes: STANDARD_BAD_TAG, ambiguous: false },
    ecdsaSha256: true,
    multiPartGcm: false,
    // Works although softokn 3.87 does not list CKM_AES_CBC_ENCRYPT_DATA in C_GetMechanismList.
    blobKeyDerivation: 'CKM_AES_CBC_ENCRYPT_DATA',
    // With CKA_MODIFIABLE false, softokn 3.87 still lets C_CopyObject turn usages on in the copy.
    copyable: false,
    inProcess: true,
  },
  {
    name: 'default',
    matches: () => true,
    gcmParams: CK_PARAMS_GCM,
    // Room for the tag is always enough.
    decryptOutputBytes: (n) => n,
    badTag: { codes: STANDARD_BAD_TAG, ambiguous: false },
    ecdsaSha256: false,
    multiPartGcm: false,
    blobKeyDerivation: 'CKM_AES_CBC_ENCRYPT_DATA',
    copyable: true,
    // An unknown module may be a device behind USB or the network, and is native code Kura has not run.
    inProcess: false,
  },
];

/** The row of a module, by its C_GetInfo strings (blank-padded as PKCS#11 returns them, or trimmed). */
export function vendorOf(module: { manufacturerId: string; libraryDescription: string }): Vendor {
  const trimmed = { manufacturerId: module.manufacturerId.trim(), libraryDescription: module.libraryDescription.trim() };
  // The last row matches everything, so find() always finds one.
  return VENDORS.find((v) => v.matches(trimmed)) ?? VENDORS[VENDORS.length - 1]!;
}
