// `kura serve` turns its own core dumps off (main/common/core-dumps.ts): started under a core limit that
// would let a crash write its memory to disk, the running appliance's limit is 0, soft and hard.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { coreLimits } from '../../main/common/core-dumps.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const started: KuraProcess[] = [];
afterEach(async () => {
  while (started.length) await started.pop()!.stop();
});

/** A core limit to start Kura under that is not 0: as much as this process may give (root: unlimited). */
function permissiveCoreLimit(): string {
  const own = coreLimits();
  if (process.getuid?.() === 0 || !own || own.hard === Infinity) return 'unlimited:unlimited';
  return `${own.hard}:${own.hard}`;
}

describe.skipIf(process.platform !== 'linux')('core dumps (Linux: /proc and prlimit; skipped elsewhere)', () => {
  it('a kura serve started with core dumps allowed runs with RLIMIT_CORE 0:0 and says so in its log', async () => {
    const limit = permissiveCoreLimit();
    expect(limit, 'this test needs a core limit above 0 to start Kura under (run it as root, or with a hard limit above 0)').not.toBe('0:0');
    expect(fs.existsSync('/usr/bin/prlimit')).toBe(true);
    const kura = await startKura({ launcher: ['/usr/bin/prlimit', `--core=${limit}`] });
    started.push(kura);
    expect(coreLimits(kura.proc.pid!)).toEqual({ soft: 0, hard: 0 });
    expect(kura.stderr()).toContain(`"msg":"core dumps disabled","coreLimitWas":"${limit}"`);
  });
});
