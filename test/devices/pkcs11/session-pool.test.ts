// The session pool (main/devices/pkcs11/session-pool.ts) with counted fake sessions: bounded, FIFO,
// failed sessions closed and replaced, drain waiting for busy sessions.
import { describe, expect, it } from 'vitest';
import { PoolClosedError, SessionPool } from '../../../main/devices/pkcs11/session-pool.js';

function fakeSource() {
  let next = 1;
  const open = new Set<number>();
  const closed: number[] = [];
  return {
    open,
    closed,
    source: {
      open: () => {
        const s = next++;
        open.add(s);
        return s;
      },
      close: (s: number) => {
        open.delete(s);
        closed.push(s);
      },
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('SessionPool', () => {
  it('never opens more than its size, and runs every caller', async () => {
    const f = fakeSource();
    const pool = new SessionPool(f.source, 3);
    let inFlight = 0;
    let peak = 0;
    const inUse = new Set<number>();
    await Promise.all(
      Array.from({ length: 50 }, () =>
        pool.run(async (s) => {
          expect(inUse.has(s)).toBe(false);
          inUse.add(s);
          peak = Math.max(peak, ++inFlight);
          await tick();
          inFlight--;
          inUse.delete(s);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(f.open.size).toBe(3);
    expect(pool.stats()).toEqual({ open: 3, busy: 0, waiting: 0 });
  });

  it('closes a session whose call failed and gives the next caller a new one', async () => {
    const f = fakeSource();
    const pool = new SessionPool(f.source, 1);
    const seen: number[] = [];
    const failing = pool.run(async (s) => {
      seen.push(s);
      await tick();
      throw new Error('CKR_GENERAL_ERROR');
    });
    const next = pool.run(async (s) => seen.push(s));
    await expect(failing).rejects.toThrow('CKR_GENERAL_ERROR');
    await next;
    expect(seen).toEqual([1, 2]);
    expect(f.closed).toEqual([1]);
    expect(f.open).toEqual(new Set([2]));
  });

  it('closes a session its source says is not reusable', async () => {
    const f = fakeSource();
    const pool = new SessionPool({ ...f.source, reusable: (s: number) => s !== 1 }, 2);
    await pool.run(async () => undefined);
    expect(f.closed).toEqual([1]);
  });

  it('drains: waiters are refused, busy sessions close when their call returns', async () => {
    const f = fakeSource();
    const pool = new SessionPool(f.source, 1);
    let finish!: () => void;
    const busy = pool.run(() => new Promise<string>((r) => (finish = () => r('done'))));
    const waiting = pool.run(async () => 'never');
    await tick();
    let drained = false;
    const drain = pool.drain().then(() => (drained = true));
    await expect(waiting).rejects.toBeInstanceOf(PoolClosedError);
    await tick();
    expect(drained).toBe(false);
    expect(f.open.size).toBe(1);
    finish();
    expect(await busy).toBe('done');
    await drain;
    expect(f.open.size).toBe(0);
    await expect(pool.run(async () => 1)).rejects.toBeInstanceOf(PoolClosedError);
  });

  it('counts a session from the moment it starts opening (a host answers later), and drain waits for closes that take time', async () => {
    let opening = 0;
    let peakOpening = 0;
    let next = 1;
    const live = new Set<number>();
    const slow = <T>(value: T) => new Promise<T>((r) => setTimeout(() => r(value), 5));
    const pool = new SessionPool<number>(
      {
        open: async () => {
          opening++;
          peakOpening = Math.max(peakOpening, opening);
          const s = await slow(next++);
          opening--;
          live.add(s);
          return s;
        },
        close: async (s) => {
          await slow(undefined);
          live.delete(s);
        },
      },
      2,
    );
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run(async (s) => (i % 5 === 0 ? Promise.reject(new Error(`fails on ${s}`)) : s)).catch(() => -1)));
    expect(results.filter((r) => r === -1)).toHaveLength(4);
    expect(peakOpening).toBeLessThanOrEqual(2);
    expect(live.size).toBeLessThanOrEqual(2);
    await pool.drain();
    // Resolved only once every close has finished.
    expect(live.size).toBe(0);
    await expect(pool.run(async () => 1)).rejects.toBeInstanceOf(PoolClosedError);
  });

  it('gives the room of a session that failed to open to the next caller in line, which would otherwise wait for ever', async () => {
    let attempts = 0;
    const pool = new SessionPool<number>(
      {
        open: async () => {
          const attempt = ++attempts;
          await new Promise((r) => setTimeout(r, 2));
          if (attempt <= 2) throw new Error('the token refuses another session');
          return attempt;
        },
        close: () => undefined,
      },
      2,
    );
    const results = await Promise.all(Array.from({ length: 3 }, () => pool.run(async (s) => s).catch((e: Error) => e.message)));
    expect(results.filter((r) => r === 'the token refuses another session')).toHaveLength(2);
    expect(results).toContain(3);
    expect(pool.stats()).toEqual({ open: 1, busy: 0, waiting: 0 });
  });
});
