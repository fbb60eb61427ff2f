// 2,000 registrations against the real ZooKeeper from one process, each a ZooKeeperBackend under its
// own Reconciler as in an agent: how long until all are registered, and until all are back after
// ZooKeeper restarts (with its data, and having lost it).

import { createLog } from '../../../src/log.js';
import type { Instance } from '../../../src/registry/backend.js';
import { Reconciler } from '../../../src/registry/reconciler.js';
import { ZooKeeperBackend } from '../../../src/registry/zookeeper.js';
import type { Stat } from '../../../src/registry/zookeeper-client.js';
import type { ZooKeeperServers } from '../../helpers/zookeeper.js';
import { Observer } from '../../helpers/zookeeper-observer.js';
import type { Context } from '../context.js';
import { sleep } from '../../helpers/wait.js';
import type { Row } from '../report.js';
import { describe, summarize } from '../stats.js';

const root = '/bench-scale';
const upstream = 'scale';
const pollMs = 25;

interface Registrant {
  backend: ZooKeeperBackend;
  reconciler: Reconciler;
}

/** Per instance, ms from `since` until it was registered (again); and until a watcher counted every node. */
interface Recovery {
  perInstance: number[];
  allMs: number;
}

export async function scaleRows(ctx: Context): Promise<Row[]> {
  const count = ctx.quick ? 50 : 2000;
  const timeoutMs = ctx.quick ? 30_000 : 180_000;
  const zookeeper = await ctx.zookeeper();
  const log = createLog('silent');
  const registrants: Registrant[] = [];
  try {
    const since = Date.now();
    for (let i = 0; i < count; i++) registrants.push(register(zookeeper.connect, instanceNo(i), log));
    const first = await recovery('registered', zookeeper.connect, registrants, since, timeoutMs);
    const kept = await restarted(zookeeper, registrants, timeoutMs, false);
    const wiped = await restarted(zookeeper, registrants, timeoutMs, true);
    const label = `${count.toLocaleString('en')} registrations in one process`;
    return [
      scaleRow(`${label}: until all registered`, first, 'from the first ZooKeeperBackend created', '—'),
      scaleRow(`${label}: until all back after a ZooKeeper restart`, kept.recovery, 'from the stop of the server (data kept: sessions survive)', `served again after ${(kept.downMs / 1000).toFixed(2)} s`),
      scaleRow(`${label}: until all back after a restart that lost the data`, wiped.recovery, 'from the stop of the server (every session and node lost)', `served again after ${(wiped.downMs / 1000).toFixed(2)} s`),
    ];
  } finally {
    await Promise.all(registrants.map((r) => r.reconciler.close()));
  }
}

function instanceNo(i: number): Instance {
  // Addresses in 127/8 name instances only: nothing connects to them.
  return { upstream, address: `127.1.${i >> 8}.${i & 255}`, port: 8080, weight: 1, maxFails: 2, failTimeout: 10 };
}

function register(connect: string, instance: Instance, log: ReturnType<typeof createLog>): Registrant {
  const backend = new ZooKeeperBackend({ connect, root, sessionTimeoutMs: 10_000, instance, log });
  const reconciler = new Reconciler([backend], log);
  reconciler.want({ present: true, down: false });
  return { backend, reconciler };
}

async function restarted(zookeeper: ZooKeeperServers, registrants: Registrant[], timeoutMs: number, wipe: boolean) {
  const since = Date.now();
  const watching = recovery(wipe ? 'back after a restart that lost the data' : 'back after a restart', zookeeper.connect, registrants, since, timeoutMs);
  await zookeeper.restart(undefined, { wipe });
  const downMs = Date.now() - since;
  return { recovery: await watching, downMs };
}

/** Polls every backend's status until each is registered again after having been seen otherwise, then a watcher's count of the nodes. */
async function recovery(what: string, connect: string, registrants: Registrant[], since: number, timeoutMs: number): Promise<Recovery> {
  const back: (number | undefined)[] = registrants.map(() => undefined);
  const left = registrants.map(() => false);
  const deadline = since + timeoutMs;
  while (back.some((b) => b === undefined)) {
    const now = Date.now();
    registrants.forEach((r, i) => {
      if (back[i] !== undefined) return;
      if (r.backend.status().state !== 'registered') left[i] = true;
      else if (left[i]) back[i] = now - since;
    });
    if (now > deadline) throw new Error(`${what}: ${back.filter((b) => b !== undefined).length} of ${registrants.length} after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
  await nodesCounted(what, connect, registrants.length, deadline);
  return { perInstance: back as number[], allMs: Date.now() - since };
}

/** A fresh watcher (one from before a wipe would hold an expired session) until it counts every node. */
async function nodesCounted(what: string, connect: string, count: number, deadline: number): Promise<void> {
  const observer = await Observer.connect(connect);
  try {
    let seen = -1;
    while (Date.now() < deadline) {
      const stat = (await observer.exists(`${root}/${upstream}`)) as (Stat & { numChildren: number }) | null;
      seen = stat?.numChildren ?? 0;
      if (seen === count) return;
      await sleep(pollMs);
    }
    throw new Error(`${what}: the backends said registered, but a watcher counts ${seen} of ${count} nodes`);
  } finally {
    observer.close();
  }
}

function scaleRow(figure: string, result: Recovery, note: string, baseline: string): Row {
  const perInstance = summarize(result.perInstance);
  return {
    figure,
    nile: `${(result.allMs / 1000).toFixed(2)} s`,
    baseline,
    comparison: '—',
    target: 'report',
    met: null,
    // Every backend shares this one event loop with the polling, so the spread is only as fine as the loop is free.
    note: `${note}; "all" ends when a watcher counts every node; per instance ${describe(perInstance, 'ms', 0)}`,
    data: { allMs: result.allMs, perInstance },
  };
}
