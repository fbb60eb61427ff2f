// As a ZooKeeper watcher sees it: from the agent's `app ready` to its node, and from `nile prestop`
// (the command's spawn: `nile` on PATH, the native front door, as the kubelet runs the hook) to the
// node gone. A fresh agent per run.

import { NILE_NATIVE } from '../../helpers/paths.js';
import { Observer } from '../../helpers/zookeeper-observer.js';
import { freePort } from '../../helpers/ports.js';
import { nodeOf, startAgent } from '../agent.js';
import { type Context, runsOf } from '../context.js';
import { emptyServices } from '../pid1.js';
import { benchEnv, start, stop } from '../processes.js';
import { sleep } from '../../helpers/wait.js';
import { limitRow, missingRow, type Row } from '../report.js';
import { summarize } from '../stats.js';

interface Run {
  registered: number; // ms from ready to the node
  gone: number; // ms from `nile prestop` to no node
  goneFromAgent: number; // ms from the agent's `prestop: draining` to no node
}

const registeredFigure = 'ready → registered, seen by a ZooKeeper watcher';
const goneFigure = '`nile prestop` → node gone, seen by a ZooKeeper watcher';

export async function registrationRows(ctx: Context): Promise<Row[]> {
  const zookeeper = await ctx.zookeeper();
  const observer = await Observer.connect(zookeeper.connect);
  const runs: Run[] = [];
  try {
    for (let i = 0; i < runsOf(ctx, 5); i++) {
      const one = await oneRun(zookeeper.connect, observer, i, emptyServices(ctx.dir));
      if (!one) {
        const why = 'the agent did not register within 10 s of ready although registry.zookeeper.connect was set (not wired into the agent yet?)';
        return [missingRow(registeredFigure, '< 100 ms', why), missingRow(goneFigure, '< 20 ms', why)];
      }
      runs.push(one);
    }
  } finally {
    observer.close();
  }
  const ms = (values: number[]) => ({ summary: summarize(values), unit: 'ms' });
  const fromAgent = runs.map((r) => r.goneFromAgent).filter(Number.isFinite);
  return [
    limitRow(registeredFigure, ms(runs.map((r) => r.registered)), { below: 100 }, { note: "from the `time` of nile's `app ready` log line; the agent's session to ZooKeeper may still be opening then" }),
    limitRow(goneFigure, ms(runs.map((r) => r.gone)), { below: 20 }, {
      note: `includes the start of the \`nile prestop\` process (the native front door); from the agent's receipt: ${fromAgent.length ? `${summarize(fromAgent).median.toFixed(1)} ms` : 'not logged'}`,
      data: { fromAgent: fromAgent.length ? summarize(fromAgent) : null },
    }),
  ];
}

async function oneRun(connect: string, observer: Observer, i: number, services: string): Promise<Run | undefined> {
  const [project, port] = [`bench-registration-${i}`, await freePort()];
  // Watched from before the agent starts, so the first sight of the node is its creation.
  const appeared = observer.until(nodeOf(project, port), (stat) => stat !== null, 40_000);
  const agent = await startAgent({ project, port, zookeeper: connect, interval: '500ms', prestopWait: '1s', services });
  try {
    const seen = await Promise.race([appeared, sleep(10_000).then(() => undefined)]);
    if (seen === undefined) return undefined;
    const gone = observer.until(agent.node, (stat) => stat === null, 10_000);
    const asked = Date.now();
    const prestop = start(NILE_NATIVE, ['prestop'], { env: benchEnv({ NILE_RUNDIR: agent.nile.runDir }) });
    const goneAt = await gone;
    await stop(prestop);
    if (goneAt === undefined) throw new Error('the node was not removed within 10 s of `nile prestop`');
    const draining = agent.nile.logs.find((l) => l.msg.startsWith('prestop: draining'));
    return { registered: seen - agent.readyAt, gone: goneAt - asked, goneFromAgent: draining ? goneAt - draining.time : NaN };
  } finally {
    await agent.nile.stop();
  }
}
