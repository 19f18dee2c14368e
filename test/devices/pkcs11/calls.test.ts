// The table of calls (main/devices/pkcs11/calls.ts) against a stand-in for pkcs11js: what it asks of
// C_Initialize, and how it runs a module's calls afterwards.
import pkcs11js from 'pkcs11js';
import type { PKCS11 } from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { CALLS, type Binding } from '../../../main/devices/pkcs11/calls.js';

const CKR_CANT_LOCK = 0x0a;

/** A pkcs11js stand-in whose C_Initialize refuses OS locking, as a module that cannot lock does; it records each call's arguments. */
function moduleThatCannotLock(): { binding: Binding; initArgs: unknown[] } {
  const initArgs: unknown[] = [];
  const api = {
    C_Initialize(args?: { flags?: number }) {
      initArgs.push(args);
      if (((args?.flags ?? 0) & pkcs11js.CKF_OS_LOCKING_OK) !== 0) throw Object.assign(new Error('CKR_CANT_LOCK'), { code: CKR_CANT_LOCK });
    },
  } as unknown as PKCS11;
  return { binding: { api, offThread: true }, initArgs };
}

describe('C_Initialize', () => {
  it('asks for OS locking, and on CKR_CANT_LOCK initialises without it and runs every call on one thread from then on', () => {
    const { binding, initArgs } = moduleThatCannotLock();
    CALLS.initialize(binding, null);
    expect(initArgs).toEqual([{ flags: pkcs11js.CKF_OS_LOCKING_OK }, { flags: 0 }]);
    expect(binding.offThread).toBe(false);
  });

  it('keeps NSS library parameters on the second try', () => {
    const { binding, initArgs } = moduleThatCannotLock();
    CALLS.initialize(binding, "configdir='sql:/x' ");
    expect(initArgs[1]).toEqual({ flags: 0, libraryParameters: "configdir='sql:/x' " });
  });
});
