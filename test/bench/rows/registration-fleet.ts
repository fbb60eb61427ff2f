// A fleet, simulated: 1,000 registrations (1,000 sessions, as 1,000 pods would hold) in one process, each a
// ZooKeeperBackend under its own Reconciler, against a three-server ensemble reached through counting proxies; then
// 1,000 Consul KV registrations against the Consul double. For each fault: the time until all are back, the peak
// connect and request rates the registry sees, and how the reconnects spread (a herd comes within a few hundred ms).

import { createLog } from '../../../src/log.js';
import type { Backend, Instance } from '../../../src/registry/backend.js';
import { createConsulKvBackend } from '../../../src/registry/consul-kv.js';
import { Reconciler } from '../../../src/registry/reconciler.js';
import { ZooKeeperBackend } from '../../../src/registry/zookeeper.js';
import type { Stat } from '../../../src/registry/zookeeper-client.js';
import { consulCall } from '../../consul-double/client.js';
import { ConsulDouble } from '../../consul-double/index.js';
import { Observer } from '../../helpers/zookeeper-observer.js';
import { sleep } from '../../helpers/wait.js';
import { ZooKeeperServers } from '../../helpers/zookeeper.js';
import { FreezableProxy } from '../../helpers/zookeeper-faults.js';
import type { Context } from '../context.js';
import type { Row } from '../report.js';

const root = '/bench-fleet';
const upstream = 'fleet';
const pollMs = 100;
const sessionTimeoutMs = 10_000;
const consulTtlMs = 10_000;

interface Member {
  backend: Backend;
  reconciler: Reconciler;
}

/** What the registry saw while a fault was on and until every registration was back. */
interface Episode {
  backMs: number; // from the fault's start (or `from`) until every registration holds again
  connects: number[]; // ms epoch of each new connection (ZooKeeper) in the episode
  requests: number[]; // ms epoch of each request
}

export async function fleetRows(ctx: Context): Promise<Row[]> {
  const count = ctx.quick ? 30 : 1000;
  const outageMs = ctx.quick ? 3000 : 30_000;
  return [...(await zookeeperFleet(count, outageMs)), ...(await consulFleet(count))];
}

async function zookeeperFleet(count: number, outageMs: number): Promise<Row[]> {
  const servers = await ZooKeeperServers.ensemble(3);
  const proxies: FreezableProxy[] = [];
  const members: Member[] = [];
  const log = createLog('silent');
  try {
    await servers.start();
    for (const i of [0, 1, 2]) proxies.push(await FreezableProxy.start(servers.port(i)));
    const connect = proxies.map((p) => `127.0.0.1:${p.port}`).join(',');
    const seen = () => ({ connects: proxies.flatMap((p) => p.connectsAt), requests: proxies.flatMap((p) => p.requestsAt) });
    // The registry's own count of the nodes, by a client that comes and goes with each look (sessions are lost here).
    const held = async () => {
      const observer = await Observer.connect(servers.connect).catch(() => undefined);
      if (!observer) return false;
      try {
        const stat = (await observer.exists(`${root}/${upstream}`)) as (Stat & { numChildren: number }) | null;
        return stat?.numChildren === count;
      } finally {
        observer.close();
      }
    };
    const label = `${count.toLocaleString('en')} ZooKeeper sessions, 3 servers`;
    const rows: Row[] = [];

    const registered = await episode(members, seen, held, async () => {
      for (let i = 0; i < count; i++) members.push(hold(new ZooKeeperBackend({ connect, root, sessionTimeoutMs, instance: instanceNo(i), log }), log));
    });
    rows.push(fleetRow(`${label}: all registered`, registered, 'from the first backend created'));

    const leaderLost = await episode(members, seen, held, async () => {
      await servers.stop(await servers.leader());
      await servers.leader(30_000);
    });
    rows.push(fleetRow(`${label}: the leader lost`, leaderLost, 'from the leader stopped; sessions survive an election'));
    await servers.start();

    let back = 0;
    const quorumLost = await episode(
      members,
      seen,
      held,
      async () => {
        const leader = await servers.leader();
        const lost = [leader, (leader + 1) % 3];
        await Promise.all(lost.map((i) => servers.stop(i)));
        await sleep(outageMs);
        await Promise.all(lost.map((i) => servers.start(i)));
        back = Date.now();
      },
      () => back,
    );
    rows.push(fleetRow(`${label}: quorum lost for ${outageMs / 1000} s`, quorumLost, `from quorum's return (sessions of ${sessionTimeoutMs / 1000} s given up meanwhile: every pod makes a new one)`));

    const rolling = await episode(members, seen, held, async () => {
      for (const i of [0, 1, 2]) await servers.restart(i);
    });
    rows.push(fleetRow(`${label}: a rolling restart`, rolling, 'from the first server stopped until the last one serves and every registration holds'));
    return rows;
  } finally {
    await Promise.all(members.map((m) => m.reconciler.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await servers.destroy();
  }
}

async function consulFleet(count: number): Promise<Row[]> {
  const double = await ConsulDouble.start({ minTtlMs: 0 });
  const members: Member[] = [];
  const log = createLog('silent');
  try {
    const seen = () => ({ connects: [], requests: double.requestsAt });
    const held = async () => (await consulCall(double.url, 'GET', `/kv/upstreams/${upstream}/?keys`).catch(() => undefined))?.json?.length === count;
    const label = `${count.toLocaleString('en')} Consul KV sessions (TTL ${consulTtlMs / 1000} s)`;
    const registered = await episode(members, seen, held, async () => {
      for (let i = 0; i < count; i++) members.push(hold(createConsulKvBackend({ url: double.url, ttlMs: consulTtlMs, prefix: 'upstreams', instance: instanceNo(i), log }), log));
    });
    const steadyFrom = Date.now();
    await sleep(consulTtlMs);
    const renewals = double.requestsAt.filter((at) => at >= steadyFrom);
    const steady: Episode = { backMs: 0, connects: [], requests: renewals };
    const restarted = await episode(members, seen, held, () => double.restart(2000));
    return [
      fleetRow(`${label}: all registered`, registered, 'from the first backend created'),
      fleetRow(`${label}: renewals, steady`, steady, `one TTL (${consulTtlMs / 1000} s) of heartbeats (a renew and a read each, every TTL/3)`, false),
      fleetRow(`${label}: an agent restart (2 s down, state lost)`, restarted, 'from the stop until every key is held again'),
    ];
  } finally {
    await Promise.all(members.map((m) => m.reconciler.close()));
    await double.stop();
  }
}

function instanceNo(i: number): Instance {
  // Addresses in 127/8 name instances only: nothing connects to them.
  return { upstream, address: `127.2.${i >> 8}.${i & 255}`, port: 8080, weight: 1, maxFails: 2, failTimeout: 10 };
}

function hold(backend: Backend, log: ReturnType<typeof createLog>): Member {
  const reconciler = new Reconciler([backend], log);
  reconciler.want({ present: true, down: false });
  return { backend, reconciler };
}

const holds = (m: Member) => m.backend.status().state === 'registered';

/**
 * Runs `fault`, then waits until every registration holds again, as the backends and the registry itself say; `from` (after the fault) is when the clock starts,
 * the fault's start by default. What the registry saw from the fault's start on is kept.
 */
async function episode(
  members: Member[],
  seen: () => { connects: number[]; requests: number[] },
  held: () => Promise<boolean>,
  fault: () => Promise<void>,
  from?: () => number,
): Promise<Episode> {
  const started = Date.now();
  const before = seen();
  const [connectsBefore, requestsBefore] = [before.connects.length, before.requests.length];
  await fault();
  const deadline = Date.now() + 300_000;
  while (!(members.every(holds) && (await held()))) {
    if (Date.now() > deadline) throw new Error(`${members.filter(holds).length} of ${members.length} registrations back after 300 s`);
    await sleep(pollMs);
  }
  const after = seen();
  const since = from?.() ?? started;
  return { backMs: Date.now() - since, connects: after.connects.slice(connectsBefore), requests: after.requests.slice(requestsBefore) };
}

/** The most events in any window of `ms`. */
function peak(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** How the connects spread: the span holding the middle 80 % of them. */
function spread(times: number[]): string {
  if (times.length < 10) return `${times.length} connects`;
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.floor(q * (sorted.length - 1))];
  return `${sorted.length} connects, the middle 80 % within ${at(0.9) - at(0.1)} ms`;
}

function fleetRow(figure: string, e: Episode, note: string, timed = true): Row {
  const rates = `peak ${peak(e.requests, 1000)} requests/s (${peak(e.requests, 100)} in 100 ms)` + (e.connects.length ? `, ${peak(e.connects, 1000)} connects/s (${peak(e.connects, 100)} in 100 ms); ${spread(e.connects)}` : '');
  return {
    figure,
    nile: timed ? `${(e.backMs / 1000).toFixed(2)} s` : `${Math.round(e.requests.length / (consulTtlMs / 1000))} requests/s`,
    baseline: '—',
    comparison: '—',
    target: 'report',
    met: null,
    // The backends, the proxies and the polling share one event loop: the figures are as fine as it is free.
    note: `${note}; ${rates}`,
    data: { backMs: e.backMs, requests: e.requests.length, connects: e.connects.length, peakRequestsPerS: peak(e.requests, 1000), peakConnectsPerS: peak(e.connects, 1000), peakConnectsPer100ms: peak(e.connects, 100) },
  };
}
