// Which directory is nile's runDir, one rule for the agent that makes it and every client that
// looks for it (this file, and socket_file in native/nile.c):
//
// - runDir itself, when it is a directory of nile's user that no one else may write;
// - otherwise, when runDir is a volume others may write (the kubelet's emptyDir: root's, 0777, or
//   2777 with fsGroup), the directory `private` in it, 0700, nile's own.
// nile's user is the user asking: the kubelet's exec runs as the container's user, as PID 1 does.
//
// Why this protects what PID 1 reads back: only the owner of a directory writable by no one else
// (and root) can put entries in it, so what is in such a directory is nile's. In a volume others
// may write, another user can create, rename or swap entries (without the sticky bit, even entries
// that are not theirs), so no path through it is trusted: a client opens the directory, checks the
// directory it holds (fstat), and reaches the socket through that descriptor (/proc/self/fd/N),
// so a directory swapped after the check is never the one asked. Another user can then at most
// move nile's directory away (the clients say that they found none): never answer in its place.
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import path from 'node:path';

export const privateDirName = 'private';

/** Root, or nile's user: the owners a directory on runDir's way (a volume, a parent) may have. */
export const trustedOwner = (uid: number, euid: number): boolean => uid === 0 || uid === euid;

/** A directory of nile's user that no one else may write: runDir, or the private one in a volume. */
export const isPrivate = (st: Stats, euid: number): boolean => st.isDirectory() && st.uid === euid && (st.mode & 0o022) === 0;

/** Writable by its group or others: in a volume, not nile's own. */
export const writableByOthers = (mode: number): string | null => (mode & 0o002 ? 'others' : mode & 0o020 ? 'its group' : null);

/** The runDir a client found: `io` reaches it through a held descriptor; `dir` names it for people. */
export type FoundRunDir = { io: string; dir: string } | { absent: string } | { refused: string };

/**
 * Finds the agent's runDir from `dir` (runDir as configured) by the rule above, holding it open:
 * `io` is a path through the descriptor, valid while this process lives.
 */
export function findRunDir(dir: string, euid = process.geteuid?.() ?? 0): FoundRunDir {
  const outer = hold(dir, 0);
  if ('error' in outer) return outer.error === 'ENOENT' ? { absent: dir } : { refused: `runDir ${dir}: ${outer.error}` };
  if (isPrivate(outer.st, euid)) return { io: `/proc/self/fd/${outer.fd}`, dir };
  if (!trustedOwner(outer.st.uid, euid)) return closed(outer.fd, { refused: `runDir ${dir} is owned by uid ${outer.st.uid}: not nile's, not asked` });
  if (!writableByOthers(outer.st.mode)) return closed(outer.fd, { refused: `runDir ${dir} is root's and this runs as uid ${euid}: only nile's own user asks it` });
  const own = path.join(dir, privateDirName);
  const inner = hold(`/proc/self/fd/${outer.fd}/${privateDirName}`, constants.O_NOFOLLOW);
  closeSync(outer.fd);
  if ('error' in inner) return inner.error === 'ENOENT' ? { absent: own } : { refused: `runDir ${own}: ${inner.error === 'ELOOP' ? 'a symlink' : inner.error}: not nile's, not asked` };
  if (isPrivate(inner.st, euid)) return { io: `/proc/self/fd/${inner.fd}`, dir: own };
  const why = inner.st.uid === euid ? `is writable by ${writableByOthers(inner.st.mode)}` : `is owned by uid ${inner.st.uid}`;
  return closed(inner.fd, { refused: `runDir ${own} ${why}: not nile's, not asked` });
}

function hold(dir: string, flags: number): { fd: number; st: Stats } | { error: string } {
  try {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | flags);
    return { fd, st: fstatSync(fd) };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

function closed<T>(fd: number, value: T): T {
  closeSync(fd);
  return value;
}
