// runDir holds the control socket, the failure report and the supervise directories: what PID 1
// (often root) writes there and reads back must not be steerable by another user. The rule that
// says which directory that is, and why, is in run-dir-rule.cts; the clients follow it too.
import { chmodSync, closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isPrivate, privateDirName, trustedOwner, writableByOthers } from './run-dir-rule.cjs';

/** The directory nile keeps its files in, and what it did to get there (logged once the log is up). */
export type PreparedRunDir = { dir: string; notes: string[] } | { refused: string };

/**
 * Makes runDir nile's own, or says why it cannot be: a directory under one another user owns (that
 * user could swap it), or owned by another user. A volume others may write (the kubelet's emptyDir)
 * is used through its private 0700 directory, and made sticky when nile owns it.
 */
export function prepareRunDir(dir: string, euid = process.geteuid?.() ?? 0): PreparedRunDir {
  const swappable = ancestorOfAnotherUser(dir, euid);
  if (swappable) return { refused: `runDir ${dir}: ${swappable} is owned by uid ${statSync(swappable).uid}: that user could swap runDir for a directory of theirs; use a path whose every parent is root's or nile's` };
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { refused: `runDir ${dir}: ${(err as NodeJS.ErrnoException).code}` };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // the umask may have taken bits off, never added: this is for clarity
    return { dir, notes: renamableIn(path.dirname(path.resolve(dir))) };
  }
  if (!st.isDirectory()) return { refused: `runDir ${dir}: not a directory` };
  if (!trustedOwner(st.uid, euid)) return { refused: `runDir ${dir} is owned by uid ${st.uid}, not by nile's uid ${euid}; remove it or let nile create it` };
  const others = writableByOthers(st.mode);
  if (!others && st.uid !== euid) return { refused: `runDir ${dir} is root's (mode ${(st.mode & 0o7777).toString(8)}): nile (uid ${euid}) cannot write it; mount an emptyDir there or let nile create it` };
  if (!others) {
    chmodSync(dir, 0o700);
    return { dir, notes: renamableIn(path.dirname(path.resolve(dir))) };
  }
  const notes = [`runDir ${dir} is a volume ${others} may write (mode ${(st.mode & 0o7777).toString(8)}): nile keeps its files in ${path.join(dir, privateDirName)} (0700)`];
  if (st.uid === euid && !(st.mode & 0o1000)) {
    chmodSync(dir, (st.mode & 0o7777) | 0o1000);
    notes.push(`runDir ${dir} made sticky: no other user renames nile's directory away`);
  }
  notes.push(...renamableIn(dir));
  const own = ownPrivateDir(path.join(dir, privateDirName), euid, notes);
  return typeof own === 'string' ? { dir: own, notes } : own;
}

/** Says so when others may rename what is in `dir` (writable by them, no sticky bit): the clients' check is then what stands. */
function renamableIn(dir: string): string[] {
  const { mode } = statSync(dir);
  const others = writableByOthers(mode);
  return others && !(mode & 0o1000) ? [`${dir} is writable by ${others} without the sticky bit: another user could move nile's directory away; the clients then find none and say so, and never ask one of theirs`] : [];
}

/** The nearest directory on runDir's path (symlinks followed too) that a user other than root and nile owns. */
function ancestorOfAnotherUser(dir: string, euid: number): string | null {
  const absolute = path.resolve(dir);
  const checked = new Set<string>();
  for (let p = path.dirname(absolute); ; p = path.dirname(p)) {
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      if (p === '/') return null;
      continue; // not made yet: nile makes it
    }
    for (let up = real; !checked.has(up); up = path.dirname(up)) {
      checked.add(up);
      if (!trustedOwner(statSync(up).uid, euid)) return up;
    }
    if (p === '/') return null;
  }
}

/**
 * runDir/private, 0700 and nile's: made, or taken over when it is nile's already; anything else
 * there (another user's directory, a symlink) is moved aside, once, and never used.
 */
function ownPrivateDir(own: string, euid: number, notes: string[]): string | { refused: string } {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(own, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return { refused: `runDir ${own}: ${(err as NodeJS.ErrnoException).code}` };
    }
    let fd = -1;
    try {
      fd = openSync(own, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      const st = fstatSync(fd);
      if (st.uid === euid) {
        fchmodSync(fd, 0o700); // through the descriptor: never the target of a symlink put there since
        if (isPrivate(fstatSync(fd), euid)) return own;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // gone since: made again
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    const aside = `${own}.not-nile.${Date.now()}`;
    try {
      renameSync(own, aside);
    } catch (err) {
      return { refused: `runDir ${own} is not nile's and cannot be moved aside (${(err as NodeJS.ErrnoException).code}): remove it` };
    }
    notes.push(`runDir ${own} was not nile's: moved aside to ${aside}`);
  }
  return { refused: `runDir ${own}: another user keeps putting a directory there` };
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
