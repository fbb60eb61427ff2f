import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { requireAddon } from '../pid1/reaper.js';

// Node has no mkfifo(); the addon makes the FIFOs runsv makes with mkfifo(3).
export async function ensureFifo(path: string): Promise<void> {
  try {
    if (statSync(path).isFIFO()) return;
    throw new Error(`${path} exists but is not a fifo`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  requireAddon().makeFifo(path, 0o600);
}

/** Both ends of a pipe, as blocking descriptors children can take as stdin or stdout. */
export interface Pipe {
  readFd: number;
  writeFd: number;
  close(): void;
}

/**
 * runsv's log pipe, made from a FIFO because Node has no pipe(): opening the read end while our own
 * read-write descriptor stands in for the writer never blocks, and unlinking the name leaves an
 * anonymous pipe that lives as long as a descriptor does.
 */
export async function openPipe(path: string): Promise<Pipe> {
  await ensureFifo(path);
  const both = openSync(path, 'r+');
  try {
    const readFd = openSync(path, 'r');
    const writeFd = openSync(path, 'w');
    return {
      readFd,
      writeFd,
      close: () => {
        for (const fd of [readFd, writeFd]) closeQuietly(fd);
      },
    };
  } finally {
    closeSync(both);
    unlinkSync(path);
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing left to release
  }
}
