// The CKR table and the vendor table (main/devices/pkcs11/errors.ts, vendors.ts): codes against
// pkcs11js's own constants, both shapes of pkcs11js errors, and each vendor's quirks as measured.
import pkcs11js from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { CKR_TABLE, ckrMeaning, ckrName, ckrOf, callError, Pkcs11CallError, TOKEN_GONE } from '../../../main/devices/pkcs11/errors.js';
import { CK_PARAMS_GCM, VENDORS, vendorOf } from '../../../main/devices/pkcs11/vendors.js';

describe('the CKR table', () => {
  it('has the CK_RV values pkcs11js defines, under their own names', () => {
    const constants = pkcs11js as unknown as Record<string, unknown>;
    for (const [code, row] of CKR_TABLE) {
      // CKR_AEAD_DECRYPT_FAILED is PKCS #11 v3.0, newer than pkcs11js's headers.
      if (row.name === 'CKR_AEAD_DECRYPT_FAILED') continue;
      expect(constants[row.name], row.name).toBe(code);
    }
  });

  it('reads what Kura acts on', () => {
    expect(ckrMeaning(0xa0)).toBe('pin-incorrect');
    expect(ckrMeaning(0xa4)).toBe('pin-locked');
    expect(ckrMeaning(0x100)).toBe('user-logged-in');
    expect(ckrMeaning(0x102)).toBe('user-pin-not-initialized');
    for (const code of [0xe0, 0x32, 0x30, 0xb3]) expect(TOKEN_GONE.has(ckrMeaning(code)), ckrName(code)).toBe(true);
    // A token out of memory (for Kura's own session objects, often) is still there: its store does not fail.
    expect(ckrMeaning(0x31)).toBe('device-memory');
    expect(TOKEN_GONE.has('device-memory')).toBe(false);
    expect(ckrMeaning(0x82)).toBe('object-handle-invalid');
    expect(ckrMeaning(0x40)).toBe('bad-ciphertext');
    expect(ckrMeaning(0x35)).toBe('bad-ciphertext');
    expect(ckrMeaning(0x70)).toBe('mechanism-invalid');
    expect(ckrMeaning(0x150)).toBe('buffer-too-small');
    // The token is fine and cannot do this: not a reason to fail its store.
    expect(ckrMeaning(0x54)).toBe('not-supported');
    expect(ckrMeaning(0x121)).toBe('not-supported');
    expect(TOKEN_GONE.has('not-supported')).toBe(false);
    expect(ckrMeaning(0x05)).toBe('other');
    expect(ckrMeaning(0xce534351)).toBe('other');
    expect(ckrMeaning(undefined)).toBe('other');
    expect(ckrName(0xce534351)).toBe('CKR_0xce534351');
  });

  it('names every return value PKCS #11 defines, not only those Kura acts on, so that messages say what the module answered', () => {
    expect(ckrName(0xe2)).toBe('CKR_TOKEN_WRITE_PROTECTED');
    expect(ckrName(0x54)).toBe('CKR_FUNCTION_NOT_SUPPORTED');
    expect(ckrName(0x121)).toBe('CKR_RANDOM_NO_RNG');
    expect(ckrMeaning(0xe2)).toBe('other');
    expect(new Pkcs11CallError('C_OpenSession', 0xe2).message).toBe('C_OpenSession failed: CKR_TOKEN_WRITE_PROTECTED');
  });

  it('parses both shapes of pkcs11js errors: .code, and "CKR_NAME:decimal" without one', () => {
    expect(ckrOf(new pkcs11js.Pkcs11Error('CKR_PIN_INCORRECT', 160, 'C_Login'))).toBe(160);
    expect(ckrOf(new Error('CKR_ATTRIBUTE_READ_ONLY:16'))).toBe(16);
    expect(ckrOf(new Error('CKR_DEVICE_REMOVED:50\n    at PKCS11.C_Encrypt (native)'))).toBe(50);
    expect(ckrOf(Object.assign(new Error('no code here'), { code: 0 }))).toBeUndefined();
    expect(ckrOf(new TypeError("Property 'iv' of CK_GCM_PARAMS mechanism parameter should be Buffer"))).toBeUndefined();
    expect(ckrOf('CKR_PIN_INCORRECT:160')).toBeUndefined();
    const e = callError('C_Login', new Error('CKR_PIN_LOCKED:164'));
    expect(e).toBeInstanceOf(Pkcs11CallError);
    expect(e).toMatchObject({ fn: 'C_Login', rv: 164, meaning: 'pin-locked', message: 'C_Login failed: CKR_PIN_LOCKED' });
  });
});

describe('the vendor table', () => {
  const softhsm = vendorOf({ manufacturerId: 'SoftHSM                         ', libraryDescription: 'Implementation of PKCS11        ' });
  const nss = vendorOf({ manufacturerId: 'Mozilla Foundation              ', libraryDescription: 'NSS Internal Crypto Services    ' });
  const other = vendorOf({ manufacturerId: 'Yubico (www.yubico.com)', libraryDescription: 'YubiHSM PKCS#11 Library' });

  it('matches modules by their C_GetInfo strings, with a default for the rest', () => {
    expect([softhsm.name, nss.name, other.name]).toEqual(['SoftHSM', 'NSS', 'default']);
    expect(VENDORS[VENDORS.length - 1]!.name).toBe('default');
  });

  it('holds the quirks measured on SoftHSM 2.6.1 and NSS 3.87', () => {
    for (const v of [softhsm, nss, other]) {
      expect(v.gcmParams).toBe(CK_PARAMS_GCM);
      expect(v.blobKeyDerivation).toBe('CKM_AES_CBC_ENCRYPT_DATA');
    }
    expect(softhsm.decryptOutputBytes(26)).toBe(26);
    expect(nss.decryptOutputBytes(26)).toBe(10);
    expect(other.decryptOutputBytes(26)).toBe(26);
    expect(softhsm.badTag).toEqual({ codes: expect.arrayContaining([0x05, 0x40]), ambiguous: true });
    expect(nss.badTag.codes).toContain(0x40);
    expect(nss.badTag.ambiguous).toBe(false);
    expect(nss.badTag.codes).not.toContain(0x05);
    expect([softhsm.ecdsaSha256, nss.ecdsaSha256]).toEqual([false, true]);
    // Software tokens run in Kura's process; an unknown module (maybe a device) runs in a host process.
    expect([softhsm.inProcess, nss.inProcess, other.inProcess]).toEqual([true, true, false]);
    expect([softhsm.multiPartGcm, nss.multiPartGcm]).toEqual([true, false]);
  });
});
