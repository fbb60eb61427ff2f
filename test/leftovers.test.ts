import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Nile } from './helpers/nile.js';
import { statOf } from './helpers/proc.js';
import { settlesWithin } from './helpers/wait.js';

// A daemon the app starts with setsid outlives the app; nile stops it before the app starts again
// (the stop signal, then KILL after app.stopTimeout) and leaves its own services alone.

const alive = (pid: number) => {
  const stat = statOf(pid);
  return stat !== null && stat.state !== 'Z';
};

t.test('what the app left behind is stopped before its next start; the services beside it are not', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-leftovers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const marks = path.join(dir, 'marks');
  mkdirSync(marks);
  // First run: two setsid daemons (one stops on TERM, one ignores it), then a crash after a nile.
  const app = path.join(dir, 'app.sh');
  writeFileSync(
    app,
    `#!/bin/sh
if [ -e ${marks}/second ]; then exec sleep 600; fi
touch ${marks}/second
setsid sh -c 'trap "echo term > ${marks}/polite-got; exit 0" TERM; echo $$ > ${marks}/polite.pid; while :; do sleep 0.05; done' &
setsid sh -c 'trap "" TERM; echo $$ > ${marks}/stubborn.pid; while :; do sleep 0.05; done' &
sleep 1
exit 1
`,
  );
  chmodSync(app, 0o755);
  const service = path.join(dir, 'service', 'bystander');
  mkdirSync(service, { recursive: true });
  writeFileSync(path.join(service, 'run'), `#!/bin/sh\necho $$ > ${marks}/bystander.pid\nexec sleep 600\n`, { mode: 0o755 });

  const nile = new Nile({ door: 'node', pid1: false, config: { project: 'leftovers', type: 'worker', app: { command: [app], stopTimeout: '1s' }, probe: { interval: '100ms' }, services: path.join(dir, 'service') } });
  t.teardown(async () => {
    // Not in a PID namespace of its own: what runs under it ends only with a graceful stop.
    nile.proc.kill('SIGTERM');
    await settlesWithin(nile.exited, 10_000);
    await nile.stop();
  });
  await nile.waitFor('the daemons', () => existsSync(`${marks}/polite.pid`) && existsSync(`${marks}/stubborn.pid`) && existsSync(`${marks}/bystander.pid`), 20_000);
  const pid = (name: string) => Number(readFileSync(`${marks}/${name}.pid`, 'utf8'));
  const [polite, stubborn, bystander] = [pid('polite'), pid('stubborn'), pid('bystander')];
  t.ok(alive(polite) && alive(stubborn), 'the daemons run beside the app');

  await nile.waitFor('the second start', () => nile.logs.filter((l) => l.msg === 'app started').length >= 2, 20_000);
  const restarted = nile.logs.filter((l) => l.msg === 'app started')[1];
  t.notOk(alive(polite), 'the daemon that stops on TERM is gone by the next start');
  t.notOk(alive(stubborn), 'the daemon that ignores TERM is gone by the next start');
  t.equal(existsSync(`${marks}/polite-got`) && readFileSync(`${marks}/polite-got`, 'utf8').trim(), 'term', 'it got the stop signal first');
  const killed = nile.logs.find((l) => l.msg === 'killing processes the app left behind');
  const stopping = nile.logs.find((l) => l.msg === 'stopping processes the app left behind');
  t.ok(stopping && killed, 'nile said what it did');
  if (stopping && killed) t.ok(killed.time - stopping.time >= 900, `KILL came after app.stopTimeout (${killed.time - stopping.time}ms)`);
  t.ok(killed && killed.time <= restarted.time, 'before the next start');
  t.ok(alive(bystander), "nile's own service is left alone");
});
