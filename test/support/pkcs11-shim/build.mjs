// Builds the fault-injection PKCS#11 module (./shim.c) once per process, for the tests
// (../pkcs11-shim.ts) and for bench:hsm, which measures a hosted module's path through it. Plain
// JavaScript so that both can load it; ./build.d.mts gives the tests its type.
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

/** The environment variable naming the real module the shim forwards to (read once, at its first use). */
export const SHIM_TARGET_ENV = 'KURA_SHIM_TARGET';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE = path.join(ROOT, 'test/support/pkcs11-shim/shim.c');
const INCLUDES = path.join(ROOT, 'node_modules/pkcs11js/includes/pkcs11');

const BUILD_PREFIX = 'kura-shim-';
/** A build directory's name: the prefix, the building process's id, mkdtemp's suffix. */
const STALE_BUILD = /^kura-shim-(\d+)-/;

let built;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Removes the build directories of processes that are gone. Vitest ends its workers by SIGTERM, so
 * their exit handlers never run; each directory's name carries its process id instead.
 */
function sweepStaleBuilds(cache) {
  for (const name of fs.readdirSync(cache)) {
    const pid = STALE_BUILD.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) fs.rmSync(path.join(cache, name), { recursive: true, force: true });
  }
}

/** A directory of ours that no directory above is world-writable: a fresh 0700 one under ~/.cache. */
function buildDir() {
  const cache = path.join(os.homedir(), '.cache');
  fs.mkdirSync(cache, { recursive: true, mode: 0o755 });
  sweepStaleBuilds(cache);
  const dir = fs.mkdtempSync(path.join(cache, `${BUILD_PREFIX}${process.pid}-`));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Compiles shim.c (once per process) and returns the absolute path of the shared library. */
export function buildPkcs11Shim() {
  if (built !== undefined) return built;
  const out = path.join(buildDir(), 'libkura-pkcs11-shim.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-Wall', '-Werror', '-o', out, SOURCE, '-I', INCLUDES, '-ldl', '-lpthread'], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    const stderr = e.stderr?.toString() ?? '';
    throw new Error(`cc could not build the PKCS#11 shim:\n${stderr || String(e)}`, { cause: e });
  }
  // Not writable by group or others whatever the umask: Kura would refuse it.
  fs.chmodSync(out, 0o755);
  built = out;
  return out;
}
