// The rules for PKCS#11 module files (main/devices/pkcs11/module-path.ts). Fixtures live under the
// user's ~/.cache (not /tmp, which is world-writable and would be refused first; nor the repository,
// whose clone may itself sit under /tmp).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkModulePath, ModulePathError, type ModulePathProblem } from '../../../main/devices/pkcs11/module-path.js';
import { SOFTHSM_MODULE, NSS_MODULE } from '../../support/tokens.js';

const problem = (p: string): ModulePathProblem | 'accepted' => {
  try {
    checkModulePath(p);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(ModulePathError);
    return (e as ModulePathError).problem;
  }
};

describe('module path rules', () => {
  let base: string;
  beforeAll(() => {
    const root = path.join(os.homedir(), '.cache');
    fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    base = fs.mkdtempSync(path.join(root, 'kura-module-path-'));
    fs.chmodSync(base, 0o755);
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('accepts the system modules (SoftHSM\'s is a symbolic link)', () => {
    expect(checkModulePath(SOFTHSM_MODULE)).toBe(fs.realpathSync(SOFTHSM_MODULE));
    expect(checkModulePath(NSS_MODULE)).toBe(NSS_MODULE);
  });

  it('refuses a relative path, a missing file and a directory', () => {
    expect(problem('libsofthsm2.so')).toBe('not-absolute');
    expect(problem('./usr/lib/softhsm/libsofthsm2.so')).toBe('not-absolute');
    expect(problem(path.join(base, 'missing.so'))).toBe('missing');
    expect(problem(base)).toBe('not-a-file');
  });

  it('refuses a file in a world-writable directory, even a sticky one, and a file writable by others', () => {
    const open = path.join(base, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    fs.writeFileSync(path.join(open, 'm.so'), '');
    expect(problem(path.join(open, 'm.so'))).toBe('world-writable-directory');
    fs.chmodSync(open, 0o1777);
    expect(problem(path.join(open, 'm.so'))).toBe('world-writable-directory');
    const writable = path.join(base, 'writable.so');
    fs.writeFileSync(writable, '');
    fs.chmodSync(writable, 0o666);
    expect(problem(writable)).toBe('writable-file');
    // A link from a safe place to a file in an unsafe one is refused too.
    fs.symlinkSync(path.join(open, 'm.so'), path.join(base, 'link.so'));
    expect(problem(path.join(base, 'link.so'))).toBe('world-writable-directory');
  });

  it('refuses a module file writable by its group, whatever else its mode says', () => {
    // Group-writable alone (0o620, not even readable by others) is as unsafe as world-writable: any
    // member of the group could put code into Kura's process.
    for (const mode of [0o664, 0o620]) {
      const f = path.join(base, `group-writable-${mode.toString(8)}.so`);
      fs.writeFileSync(f, '');
      fs.chmodSync(f, mode);
      expect(problem(f), mode.toString(8)).toBe('writable-file');
    }
  });

  it('checks the directory of every link on the way: a link kept in a world-writable directory is refused, even reached from a safe one', () => {
    const real = path.join(base, 'real');
    fs.mkdirSync(real, { mode: 0o755 });
    fs.writeFileSync(path.join(real, 'm.so'), '', { mode: 0o644 });
    const ww = path.join(base, 'ww');
    fs.mkdirSync(ww);
    fs.chmodSync(ww, 0o777);
    fs.symlinkSync(path.join(real, 'm.so'), path.join(ww, 'b.so'));
    const safe = path.join(base, 'safe');
    fs.mkdirSync(safe, { mode: 0o755 });
    fs.symlinkSync(path.join(ww, 'b.so'), path.join(safe, 'a.so'));
    // Whoever can write ww/ can repoint b.so at any library after the check.
    expect(problem(path.join(safe, 'a.so'))).toBe('world-writable-directory');
    // A relative link through `..` is walked as the kernel would, and safe all the way.
    fs.symlinkSync('../real/m.so', path.join(safe, 'rel.so'));
    expect(checkModulePath(path.join(safe, 'rel.so'))).toBe(path.join(real, 'm.so'));
    // A directory link on the way is followed too.
    fs.symlinkSync(ww, path.join(safe, 'wwdir'));
    fs.writeFileSync(path.join(ww, 'c.so'), '', { mode: 0o644 });
    expect(problem(path.join(safe, 'wwdir', 'c.so'))).toBe('world-writable-directory');
    fs.symlinkSync('loop', path.join(safe, 'loop'));
    expect(problem(path.join(safe, 'loop'))).toBe('missing');
  });

  it("refuses a directory on the way that another user owns, or that a group other than root's may write", () => {
    const me = process.getuid!();
    const dir = path.join(base, 'theirs');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'm.so'), '', { mode: 0o644 });
    if (me === 0) {
      // As root, the directory really goes to another owner (the file in it stays root's).
      fs.chownSync(dir, 65534, 65534);
      expect(problem(path.join(dir, 'm.so'))).toBe('unsafe-directory');
      fs.chownSync(dir, 0, 65534);
      fs.chmodSync(dir, 0o775);
      expect(problem(path.join(dir, 'm.so'))).toBe('unsafe-directory');
      fs.chownSync(dir, 0, 0);
      expect(problem(path.join(dir, 'm.so'))).toBe('accepted');
    } else {
      // Unprivileged: checked as a third user would see it, every directory of ours is another's.
      expect(() => checkModulePath(path.join(dir, 'm.so'), me + 1)).toThrow(expect.objectContaining({ problem: 'unsafe-directory' }));
      expect(problem(path.join(dir, 'm.so'))).toBe('accepted');
    }
  });

  it('refuses a file owned by another user', () => {
    const foreign = path.join(base, 'foreign.so');
    fs.writeFileSync(foreign, '');
    fs.chmodSync(foreign, 0o644);
    const me = process.getuid!();
    if (me === 0) {
      // As root, the file really goes to another owner.
      fs.chownSync(foreign, 65534, 65534);
      expect(problem(foreign)).toBe('foreign-owner');
    } else {
      // Unprivileged, the file stays ours: checked as a third user would see it, it is another's.
      expect(() => checkModulePath(foreign, me + 1)).toThrow(ModulePathError);
      try {
        checkModulePath(foreign, me + 1);
      } catch (e) {
        expect((e as ModulePathError).problem).toBe('foreign-owner');
      }
    }
    const own = path.join(base, 'own.so');
    fs.writeFileSync(own, '');
    fs.chmodSync(own, 0o644);
    expect(problem(own)).toBe('accepted');
  });
});
