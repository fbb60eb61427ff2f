import { chmodSync, closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createLog } from '../src/log.js';
import { decodeStatus, encodeStatus, pidLine, statLine } from '../src/runit/status.js';
import type { ControlLetter } from '../src/runit/letters.js';
import { SuperviseDir } from '../src/runit/supervise.js';
import { realSv, run, supervise, tempDir, waitSupervised } from './helpers/runit.js';
import { waitFor } from './helpers/wait.js';

const log = createLog('silent');

function service(root: string, name: string, script: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'run'), `#!/bin/sh\n${script}\n`);
  chmodSync(path.join(dir, 'run'), 0o755);
  return dir;
}

function files(dir: string) {
  const read = (name: string) => readFileSync(path.join(dir, 'supervise', name));
  return { status: read('status'), stat: read('stat').toString(), pid: read('pid').toString() };
}

// runsv writes stat, then status: waiting on status means both are written.
function current(dir: string) {
  return decodeStatus(files(dir).status)!;
}

t.test('status, stat and pid: our encoding is the bytes runsv writes', async (t) => {
  const root = tempDir(t, 'supervise');
  // TERM is ignored (and stays ignored across exec), so "got TERM" and "want down" stay visible.
  const dir = service(root, 'stubborn', "trap '' TERM\nexec sleep 600");
  const before = Date.now();
  supervise(t, 'runsv', dir);
  await waitSupervised(dir);
  await waitFor('a pid from runsv', () => files(dir).pid !== '');
  // Only once sleep runs has the shell set TERM aside.
  await waitFor('sleep running', () => readFileSync(`/proc/${files(dir).pid.trim()}/comm`, 'utf8') === 'sleep\n');

  const check = async (expected: string) => {
    const { status, stat, pid } = files(dir);
    const decoded = decodeStatus(status)!;
    t.equal(stat, expected, `runsv's stat: ${expected.trim()}`);
    t.equal(statLine(decoded), stat, 'our stat line from the decoded status matches');
    t.equal(pidLine(decoded.pid), pid, 'our pid line matches');
    const encoded = encodeStatus(decoded);
    t.same([encoded.subarray(0, 8), encoded.subarray(12)], [status.subarray(0, 8), status.subarray(12)], 'same bytes but the nanoseconds');
    return decoded;
  };

  const up = await check('run\n');
  t.match(up, { state: 'run', want: 'up', paused: false, gotTerm: false });
  t.ok(up.since >= before - 1000 && up.since <= Date.now(), 'since is the start time');
  t.ok(up.pid > 0);

  t.equal((await realSv('down', dir)).code, 0);
  await waitFor('got TERM', () => current(dir).gotTerm);
  t.match(await check('run, got TERM, want down\n'), { want: 'down', gotTerm: true });

  await realSv('pause', dir);
  await waitFor('paused', () => current(dir).paused);
  t.match(await check('run, paused, got TERM, want down\n'), { paused: true });

  await realSv('kill', dir);
  await waitFor('down', () => current(dir).state === 'down');
  // runsv clears only "got TERM" when the process ends; the paused flag stays.
  t.match(await check('down, paused\n'), { pid: 0, state: 'down', want: 'down', paused: true });
  await realSv('exit', dir);
});

t.test('decodeStatus refuses what is not 20 bytes', async (t) => {
  t.equal(decodeStatus(Buffer.alloc(19)), null);
  const since = 1_700_000_000_123;
  t.same(decodeStatus(encodeStatus({ pid: 70000, state: 'finish', want: 'up', paused: true, gotTerm: false, since })), {
    pid: 70000,
    state: 'finish',
    want: 'up',
    paused: true,
    gotTerm: false,
    since,
  });
});

t.test('the lock keeps runsv out of a directory nile supervises, and the other way round', async (t) => {
  const root = tempDir(t, 'lock');
  const ours = service(root, 'ours', 'exec sleep 600');
  const supervised = await SuperviseDir.open(ours, log);
  t.teardown(() => supervised.close());
  const runsv = await run('runsv', [ours]);
  t.equal(runsv.code, 111, 'runsv gives up');
  t.match(runsv.stderr, /unable to lock supervise\/lock/);

  const theirs = service(root, 'theirs', 'exec sleep 600');
  supervise(t, 'runsv', theirs);
  await waitSupervised(theirs);
  await t.rejects(SuperviseDir.open(theirs, log), /held/);
  await realSv('exit', theirs);
});

t.test('control letters arrive in order, unknown bytes are dropped; sv reads what we write', async (t) => {
  const dir = service(tempDir(t, 'control'), 'svc', 'exit 0');
  const supervised = await SuperviseDir.open(dir, log, { pid: 0, state: 'down', want: 'up', paused: false, gotTerm: false, since: Date.now() });
  t.teardown(() => supervised.close());
  const letters: ControlLetter[] = [];
  supervised.onControl((letter) => letters.push(letter));

  const fd = openSync(path.join(dir, 'supervise', 'control'), constants.O_WRONLY | constants.O_NONBLOCK);
  writeSync(fd, 'u?xz d1');
  closeSync(fd);
  await waitFor('letters', () => letters.length === 4);
  t.same(letters, ['u', 'x', 'd', '1']);

  const status = await realSv('status', dir);
  t.match(status.stdout, new RegExp(`^down: ${dir}: [01]s, normally up, want up\\n$`));
  supervised.write({ pid: 4242, state: 'run', want: 'down', paused: false, gotTerm: true, since: Date.now() - 5000 });
  t.match((await realSv('status', dir)).stdout, new RegExp(`^run: ${dir}: \\(pid 4242\\) [56]s, want down, got TERM\\n$`));
  t.equal(readFileSync(path.join(dir, 'supervise', 'pid'), 'utf8'), '4242\n');

  t.equal((await realSv('hup', dir)).code, 0);
  await waitFor('h from sv', () => letters.at(-1) === 'h');

  await supervised.close();
  const gone = await realSv('status', dir);
  t.equal(gone.stdout, `fail: ${dir}: runsv not running\n`);
  t.equal(gone.code, 1);
});
