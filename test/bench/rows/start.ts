// Time from exec of the init to the app's first instruction: `stamp T0 unshare … INIT stamp T1`, where
// the app is the same static stub for every init. node -e 0 (exec to exit, also under unshare) is the
// floor any Node program starts from. nile runs twice: over the production example config
// (image/example/nile.yaml: web, HTTP probe, ZooKeeper, sshd) and over the bench's worker config.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../../helpers/paths.js';
import { freePort } from '../../helpers/ports.js';
import { readStamp } from '../clock.js';
import { type Context, inTurns, scratch } from '../context.js';
import { emptyServices, initCommand, startPid1, unshare, writePid1Config, type Init } from '../pid1.js';
import { run } from '../processes.js';
import { waitFor } from '../../helpers/wait.js';
import { differenceRow, type Measured, type Row } from '../report.js';
import { nsToMs, summarize } from '../stats.js';

const subjects = ['nile (production example)', 'nile (worker)', 'tini', 'dumb-init', 'none', 'node'] as const;
type Subject = (typeof subjects)[number];
const exampleConfig = path.join(ROOT, 'image', 'example', 'nile.yaml');

export async function startRows(ctx: Context): Promise<Row[]> {
  const dir = scratch(ctx, 'start');
  const configs: Partial<Record<Subject, string>> = { 'nile (production example)': await writeExampleConfig(ctx, dir), 'nile (worker)': writePid1Config(dir) };
  const init = (subject: Subject): Init | 'none' => (subject.startsWith('nile') ? 'nile' : (subject as Init | 'none'));
  const times = await inTurns(ctx, 15, subjects, (subject, round) =>
    subject === 'node' ? nodeStart(ctx) : timeToApp(ctx, init(subject), configs[subject] ?? '', path.join(dir, `${subject.replace(/\W+/g, '-')}-${round}`)),
  );
  const of = (subject: Subject, label?: string): Measured => ({ summary: summarize(times.get(subject)!), unit: 'ms', label });
  const baselines = [of('node', 'node -e 0'), of('tini', 'tini'), of('dumb-init', 'dumb-init')];
  const note = `all under unshare --pid --fork --mount-proc, in interleaved rounds; node -e 0 is exec → exit; no init at all (unshare → stub): ${of('none').summary.median.toFixed(1)} ms`;
  return [
    differenceRow('exec nile → app first instruction, production example config', of('nile (production example)'), baselines, 35, {
      against: 'node -e 0',
      note: `${note}; image/example/nile.yaml with the stub app, free ports, the bench's ZooKeeper and runDir`,
    }),
    differenceRow('exec nile → app first instruction, worker config', of('nile (worker)'), baselines, 35, { against: 'node -e 0', note, data: { noInit: of('none', 'no init') } }),
  ];
}

/** image/example/nile.yaml as it is, but with the bench's registry, free ports and a scratch runDir. */
async function writeExampleConfig(ctx: Context, dir: string): Promise<string> {
  const config = parse(readFileSync(exampleConfig, 'utf8'));
  // The registry clients connect beside the running app: a ZooKeeper that is not there changes nothing before the spawn.
  const connect = await ctx.zookeeper().then((zk) => zk.connect, async () => `127.0.0.1:${await freePort()}`);
  config.runDir = path.join(dir, 'run-example');
  config.services = emptyServices(dir);
  config.app = { ...config.app, workdir: dir, restart: 'never', stopTimeout: '5s' };
  config.probe.http.port = await freePort();
  config.registry = { ...config.registry, address: '127.0.0.1', zookeeper: { ...config.registry.zookeeper, connect } };
  config.sshd = { ...config.sshd, port: await freePort(), listen: '127.0.0.1' };
  config.prestop = { ...config.prestop, drain: { url: '' }, wait: '0s' };
  const file = path.join(dir, 'example.yaml');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function timeToApp(ctx: Context, init: Init | 'none', config: string, stampBase: string): Promise<number> {
  const [t0, t1] = [`${stampBase}.t0`, `${stampBase}.t1`];
  const app = [ctx.natives.stamp, t1];
  // A runDir of its own each round: every start is a first one (a round stopped while its app was
  // starting would otherwise hold the next round's app back, as a pod's next container is held).
  const env = { ...process.env, NILE_RUNDIR: `${stampBase}.run` };
  const pid1 = startPid1(init === 'none' ? app : initCommand(init, app, config), { launcher: [ctx.natives.stamp, t0], env });
  try {
    const end = await waitFor(`${init}'s app to start`, () => readStamp(t1), 20_000, { everyMs: 1 });
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
