// How a PKCS#11 failure reads as AWS's ConnectionErrorCode (main/keystores/hsm/connection-error.ts):
// from the CK_RV through the CKR table (main/devices/pkcs11/errors.ts) to the code a DescribeCustomKeyStores
// caller sees. SoftHSM2 never locks a user PIN (wrong PINs answer CKR_PIN_INCORRECT however many there
// are), so the locked and uninitialised-PIN rows are pinned here by their CK_RV rather than on a token.
import { describe, expect, it } from 'vitest';
import { ckrMeaning } from '../../../main/devices/pkcs11/errors.js';
import { connectionCodeOf } from '../../../main/keystores/hsm/connection-error.js';

describe('connectionCodeOf', () => {
  it('reads a locked or expired user PIN as USER_LOCKED_OUT, not as a wrong PIN', () => {
    expect(connectionCodeOf('pin-locked')).toBe('USER_LOCKED_OUT');
    expect(connectionCodeOf(ckrMeaning(0xa4))).toBe('USER_LOCKED_OUT'); // CKR_PIN_LOCKED
    expect(connectionCodeOf(ckrMeaning(0xa3))).toBe('USER_LOCKED_OUT'); // CKR_PIN_EXPIRED
  });

  it('reads a user PIN never initialised as USER_NOT_FOUND', () => {
    expect(connectionCodeOf('user-pin-not-initialized')).toBe('USER_NOT_FOUND');
    expect(connectionCodeOf(ckrMeaning(0x102))).toBe('USER_NOT_FOUND'); // CKR_USER_PIN_NOT_INITIALIZED
  });

  it('reads a wrong PIN as INVALID_CREDENTIALS and a second login as USER_LOGGED_IN', () => {
    expect(connectionCodeOf(ckrMeaning(0xa0))).toBe('INVALID_CREDENTIALS'); // CKR_PIN_INCORRECT
    expect(connectionCodeOf(ckrMeaning(0x100))).toBe('USER_LOGGED_IN'); // CKR_USER_ALREADY_LOGGED_IN
  });

  it('reads a token gone away as INSUFFICIENT_CLOUDHSM_HSMS, and anything else as INTERNAL_ERROR', () => {
    for (const m of ['token-absent', 'device-removed', 'session-invalid', 'cryptoki-state'] as const) {
      expect(connectionCodeOf(m), m).toBe('INSUFFICIENT_CLOUDHSM_HSMS');
    }
    for (const m of ['device-error', 'device-memory', 'mechanism-invalid', 'other', undefined] as const) {
      expect(connectionCodeOf(m), String(m)).toBe('INTERNAL_ERROR');
    }
  });
});
