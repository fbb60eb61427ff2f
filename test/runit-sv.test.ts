// runit's own `sv` reads and drives a service nile supervises, and `nile sv` says and does the same.
import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { decodeStatus } from '../src/runit/status.js';
import { nileSv, normalize, realSv, supervise, tempDir, waitSupervised, type Run } from './helpers/runit.js';
import { waitFor } from './helpers/wait.js';

// Logs each start (once its traps are set) and HUP; ignores TERM when ./ignore-term exists (then
// "got TERM" stays visible).
const runScript = `#!/bin/sh
if [ -e ignore-term ]; then trap '' TERM; fi
trap 'echo "hup $$" >> ../events' HUP
echo "start $$" >> ../events
while :; do sleep 0.2; done
`;

interface Step {
  args: string;
  code: number;
  out: string;
}

function makeService(root: string): string {
  const dir = path.join(root, 'svc');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'run'), runScript);
  chmodSync(path.join(dir, 'run'), 0o755);
  return dir;
}

function statusOf(dir: string) {
  try {
    return decodeStatus(readFileSync(path.join(dir, 'supervise', 'status')));
  } catch {
    return null;
  }
}

/** Drives one nile-supervised service with `sv` (runit's or nile's) and records what it said. */
async function scenario(t: Test, sv: (...args: string[]) => Promise<Run>, root: string): Promise<Step[]> {
  const dir = makeService(root);
  const supervisor = supervise(t, 'service', dir);
  const steps: Step[] = [];
  const step = async (...args: string[]) => {
    const result = await sv(...args);
    steps.push({ args: args.join(' '), code: result.code, out: result.stdout });
    return result;
  };
  const events = () => readFileSync(path.join(root, 'events'), 'utf8');
  const running = (other = 0) =>
    waitFor('running', () => {
      const status = statusOf(dir);
      return status?.state === 'run' && status.pid !== other && existsSync(path.join(root, 'events')) && events().includes(`start ${status.pid}\n`);
    });
  const down = () => waitFor('down', () => statusOf(dir)?.state === 'down');

  await waitSupervised(dir);
  await running();
  await step('status', dir);
  await step('down', dir);
  await down();
  await step('status', dir);
  await step('up', dir);
  await running();
  const pid = statusOf(dir)!.pid;
  await step('hup', dir);
  await waitFor('HUP handled', () => events().includes(`hup ${pid}`));
  await step('once', dir);
  // sv sends the letter and returns; the next look must come after the supervisor took it, for either.
  await waitFor('once taken', () => statusOf(dir)?.want === 'down');
  await step('status', dir);
  await step('term', dir);
  await down();
  await step('status', dir);
  await step('-w', '5', 'up', dir);
  writeFileSync(path.join(dir, 'check'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  await step('-w', '1', 'check', dir);
  unlinkSync(path.join(dir, 'check'));
  const before = statusOf(dir)!.pid;
  await step('restart', dir);
  // sv may say ok before the supervisor acted: its check compares whole seconds, as runit's does.
  await running(before);
  const restarted = statusOf(dir)!.pid;
  writeFileSync(path.join(dir, 'ignore-term'), '');
  await step('kill', dir);
  await running(restarted);
  await step('-w', '1', 'down', dir);
  await step('status', dir);
  await step('kill', dir);
  await down();
  await step('-w', '2', 'check', dir);
  await step('exit', dir);
  await waitFor('the supervisor to leave', () => supervisor.exited());
  await step('status', dir);
  await step('exit', dir);
  await step('status', dir, `${dir}-missing`);
  await step('bogus', dir);
  return steps.map((s) => ({ ...s, args: s.args.split(dir).join('SVC'), out: normalize(s.out.split(dir).join('SVC')) }));
}

t.test('runit sv and nile sv drive a nile-supervised service alike', async (t) => {
  const realRoot = tempDir(t, 'sv-real');
  const nileRoot = tempDir(t, 'sv-nile');
  const dirs = { runDir: nileRoot, servicesDir: nileRoot };
  const [real, nile] = await Promise.all([scenario(t, realSv, realRoot), scenario(t, (...args) => nileSv(dirs, ...args), nileRoot)]);

  const expected: Array<[string, number, string]> = [
    ['status SVC', 0, 'run: SVC: (pid N) Ns\n'],
    ['down SVC', 0, ''],
    ['status SVC', 0, 'down: SVC: Ns, normally up\n'],
    ['up SVC', 0, ''],
    ['hup SVC', 0, ''],
    ['once SVC', 0, ''],
    ['status SVC', 0, 'run: SVC: (pid N) Ns, want down\n'],
    ['term SVC', 0, ''],
    ['status SVC', 0, 'down: SVC: Ns, normally up\n'],
    ['-w 5 up SVC', 0, 'ok: run: SVC: (pid N) Ns\n'],
    ['-w 1 check SVC', 1, 'timeout: run: SVC: (pid N) Ns\n'],
    ['restart SVC', 0, 'ok: run: SVC: (pid N) Ns\n'],
    ['kill SVC', 0, ''],
    ['-w 1 down SVC', 1, 'timeout: run: SVC: (pid N) Ns, want down, got TERM\n'],
    ['status SVC', 0, 'run: SVC: (pid N) Ns, want down, got TERM\n'],
    ['kill SVC', 0, ''],
    ['-w 2 check SVC', 0, 'ok: down: SVC: Ns, normally up\n'],
    ['exit SVC', 0, ''],
    ['status SVC', 1, 'fail: SVC: runsv not running\n'],
    ['exit SVC', 0, 'ok: SVC: runsv not running\n'],
    ['status SVC SVC-missing', 2, 'fail: SVC: runsv not running\nfail: SVC-missing: unable to change to service directory: file does not exist\n'],
    ['bogus SVC', 100, ''],
  ];
  t.same(
    real.map((s) => [s.args, s.code, s.out]),
    expected,
    'runit sv on nile',
  );
  t.same(nile, real, 'nile sv says what runit sv says');
});
