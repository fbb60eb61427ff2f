// PID 1 reaps 2,000 orphans that exit at once: from their release until PID 1 has no child but the app,
// as the host sees it in /proc.

import path from 'node:path';
import { waitStamp } from '../clock.js';
import { type Context, inTurns, scratch } from '../context.js';
import { initCommand, startPid1, writePid1Config, type Init } from '../pid1.js';
import { childrenOf, readComm, statOf } from '../../helpers/proc.js';
import { waitFor } from '../../helpers/wait.js';
import { ratioRow, type Row } from '../report.js';
import { nsToMs, summarize } from '../stats.js';

const inits: Init[] = ['nile', 'tini'];
const orphanCount = 2000;

export async function reapRows(ctx: Context): Promise<Row[]> {
  const dir = scratch(ctx, 'reap');
  const config = writePid1Config(dir);
  const times = await inTurns(ctx, 7, inits, (init, round) => timeToReap(ctx, init, config, path.join(dir, `${init}-${round}.released`)));
  const of = (init: Init, label?: string) => ({ summary: summarize(times.get(init)!), unit: 'ms', label });
  return [ratioRow(`reap ${orphanCount.toLocaleString('en')} orphans as PID 1`, of('nile'), of('tini', 'tini'), { max: 2 }, { note: 'from the release of the orphans (they exit together) until no process but the app is left under PID 1 (under nile, its agent reaps them: a subreaper below the front door); /proc polled every ms' })];
}

async function timeToReap(ctx: Context, init: Init, config: string, released: string): Promise<number> {
  const pid1 = startPid1(initCommand(init, [ctx.natives.orphans, String(orphanCount), released], config));
  try {
    const pid = await pid1.initPid();
    const start = await waitStamp(released, 30_000);
    // nile's orphans come to its agent (a subreaper under the front door, which is PID 1): the tree under
    // PID 1 is watched until the app is the one process of its name left in it.
    const left = await waitFor(`${init} to reap every orphan`, () => {
      const apps = processesUnder(pid).filter((child) => readComm(child) === 'orphans');
      return apps.length <= 1 && apps;
    }, 30_000, { everyMs: 1 });
    const end = process.hrtime.bigint();
    if (!statOf(pid)) throw new Error(`${init} died instead of reaping`);
    if (left.length !== 1) throw new Error(`${init}: the app is gone`);
    return nsToMs(end - start);
  } finally {
    await pid1.stop();
  }
}

/** Every process below `pid`, as /proc shows them now. */
function processesUnder(pid: number): number[] {
  const found: number[] = [];
  for (let next = childrenOf(pid); next.length; next = next.flatMap(childrenOf)) found.push(...next);
  return found;
}
