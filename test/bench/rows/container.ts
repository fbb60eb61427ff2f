// The built image (make image) under runc, as the kubelet runs it: `runc exec … nile probe` against
// `runc exec … /bin/true` (the exec path's own floor) and `runc exec … node -e 0`, in turns; and the
// agent's RSS as PID 1 under the image's own Node beside an idle `node` exec'd into the same container.

import { readFileSync } from 'node:fs';
import { Container, builtImage, exampleNileConfig } from '../../oci/runc.js';
import { type Context, inTurns } from '../context.js';
import { rssMiB } from '../proc.js';
import { sleep } from '../../helpers/wait.js';
import { ratioRow, type Row } from '../report.js';
import { summarize } from '../stats.js';

const subjects = ['nile probe', 'node -e 0', '/bin/true'] as const;
const commands: Record<(typeof subjects)[number], string[]> = { 'nile probe': ['nile', 'probe'], 'node -e 0': ['node', '-e', '0'], '/bin/true': ['/bin/true'] };

export async function containerRows(ctx: Context): Promise<Row[]> {
  const image = builtImage();
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  const c = new Container({ name: 'bench', nile });
  try {
    const pid1 = await c.started();
    for (let i = 0; i < 200 && (await c.exec(commands['nile probe'])).code !== 0; i++) await sleep(250);
    const times = await inTurns(ctx, 30, subjects, async (subject) => {
      const result = await c.exec(commands[subject]);
      if (result.code !== 0) throw new Error(`runc exec ${subject} exited ${result.code}: ${result.stdout}${result.stderr}`);
      return result.ms;
    });
    const idle = c.exec(['node', '-e', 'setInterval(() => {}, 1 << 30)']);
    // Node 24 names its main thread: its processes show as "MainThread", not "node".
    const node = await c.waitFor('the idle node', () => c.processes().find((p) => cmdline(p.pid).includes('setInterval'))?.pid, 10_000);
    await sleep(ctx.quick ? 1000 : 10_000);
    const samples = { nile: [] as number[], node: [] as number[] };
    for (let i = 0; i < (ctx.quick ? 2 : 10); i++) {
      samples.nile.push(rssMiB(pid1));
      samples.node.push(rssMiB(node));
      await sleep(1000);
    }
    process.kill(node, 'SIGKILL');
    await idle;
    const ms = (subject: (typeof subjects)[number]) => ({ summary: summarize(times.get(subject)!), unit: 'ms', label: `runc exec ${subject}` });
    const floor = summarize(times.get('/bin/true')!).median;
    const probeRow = ratioRow(`\`runc exec nile probe\` wall time in the container (Node ${image.node})`, ms('nile probe'), ms('node -e 0'), { max: 1.25 }, {
      note: `the three in turns; runc exec /bin/true, the exec path's own floor, takes ${floor.toFixed(1)} ms of it`,
      data: { floor: summarize(times.get('/bin/true')!) },
    });
    probeRow.baseline = `${probeRow.baseline}; ${ms('/bin/true').label}: ${floor.toFixed(1)} ms`;
    return [
      probeRow,
      ratioRow(`agent RSS in the container (probing the app; Node ${image.node})`, { summary: summarize(samples.nile), unit: 'MiB' }, { summary: summarize(samples.node), unit: 'MiB', label: 'idle node' }, { max: 1.5 }, { note: 'PID 1 of the example image under runc, and an idle node exec\'d into it' }),
    ];
  } finally {
    await c.remove();
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
