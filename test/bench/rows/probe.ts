// `nile probe` against a running agent, as the kubelet runs it: `nile` on PATH, the native front
// door (native/nile.c), and where it is not built the `#!/usr/bin/env node` script bin/nile.js.
// Its baselines in the same interleaved rounds: /bin/true (any exec) and `node -e 0` (any Node); beside it the
// httpGet probe on probe.serve (GET /ready), which starts no process in the pod.
// Wall and CPU (user+sys, from wait4's rusage) per call by the runner; the agent's own CPU per
// answer from its threads' schedstat over bursts of probes, less its idle rate.

import http from 'node:http';
import { NILE_BIN, NILE_NATIVE } from '../../helpers/paths.js';
import { freePort } from '../../helpers/ports.js';
import { startAgent } from '../agent.js';
import { type Context, runsOf } from '../context.js';
import { emptyServices } from '../pid1.js';
import { benchEnv, run } from '../processes.js';
import { sleep } from '../../helpers/wait.js';
import { cpuNs } from '../proc.js';
import { ratioRow, type Row } from '../report.js';
import { describe, summarize, type Summary } from '../stats.js';

const commands = { native: [NILE_NATIVE, 'probe'], shebang: [NILE_BIN, 'probe'], true: ['/bin/true'], node: [process.execPath, '-e', '0'] };
type Subject = keyof typeof commands;
export const probesPerHour = 1800; // periodSeconds: 2

export async function probeRows(ctx: Context): Promise<Row[]> {
  const readyPort = await freePort();
  const agent = await startAgent({ project: 'bench-probe', services: emptyServices(ctx.dir), readyPort });
  try {
    const env = benchEnv({ NILE_RUNDIR: agent.nile.runDir });
    const turns = await takingTurns(ctx, env);
    const agentCpu = await agentCpuPerProbe(ctx, agent.nile.agentHostPid(), () => run(ctx.natives.runs, [String(burstOf(ctx)), '--', ...commands.native], { env }));
    const getCaller: number[] = [];
    const agentCpuHttp = await agentCpuPerProbe(ctx, agent.nile.agentHostPid(), async () => {
      const before = process.cpuUsage();
      await httpGets(readyPort, burstOf(ctx));
      const used = process.cpuUsage(before);
      getCaller.push((used.user + used.system) / 1000 / burstOf(ctx));
    });
    const getClient = summarize(getCaller);
    const httpGet = ((getClient.median + agentCpuHttp.median) * probesPerHour) / 1000;
    const ms = (values: number[], label?: string) => ({ summary: summarize(values), unit: 'ms', label });
    const fleet = (client: Summary) => ((client.median + agentCpu.median) * probesPerHour) / 1000;
    const after = fleet(summarize(turns.native.cpu));
    const before = fleet(summarize(turns.shebang.cpu));
    return [
      ratioRow('`nile probe` CPU (user+sys) per call, agent answering, as the kubelet runs it (native front door)', ms(turns.native.cpu), ms(turns.true.cpu, '/bin/true'), { max: 1.5 }, {
        note: `rusage from wait4, the four commands in turns; wall ${describe(summarize(turns.native.wall), 'ms')} against /bin/true ${describe(summarize(turns.true.wall), 'ms')}`,
      }),
      {
        ...ratioRow('`nile probe` CPU per call through `#!/usr/bin/env node` bin/nile.js (where the front door is not built)', ms(turns.shebang.cpu), ms(turns.node.cpu, 'node -e 0'), { max: Infinity }),
        target: 'report',
        met: null,
        note: `the kernel runs /usr/bin/env, which runs node; wall ${describe(summarize(turns.shebang.wall), 'ms')} against node -e 0 ${describe(summarize(turns.node.wall), 'ms')}`,
      },
      {
        figure: 'agent CPU per `nile probe` answered',
        nile: describe(agentCpu, 'ms', 3),
        baseline: '—',
        comparison: '—',
        target: 'report',
        met: null,
        note: 'schedstat of every agent thread over bursts of 200 front-door probes, less the idle CPU of the agent over as long just after each burst',
        data: { agentCpu },
      },
      {
        figure: 'fleet cost of the probe: CPU per pod-hour at a 2 s period (caller + agent)',
        nile: `${after.toFixed(1)} s with the front door`,
        baseline: `${before.toFixed(1)} s through bin/nile.js under Node`,
        comparison: `${(before / after).toFixed(0)}× less`,
        target: '≤ 6 s',
        met: after <= 6,
        note: `(caller CPU median + agent CPU median) × ${probesPerHour} probes an hour; per 1,000 pods: ${((after * 1000) / 3600).toFixed(2)} cores with the front door, ${((before * 1000) / 3600).toFixed(1)} cores under Node`,
        data: { after, before },
      },
      {
        figure: 'fleet cost of an httpGet readiness probe on `probe.serve` (`GET /ready`): CPU per pod-hour at a 2 s period (caller + agent)',
        nile: `${httpGet.toFixed(2)} s`,
        baseline: `${after.toFixed(1)} s with the exec front door (caller + agent)`,
        comparison: `${(httpGet / after).toFixed(2)}×`,
        target: 'report',
        met: null,
        note: `(the GET's client ${describe(getClient, 'ms', 3)}, this process's Node http, a fresh connection each as the kubelet's prober makes them, + the agent ${describe(agentCpuHttp, 'ms', 3)}) × ${probesPerHour}; no process starts in the pod, and the runtime's own cost of an exec (runc exec, not in the baseline) is gone; the kubelet's GET is spent on the node, outside the pod`,
        data: { httpGet, agentCpuHttp, getClient },
      },
    ];
  } finally {
    await agent.nile.stop();
  }
}

/** Per call, in ms: wall time and user+sys of each subject, all taking turns. */
const takingTurns = (ctx: Context, env: Record<string, string>) => callsInTurns<Subject>(ctx, commands, { env, mayFail: ['true'] });

/**
 * Per call, in ms: wall time and user+sys (wait4's rusage) of each command, all taking turns by the
 * bench's runner; a command not in `mayFail` that fails fails the row.
 */
export async function callsInTurns<S extends string>(ctx: Context, commands: Record<S, string[]>, { env, mayFail = [] }: { env?: Record<string, string>; mayFail?: S[] } = {}) {
  const warmup = 3;
  const names = Object.keys(commands) as S[];
  const args = [String(runsOf(ctx, 40) + warmup), ...names.flatMap((s) => ['--', ...commands[s]])];
  const out = await run(ctx.natives.runs, args, env ? { env } : {});
  const lines = out.trim().split('\n').slice(names.length * warmup).map((line) => line.split(' ').map(Number));
  const failed = lines.find(([index, , , , status]) => status !== 0 && !mayFail.includes(names[index]));
  if (failed) throw new Error(`${commands[names[failed[0]]].join(' ')} exited with ${failed[4]} (is the agent ready?)`);
  const of = (name: S) => {
    const mine = lines.filter((l) => names[l[0]] === name);
    return { cpu: mine.map((l) => (l[2] + l[3]) / 1000), wall: mine.map((l) => l[1] / 1e6) };
  };
  return Object.fromEntries(names.map((s) => [s, of(s)])) as Record<S, { cpu: number[]; wall: number[] }>;
}

export const burstOf = (ctx: Context) => (ctx.quick ? 20 : 200);

/** `count` GETs of /ready one after the other, each on a fresh connection as the kubelet's prober makes them. */
async function httpGets(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/ready', agent: false, headers: { connection: 'close' } }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  }
}

/** The agent's CPU (ms) per probe it answers, one value per burst of `burst()` probes. */
export async function agentCpuPerProbe(ctx: Context, pid: number, burst: () => Promise<unknown>): Promise<Summary> {
  const probes = burstOf(ctx);
  const perProbe: number[] = [];
  for (let round = 0; round < runsOf(ctx, 5); round++) {
    const began = Date.now();
    const cpuBefore = cpuNs(pid);
    await burst();
    const busy = cpuNs(pid) - cpuBefore;
    const ms = Date.now() - began;
    const idleBefore = cpuNs(pid);
    await sleep(ms);
    const idle = cpuNs(pid) - idleBefore;
    perProbe.push((busy - idle) / 1e6 / probes);
  }
  return summarize(perProbe);
}
