// The share of libuv's thread pool that token calls may hold (main/devices/pkcs11/thread-pool.ts): how
// libuv sizes the pool, the slots left to token calls, the gate's limit and order, and — in child
// processes with real pool threads held by calls that never return — that the store still commits
// through the gate, and does not without it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CallGate, NoFreeSlotError, poolThreadsFor, POOL_THREADS_WANTED, STORE_THREADS, TOKEN_CALL_THREADS, tokenCallSlotsFor } from '../../../main/devices/pkcs11/thread-pool.js';
import { KURA_BIN, ROOT } from '../../support/kura-process.js';

const launchers = createRequire(import.meta.url)('../../../bin/thread-pool-env.cjs') as { POOL_THREADS_WANTED: number };

describe('poolThreadsFor (libuv threadpool.c)', () => {
  it('reads UV_THREADPOOL_SIZE as libuv does', () => {
    expect(poolThreadsFor(undefined)).toBe(4);
    expect(poolThreadsFor('12')).toBe(12);
    expect(poolThreadsFor(' 7')).toBe(7);
    expect(poolThreadsFor('9 threads')).toBe(9);
    expect(poolThreadsFor('0')).toBe(1);
    expect(poolThreadsFor('')).toBe(1);
    expect(poolThreadsFor('many')).toBe(1);
    expect(poolThreadsFor('+5')).toBe(5);
    expect(poolThreadsFor('5000')).toBe(1024);
    // atoi into an unsigned count: a negative number wraps to the maximum.
    expect(poolThreadsFor('-2')).toBe(1024);
    // glibc's atoi is (int) strtol: 2^32 + 1 is 1 thread; past 2^63 strtol saturates, and (int) of that is -1.
    expect(poolThreadsFor('4294967297')).toBe(1);
    expect(poolThreadsFor('2147483648')).toBe(1024);
    expect(poolThreadsFor('99999999999999999999')).toBe(1024);
    // C's isspace() is ASCII only: no-break space is no number.
    expect(poolThreadsFor('\u00a012')).toBe(1);
    expect(poolThreadsFor('\t\n 6')).toBe(6);
  });
});

describe('tokenCallSlotsFor', () => {
  it('leaves STORE_THREADS to the store, gives token calls 1 to TOKEN_CALL_THREADS', () => {
    expect(POOL_THREADS_WANTED).toBe(STORE_THREADS + TOKEN_CALL_THREADS);
    // What the launchers ask libuv for (bin/thread-pool-env.cjs, which cannot import this module).
    expect(launchers.POOL_THREADS_WANTED).toBe(POOL_THREADS_WANTED);
    expect(tokenCallSlotsFor(POOL_THREADS_WANTED)).toBe(TOKEN_CALL_THREADS);
    expect(tokenCallSlotsFor(1024)).toBe(TOKEN_CALL_THREADS);
    expect(tokenCallSlotsFor(STORE_THREADS + 3)).toBe(3);
    // libuv's default pool (tests, the desktop app): one slot, three threads for the store.
    expect(tokenCallSlotsFor(4)).toBe(1);
    expect(tokenCallSlotsFor(1)).toBe(1);
  });
});

describe('CallGate', () => {
  const deferred = () => {
    let resolve!: (v: string) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
  const tick = () => new Promise((r) => setImmediate(r));

  it('runs at most `slots` calls at once and the others in the order they came', async () => {
    const gate = new CallGate(2, 2);
    const calls = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const results = calls.map((d, i) =>
      gate.run('module', () => {
        started.push(i);
        return d.promise;
      }),
    );
    const settled = Promise.allSettled(results);
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.stats()).toEqual({ running: 2, waiting: 2 });
    calls[1]!.resolve('one');
    await tick();
    expect(started).toEqual([0, 1, 2]);
    calls[0]!.reject(new Error('token gone'));
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    calls[2]!.resolve('two');
    calls[3]!.resolve('three');
    expect(await settled).toEqual([
      { status: 'rejected', reason: new Error('token gone') },
      { status: 'fulfilled', value: 'one' },
      { status: 'fulfilled', value: 'two' },
      { status: 'fulfilled', value: 'three' },
    ]);
    expect(gate.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the slot of a call that throws before it returns a promise', async () => {
    const gate = new CallGate(1);
    await expect(
      gate.run('module', () => {
        throw new Error('bad arguments');
      }),
    ).rejects.toThrow('bad arguments');
    expect(gate.stats()).toEqual({ running: 0, waiting: 0 });
    expect(await gate.run('module', async () => 'next')).toBe('next');
  });

  it('gives a freed slot to the caller that waited, not to one that arrives as it is freed', async () => {
    const gate = new CallGate(1);
    const first = deferred();
    const order: string[] = [];
    const a = gate.run('module', () => first.promise);
    const b = gate.run('module', async () => void order.push('waited'));
    await tick();
    first.resolve('done');
    // Called in the same turn as the release: the slot is already the waiter's.
    const c = first.promise.then(() => gate.run('module', async () => void order.push('arrived')));
    await Promise.all([a, b, c]);
    expect(order).toEqual(['waited', 'arrived']);
  });

  it("keeps one slot from a module whose calls hang, for the other modules' calls", async () => {
    const gate = new CallGate(3);
    expect(gate.perOwner).toBe(2);
    const hung = deferred();
    const ran: string[] = [];
    const stuck = [gate.run('usb-token', () => hung.promise), gate.run('usb-token', () => hung.promise), gate.run('usb-token', () => hung.promise)];
    await tick();
    expect(gate.stats()).toEqual({ running: 2, waiting: 1 });
    // Another module's calls get the slot the hung one may not take, one after the other.
    await gate.run('network-hsm', async () => void ran.push('one'));
    await gate.run('network-hsm', async () => void ran.push('two'));
    expect(ran).toEqual(['one', 'two']);
    expect(gate.stats()).toEqual({ running: 2, waiting: 1 });
    hung.resolve('back');
    expect(await Promise.all(stuck)).toEqual(['back', 'back', 'back']);
    expect(gate.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it('gives up on a slot after waitMs: the waiter leaves the queue, and the slot later goes to the next', async () => {
    const gate = new CallGate(1);
    const hung = deferred();
    const stuck = gate.run('module', () => hung.promise);
    let ran = false;
    const given = gate.run('module', async () => void (ran = true), 20);
    const patient = gate.run('module', async () => 'patient');
    await expect(given).rejects.toThrow(NoFreeSlotError);
    await expect(given).rejects.toThrow('no token call slot came free in 0.02 s');
    expect(gate.stats()).toEqual({ running: 1, waiting: 1 });
    hung.resolve('back');
    expect(await stuck).toBe('back');
    expect(await patient).toBe('patient');
    expect(ran).toBe(false);
    expect(gate.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it('a waiter that gets its slot in time is not refused later', async () => {
    const gate = new CallGate(1);
    const first = deferred();
    const a = gate.run('module', () => first.promise);
    const b = gate.run('module', async () => 'in time', 50);
    first.resolve('first');
    expect(await Promise.all([a, b])).toEqual(['first', 'in time']);
    await new Promise((r) => setTimeout(r, 80));
    expect(gate.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses a gate without a slot, or a share outside 1 … slots', () => {
    expect(() => new CallGate(0)).toThrow(RangeError);
    expect(() => new CallGate(1.5)).toThrow(RangeError);
    expect(() => new CallGate(2, 0)).toThrow(RangeError);
    expect(() => new CallGate(2, 3)).toThrow(RangeError);
    expect(new CallGate(1).perOwner).toBe(1);
  });
});

describe('token calls that never return, in a process of their own', () => {
  const HOLDS = 16;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-pool-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    // A process whose pool threads are held cannot exit by itself (libuv joins them at exit).
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A directory of its own with `n` FIFOs hold-0 … hold-(n-1). */
  const fifos = (name: string, n: number) => {
    const sub = path.join(dir, name);
    fs.mkdirSync(sub);
    for (let i = 0; i < n; i++) execFileSync('mkfifo', [path.join(sub, `hold-${i}`)]);
    return sub;
  };

  /** Lets every held open of sub's FIFOs return: opens each for writing once its reader is there. */
  const release = async (sub: string, n: number) => {
    for (let i = 0; i < n; i++) {
      for (;;) {
        try {
          fs.closeSync(fs.openSync(path.join(sub, `hold-${i}`), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
          break;
        } catch (e) {
          // ENXIO: its reader has not reached open() yet (its call waits for a thread).
          if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }
  };

  /** Starts a child; `line(ms)` resolves with its next stdout line, or null if none came within ms. */
  const start = (command: string[], env: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, command, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const waitFor = (read: () => string, ms: number) =>
      new Promise<string | null>((resolve, reject) => {
        const check = () => {
          if (read().includes('\n')) {
            clearTimeout(timer);
            clearInterval(poll);
            resolve(read());
          }
        };
        const timer = setTimeout(() => {
          clearInterval(poll);
          resolve(null);
        }, ms);
        const poll = setInterval(check, 10);
        child.once('exit', (code) => {
          if (code !== null && code !== 0) {
            clearTimeout(timer);
            clearInterval(poll);
            reject(new Error(`the child exited with ${code}: ${err}`));
          }
        });
      });
    return { child, stdout: (ms: number) => waitFor(() => out, ms), stderr: (ms: number) => waitFor(() => err, ms) };
  };

  const holdChild = (name: string, mode: 'gated' | 'ungated', poolSize: string | undefined) => {
    const sub = fifos(name, HOLDS);
    const env = { ...process.env };
    if (poolSize === undefined) delete env.UV_THREADPOOL_SIZE;
    else env.UV_THREADPOOL_SIZE = poolSize;
    return { sub, ...start([path.join(ROOT, 'test', 'support', 'pool-hold-child.mjs'), sub, mode, String(HOLDS)], env) };
  };

  it("with libuv's default pool, the store commits while 16 calls hold their one slot or wait", async () => {
    const c = holdChild('default', 'gated', undefined);
    const line = await c.stdout(20_000);
    expect(JSON.parse(line!)).toEqual({ written: true, poolThreads: 4, slots: 1, perOwner: 1, running: 1, waiting: HOLDS - 1 });
  }, 30_000);

  it('with the pool bin/kura.js asks for, 8 calls of two modules hold threads and the store still commits', async () => {
    const c = holdChild('wanted', 'gated', String(POOL_THREADS_WANTED));
    const line = await c.stdout(20_000);
    expect(JSON.parse(line!)).toEqual({
      written: true,
      poolThreads: POOL_THREADS_WANTED,
      slots: TOKEN_CALL_THREADS,
      perOwner: TOKEN_CALL_THREADS - 1,
      running: TOKEN_CALL_THREADS,
      waiting: HOLDS - TOKEN_CALL_THREADS,
    });
  }, 30_000);

  it('without the gate, the same calls take every thread: the store commits only once they return (what the gate prevents)', async () => {
    const c = holdChild('ungated', 'ungated', String(POOL_THREADS_WANTED));
    expect(await c.stderr(20_000)).toContain('holding');
    expect(await c.stdout(3_000)).toBeNull();
    await release(c.sub, HOLDS);
    expect(JSON.parse((await c.stdout(20_000))!)).toMatchObject({ written: true });
  }, 60_000);

  // The pool libuv really made for bin/kura.js, not what the environment says: 11 threads held and a
  // twelfth job still runs; 12 held and it does not. An ES module setting UV_THREADPOOL_SIZE would give 4.
  it('bin/kura.js starts with a pool of exactly POOL_THREADS_WANTED threads', async () => {
    const probe = async (name: string, hold: number) => {
      const sub = fifos(name, hold);
      const env: NodeJS.ProcessEnv = { ...process.env, KURA_POOL_PROBE_DIR: sub, KURA_POOL_PROBE_HOLD: String(hold) };
      delete env.UV_THREADPOOL_SIZE;
      const c = start(['--require', path.join(ROOT, 'test', 'support', 'pool-probe.cjs'), KURA_BIN, 'version'], env);
      expect(await c.stdout(20_000)).toMatch(/^kura /);
      const said = await c.stderr(hold < POOL_THREADS_WANTED ? 20_000 : 3_000);
      c.child.kill('SIGKILL');
      return said;
    };
    expect((await probe('probe-free', POOL_THREADS_WANTED - 1)) ?? 'nothing: every thread was held').toContain('pool-probe: a thread was free');
    expect(await probe('probe-full', POOL_THREADS_WANTED)).toBeNull();
  }, 60_000);
});
