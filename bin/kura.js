#!/usr/bin/env node
// The `kura` command: runs the compiled CLI (npm install builds it into dist/).
//
// This file is CommonJS (bin/package.json) and loads the CLI with import(), so that the line below runs
// before anything uses libuv's thread pool: libuv sizes the pool from UV_THREADPOOL_SIZE once, at its
// first job, and Node's ES module loader reads the CLI's files on the pool (./thread-pool-env.cjs).
require('./thread-pool-env.cjs').withPoolThreads(process.env);

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
