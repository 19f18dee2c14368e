#!/usr/bin/env node
// The `kura` command: runs the compiled CLI (npm install builds it into dist/).
//
// This file is CommonJS (bin/package.json) and loads the CLI with import(), so that the line below runs
// before anything uses libuv's thread pool: libuv sizes the pool from UV_THREADPOOL_SIZE once, at its
// first job, and Node's ES module loader reads the CLI's files on the pool. The pool gets room for the
// store's threads and the token calls' (main/devices/pkcs11/thread-pool.ts, POOL_THREADS_WANTED: keep
// the two equal; test/integration/cli-appliance.test.ts checks); a larger size set by the operator stays.
const POOL_THREADS_WANTED = 12;
const asked = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10);
if (!(asked >= POOL_THREADS_WANTED)) process.env.UV_THREADPOOL_SIZE = String(POOL_THREADS_WANTED);

import('../dist/cli/main.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`kura: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
