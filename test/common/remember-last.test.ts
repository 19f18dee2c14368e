// rememberLast keeps one answer: the same argument again is not computed again, any other argument is.
import { describe, expect, it } from 'vitest';
import { rememberLast } from '../../main/common/remember-last.js';

describe('rememberLast', () => {
  it('computes once per run of the same argument, and again for each change', () => {
    const calls: unknown[] = [];
    const f = rememberLast((x: number) => {
      calls.push(x);
      return x * 2;
    });
    expect([f(1), f(1), f(2), f(1), f(Number.NaN), f(Number.NaN)]).toEqual([2, 2, 4, 2, Number.NaN, Number.NaN]);
    expect(calls).toEqual([1, 2, 1, Number.NaN]);
  });

  it('keeps an undefined answer like any other', () => {
    let n = 0;
    const f = rememberLast((s: string) => {
      n++;
      return s === '' ? undefined : s.length;
    });
    expect([f(''), f(''), f('ab')]).toEqual([undefined, undefined, 2]);
    expect(n).toBe(2);
  });
});
