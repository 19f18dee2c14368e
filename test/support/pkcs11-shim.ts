// A PKCS#11 module that misbehaves on request, for tests of what Kura does when a device hangs,
// crashes or fails: ./pkcs11-shim/shim.c forwards every call to a real module (SoftHSM, say) and
// reads a control file before each call Kura makes, to hang, die by SIGSEGV or answer
// CKR_DEVICE_ERROR in the function it names. shim.c's header comment has the whole contract.
//
// Use: buildPkcs11Shim() gives the module's path; set SHIM_TARGET_ENV (the real module) and
// SHIM_CONTROL_ENV (a control file path) in the environment of the process that loads it, before it
// loads it (the shim reads both once); then setShimFault(controlFile, ...) at any time, as often as
// needed: the shim reads the file on every call.
//
// The module is built under ~/.cache, not /tmp: Kura refuses a module with a world-writable directory
// above it, sticky /tmp included (main/devices/pkcs11/module-path.ts); nor in the repository, whose
// clone may itself sit under /tmp. mkdtemp makes the directory 0700 and ours; the file is made 0755.
// Each process compiles its own copy once; directories of processes that are gone are swept.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIM_TARGET_ENV = 'KURA_SHIM_TARGET';
export const SHIM_CONTROL_ENV = 'KURA_SHIM_CONTROL';

/** The functions whose calls the shim checks against the control file; '*' means all of them. */
export const SHIM_FAULT_FUNCTIONS = [
  'C_GetTokenInfo',
  'C_GetSlotList',
  'C_OpenSession',
  'C_CloseSession',
  'C_Login',
  'C_Logout',
  'C_FindObjectsInit',
  'C_FindObjects',
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
 * fail: the call returns CKR_DEVICE_ERROR (0x30) without reaching the real module.
 */
export interface ShimFault {
  action: 'hang' | 'crash' | 'fail';
  fn: ShimFunction;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = path.join(ROOT, 'test/support/pkcs11-shim/shim.c');
const INCLUDES = path.join(ROOT, 'node_modules/pkcs11js/includes/pkcs11');

const BUILD_PREFIX = 'kura-shim-';
/** A build directory's name: the prefix, the building process's id, mkdtemp's suffix. */
const STALE_BUILD = /^kura-shim-(\d+)-/;

let built: string | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the build directories of processes that are gone. Vitest ends its workers by SIGTERM, so
 * their exit handlers never run; each directory's name carries its process id instead.
 */
function sweepStaleBuilds(cache: string): void {
  for (const name of fs.readdirSync(cache)) {
    const pid = STALE_BUILD.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) fs.rmSync(path.join(cache, name), { recursive: true, force: true });
  }
}

/** A directory of ours that no directory above is world-writable: a fresh 0700 one under ~/.cache. */
function buildDir(): string {
  const cache = path.join(os.homedir(), '.cache');
  fs.mkdirSync(cache, { recursive: true, mode: 0o755 });
  sweepStaleBuilds(cache);
  const dir = fs.mkdtempSync(path.join(cache, `${BUILD_PREFIX}${process.pid}-`));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Compiles shim.c (once per process) and returns the absolute path of the shared library. */
export function buildPkcs11Shim(): string {
  if (built !== undefined) return built;
  const out = path.join(buildDir(), 'libkura-pkcs11-shim.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-Wall', '-Werror', '-o', out, SOURCE, '-I', INCLUDES, '-ldl', '-lpthread'], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`cc could not build the PKCS#11 shim:\n${stderr || String(e)}`, { cause: e });
  }
  // Not writable by group or others whatever the umask: Kura would refuse it.
  fs.chmodSync(out, 0o755);
  built = out;
  return out;
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
  fs.writeFileSync(partial, `${fault.action} ${fault.fn}\n`);
  fs.renameSync(partial, controlFile);
}
