// Which PKCS#11 module files Kura will load. Loading a module runs its code inside the appliance
// with the PIN in reach, so the file and every directory on the way to it must be beyond the reach of
// other users: an absolute path to a regular file owned by root or by the user Kura runs as, not
// writable by group or others, reached only through directories owned by root or that user which
// nobody else can write to (no exception for sticky /tmp: modules are system .so files, and a /tmp
// path is never one). A directory writable by its group is accepted only for root's group (and macOS's
// admin group, whose members are administrators already).
// The path is walked one component at a time and symbolic links are followed as they come (Debian
// ships /usr/lib/softhsm/libsofthsm2.so as one), so the directory holding each link is checked, as is
// every directory of each link's target. Checking only the path as given and the file it resolves to
// let a link kept in a world-writable directory be repointed after the check. With every directory on
// the way closed to others, the file cannot be swapped between this check and the module's loading by
// anyone but root or Kura's own user.
import fs from 'node:fs';
import path from 'node:path';

export type ModulePathProblem = 'not-absolute' | 'missing' | 'not-a-file' | 'foreign-owner' | 'writable-file' | 'world-writable-directory' | 'unsafe-directory';

export class ModulePathError extends Error {
  constructor(
    readonly problem: ModulePathProblem,
    readonly modulePath: string,
  ) {
    super(`The PKCS#11 module path ${JSON.stringify(modulePath)} is refused: ${DESCRIPTIONS[problem]}.`);
    this.name = 'ModulePathError';
  }
}

const DESCRIPTIONS: Record<ModulePathProblem, string> = {
  'not-absolute': 'it is not an absolute path',
  missing: 'no such file',
  'not-a-file': 'it is not a regular file',
  'foreign-owner': 'the file is owned by neither root nor the user Kura runs as',
  'writable-file': 'the file is writable by group or others',
  'world-writable-directory': 'a directory on the way to it is world-writable',
  'unsafe-directory': 'a directory on the way to it is owned by another user, or writable by a group other than root\'s',
};

const WORLD_WRITABLE = 0o002;
const GROUP_WRITABLE = 0o020;
const GROUP_OR_WORLD_WRITABLE = WORLD_WRITABLE | GROUP_WRITABLE;
/** Links followed at most on one path (Linux's own limit). */
const MAX_LINKS = 40;
/** macOS's admin group: its members can become root, so a directory it may write is no weaker than root's. */
const DARWIN_ADMIN_GID = 80;

function checkDirectory(st: fs.Stats, uid: number | undefined, modulePath: string): void {
  if (st.mode & WORLD_WRITABLE) throw new ModulePathError('world-writable-directory', modulePath);
  if (st.uid !== 0 && st.uid !== uid) throw new ModulePathError('unsafe-directory', modulePath);
  if (st.mode & GROUP_WRITABLE && st.gid !== 0 && !(process.platform === 'darwin' && st.gid === DARWIN_ADMIN_GID)) {
    throw new ModulePathError('unsafe-directory', modulePath);
  }
}

const componentsOf = (p: string): string[] => p.split(path.sep).filter((c) => c !== '' && c !== '.');

function lstat(p: string, modulePath: string): fs.Stats {
  try {
    return fs.lstatSync(p);
  } catch {
    throw new ModulePathError('missing', modulePath);
  }
}

/** The resolved path of a module file Kura may load, or ModulePathError saying why not. */
export function checkModulePath(modulePath: string, uid: number | undefined = process.getuid?.()): string {
  if (!path.isAbsolute(modulePath)) throw new ModulePathError('not-absolute', modulePath);
  let dir = path.parse(modulePath).root;
  checkDirectory(lstat(dir, modulePath), uid, modulePath);
  const pending = componentsOf(modulePath);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      // `dir` is a real directory (links are resolved as they come), so its parent is what `..` names.
      dir = path.dirname(dir);
      continue;
    }
    const next = path.join(dir, name);
    const st = lstat(next, modulePath);
    if (st.isSymbolicLink()) {
      // The link lives in `dir`, checked already; its target is walked like the rest of the path.
      if (++links > MAX_LINKS) throw new ModulePathError('missing', modulePath);
      const target = fs.readlinkSync(next);
      pending.unshift(...componentsOf(target));
      if (path.isAbsolute(target)) {
        dir = path.parse(target).root;
        checkDirectory(lstat(dir, modulePath), uid, modulePath);
      }
      continue;
    }
    if (pending.length > 0) {
      if (!st.isDirectory()) throw new ModulePathError('missing', modulePath);
      checkDirectory(st, uid, modulePath);
      dir = next;
      continue;
    }
    if (!st.isFile()) throw new ModulePathError('not-a-file', modulePath);
    if (st.uid !== 0 && st.uid !== uid) throw new ModulePathError('foreign-owner', modulePath);
    if (st.mode & GROUP_OR_WORLD_WRITABLE) throw new ModulePathError('writable-file', modulePath);
    return next;
  }
  // The path named a directory (`/`, or one ending in `..`).
  throw new ModulePathError('not-a-file', modulePath);
}
