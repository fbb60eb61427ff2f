// SIGTERM to PID 1 until it has exited, with an app that dies of SIGTERM at once (the stub, waiting).
// The same for nile, tini and dumb-init; nile's app is ready (probed) first, as in a running pod. A
// bare node as PID 1 that exits on SIGTERM shows how much of nile's time is Node's own exit.

import path from 'node:path';
import { readStamp } from '../clock.js';
import { type Context, inTurns, scratch } from '../context.js';
import { initCommand, startPid1, writePid1Config, type Init } from '../pid1.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { differenceRow, type Row } from '../report.js';
import { describe, nsToMs, summarize } from '../stats.js';

type Subject = Init | 'node';
const subjects: Subject[] = ['nile', 'tini', 'dumb-init', 'node'];

// Says it is ready only once its handler is in place.
const bareNode = (ready: string) => [process.execPath, '-e', `process.on('SIGTERM', () => process.exit(143)); require('fs').writeFileSync(${JSON.stringify(ready)}, '1'); setInterval(() => {}, 1 << 30);`];

export async function sigtermRows(ctx: Context): Promise<Row[]> {
  const dir = scratch(ctx, 'sigterm');
  const config = writePid1Config(dir);
  const times = await inTurns(ctx, 15, subjects, (subject, round) => timeToExit(ctx, subject, config, path.join(dir, `${subject}-${round}.ready`)));
  const of = (subject: Subject, label?: string) => ({ summary: summarize(times.get(subject)!), unit: 'ms', label });
  return [
    differenceRow('SIGTERM to PID 1 → exit (app exits at once)', of('nile'), [of('tini', 'tini'), of('dumb-init', 'dumb-init')], 30, {
      note: `nile: type worker, no registry, prestop.wait 0s (a configured wait for traffic to end would add itself); time until unshare, the parent of PID 1, has seen it exit; a bare node as PID 1 exiting on SIGTERM: ${describe(of('node').summary, 'ms')}`,
      data: { bareNode: of('node', 'bare node') },
    }),
  ];
}

async function timeToExit(ctx: Context, subject: Subject, config: string, ready: string): Promise<number> {
  const argv = subject === 'node' ? bareNode(ready) : initCommand(subject, [ctx.natives.stamp, ready], config);
  const pid1 = startPid1(argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  pid1.proc.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  try {
    await waitFor(`${subject}'s app to start`, () => readStamp(ready), 20_000, { everyMs: 1 });
    if (subject === 'nile') await waitFor('nile to report the app ready', () => log.includes('"msg":"app ready"'), 20_000, { everyMs: 1 });
    const pid = await pid1.initPid();
    const sent = process.hrtime.bigint();
    process.kill(pid, 'SIGTERM');
    const exit = await Promise.race([pid1.exited, sleep(15_000).then(() => undefined)]);
    if (!exit) throw new Error(`${subject} did not exit within 15 s of SIGTERM`);
    return nsToMs(exit.at - sent);
  } finally {
    await pid1.stop();
  }
}
