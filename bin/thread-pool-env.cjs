// The size of libuv's thread pool Kura asks for, for the two launchers that start a Kura process:
// bin/kura.js (for its own process) and scripts/desktop.mjs (for the Electron process it spawns). libuv
// reads UV_THREADPOOL_SIZE once, at the pool's first job, so it must be in the environment before
// anything runs on the pool. The pool gets room for the store's threads and the token calls'
// (main/devices/pkcs11/thread-pool.ts, POOL_THREADS_WANTED: test/devices/pkcs11/thread-pool.test.ts
// checks the two are equal); a larger size set by the operator stays. CommonJS, as bin/kura.js is.
'use strict';

const POOL_THREADS_WANTED = 12;

/** Sets UV_THREADPOOL_SIZE in `env` to POOL_THREADS_WANTED unless it already asks for at least that. */
function withPoolThreads(env) {
  if (!(Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10) >= POOL_THREADS_WANTED)) env.UV_THREADPOOL_SIZE = String(POOL_THREADS_WANTED);
  return env;
}

module.exports = { POOL_THREADS_WANTED, withPoolThreads };
