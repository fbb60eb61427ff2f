import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { within } from '../toolbox/sleep.js';
import { resolveUser } from '../app/user.js';

const TAIL_BYTES = 4 * 1024 * 1024;
// A file on a hung network mount must not hang the doctor with it.
const READ_MS = 5000;

/**
 * The last lines of a log file (its last 4 MiB: the failure is at the end), or undefined if there is
 * no such file. appUser is `app.user`: a log the app writes is read only as far as that user could.
 */
export async function readLogTail(file: string, maxBytes = TAIL_BYTES, appUser = ''): Promise<string[] | undefined> {
  const read = await readAppFile(file, { maxBytes, from: 'end', appUser });
  if (!read) return undefined;
  const lines = read.bytes.toString('utf8').split(/\r?\n/);
  // Reading from the middle of the file, the first line is cut.
  return read.cut ? lines.slice(1) : lines;
}

export interface AppFileRead {
  bytes: Buffer;
  cut: boolean; // the file is larger: only maxBytes of it were read
}

/**
 * A file the app's user may have shaped, read only as what it says it is: a regular file (a FIFO would
 * block the reader for ever, a device never end), not through a symlink (one to a root-only file would
 * be quoted in the doctor and the report), one the app's user could read itself (a symlinked folder
 * above it or a hard link leads nowhere else), maxBytes of it at most, within a time bound.
 * Undefined when there is no such file.
 */
export async function readAppFile(file: string, how: { maxBytes: number; from: 'start' | 'end'; appUser?: string; timeoutMs?: number }): Promise<AppFileRead | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A log the app never got to write is no finding.
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new Error(`${file} is a symbolic link: not followed`);
    throw err;
  }
  const timeoutMs = how.timeoutMs ?? READ_MS;
  const reading = (async () => {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${file} is not a regular file (a FIFO, a device or a folder): not read`);
    const refused = unreadableBy(how.appUser, st);
    if (refused) throw new Error(`${file} ${refused}: not read`);
    const length = Math.min(st.size, how.maxBytes);
    const start = how.from === 'end' ? st.size - length : 0;
    const bytes = Buffer.alloc(length);
    const { bytesRead } = await handle.read(bytes, 0, length, start);
    return { bytes: bytes.subarray(0, bytesRead), cut: st.size > length };
  })();
  try {
    const read = await within(reading, timeoutMs, late);
    if (read === late) throw new Error(`${file} did not answer within ${timeoutMs / 1000}s: not read`);
    return read;
  } finally {
    // A read still stuck in the kernel keeps the file open until it returns.
    reading.finally(() => handle.close()).catch(() => {});
  }
}

const late = Symbol('late');

// Why the app's user could not read this file itself, or undefined when it could (or runs as nile's user).
function unreadableBy(appUser: string | undefined, st: Stats): string | undefined {
  if (!appUser) return undefined;
  let user;
  try {
    user = resolveUser(appUser);
  } catch {
    return `cannot be checked against app.user ${appUser}`;
  }
  const bit = st.uid === user.uid ? 0o400 : st.gid === user.gid ? 0o040 : 0o004;
  return user.uid === 0 || st.mode & bit ? undefined : `cannot be read by the app's user (uid ${user.uid})`;
}
