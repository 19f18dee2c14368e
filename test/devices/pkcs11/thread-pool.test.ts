// The share of libuv's thread pool that token calls may hold (main/devices/pkcs11/thread-pool.ts): how
// libuv sizes the pool, the slots left to token calls, the gate's limit and order, and — in child
// processes with real pool threads held by calls that never return — that the store still commits
// through the gate, and does not without it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CallGate, poolThreadsFor, POOL_THREADS_WANTED, STORE_THREADS, TOKEN_CALL_THREADS, tokenCallSlotsFor } from '../../../main/devices/pkcs11/thread-pool.js';
import { ROOT } from '../../support/kura-process.js';

describe('poolThreadsFor (libuv threadpool.c)', () => {
  it('reads UV_THREADPOOL_SIZE as libuv does', () => {
    expect(poolThreadsFor(undefined)).toBe(4);
    expect(poolThreadsFor('12')).toBe(12);
    expect(poolThreadsFor(' 7')).toBe(7);
    expect(poolThreadsFor('9 threads')).toBe(9);
    expect(poolThreadsFor('0')).toBe(1);
    expect(poolThreadsFor('')).toBe(1);
    expect(poolThreadsFor('many')).toBe(1);
    expect(poolThreadsFor('5000')).toBe(1024);
    // atoi into an unsigned count: a negative number wraps to the maximum.
    expect(poolThreadsFor('-2')).toBe(1024);
  });
});

describe('tokenCallSlotsFor', () => {
  it('leaves STORE_THREADS to the store, gives token calls 1 to TOKEN_CALL_THREADS', () => {
    expect(POOL_THREADS_WANTED).toBe(STORE_THREADS + TOKEN_CALL_THREADS);
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
    const gate = new CallGate(2);
    const calls = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const results = calls.map((d, i) =>
      gate.run(() => {
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
      gate.run(() => {
        throw new Error('bad arguments');
      }),
    ).rejects.toThrow('bad arguments');
    expect(gate.stats()).toEqual({ running: 0, waiting: 0 });
    expect(await gate.run(async () => 'next')).toBe('next');
  });

  it('refuses a gate without a slot', () => {
    expect(() => new CallGate(0)).toThrow(RangeError);
    expect(() => new CallGate(1.5)).toThrow(RangeError);
  });
});

describe('token calls that never return, in a process of their own', () => {
  const HOLDS = 16;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-pool-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the child in a directory of its own; resolves with its JSON line, or null if none came within `waitMs`. */
  const runChild = (name: string, mode: 'gated' | 'ungated', poolSize: string | undefined, waitMs: number) => {
    const sub = path.join(dir, name);
    fs.mkdirSync(sub);
    for (let i = 0; i < HOLDS; i++) execFileSync('mkfifo', [path.join(sub, `hold-${i}`)]);
    const env = { ...process.env };
    if (poolSize === undefined) delete env.UV_THREADPOOL_SIZE;
    else env.UV_THREADPOOL_SIZE = poolSize;
    const child = spawn(process.execPath, [path.join(ROOT, 'test', 'support', 'pool-hold-child.mjs'), sub, mode, String(HOLDS)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise<Record<string, unknown> | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Its held threads never return, so it cannot exit by itself.
        child.kill('SIGKILL');
        resolve(null);
      }, waitMs);
      child.stdout!.on('data', () => {
        if (!out.includes('\n')) return;
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(JSON.parse(out) as Record<string, unknown>);
      });
      child.once('exit', (code) => {
        if (code !== null) {
          clearTimeout(timer);
          reject(new Error(`the child exited with ${code}: ${err}`));
        }
      });
    });
  };

  it("with libuv's default pool, the store commits while 16 calls hold their slot and the rest wait", async () => {
    expect(await runChild('default', 'gated', undefined, 20_000)).toEqual({ written: true, poolThreads: 4, slots: 1, running: 1, waiting: HOLDS - 1 });
  }, 30_000);

  it("with the pool bin/kura.js asks for, 8 calls hold threads and the store still commits", async () => {
    expect(await runChild('wanted', 'gated', String(POOL_THREADS_WANTED), 20_000)).toEqual({
      written: true,
      poolThreads: POOL_THREADS_WANTED,
      slots: TOKEN_CALL_THREADS,
      running: TOKEN_CALL_THREADS,
      waiting: HOLDS - TOKEN_CALL_THREADS,
    });
  }, 30_000);

  it('without the gate, the same calls take every thread and the store never commits (what the gate prevents)', async () => {
    expect(await runChild('ungated', 'ungated', String(POOL_THREADS_WANTED), 3_000)).toBeNull();
  }, 30_000);
});
