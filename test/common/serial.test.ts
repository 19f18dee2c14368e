// The one-at-a-time queues of main/common/serial.ts: each function starts only once the one before it
// (for the same key) has settled, a failure does not stop the next, and different keys do not wait for
// each other.
import { describe, expect, it } from 'vitest';
import { Serial, SerialByKey } from '../../main/common/serial.js';

/** A function that records its start and end, and ends when the test says so. */
function step(log: string[], name: string) {
  let finish!: (ok: boolean) => void;
  const fn = () =>
    new Promise<string>((resolve, reject) => {
      log.push(`start ${name}`);
      finish = (ok) => {
        log.push(`end ${name}`);
        if (ok) resolve(name);
        else reject(new Error(name));
      };
    });
  return { fn, finish: (ok = true) => finish(ok) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Serial', () => {
  it('starts each function once the one before it has settled, failed or not', async () => {
    const log: string[] = [];
    const q = new Serial();
    const [a, b, c] = [step(log, 'a'), step(log, 'b'), step(log, 'c')];
    const ra = q.run(a.fn);
    const rb = q.run(b.fn);
    const rc = q.run(c.fn);
    await turn();
    expect(log).toEqual(['start a']);
    a.finish(false);
    await expect(ra).rejects.toThrow('a');
    await turn();
    expect(log).toEqual(['start a', 'end a', 'start b']);
    b.finish();
    expect(await rb).toBe('b');
    await turn();
    c.finish();
    expect(await rc).toBe('c');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});

describe('SerialByKey', () => {
  it('queues per key: one key waits for its own work only', async () => {
    const log: string[] = [];
    const q = new SerialByKey();
    const [a1, a2, b1] = [step(log, 'a1'), step(log, 'a2'), step(log, 'b1')];
    const r1 = q.run('a', a1.fn);
    const r2 = q.run('a', a2.fn);
    const r3 = q.run('b', b1.fn);
    await turn();
    expect(log).toEqual(['start a1', 'start b1']);
    b1.finish();
    expect(await r3).toBe('b1');
    expect(log).not.toContain('start a2');
    a1.finish(false);
    await expect(r1).rejects.toThrow('a1');
    await turn();
    expect(log.at(-1)).toBe('start a2');
    a2.finish();
    expect(await r2).toBe('a2');
  });
});
