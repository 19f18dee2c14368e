#!/usr/bin/env node
// The `kura` command: runs the compiled CLI (npm install builds it into dist/).
// The CLI is loaded below, once `kura serve` has checked its open-file limit: under a low one it would
// die loading its own modules with a raw EMFILE stack trace.

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

// `kura serve` refuses an open-file limit it cannot run with, in words, before loading anything heavy.
const args = process.argv.slice(2);
if (args[0] === 'serve' && !args.includes('--help') && !args.includes('-h')) {
  const { openFileLimitProblem } = await import('../dist/common/open-files.js');
  const problem = openFileLimitProblem();
  if (problem) {
    const message = `kura serve: ${problem}`;
    process.stderr.write(args.includes('--json') ? `${JSON.stringify({ error: { code: 'OpenFileLimit', message } })}\n` : `${message}\n`);
    process.exit(1);
  }
}
const { main } = await import('../dist/cli/main.js');

main(args).then(
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
