// A PKCS#11 module that misbehaves on request, for tests of what Kura does when a device hangs,
// crashes or fails: ./pkcs11-shim/shim.c forwards every call to a real module (SoftHSM, say) and
// reads a control file before each call Kura makes, to hang, die by SIGSEGV or answer
// CKR_DEVICE_ERROR in the function it names. shim.c's header comment has the whole contract.
//
// Use: buildPkcs11Shim() gives the module's path; set SHIM_TARGET_ENV (the real module) and
// SHIM_CONTROL_ENV (a control file path) in the environment of the process that loads it, before it
// loads it (the shim reads both once); then setShimFault(controlFile, ...) at any time, as often as
// needed: the shim reads the file on every call.
// The module is built by ./pkcs11-shim/build.mjs (shared with bench:hsm).
import fs from 'node:fs';
import { buildPkcs11Shim, SHIM_TARGET_ENV } from './pkcs11-shim/build.mjs';
export { buildPkcs11Shim, SHIM_TARGET_ENV };

export const SHIM_CONTROL_ENV = 'KURA_SHIM_CONTROL';

/** The functions whose calls the shim checks against the control file; '*' means all of them. */
export const SHIM_FAULT_FUNCTIONS = [
  'C_Initialize',
  'C_Finalize',
  'C_GetTokenInfo',
  'C_GetSlotList',
  'C_OpenSession',
  'C_CloseSession',
  'C_GetSessionInfo',
  'C_Login',
  'C_Logout',
  'C_FindObjectsInit',
  'C_FindObjects',
  'C_FindObjectsFinal',
  'C_GetAttributeValue',
  'C_GenerateKey',
  'C_DeriveKey',
  'C_EncryptInit',
  'C_Encrypt',
  'C_DecryptInit',
  'C_Decrypt',
  'C_DestroyObject',
  'C_GenerateRandom',
] as const;

export type ShimFunction = (typeof SHIM_FAULT_FUNCTIONS)[number] | '*';

/**
 * hang: the call never returns (its thread blocks for good); crash: the process dies by SIGSEGV;
 * fail: the call returns CKR_DEVICE_ERROR (0x30), or `rv` when given, without reaching the real module; nolock (C_Initialize
 * only): CKR_CANT_LOCK (0x0A) when OS locking is asked for, as a module that cannot lock answers; rdonly
 * (C_OpenSession only): CKR_TOKEN_WRITE_PROTECTED (0xE2) to a read-write session, as a write-protected token;
 * lax (C_GenerateKey only): CKA_MODIFIABLE and CKA_COPYABLE dropped from the template, as a token that ignores them.
 */
export interface ShimFault {
  action: 'hang' | 'crash' | 'fail' | 'nolock' | 'rdonly' | 'lax';
  fn: ShimFunction;
  /** fail only: the CK_RV to return instead of CKR_DEVICE_ERROR. */
  rv?: number;
}

/**
 * Makes the shim act out `fault` from its next call on, or, with null, forward normally again. The
 * file is replaced whole (written beside it, then renamed), so a call never reads half a line.
 */
export function setShimFault(controlFile: string, fault: ShimFault | null): void {
  if (fault === null) {
    fs.rmSync(controlFile, { force: true });
    return;
  }
  if (fault.fn !== '*' && !(SHIM_FAULT_FUNCTIONS as readonly string[]).includes(fault.fn)) {
    throw new Error(`The shim does not check ${fault.fn}`);
  }
  const partial = `${controlFile}.${process.pid}.tmp`;
  const action = fault.action === 'fail' && fault.rv !== undefined ? `fail=0x${fault.rv.toString(16)}` : fault.action;
  fs.writeFileSync(partial, `${action} ${fault.fn}\n`);
  fs.renameSync(partial, controlFile);
}

/**
 * Builds the shim and points this process (and every process it starts, which inherits the environment)
 * at it: `target` behind it, faults read from `controlFile`. Call before the shim is first loaded.
 */
export function shimOver(target: string, controlFile: string): { shim: string; control: string } {
  const shim = buildPkcs11Shim();
  process.env[SHIM_TARGET_ENV] = target;
  process.env[SHIM_CONTROL_ENV] = controlFile;
  return { shim, control: controlFile };
}
