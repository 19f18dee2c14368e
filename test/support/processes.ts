// Processes seen from /proc, for tests of what Kura starts and stops: the PKCS#11 module hosts a
// process has (main/devices/pkcs11/module-host.ts), whether a process is alive, waiting for either.
// (test/support/hung-host-exit.mjs, a plain script run on the build, keeps its own copy of the look-up.)
import fs from 'node:fs';

/** The children of `parent` that are PKCS#11 module hosts (main/devices/pkcs11/host.ts). */
export function hostProcesses(parent = process.pid): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('devices/pkcs11/host.js')) pids.push(Number(name));
    } catch {
      // Gone between the listing and the look.
    }
  }
  return pids;
}

/** Whether a process exists and has not ended (a zombie, ended but not reaped yet, counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

/** Waits until `condition` holds, polling every 20 ms; throws after `ms`. */
export async function waitFor(condition: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
