import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** Closes fd, ignoring that it is already closed: for cleanup paths with nothing left to release. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * A regular file's first maxBytes at most, and whether there was more. Opened without waiting (a FIFO
 * would block for a writer) and, with noFollow, not through a symlink; what is not a regular file (a
 * FIFO, a device that never ends) is refused with code ENOTREG and its kind in the message.
 */
export function readRegularFile(file: string, maxBytes: number, { noFollow = false } = {}): { text: string; over: boolean } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (noFollow ? constants.O_NOFOLLOW : 0));
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw Object.assign(new Error(`not a regular file (${kindOf(stat)})`), { code: 'ENOTREG' });
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read) read = readSync(fd, buffer, length, buffer.length - length, null);
    return { text: buffer.toString('utf8', 0, Math.min(length, maxBytes)), over: length > maxBytes };
  } finally {
    closeSync(fd);
  }
}

/** A secret read at each use (a registry token, a digest): a regular file of at most 4 KiB, trimmed. */
export function readSecretFile(file: string): string {
  const { text, over } = readRegularFile(file, 4096);
  if (over) throw Object.assign(new Error('larger than 4 KiB'), { code: 'EFBIG' });
  return text.trim();
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isSocket()) return 'a socket';
  return 'a block device';
}
