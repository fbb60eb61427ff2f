// 60 s of an idle agent (app healthy, probed every 2 s, registered in ZooKeeper) beside the same agent
// with metrics on (scraped every 15 s, as Prometheus would), a bare idle `node` and runsv over a stub
// service, all at once: RSS and CPU from /proc. `during` runs in the
// window: work that does not touch these processes (their own CPU time is what is counted).

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Observer } from '../../helpers/zookeeper.js';
import { freePort } from '../../helpers/ports.js';
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
const scrapeEveryMs = 15_000;

interface Sample {
  cpu: number; // s
  rss: number; // MiB
}

export async function idleRows(ctx: Context, during: () => Promise<Row[]>): Promise<Row[]> {
  const windowMs = ctx.quick ? 10_000 : 60_000;
  const zookeeper = await ctx.zookeeper();
  const observer = await Observer.connect(zookeeper.connect);
  let agent: Agent | undefined;
  let withMetrics: Agent | undefined;
  let bare: Started | undefined;
  let runsv: Pid1 | undefined;
  let scraper: NodeJS.Timeout | undefined;
  try {
    agent = await startAgent({ project: 'bench-idle', zookeeper: zookeeper.connect, services: emptyServices(ctx.dir) });
    const metricsPort = await freePort();
    withMetrics = await startAgent({ project: 'bench-idle-metrics', zookeeper: zookeeper.connect, services: emptyServices(ctx.dir), metricsPort });
    scraper = setInterval(() => void fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => {}), scrapeEveryMs);
    bare = start(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)']);
    runsv = await startRunsv(ctx);
    const registered = (await observer.until(agent.node, (stat) => stat !== null, 10_000)) !== undefined;
    const pids = { nile: agent.nile.hostPid(), metrics: withMetrics.nile.hostPid(), node: bare.proc.pid!, runsv: await runsv.initPid() };
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
    clearInterval(scraper);
    observer.close();
    await agent?.nile.stop();
    await withMetrics?.nile.stop();
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

type Pids = Record<'nile' | 'metrics' | 'node' | 'runsv', number>;

/** A sample of each process every 5 s, the first at the window's start. */
async function sampleWindow(pids: Pids, windowMs: number): Promise<Record<keyof Pids, Sample[]>> {
  const samples: Record<keyof Pids, Sample[]> = { nile: [], metrics: [], node: [], runsv: [] };
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
  const metricsRssRow = ratioRow(`agent RSS after ${seconds} s, metrics on (scraped every ${scrapeEveryMs / 1000} s)`, { summary: lateRss(samples.metrics), unit: 'MiB' }, { summary: lateRss(samples.node), unit: 'MiB', label: 'bare idle node' }, { max: 1.5 }, {
    note: `the same agent with metrics.port set, in the same window; metrics on minus off: ${(lateRss(samples.metrics).median - lateRss(samples.nile).median).toFixed(1)} MiB (prom-client and its default process metrics, within the two agents' own spread)`,
  });
  const cpuRow = (which: 'nile' | 'metrics', figure: string, note: string): Row => {
    const agentTotal = total(samples[which]);
    return {
      figure,
      nile: `${agentTotal.toFixed(2)} % of a core; 10 s slices ${describe(slices(samples[which]), '%', 2)}`,
      baseline: `runsv: ${total(samples.runsv).toFixed(2)} %; bare idle node: ${total(samples.node).toFixed(2)} %`,
      comparison: `+${(agentTotal - total(samples.runsv)).toFixed(2)} points vs runsv`,
      target: '≤ 1 % of a core',
      met: agentTotal <= 1,
      note,
      data: { nile: agentTotal, runsv: total(samples.runsv), node: total(samples.node), settleCpu, samples: samples[which] },
    };
  };
  return [
    rssRow,
    metricsRssRow,
    cpuRow('nile', `idle agent CPU over ${seconds} s (2 s probe interval)`, `utime+stime of the whole process from /proc/<pid>/stat (10 ms ticks); the window starts ${settleMs / 1000} s after the agent registered, and in those ${settleMs / 1000} s it used ${settleCpu.toFixed(2)} %`),
    cpuRow('metrics', `idle agent CPU over ${seconds} s, metrics on (scraped every ${scrapeEveryMs / 1000} s)`, 'the same agent with metrics.port set, in the same window; the scrapes are part of what it does'),
  ];
}
