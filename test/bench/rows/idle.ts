// 60 s of idle agents (app healthy, probed by the agent every 2 s, `nile probe` called every 2 s as
// the kubelet does, registered in ZooKeeper) beside bare idle `node`s and runsv over a stub service,
// all at once: RSS and CPU from /proc. Three of each: identical agents differ by several MiB, so the
// row is the median of three. Three more agents have metrics on, scraped every 15 s as Prometheus
// would. `during` runs in the window: work that does not touch these processes.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NILE_NATIVE } from '../../helpers/paths.js';
import { Observer } from '../../helpers/zookeeper-observer.js';
import { freePort } from '../../helpers/ports.js';
import { startAgent, type Agent } from '../agent.js';
import { waitStamp } from '../clock.js';
import { type Context, scratch } from '../context.js';
import { emptyServices, startPid1, type Pid1 } from '../pid1.js';
import { cpuSeconds, rssMiB } from '../proc.js';
import { benchEnv, run, start, stop, type Started } from '../processes.js';
import { sleep } from '../../helpers/wait.js';
import { missingRow, ratioRow, type Row } from '../report.js';
import { describe, summarize } from '../stats.js';

const sampleEveryMs = 5000;
const cpuSliceSamples = 2; // a CPU slice is 10 s
const settleMs = 10_000; // after registration, before the window: the tail of start-up is not idleness
const probeEveryMs = 2000;
const count = 3;
const scrapeEveryMs = 15_000;

interface Sample {
  cpu: number; // s
  rss: number; // MiB
}

export async function idleRows(ctx: Context, during: () => Promise<Row[]>): Promise<Row[]> {
  const windowMs = ctx.quick ? 10_000 : 60_000;
  const zookeeper = await ctx.zookeeper();
  const observer = await Observer.connect(zookeeper.connect);
  const agents: Agent[] = [];
  const withMetrics: Agent[] = [];
  const bare: Started[] = [];
  let runsv: Pid1 | undefined;
  let scraper: NodeJS.Timeout | undefined;
  try {
    for (let i = 0; i < count; i++) agents.push(await startAgent({ project: `bench-idle-${i}`, zookeeper: zookeeper.connect, services: emptyServices(ctx.dir) }));
    const metricsPorts: number[] = [];
    for (let i = 0; i < count; i++) {
      metricsPorts.push(await freePort());
      withMetrics.push(await startAgent({ project: `bench-idle-metrics-${i}`, zookeeper: zookeeper.connect, services: emptyServices(ctx.dir), metricsPort: metricsPorts[i] }));
    }
    const scrape = () => metricsPorts.forEach((port) => void fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => {}));
    scraper = setInterval(scrape, scrapeEveryMs);
    for (let i = 0; i < count; i++) bare.push(start(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)']));
    runsv = await startRunsv(ctx);
    const registered = (await Promise.all(agents.map((a) => observer.until(a.node, (stat) => stat !== null, 10_000)))).every((stat) => stat !== undefined);
    const pids = { nile: agents.map((a) => a.nile.agentHostPid()), metrics: withMetrics.map((a) => a.nile.agentHostPid()), node: bare.map((b) => b.proc.pid!), runsv: [await runsv.initPid()] };
    const work = during();
    let rows: Row[];
    try {
      const settling = pids.nile.map(cpuSeconds);
      await sleep(settleMs);
      const settleCpu = ((cpuSeconds(pids.nile[0]) - settling[0]) / (settleMs / 1000)) * 100;
      const probing = probeEvery([...agents, ...withMetrics], windowMs);
      const samples = await sampleWindow(pids, windowMs);
      rows = windowRows(samples, windowMs, registered, settleCpu, await probing);
    } catch (err) {
      rows = [missingRow('idle window', '—', `failed: ${(err as Error).message}`)];
    }
    return [...rows, ...(await work)];
  } finally {
    clearInterval(scraper);
    observer.close();
    for (const agent of [...agents, ...withMetrics]) await agent.nile.stop();
    for (const b of bare) await stop(b);
    await runsv?.stop();
  }
}

/** `nile probe` (the front door on PATH) against each agent every 2 s through the window; returns how many answered ready. */
async function probeEvery(agents: Agent[], windowMs: number): Promise<{ ready: number; calls: number }> {
  let ready = 0;
  let calls = 0;
  const begin = Date.now();
  while (Date.now() - begin < windowMs) {
    const round = Date.now();
    await Promise.all(
      agents.map(async (agent) => {
        calls++;
        await run(NILE_NATIVE, ['probe'], { env: benchEnv({ NILE_RUNDIR: agent.nile.runDir }) }).then(() => ready++, () => {});
      }),
    );
    await sleep(Math.max(0, round + probeEveryMs - Date.now()));
  }
  return { ready, calls };
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

type Pids = Record<'nile' | 'metrics' | 'node' | 'runsv', number[]>;
type Samples = Record<keyof Pids, Sample[][]>;

/** A sample of each process every 5 s, the first at the window's start. */
async function sampleWindow(pids: Pids, windowMs: number): Promise<Samples> {
  const samples: Samples = { nile: pids.nile.map(() => []), metrics: pids.metrics.map(() => []), node: pids.node.map(() => []), runsv: pids.runsv.map(() => []) };
  const take = () => {
    for (const name of Object.keys(pids) as (keyof Pids)[]) pids[name].forEach((pid, i) => samples[name][i].push({ cpu: cpuSeconds(pid), rss: rssMiB(pid) }));
  };
  const begin = Date.now();
  take();
  for (let k = 1; k * sampleEveryMs <= windowMs; k++) {
    await sleep(begin + k * sampleEveryMs - Date.now());
    take();
  }
  return samples;
}

function windowRows(samples: Samples, windowMs: number, registered: boolean, settleCpu: number, probes: { ready: number; calls: number }): Row[] {
  const seconds = windowMs / 1000;
  // Each process's RSS over the second half of the window, when start-up allocations have settled; then the median of the three.
  const lateRss = (s: Sample[]) => summarize(s.slice(Math.floor(s.length / 2)).map((x) => x.rss)).median;
  const acrossThree = (all: Sample[][]) => summarize(all.map(lateRss));
  const slices = (s: Sample[]) => summarize(s.filter((_, i) => i % cpuSliceSamples === 0).slice(1).map((x, i) => ((x.cpu - s[i * cpuSliceSamples].cpu) / 10) * 100));
  const total = (s: Sample[]) => ((s[s.length - 1].cpu - s[0].cpu) / seconds) * 100;
  const rssRow = ratioRow(`agent RSS, median of ${count} agents over ${seconds} s (probing, registered in ZooKeeper)`, { summary: acrossThree(samples.nile), unit: 'MiB' }, { summary: acrossThree(samples.node), unit: 'MiB', label: 'bare idle node' }, { max: 1.35 }, {
    note: registered
      ? `each agent registered in ZooKeeper (seen by a watcher), its app probed every 2 s by the agent, and \`nile probe\` called every 2 s (${probes.ready} of ${probes.calls} answered ready); each process's median VmRSS from ${(settleMs + windowMs / 2) / 1000} to ${(settleMs + windowMs) / 1000} s after registering, then the median (min–max) of the ${count}`
      : 'registry.zookeeper.connect was configured but an agent did NOT register in ZooKeeper',
    data: { registered, probes },
  });
  const metricsRssRow = ratioRow(`agent RSS, metrics on (scraped every ${scrapeEveryMs / 1000} s), median of ${count}`, { summary: acrossThree(samples.metrics), unit: 'MiB' }, { summary: acrossThree(samples.node), unit: 'MiB', label: 'bare idle node' }, { max: 1.35 }, {
    note: `${count} more agents with metrics.port set, in the same window; metrics on minus off: ${(acrossThree(samples.metrics).median - acrossThree(samples.nile).median).toFixed(1)} MiB (prom-client and its default process metrics)`,
  });
  const metricsCpu = summarize(samples.metrics.map(total));
  const cpu = summarize(samples.nile.map(total));
  const cpuRow: Row = {
    figure: `idle agent CPU over ${seconds} s (app probed every 2 s, \`nile probe\` every 2 s)`,
    nile: `${cpu.median.toFixed(2)} % of a core (agents ${cpu.min.toFixed(2)}–${cpu.max.toFixed(2)}); 10 s slices of the first ${describe(slices(samples.nile[0]), '%', 2)}`,
    baseline: `runsv: ${total(samples.runsv[0]).toFixed(2)} %; bare idle node: ${summarize(samples.node.map(total)).median.toFixed(2)} %`,
    comparison: `+${(cpu.median - total(samples.runsv[0])).toFixed(2)} points vs runsv`,
    target: '≤ 1 % of a core',
    met: cpu.median <= 1,
    note: `utime+stime of the whole process from /proc/<pid>/stat (10 ms ticks), median of ${count} agents; the window starts ${settleMs / 1000} s after the agents registered, and in those ${settleMs / 1000} s the first used ${settleCpu.toFixed(2)} %`,
    data: { nile: cpu, runsv: total(samples.runsv[0]), samples },
  };
  const metricsCpuRow: Row = {
    figure: `idle agent CPU over ${seconds} s, metrics on (scraped every ${scrapeEveryMs / 1000} s)`,
    nile: `${metricsCpu.median.toFixed(2)} % of a core (agents ${metricsCpu.min.toFixed(2)}–${metricsCpu.max.toFixed(2)})`,
    baseline: `metrics off: ${cpu.median.toFixed(2)} %`,
    comparison: `${metricsCpu.median - cpu.median >= 0 ? '+' : ''}${(metricsCpu.median - cpu.median).toFixed(2)} points vs metrics off`,
    target: '≤ 1 % of a core',
    met: metricsCpu.median <= 1,
    note: 'the same as the row above, with metrics.port set; the scrapes are part of what the agent does',
    data: { metrics: metricsCpu },
  };
  return [rssRow, metricsRssRow, cpuRow, metricsCpuRow];
}
