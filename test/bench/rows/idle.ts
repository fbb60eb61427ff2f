// 60 s of an idle agent (app healthy, probed every 2 s, registered in ZooKeeper) beside a bare idle
// `node` and runsv over a stub service, all at once: RSS and CPU from /proc. `during` runs in the
// window: work that does not touch these processes (their own CPU time is what is counted).

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Observer } from '../../helpers/zookeeper.js';
import { startAgent, type Agent } from '../agent.js';
import { waitStamp } from '../clock.js';
import { type Context, scratch } from '../context.js';
import { emptyServices, startPid1, type Pid1 } from '../pid1.js';
import { cpuSeconds, rssMiB } from '../proc.js';
import { sleep, start, stop, type Started } from '../processes.js';
import { missingRow, ratioRow, type Row } from '../report.js';
import { describe, summarize } from '../stats.js';

const sampleEveryMs = 5000;
const cpuSliceSamples = 2; // a CPU slice is 10 s
const settleMs = 10_000; // after registration, before the window: the tail of start-up is not idleness

interface Sample {
  cpu: number; // s
  rss: number; // MiB
}

export async function idleRows(ctx: Context, during: () => Promise<Row[]>): Promise<Row[]> {
  const windowMs = ctx.quick ? 10_000 : 60_000;
  const zookeeper = await ctx.zookeeper();
  const observer = await Observer.connect(zookeeper.connect);
  let agent: Agent | undefined;
  let bare: Started | undefined;
  let runsv: Pid1 | undefined;
  try {
    agent = await startAgent({ project: 'bench-idle', zookeeper: zookeeper.connect, services: emptyServices(ctx.dir) });
    bare = start(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)']);
    runsv = await startRunsv(ctx);
    const registered = (await observer.until(agent.node, (stat) => stat !== null, 10_000)) !== undefined;
    const pids = { nile: agent.nile.hostPid(), node: bare.proc.pid!, runsv: await runsv.initPid() };
    const work = during();
    let rows: Row[];
    try {
      const settling = cpuSeconds(pids.nile);
      await sleep(settleMs);
      const settleCpu = ((cpuSeconds(pids.nile) - settling) / (settleMs / 1000)) * 100;
      rows = windowRows(await sampleWindow(pids, windowMs), windowMs, registered, settleCpu);
    } catch (err) {
      rows = [missingRow('idle window', '—', `failed: ${(err as Error).message}`)];
    }
    return [...rows, ...(await work)];
  } finally {
    observer.close();
    await agent?.nile.stop();
    if (bare) await stop(bare);
    await runsv?.stop();
  }
}

/** runsv as PID 1 of its own namespace (so nothing outlives it) over a service that only waits. */
async function startRunsv(ctx: Context): Promise<Pid1> {
  const service = scratch(ctx, 'runsv');
  mkdirSync(service, { recursive: true });
  writeFileSync(path.join(service, 'run'), `#!/bin/sh\nexec ${ctx.natives.stamp} ${path.join(service, 'running')}\n`, { mode: 0o755 });
  const runsv = startPid1(['runsv', service]);
  await waitStamp(path.join(service, 'running'));
  return runsv;
}

type Pids = Record<'nile' | 'node' | 'runsv', number>;

/** A sample of each process every 5 s, the first at the window's start. */
async function sampleWindow(pids: Pids, windowMs: number): Promise<Record<keyof Pids, Sample[]>> {
  const samples: Record<keyof Pids, Sample[]> = { nile: [], node: [], runsv: [] };
  const take = () => {
    for (const name of Object.keys(pids) as (keyof Pids)[]) samples[name].push({ cpu: cpuSeconds(pids[name]), rss: rssMiB(pids[name]) });
  };
  const begin = Date.now();
  take();
  for (let k = 1; k * sampleEveryMs <= windowMs; k++) {
    await sleep(begin + k * sampleEveryMs - Date.now());
    take();
  }
  return samples;
}

function windowRows(samples: Record<keyof Pids, Sample[]>, windowMs: number, registered: boolean, settleCpu: number): Row[] {
  const seconds = windowMs / 1000;
  // RSS over the second half of the window, when start-up allocations have settled.
  const lateRss = (s: Sample[]) => summarize(s.slice(Math.floor(s.length / 2)).map((x) => x.rss));
  const slices = (s: Sample[]) => summarize(s.filter((_, i) => i % cpuSliceSamples === 0).slice(1).map((x, i) => ((x.cpu - s[i * cpuSliceSamples].cpu) / 10) * 100));
  const total = (s: Sample[]) => ((s[s.length - 1].cpu - s[0].cpu) / seconds) * 100;
  const rssRow = ratioRow(`agent RSS after ${seconds} s (app probed, ZooKeeper)`, { summary: lateRss(samples.nile), unit: 'MiB' }, { summary: lateRss(samples.node), unit: 'MiB', label: 'bare idle node' }, { max: 1.5 }, {
    note: registered
      ? `registered in ZooKeeper (seen by a watcher); VmRSS every 5 s from ${(settleMs + windowMs / 2) / 1000} to ${(settleMs + windowMs) / 1000} s after registering, the bare node's at the same moments`
      : 'registry.zookeeper.connect was configured but the agent did NOT register in ZooKeeper (not wired into the agent yet?)',
    data: { registered },
  });
  const nileTotal = total(samples.nile);
  const cpuRow: Row = {
    figure: `idle agent CPU over ${seconds} s (2 s probe interval)`,
    nile: `${nileTotal.toFixed(2)} % of a core; 10 s slices ${describe(slices(samples.nile), '%', 2)}`,
    baseline: `runsv: ${total(samples.runsv).toFixed(2)} %; bare idle node: ${total(samples.node).toFixed(2)} %`,
    comparison: `+${(nileTotal - total(samples.runsv)).toFixed(2)} points vs runsv`,
    target: '≤ 1 % of a core',
    met: nileTotal <= 1,
    note: `utime+stime of the whole process from /proc/<pid>/stat (10 ms ticks); the window starts ${settleMs / 1000} s after the agent registered, and in those ${settleMs / 1000} s it used ${settleCpu.toFixed(2)} %`,
    data: { nile: nileTotal, runsv: total(samples.runsv), node: total(samples.node), settleCpu, samples },
  };
  return [rssRow, cpuRow];
}
