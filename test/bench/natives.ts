// The bench's small C programs (test/bench/c), compiled with the system's cc into the bench's own
// scratch folder (a `make clean` elsewhere during the run cannot take them away).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { run } from './processes.js';

export interface Natives {
  stamp: string; // stamp FILE [CMD ARGS]: CLOCK_MONOTONIC ns to FILE, then exec CMD or wait for a signal
  orphans: string; // orphans COUNT FILE: leaves COUNT orphans to init at once
  runs: string; // runs ROUNDS -- A -- B: interleaved runs with wall time and rusage
  sink: string; // sink BYTES FILE -- CMD: CMD's stdout on a pipe, read and its lines counted until BYTES came
}

const sources = path.join(ROOT, 'test', 'bench', 'c');

/** Static binaries, so no dynamic loader time is counted as the app's or an init's. */
export async function buildNatives(dir: string): Promise<Natives> {
  const out = path.join(dir, 'bin');
  mkdirSync(out, { recursive: true });
  const build = async (name: keyof Natives) => {
    const binary = path.join(out, name);
    await run('cc', ['-O2', '-Wall', '-Wextra', '-static', '-o', binary, path.join(sources, `${name}.c`)]);
    return binary;
  };
  const [stamp, orphans, runs, sink] = await Promise.all([build('stamp'), build('orphans'), build('runs'), build('sink')]);
  return { stamp, orphans, runs, sink };
}
