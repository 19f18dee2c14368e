#!/usr/bin/env node
// The `kura` command: runs the compiled CLI (npm install builds it into dist/).
import { main } from '../dist/cli/main.js';

// A command whose work ends without settling (a fetch that a connection closed under never settles on
// Node 20, and nothing else keeps the process alive) failed: it must not exit 0 having printed nothing.
let settled = false;
process.exitCode = 1;
process.once('beforeExit', () => {
  if (settled) return;
  const message = 'The command ended without an answer: a connection to the appliance closed before it answered.';
  process.stderr.write(process.argv.includes('--json') ? `${JSON.stringify({ error: { code: 'Unreachable', message } })}\n` : `kura: ${message}\n`);
});

// A reader that stops reading (`kura audit list | head -1`) closes the pipe under the output: that ends
// a client command quietly, as it ends `ls | head`, not with a stack trace of an unhandled EPIPE.
// Not `kura serve`: a log reader that goes away or a full disk under the log file must not stop the
// appliance (which restarts sealed); serve keeps running without the stream (main/common/output-streams.ts).
if (process.argv[2] !== 'serve') {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(0);
    });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (e) => {
    settled = true;
    process.stderr.write(`kura: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
