// Why an HSM key store could not connect, or stopped working: AWS's ConnectionErrorCodeType values
// (KMS API, DescribeCustomKeyStores), read for a PKCS#11 token instead of a CloudHSM cluster:
//
//   CLUSTER_NOT_FOUND           the module file is refused (path rules) or cannot be loaded/initialised;
//                               or the token with the label is not the HSM registered (another serial
//                               number), or two tokens carry the label: refused before any login
//   INSUFFICIENT_CLOUDHSM_HSMS  no token with the label; or the token went away (removed, not present,
//                               not answering: mid-use, or while its module loads or initialises)
//   INVALID_CREDENTIALS         the user PIN is wrong
//   USER_LOCKED_OUT             the user PIN is locked (too many wrong PINs) or expired
//   USER_LOGGED_IN              the user is logged in to the token already (another store of this process)
//   USER_NOT_FOUND              the token's user PIN was never initialised
//   INTERNAL_ERROR              anything else the token or module answered (device error, no AES-GCM …)
//   NETWORK_ERRORS              not produced by a local token; kept for AWS's list
//
// PKCS#11 return values reach this file already read by the CKR table (main/devices/pkcs11/errors.ts).
import type { CkrMeaning } from '../../devices/pkcs11/index.js';

export type HsmConnectionErrorCode =
  | 'INVALID_CREDENTIALS'
  | 'USER_LOCKED_OUT'
  | 'USER_LOGGED_IN'
  | 'USER_NOT_FOUND'
  | 'CLUSTER_NOT_FOUND'
  | 'INSUFFICIENT_CLOUDHSM_HSMS'
  | 'NETWORK_ERRORS'
  | 'INTERNAL_ERROR';

/** A connection to an HSM token that failed; `code` is AWS's ConnectionErrorCode. Messages carry no PIN. */
export class HsmConnectionError extends Error {
  constructor(
    readonly code: HsmConnectionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HsmConnectionError';
  }
}

/** The connection error code of a PKCS#11 failure at login or mid-use. */
export function connectionCodeOf(meaning: CkrMeaning | undefined): HsmConnectionErrorCode {
  switch (meaning) {
    case 'pin-incorrect':
      return 'INVALID_CREDENTIALS';
    case 'pin-locked':
      return 'USER_LOCKED_OUT';
    case 'user-logged-in':
      return 'USER_LOGGED_IN';
    case 'user-pin-not-initialized':
      return 'USER_NOT_FOUND';
    case 'token-absent':
    case 'device-removed':
    case 'session-invalid':
    case 'cryptoki-state':
      return 'INSUFFICIENT_CLOUDHSM_HSMS';
    default:
      return 'INTERNAL_ERROR';
  }
}
