// Time from exec of the init to the app's first instruction: `stamp T0 unshare … INIT stamp T1`, where
// the app is the same static stub for every init. node -e 0 (exec to exit, also under unshare) is the
// floor any Node program starts from.

import path from 'node:path';
import { readStamp } from '../clock.js';
import { type Context, inTurns, scratch } from '../context.js';
import { initCommand, startPid1, unshare, writePid1Config, type Init } from '../pid1.js';
import { poll, run } from '../processes.js';
import { differenceRow, type Measured, type Row } from '../report.js';
import { nsToMs, summarize } from '../stats.js';

const inits: (Init | 'none')[] = ['nile', 'tini', 'dumb-init', 'none'];

export async function startRows(ctx: Context): Promise<Row[]> {
  const dir = scratch(ctx, 'start');
  const config = writePid1Config(dir);
  const times = await inTurns(ctx, 15, [...inits, 'node'] as const, (subject, round) => (subject === 'node' ? nodeStart(ctx) : timeToApp(ctx, subject, config, path.join(dir, `${subject}-${round}`))));
  const node = times.get('node')!;
  const of = (init: Init | 'none', label?: string): Measured => ({ summary: summarize(times.get(init)!), unit: 'ms', label });
  return [
    differenceRow('exec nile → app first instruction', of('nile'), [{ summary: summarize(node), unit: 'ms', label: 'node -e 0' }, of('tini', 'tini'), of('dumb-init', 'dumb-init')], 40, {
      against: 'node -e 0',
      note: `all under unshare --pid --fork --mount-proc, in interleaved rounds; node -e 0 is exec → exit; no init at all (unshare → stub): ${of('none').summary.median.toFixed(1)} ms`,
      data: { noInit: of('none', 'no init') },
    }),
  ];
}

async function timeToApp(ctx: Context, init: Init | 'none', config: string, stampBase: string): Promise<number> {
  const [t0, t1] = [`${stampBase}.t0`, `${stampBase}.t1`];
  const app = [ctx.natives.stamp, t1];
  const pid1 = startPid1(init === 'none' ? app : initCommand(init, app, config), { launcher: [ctx.natives.stamp, t0] });
  try {
    const end = await poll(`${init}'s app to start`, () => readStamp(t1), 20_000);
    const begin = readStamp(t0);
    if (begin === undefined) throw new Error('the launcher left no stamp');
    return nsToMs(end - begin);
  } finally {
    await pid1.stop();
  }
}

/** `node -e 0` under the same unshare, exec to exit (ms), timed by the runner. */
async function nodeStart(ctx: Context): Promise<number> {
  const out = await run(ctx.natives.runs, ['1', '--', ...unshare, process.execPath, '-e', '0']);
  return Number(out.trim().split(' ')[1]) / 1e6;
}
