// `nile probe` against a running agent, against `node -e 0` spawned the same way: wall and CPU
// (user+sys, from wait4's rusage) per call by the runner, the two commands taking turns so that the
// machine's drift hits both alike; hyperfine (-N: no shell, one command after the other) to cross-check.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NILE_BIN } from '../../helpers/paths.js';
import { startAgent } from '../agent.js';
import { type Context, runsOf, scratch } from '../context.js';
import { emptyServices } from '../pid1.js';
import { benchEnv, run } from '../processes.js';
import { ratioRow, type Row } from '../report.js';
import { summarize } from '../stats.js';

const probeCommand = [process.execPath, NILE_BIN, 'probe'];
const nodeCommand = [process.execPath, '-e', '0'];

export async function probeRows(ctx: Context): Promise<Row[]> {
  const agent = await startAgent({ project: 'bench-probe', services: emptyServices(ctx.dir) });
  try {
    const env = benchEnv({ NILE_RUNDIR: agent.nile.runDir });
    const turns = await takingTurns(ctx, env);
    const hyperfine = await hyperfineWall(ctx, env);
    const ms = (values: number[], label?: string) => ({ summary: summarize(values), unit: 'ms', label });
    const crossCheck = `${summarize(hyperfine.probe).median.toFixed(1)} vs ${summarize(hyperfine.node).median.toFixed(1)} ms`;
    return [
      ratioRow('`nile probe` wall time, agent answering', ms(turns.probeWall), ms(turns.nodeWall, 'node -e 0'), { max: 1.25 }, {
        note: `the two commands in turns; hyperfine -N, one after the other, gives ${crossCheck}`,
        data: { hyperfine: { probe: summarize(hyperfine.probe), node: summarize(hyperfine.node) } },
      }),
      ratioRow('`nile probe` CPU (user+sys) per call', ms(turns.probeCpu), ms(turns.nodeCpu, 'node -e 0'), { max: 1.25 }, { note: 'rusage from wait4, the two commands in turns' }),
    ];
  } finally {
    await agent.nile.stop();
  }
}

async function hyperfineWall(ctx: Context, env: Record<string, string>) {
  const json = path.join(scratch(ctx, 'probe'), 'hyperfine.json');
  const runs = String(runsOf(ctx, 30));
  await run('hyperfine', ['-N', '--warmup', '5', '--runs', runs, '--export-json', json, '-n', 'nile probe', probeCommand.join(' '), '-n', 'node -e 0', nodeCommand.join(' ')], { env });
  const results = JSON.parse(readFileSync(json, 'utf8')).results as { command: string; times: number[] }[];
  const times = (name: string) => results.find((r) => r.command === name)!.times.map((s) => s * 1000);
  return { probe: times('nile probe'), node: times('node -e 0') };
}

/** Per call, in ms: wall time and user+sys, the two commands taking turns. */
async function takingTurns(ctx: Context, env: Record<string, string>) {
  const warmup = 3;
  const out = await run(ctx.natives.runs, [String(runsOf(ctx, 40) + warmup), '--', ...probeCommand, '--', ...nodeCommand], { env });
  const lines = out.trim().split('\n').slice(2 * warmup).map((line) => line.split(' ').map(Number));
  const failed = lines.find(([, , , , status]) => status !== 0);
  if (failed) throw new Error(`a run exited with ${failed[4]} (is the agent ready?)`);
  const of = (index: number, pick: (l: number[]) => number) => lines.filter((l) => l[0] === index).map(pick);
  const cpu = (l: number[]) => (l[2] + l[3]) / 1000;
  const wall = (l: number[]) => l[1] / 1e6;
  return { probeCpu: of(0, cpu), nodeCpu: of(1, cpu), probeWall: of(0, wall), nodeWall: of(1, wall) };
}
