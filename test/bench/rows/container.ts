// The built image (make image) under runc, as the kubelet runs it, on the image's own Node:
// - `runc exec … nile probe` against `runc exec … /bin/true` (the exec path's own floor) and `node -e 0`;
// - exec nile → the app's first instruction over the production example config, against `node -e 0`
//   exec'd into the same container, both timed inside it by the bench's static C helpers (mounted);
// - the agent's RSS as PID 1, probing the app and registered in ZooKeeper (a hostNetwork pod on the
//   node's loopback, as test/oci/registration does), metrics off and on, each against an idle `node`
//   exec'd into its own container in the same window.
// Subjects and baselines take turns round by round: the machine's drift falls on both.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Container, builtImage, exampleNileConfig } from '../../oci/runc.js';
import { freePort } from '../../helpers/ports.js';
import { readStamp } from '../clock.js';
import { type Context, inTurns, runsOf, scratch } from '../context.js';
import { anonMiB, rssMiB } from '../proc.js';
import { settlesWithin, sleep, waitFor } from '../../helpers/wait.js';
import { differenceRow, missingRow, ratioRow, type Row } from '../report.js';
import { nsToMs, summarize } from '../stats.js';

const subjects = ['nile probe', 'node -e 0', '/bin/true'] as const;
const commands: Record<(typeof subjects)[number], string[]> = { 'nile probe': ['nile', 'probe'], 'node -e 0': ['node', '-e', '0'], '/bin/true': ['/bin/true'] };
const helpers = '/bench'; // the bench's static C helpers, mounted into the container
const stamps = '/bench-stamps'; // stamps, configs and runDirs of the start rounds, shared with the host
const idleNode = ['node', '-e', 'setInterval(() => {}, 1 << 30)'];

export async function containerRows(ctx: Context): Promise<Row[]> {
  const image = builtImage();
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  const shared = scratch(ctx, 'container-stamps');
  const c = new Container({ name: 'bench', nile, volumes: { [helpers]: path.dirname(ctx.natives.stamp), [stamps]: shared } });
  try {
    await c.started();
    await c.waitFor('nile probe to answer ready', async () => (await c.exec(commands['nile probe'])).code === 0, 60_000);
    const times = await inTurns(ctx, 30, subjects, async (subject) => {
      const result = await c.exec(commands[subject]);
      if (result.code !== 0) throw new Error(`runc exec ${subject} exited ${result.code}: ${result.stdout}${result.stderr}`);
      return result.ms;
    });
    const ms = (subject: (typeof subjects)[number]) => ({ summary: summarize(times.get(subject)!), unit: 'ms', label: `runc exec ${subject}` });
    const floor = summarize(times.get('/bin/true')!).median;
    const probeRow = ratioRow(`\`runc exec nile probe\` wall time in the container (Node ${image.node})`, ms('nile probe'), ms('node -e 0'), { max: 1.25 }, {
      note: `the three in turns; runc exec /bin/true, the exec path's own floor, takes ${floor.toFixed(1)} ms of it`,
      data: { floor: summarize(times.get('/bin/true')!) },
    });
    probeRow.baseline = `${probeRow.baseline}; ${ms('/bin/true').label}: ${floor.toFixed(1)} ms`;
    return [probeRow, await startRow(ctx, c, shared, image.node), ...(await rssRows(ctx, image.node))];
  } finally {
    await c.remove();
  }
}

/** exec nile → the app's first instruction, production example config, against node -e 0, both inside the container. */
async function startRow(ctx: Context, c: Container, shared: string, node: string): Promise<Row> {
  const config = exampleNileConfig();
  // Ports of its own beside PID 1's agent; the registry clients connect beside the running app, so an
  // absent ZooKeeper changes nothing before the spawn.
  config.app = { ...config.app, restart: 'never' };
  config.probe.http.port = 18080;
  config.metrics = { port: 19102 };
  config.sshd = { ...config.sshd, enabled: false }; // beside the app, after the spawn; left on it outlives a round's kill
  config.registry = { ...config.registry, address: '127.0.0.1', zookeeper: { ...config.registry.zookeeper, connect: '127.0.0.1:1' } };
  writeFileSync(path.join(shared, 'start.json'), JSON.stringify(config));
  const times = await inTurns(ctx, 15, ['nile', 'node -e 0'] as const, async (subject, round) => {
    if (subject === 'node -e 0') {
      const out = await c.exec([`${helpers}/runs`, '1', '--', 'node', '-e', '0']);
      return Number(out.stdout.trim().split(' ')[1]) / 1e6;
    }
    return timeToApp(c, shared, `r${round}`);
  });
  const of = (subject: 'nile' | 'node -e 0', label?: string) => ({ summary: summarize(times.get(subject)!), unit: 'ms', label });
  return differenceRow(`in the container: exec nile → app first instruction, production example config (Node ${node})`, of('nile'), [of('node -e 0', 'node -e 0')], 35, {
    against: 'node -e 0',
    note: 'runc exec of stamp → nile run (the front door) → stamp, and of runs → node -e 0, in turns in one container of the example image; image/example/nile.yaml with its own ports and runDir each round, sshd off (it comes up beside the app, after the spawn)',
  });
}

/** One start: `stamp T0 nile run … -- stamp T1` exec'd into the container; everything it started is then killed. */
async function timeToApp(c: Container, shared: string, name: string): Promise<number> {
  const inside = `${stamps}/${name}`;
  const exec = c.exec([`${helpers}/stamp`, `${inside}.t0`, 'nile', 'run', '--config', `${stamps}/start.json`, '--', `${helpers}/stamp`, `${inside}.t1`], {
    env: { NILE_RUNDIR: `${inside}.run` },
    timeoutMs: 60_000,
  });
  try {
    const end = await waitFor('the app of an exec\'d nile to start', () => readStamp(path.join(shared, `${name}.t1`)), 20_000, { everyMs: 1 });
    const begin = readStamp(path.join(shared, `${name}.t0`));
    if (begin === undefined) throw new Error('the launcher left no stamp');
    return nsToMs(end - begin);
  } finally {
    // Until the exec ends: what the agent started beside the app after a sweep holds the exec's output open.
    await waitFor('the exec\'d nile to end', async () => {
      treeOf(c, (pid) => cmdline(pid).includes(inside)).forEach(kill);
      return settlesWithin(exec, 100);
    }, 30_000);
    rmSync(path.join(shared, `${name}.run`), { recursive: true, force: true });
  }
}

interface Pod {
  container: Container;
  metricsPort: number | null;
}

/** Two example pods on the node's network, registered in the bench's ZooKeeper, one with metrics on; RSS sampled in one window. */
async function rssRows(ctx: Context, node: string): Promise<Row[]> {
  const zookeeper = await ctx.zookeeper().catch(() => null);
  if (!zookeeper) return [missingRow('in the container: agent RSS, registered', '≤ 1.35×', 'no ZooKeeper server here')];
  const pods: Pod[] = [];
  const idles: Array<Promise<unknown>> = [];
  let scraper: NodeJS.Timeout | undefined;
  try {
    for (const metrics of [false, true]) pods.push(await registeredPod(zookeeper.connect, metrics));
    await Promise.all(pods.map((p) => p.container.waitFor('the app ready and registered', async () => (await p.container.exec(['nile', 'probe'])).code === 0, 120_000)));
    const scrape = () => pods.forEach((p) => p.metricsPort && void fetch(`http://127.0.0.1:${p.metricsPort}/metrics`).then((r) => r.text(), () => ''));
    scraper = setInterval(scrape, 15_000);
    const agents = pods.map((p) => p.container.agentPid() ?? 0);
    const nodes: number[] = [];
    for (const p of pods) {
      idles.push(p.container.exec(idleNode, { timeoutMs: 30 * 60_000 }));
      nodes.push(await p.container.waitFor('the idle node', () => p.container.processes().find((q) => cmdline(q.pid).includes('setInterval'))?.pid, 10_000));
    }
    // After registration and the first scrapes: the tail of the start is not what a pod holds.
    await sleep(ctx.quick ? 1000 : 30_000);
    const samples = { agents: agents.map(() => [] as number[]), nodes: nodes.map(() => [] as number[]) };
    const probeMs: number[] = [];
    for (let i = 0; i < runsOf(ctx, 30); i++) {
      agents.forEach((pid, k) => samples.agents[k].push(rssMiB(pid)));
      nodes.forEach((pid, k) => samples.nodes[k].push(rssMiB(pid)));
      const probe = await pods[0].container.exec(['nile', 'probe']); // the kubelet's probe, every 2 s
      probeMs.push(probe.ms);
      await sleep(Math.max(0, 2000 - probe.ms));
    }
    const anon = (pid: number) => anonMiB(pid).toFixed(1);
    const row = (k: number, figure: string, max: number) =>
      ratioRow(figure, { summary: summarize(samples.agents[k]), unit: 'MiB' }, { summary: summarize(samples.nodes[k]), unit: 'MiB', label: 'idle node exec\'d into it' }, { max }, {
        note: `VmRSS over ${samples.agents[k].length * 2} s after 30 s settled, probed every 2 s (runc exec nile probe: median ${summarize(probeMs).median.toFixed(1)} ms); anonymous memory alone: agent ${anon(agents[k])} MiB, idle node ${anon(nodes[k])} MiB`,
        data: { probeMs: summarize(probeMs) },
      });
    return [
      row(0, `in the container: agent RSS, PID 1 probing the app and registered in ZooKeeper (Node ${node})`, 1.35),
      row(1, `in the container: the same, metrics on (scraped every 15 s)`, 1.4),
    ];
  } finally {
    clearInterval(scraper);
    for (const p of pods) await p.container.remove();
    await Promise.allSettled(idles);
  }
}

/** The example image as a hostNetwork pod: its app and probe on a free port, registered in `connect`. */
async function registeredPod(connect: string, metrics: boolean): Promise<Pod> {
  const port = await freePort();
  const nile = exampleNileConfig();
  nile.sshd.enabled = false;
  nile.app.args = ['--port', String(port)];
  nile.probe = { ...nile.probe, http: { ...nile.probe.http, port } };
  nile.prestop = { ...nile.prestop, drain: { ...nile.prestop.drain, url: `http://127.0.0.1:${port}/drain` } };
  nile.registry.zookeeper = { ...nile.registry.zookeeper, connect };
  const metricsPort = metrics ? await freePort() : null;
  if (metricsPort) nile.metrics = { port: metricsPort };
  else delete nile.metrics;
  const container = new Container({ name: metrics ? 'bench-metrics' : 'bench-registered', nile, hostNetwork: true, env: { POD_IP: '127.0.0.1' } });
  await container.started();
  return { container, metricsPort };
}

/** The processes `match` picks and all they started (the agent retitles itself: its cmdline no longer names the round). */
function treeOf(c: Container, match: (pid: number) => boolean): number[] {
  const processes = c.processes();
  const tree = new Set(processes.filter((p) => match(p.pid)).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of processes) if (!tree.has(p.pid) && tree.has(p.ppid)) grew = tree.add(p.pid) !== undefined;
  }
  return [...tree];
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
