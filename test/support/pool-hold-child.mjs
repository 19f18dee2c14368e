// A child process for test/devices/pkcs11/thread-pool.test.ts: it starts `holds` calls that each keep a
// libuv thread-pool thread until the parent writes to their FIFO (opening a FIFO for reading blocks the
// thread that opens it), like token calls a device never answers, for two modules in turn; through the
// process's gate of token calls, or not ("ungated"). It says "holding" on stderr, then opens a SQLite
// database of the store (compiled dist/), commits one write, and prints what the gate saw as one JSON
// line. While the held calls take every thread, it prints nothing.
//
// Usage: node pool-hold-child.mjs DIR gated|ungated HOLDS   (FIFOs DIR/hold-0 … made by the parent)
import fsp from 'node:fs/promises';
import path from 'node:path';
import { POOL_THREADS, tokenCalls } from '../../dist/devices/pkcs11/thread-pool.js';
import { SqliteDatabase } from '../../dist/store/sqlite/database.js';

const [dir, mode, holds] = process.argv.slice(2);
for (let i = 0; i < Number(holds); i++) {
  const hold = () => fsp.open(path.join(dir, `hold-${i}`), 'r').then((h) => h.close());
  void (mode === 'gated' ? tokenCalls.run(`module-${i % 2}`, hold) : hold());
}
process.stderr.write('holding\n');
const seen = { poolThreads: POOL_THREADS, slots: tokenCalls.slots, perOwner: tokenCalls.perOwner, ...tokenCalls.stats() };
const db = await SqliteDatabase.open(path.join(dir, 'store.sqlite'));
await db.write((tx) => db.sql(tx).run('CREATE TABLE written (at INTEGER)'));
process.stdout.write(`${JSON.stringify({ written: true, ...seen })}\n`);
