// The open-file limit (main/common/open-files.ts), read from /proc/self/limits' text: `kura serve`
// refuses below MIN_OPEN_FILES in words, and says nothing where it cannot read the limit.
import { describe, expect, it } from 'vitest';
import { MIN_OPEN_FILES, openFileLimitProblem, softOpenFileLimit } from '../../main/common/open-files.js';

const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 1048576              files\n`;

describe('open-file limit', () => {
  it('reads the soft limit, unlimited as Infinity, and nothing from text without it', () => {
    expect(softOpenFileLimit(limits('64'))).toBe(64);
    expect(softOpenFileLimit(limits('unlimited'))).toBe(Infinity);
    expect(softOpenFileLimit('Max processes 100 100 processes\n')).toBeUndefined();
  });

  it(`refuses below ${MIN_OPEN_FILES}, naming the limit and ulimit -n; accepts it and above, and an unknown limit`, () => {
    expect(openFileLimitProblem(limits('127'))).toMatch(/^the open-file limit is 127, and Kura needs at least 128 .*`ulimit -n 1024`/);
    expect(openFileLimitProblem(limits('128'))).toBeUndefined();
    expect(openFileLimitProblem(limits('unlimited'))).toBeUndefined();
    expect(openFileLimitProblem('')).toBeUndefined();
  });
});
