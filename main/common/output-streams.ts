// What a long-running Kura process (`kura serve`, the desktop app's main process) does when writing to
// its stdout or stderr fails: a reader that went away (EPIPE: `kura serve | head`, a log shipper that
// died) or a log file on a full disk (ENOSPC). Node reports such a failure as an 'error' event on the
// stream, which is fatal when nothing listens; the client commands end quietly on EPIPE (bin/kura.js),
// as `ls | head` does. An appliance must not: a production Kura restarts sealed, so losing its log is
// far cheaper than stopping. The failed stream is written no more (its lines are counted), and the
// other stream, if it still works, says so once.
import type { Writable } from 'node:stream';

export interface OutputGuard {
  /** Writes dropped since a stream failed (log lines, banner lines), per stream name. */
  dropped(): Record<string, number>;
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
      if (other) {
        try {
          other.stream.write(`kura: writing to ${g.name} failed (${e.code ?? e.name}); Kura goes on without it and drops what it would write there\n`);
        } catch {
          // Nothing left to say it on.
        }
      }
    });
  }
  return { dropped: () => Object.fromEntries(guarded.map((g) => [g.name, g.dropped])) };
}
