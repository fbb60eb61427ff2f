import { closeSync } from 'node:fs';

/** Closes fd, ignoring that it is already closed: for cleanup paths with nothing left to release. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
