// Preloaded (node --require) into `node bin/kura.js version` by test/devices/pkcs11/thread-pool.test.ts,
// to see the thread pool libuv really made, not what the environment says. It runs before bin/kura.js
// and only waits for the command to finish (beforeExit), so bin/kura.js runs first and whole; then it
// holds KURA_POOL_PROBE_HOLD pool threads (opens of FIFOs in KURA_POOL_PROBE_DIR, made by the parent,
// which block their thread) and asks the pool for one more job. "a thread was free" on stderr means the
// pool has more than HOLD threads.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.KURA_POOL_PROBE_DIR;
const hold = Number(process.env.KURA_POOL_PROBE_HOLD);
process.once('beforeExit', () => {
  for (let i = 0; i < hold; i++) fs.open(path.join(dir, `hold-${i}`), 'r', () => undefined);
  fs.stat(dir, () => fs.writeSync(2, 'pool-probe: a thread was free\n'));
});
