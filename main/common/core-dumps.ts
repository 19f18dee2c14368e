// Core dumps off for the appliance's process, before it holds a secret. A core file is a copy of the
// process's memory, written where the kernel's core_pattern says (the working directory, or a crash
// collector such as systemd-coredump that keeps it under /var/lib for anyone with the right group): with
// Kura unsealed it would hold the root key, key material in use, PINs and the admin token, in plaintext,
// on disk, where nothing zeroizes it. So `kura serve` and the desktop app lower their own RLIMIT_CORE to
// 0, soft and hard: a crash then leaves a log line, not a copy of the keys, and the hard limit keeps
// anything that runs later in the process (a native module's crash handler, say) from raising it again.
// Children started after this (a PKCS#11 module's host process) inherit the limit. systemd-coredump
// honours the limit as well ("Resource limits disable core dumping").
//
// Node has no setrlimit; util-linux's prlimit sets another process's limits by PID (prlimit(2)), and is
// part of every Debian. Elsewhere than Linux, or without prlimit, the limit stays as it was and the start
// log says so, with what to do.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Logger } from './log.js';

/** Where util-linux installs prlimit (an absolute path: the PATH of whoever started Kura is not asked). */
const PRLIMIT_PATHS = ['/usr/bin/prlimit', '/bin/prlimit'];
const PRLIMIT_TIMEOUT_MS = 5_000;

/** The soft and hard RLIMIT_CORE of a process from /proc/PID/limits ('unlimited' as Infinity), or undefined. */
export function coreLimits(pid: number | 'self' = 'self'): { soft: number; hard: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max core file size\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const value = (v: string) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: value(m[1]!), hard: value(m[2]!) };
}

export type CoreDumpsOutcome = 'disabled' | 'already-off' | 'not-linux' | 'failed';

/** Lowers this process's RLIMIT_CORE to 0 (soft and hard) and logs what came of it. Never throws. */
export function disableCoreDumps(log: Logger): CoreDumpsOutcome {
  if (process.platform !== 'linux') return 'not-linux';
  const before = coreLimits();
  if (before && before.soft === 0 && before.hard === 0) return 'already-off';
  const prlimit = PRLIMIT_PATHS.find((p) => fs.existsSync(p));
  let why = 'prlimit (util-linux) is not installed';
  if (prlimit) {
    try {
      execFileSync(prlimit, ['--pid', String(process.pid), '--core=0:0'], { stdio: 'pipe', timeout: PRLIMIT_TIMEOUT_MS });
      const after = coreLimits();
      if (after && after.soft === 0 && after.hard === 0) {
        const shown = (n: number) => (n === Infinity ? 'unlimited' : String(n));
        log.info('core dumps disabled', { coreLimitWas: before ? `${shown(before.soft)}:${shown(before.hard)}` : 'unknown' });
        return 'disabled';
      }
      why = 'the limit did not change';
    } catch (e) {
      why = e instanceof Error ? e.message.split('\n')[0]! : 'prlimit failed';
    }
  }
  log.warn('core dumps could not be disabled: a crash may write this process\'s memory, keys included, to disk', {
    why,
    fix: 'install util-linux, or start Kura with `ulimit -c 0` (LimitCORE=0 in a systemd unit)',
  });
  return 'failed';
}
