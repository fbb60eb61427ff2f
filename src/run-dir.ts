// runDir holds the control socket, the failure report and the supervise directories: what PID 1
// (often root) writes there must not be steerable by another user.
import { chmodSync, closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';

/**
 * Makes runDir 0700, or says why it is refused: one nile did not create that belongs to another user
 * or that others may write into (they could plant symlinks or swap the files nile reads back).
 */
export function prepareRunDir(dir: string): string | null {
  try {
    lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `runDir ${dir}: ${(err as NodeJS.ErrnoException).code}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // the umask may have taken bits off, never added: this is for clarity
    return null;
  }
  const st = statSync(dir);
  if (!st.isDirectory()) return `runDir ${dir}: not a directory`;
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid !== uid) return `runDir ${dir} is owned by uid ${st.uid}, not by nile's uid ${uid}; remove it or let nile create it`;
  if (st.mode & 0o022) return `runDir ${dir} is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o777).toString(8)}); make it 0700 or let nile create it`;
  chmodSync(dir, 0o700);
  return null;
}

/**
 * Writes a file nile keeps (mode 0600 unless told) without following symlinks: a fresh temporary
 * name opened with O_EXCL|O_NOFOLLOW, then renamed over the file, so a reader sees it whole.
 */
export function writeOwnFile(file: string, content: string | Buffer, mode = 0o600): void {
  const temporary = `${file}.new`;
  try {
    unlinkSync(temporary); // a symlink planted there goes, its target stays untouched
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}

/** Opens a file nile streams into (the thread dump) 0600, truncated, never through a symlink. */
export function openOwnFile(file: string): number {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  fchmodSync(fd, 0o600); // an existing file keeps its mode otherwise
  return fd;
}
