// A data directory is Kura's only when it is owned by root or Kura's user and no one else can write to
// it (main/common/private-directory.ts): another local user who can create files there chooses the
// root key and the admin token that Kura reads, or deletes the only copy of a share.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDirectoryProblem } from '../../main/common/private-directory.js';
import { tempDataDir } from '../support/kura-process.js';

const uid = process.geteuid!();

describe.skipIf(process.platform === 'win32')('openDirectoryProblem (POSIX owners and modes: skipped on Windows, which has neither and where it checks nothing)', () => {
  it('accepts a directory of this user that others cannot write, readable by them or not', () => {
    const dir = tempDataDir('kura-private-');
    expect(openDirectoryProblem(dir)).toBeUndefined();
    fs.chmodSync(dir, 0o755);
    expect(openDirectoryProblem(dir)).toBeUndefined();
  });

  it('refuses one that others may write to, sticky or not, and one writable by a group other than root\'s', () => {
    const dir = tempDataDir('kura-private-');
    for (const mode of [0o777, 0o1777, 0o703]) {
      fs.chmodSync(dir, mode);
      expect(openDirectoryProblem(dir)).toMatch(/^other users can write to it \(mode [01]\d{3}; chmod 700 it\)$/);
    }
    fs.chmodSync(dir, 0o770);
    const gid = fs.statSync(dir).gid;
    if (gid === 0) expect(openDirectoryProblem(dir)).toBeUndefined();
    else expect(openDirectoryProblem(dir)).toMatch(/other users can write to it/);
  });

  it("refuses one owned by another user (as that user's Kura would see this one), unless it is root's", () => {
    const dir = tempDataDir('kura-private-');
    expect(openDirectoryProblem(dir, uid + 4242)).toBe(uid === 0 ? undefined : `it is owned by another user (uid ${uid})`);
    if (uid === 0) {
      // Root can make the directory another user's, as a local user's own mkdir would.
      fs.chownSync(dir, 4242, 4242);
      expect(openDirectoryProblem(dir)).toMatch(/owned by another user \(uid 4242\)/);
    }
  });

  it('refuses a file', () => {
    const file = `${tempDataDir('kura-private-')}/f`;
    fs.writeFileSync(file, '');
    expect(openDirectoryProblem(file)).toBe('it is not a directory');
  });
});
