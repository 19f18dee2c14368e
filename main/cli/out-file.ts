// The files a command writes where its user says (--out F): a statement to sign, a transcript. Neither
// is a secret, but the place often is /tmp or another directory other users can write to, where one
// of them may have put a symbolic link by that name first: following it, a command run as root would
// overwrite the file it points to, and setting the mode by name afterwards (chmod) would make that
// file — an admin.token, say — readable by everyone. So the last component is never followed
// (O_NOFOLLOW: a link there is refused with ELOOP), and a mode is set on the file opened (fchmod),
// never by name. A regular file already there is overwritten, as before.
import fs from 'node:fs';

/**
 * Writes `data` to `file`, refusing a symbolic link there. A new file gets `mode` (less the umask);
 * with `setMode`, any file gets exactly `mode`, whatever the umask and whatever it had.
 */
export function writeOutFile(file: string, data: string | Uint8Array, mode: number, opts: { setMode?: boolean } = {}): void {
  const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW = 0 } = fs.constants;
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
  try {
    if (opts.setMode) fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}
