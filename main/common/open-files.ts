// The process's open-file limit (RLIMIT_NOFILE, soft), read from /proc/self/limits on Linux, and the
// least `kura serve` runs with. Below it Kura did not refuse: it died loading its own modules with a raw
// EMFILE stack trace (64 and 80 descriptors), or started with a connection cap of 8. Measured: a dev
// appliance needs about 90 to start (module files, the database, its WAL and -shm, the lock, the
// listener, the WASM core); the minimum leaves room for the connections the default cap then allows
// (config.ts defaultMaxConnections: 32 at 128). This file imports nothing heavy: bin/kura.js checks the
// limit before it loads the CLI.
import fs from 'node:fs';

export const MIN_OPEN_FILES = 128;

/** The soft open-file limit (Infinity when unlimited), or undefined where /proc/self/limits is not (not Linux). */
export function softOpenFileLimit(limitsText?: string): number | undefined {
  try {
    const text = limitsText ?? fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m) return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // not Linux
  }
  return undefined;
}

/** Why the appliance cannot run with this process's open-file limit, in words; undefined when it can (or the limit is unknown). */
export function openFileLimitProblem(limitsText?: string): string | undefined {
  const soft = softOpenFileLimit(limitsText);
  if (soft === undefined || soft >= MIN_OPEN_FILES) return undefined;
  return (
    `the open-file limit is ${soft}, and Kura needs at least ${MIN_OPEN_FILES} (its module files, database, listener and ` +
    `client connections); raise it (\`ulimit -n 1024\` in the shell, LimitNOFILE=1024 in a systemd unit) and start it again`
  );
}
