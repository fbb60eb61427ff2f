// CLOCK_MONOTONIC stamps shared by the C helpers and this process (process.hrtime reads the same clock).

import { readFileSync } from 'node:fs';
import { waitFor } from '../helpers/wait.js';

/** The ns a stamp file holds, once it is there. */
export function readStamp(file: string): bigint | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text ? BigInt(text) : undefined;
  } catch {
    return undefined;
  }
}

export function waitStamp(file: string, timeoutMs = 20_000): Promise<bigint> {
  return waitFor(`a stamp in ${file}`, () => readStamp(file), timeoutMs, { everyMs: 1 });
}
