// What a long-running Kura process (`kura serve`, the desktop app's main process) does when writing to
// its stdout or stderr fails: a reader that went away (EPIPE: `kura serve | head`, a log shipper that
// died) or a log file on a full disk (ENOSPC). Node reports such a failure as an 'error' event on the
// stream, which is fatal when nothing listens; the client commands end quietly on EPIPE (bin/kura.js),
// as `ls | head` does. An appliance must not: a production Kura restarts sealed, so losing its log is
// far cheaper than stopping. The failed stream is written no more (its lines are counted), and the
// other stream, if it still works, says so once: as a log line (warn) when that stream is the log's
// (logTo), so a log of JSON lines stays one, and as plain text otherwise (the banner's stdout).
import type { Writable } from 'node:stream';
import type { Logger } from './log.js';

export interface OutputGuard {
  /** Writes dropped since a stream failed (log lines, banner lines), per stream name. */
  dropped(): Record<string, number>;
  /** From now on, a failure is said on `stream` as a warn line of `log` (which writes there). */
  logTo(log: Logger, stream?: string): void;
}

interface Guarded {
  name: string;
  stream: Writable;
  failed: boolean;
  dropped: number;
}

/** Keeps write failures on these streams (by default stdout and stderr) from ever stopping the process. */
export function keepOutputFailuresFromStopping(
  streams: readonly { name: string; stream: Writable }[] = [
    { name: 'stdout', stream: process.stdout },
    { name: 'stderr', stream: process.stderr },
  ],
): OutputGuard {
  const guarded: Guarded[] = streams.map((s) => ({ ...s, failed: false, dropped: 0 }));
  let logged: { log: Logger; stream: string } | undefined;
  for (const g of guarded) {
    g.stream.on('error', (e: NodeJS.ErrnoException) => {
      if (g.failed) return;
      g.failed = true;
      // Every later write is dropped here: an errored stream would only fail it again, asynchronously.
      const drop = (...args: unknown[]): boolean => {
        g.dropped++;
        const callback = args.find((a): a is () => void => typeof a === 'function');
        if (callback) queueMicrotask(callback);
        return true;
      };
      g.stream.write = drop as Writable['write'];
      const other = guarded.find((o) => o !== g && !o.failed);
      if (other && logged?.stream === other.name) {
        logged.log.warn(`writing to ${g.name} failed: Kura goes on without it and drops what it would write there`, { stream: g.name, code: e.code ?? e.name });
      } else if (other) {
        try {
          other.stream.write(`kura: writing to ${g.name} failed (${e.code ?? e.name}); Kura goes on without it and drops what it would write there\n`);
        } catch {
          // Nothing left to say it on.
        }
      }
    });
  }
  return {
    dropped: () => Object.fromEntries(guarded.map((g) => [g.name, g.dropped])),
    logTo: (log, stream = 'stderr') => void (logged = { log, stream }),
  };
}
