// Which PKCS#11 module files Kura will load. Loading a module runs its code inside the appliance
// with the PIN in reach, so the file and every directory above it must be beyond the reach of other
// users: an absolute path to a regular file owned by root or by the user Kura runs as, not writable
// by group or others, in directories none of which is world-writable (no exception for sticky /tmp:
// modules are system .so files, and a /tmp path is never one). A symbolic link is followed (Debian
// ships /usr/lib/softhsm/libsofthsm2.so as one), and the directories of both the path as given and
// the file it resolves to are checked.
import fs from 'node:fs';
import path from 'node:path';

export type ModulePathProblem = 'not-absolute' | 'missing' | 'not-a-file' | 'foreign-owner' | 'writable-file' | 'world-writable-directory';

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
  'world-writable-directory': 'a directory above it is world-writable',
};

const WORLD_WRITABLE = 0o002;
const GROUP_OR_WORLD_WRITABLE = 0o022;

function ancestors(file: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    out.push(dir);
    if (dir === path.dirname(dir)) return out;
  }
}

/** The resolved path of a module file Kura may load, or ModulePathError saying why not. */
export function checkModulePath(modulePath: string, uid: number | undefined = process.getuid?.()): string {
  if (!path.isAbsolute(modulePath)) throw new ModulePathError('not-absolute', modulePath);
  let real: string;
  let st: fs.Stats;
  try {
    real = fs.realpathSync(modulePath);
    st = fs.statSync(real);
  } catch {
    throw new ModulePathError('missing', modulePath);
  }
  if (!st.isFile()) throw new ModulePathError('not-a-file', modulePath);
  if (st.uid !== 0 && st.uid !== uid) throw new ModulePathError('foreign-owner', modulePath);
  if (st.mode & GROUP_OR_WORLD_WRITABLE) throw new ModulePathError('writable-file', modulePath);
  for (const dir of new Set([...ancestors(path.normalize(modulePath)), ...ancestors(real)])) {
    let mode: number;
    try {
      mode = fs.statSync(dir).mode;
    } catch {
      throw new ModulePathError('missing', modulePath);
    }
    if (mode & WORLD_WRITABLE) throw new ModulePathError('world-writable-directory', modulePath);
  }
  return real;
}
