// One service directory (finish, down, log/, control/ scripts) under the real runsv and under
// nile: runit's sv must show the same, and the scripts must see the same arguments.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { decodeStatus } from '../src/runit/status.js';
import { normalize, realSv, supervise, tempDir, waitSupervised } from './helpers/runit.js';
import { waitFor } from './helpers/wait.js';

const scripts: Record<string, string> = {
  run: 'echo "run $$"\nif [ -e exit-with ]; then exit "$(cat exit-with)"; fi\nexec sleep 600',
  finish: 'echo "$1 $2" >> ../finish-args\necho "finish $1 $2"',
  'log/run': 'exec cat >> ../../log.txt',
  'control/h': 'echo "h $1" >> ../control-log',
  'control/u': 'echo "u $1" >> ../control-log\nexit 1',
  'control/d': 'echo "d $1" >> ../control-log',
};

function makeService(root: string): string {
  const dir = path.join(root, 'svc');
  mkdirSync(path.join(dir, 'log'), { recursive: true });
  mkdirSync(path.join(dir, 'control'));
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(dir, name), 0o755);
  }
  writeFileSync(path.join(dir, 'down'), '');
  return dir;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

interface Outcome {
  statuses: string[];
  finishArgs: string;
  controlLog: string;
  logPids: number[];
  logText: string;
}

async function drive(t: Test, kind: 'runsv' | 'service', root: string): Promise<Outcome> {
  const dir = makeService(root);
  const supervisor = supervise(t, kind, dir);
  const status = (sub = '') => decodeStatus(Buffer.from(readFileSync(path.join(dir, sub, 'supervise', 'status'))));
  const finishes = (n: number) => waitFor(`${n} finish runs`, () => read(path.join(root, 'finish-args')).split('\n').length - 1 === n);
  // A run counts once its script has written its line: a signal sent before that would cut the line.
  const runs = (n: number) => read(path.join(root, 'log.txt')).match(/^run /gm)?.length === n;
  const running = (other: number, n: number) => waitFor(`run ${n} started and logged`, () => status()?.state === 'run' && status()!.pid !== other && runs(n));
  const statuses: string[] = [];
  const logPids: number[] = [];
  const snapshot = async () => {
    statuses.push(normalize((await realSv('status', dir)).stdout.split(dir).join('SVC')));
    logPids.push(status('log')!.pid);
  };

  await waitSupervised(dir);
  await waitSupervised(path.join(dir, 'log'));
  await waitFor('the log running', () => status('log')?.pid);
  await snapshot();
  await realSv('up', dir);
  await running(0, 1);
  await snapshot();
  const first = status()!.pid;
  await realSv('hup', dir);
  await waitFor('control/h', () => read(path.join(root, 'control-log')).includes('h '));
  await realSv('term', dir);
  await finishes(1);
  await running(first, 2);
  const second = status()!.pid;
  await realSv('kill', dir);
  await finishes(2);
  await running(second, 3);
  await realSv('down', dir);
  await finishes(3);
  await waitFor('down', () => status()?.state === 'down');
  await snapshot();
  writeFileSync(path.join(dir, 'exit-with'), '3');
  await realSv('once', dir);
  await finishes(4);
  await waitFor('down again', () => status()?.state === 'down' && status()!.pid === 0);
  await snapshot();
  await realSv('exit', dir);
  await waitFor('the supervisor to leave', () => supervisor.exited());
  statuses.push((await realSv('status', dir)).stdout.split(dir).join('SVC'));
  await waitFor('the log to drain', () => read(path.join(root, 'log.txt')).includes('finish 3 0'));
  return {
    statuses,
    finishArgs: read(path.join(root, 'finish-args')),
    controlLog: read(path.join(root, 'control-log')).replace(/\d+/g, 'N'),
    logPids,
    logText: read(path.join(root, 'log.txt')).replace(/\d{2,}/g, 'N'),
  };
}

t.test('finish, down, log/ and control/ behave under nile as under runsv', async (t) => {
  const [runsv, nile] = await Promise.all([drive(t, 'runsv', tempDir(t, 'cmp-runsv')), drive(t, 'service', tempDir(t, 'cmp-nile'))]);

  t.same(runsv.statuses, [
    'down: SVC: Ns; run: log: (pid N) Ns\n',
    'run: SVC: (pid N) Ns, normally down; run: log: (pid N) Ns\n',
    'down: SVC: Ns; run: log: (pid N) Ns\n',
    'down: SVC: Ns; run: log: (pid N) Ns\n',
    'fail: SVC: runsv not running\n',
  ]);
  t.equal(runsv.finishArgs, '-1 15\n-1 9\n-1 15\n3 0\n', 'runsv: exit code or -1, then the signal');
  t.equal(runsv.controlLog, 'u \nh \nu \nu \nd \nu \n', 'runsv: control/u before each run, control/h took the HUP, control/d after TERM');
  t.equal(new Set(runsv.logPids).size, 1, 'runsv: one log process throughout');

  t.same(nile.statuses, runsv.statuses, 'sv shows the same');
  t.equal(nile.finishArgs, runsv.finishArgs, 'finish gets the same arguments');
  // Debian's runsv (2.1.2) gives control scripts no argument; current runit, and nile, the pid.
  t.equal(nile.controlLog, 'u \nh N\nu \nu \nd N\nu \n', 'control scripts run at the same moments, with the pid');
  t.equal(new Set(nile.logPids).size, 1, 'one log process throughout: the pipe outlives the restarts');
  t.equal(nile.logText, runsv.logText, 'the log got the same lines');
});
