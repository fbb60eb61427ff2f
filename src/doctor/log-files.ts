import { open } from 'node:fs/promises';

const TAIL_BYTES = 4 * 1024 * 1024;

/** The last lines of a log file (its last 4 MiB: the failure is at the end), or undefined if there is no such file. */
export async function readLogTail(file: string, maxBytes = TAIL_BYTES): Promise<string[] | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    // A log the app never got to write is no finding.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const data = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(data, 0, data.length, start);
    const lines = data.subarray(0, bytesRead).toString('utf8').split(/\r?\n/);
    // Reading from the middle of the file, the first line is cut.
    return start > 0 ? lines.slice(1) : lines;
  } finally {
    await handle.close();
  }
}
