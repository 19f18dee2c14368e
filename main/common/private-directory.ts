// Whether a data directory is Kura's own: owned by root or by the user Kura runs as, and writable by
// no one else. The appliance reads the files it finds there as its own — root.key (dev mode) and
// admin.token are read if present and made only if not — so another local user who can create files
// in it chooses the root key or the admin token (and, with it, takes `kura init` and every share), and
// one who owns it can swap the database between starts. Modes and umask protect what Kura writes;
// only this check protects what it reads. `./.kura-dev` of a shared working directory (/tmp, a
// project checkout on a shared box) is the case met in practice: anyone may have made it first.
// `kura init --out-dir` asks the same of the directory the shares go to: whoever owns it can delete the
// only copy of a share, and whoever may write to it (sticky bit or not) can take a share's name first.
// As for PKCS#11 module directories (devices/pkcs11/module-path.ts), a directory writable by root's
// group is accepted. Windows has no such modes: nothing is checked there.
import fs from 'node:fs';

/**
 * Why `dir` (which must exist) is not the private directory of user `uid`, as a clause ("it is owned by
 * another user (uid 1001)"); undefined when it is. Callers say what another user could do there.
 */
export function openDirectoryProblem(dir: string, uid: number | undefined = process.geteuid?.()): string | undefined {
  if (uid === undefined) return undefined;
  const st = fs.statSync(dir);
  if (!st.isDirectory()) return 'it is not a directory';
  if (st.uid !== 0 && st.uid !== uid) return `it is owned by another user (uid ${st.uid})`;
  if (st.mode & 0o002 || (st.mode & 0o020 && st.gid !== 0)) return `other users can write to it (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}; chmod 700 it)`;
  return undefined;
}
