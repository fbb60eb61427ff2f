import { statSync } from 'node:fs';
import { requireNative } from '../native.js';

// Node has no mkfifo(); the native module makes the FIFOs runsv makes with mkfifo(3).
export async function ensureFifo(path: string): Promise<void> {
  try {
    if (statSync(path).isFIFO()) return;
    throw new Error(`${path} exists but is not a fifo`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  requireNative().mkfifo(path, 0o600);
}
