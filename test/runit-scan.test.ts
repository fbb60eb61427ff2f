// nile's runsvdir: new directories are picked up, removed ones stopped, a supervisor that left is
// started again; stop() TERMs everything and KILLs what ignores it.
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { startServices } from '../src/runit/scan.js';
import { decodeStatus } from '../src/runit/status.js';
import { realSv, supervise, tempDir, waitSupervised } from './helpers/runit.js';
import { waitFor } from './helpers/wait.js';

function makeService(dir: string, script: string, logScript?: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run'), `#!/bin/sh\n${script}\n`);
  chmodSync(path.join(dir, 'run'), 0o755);
  if (logScript) makeService(path.join(dir, 'log'), logScript);
  return dir;
}

function pidOf(dir: string): number {
  try {
    return decodeStatus(readFileSync(path.join(dir, 'supervise', 'status')))?.pid ?? 0;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function notSupervised(dir: string): Promise<boolean> {
  return (await realSv('status', dir)).stdout.includes('runsv not running');
}

t.test('the services directory is watched like runsvdir watches it', async (t) => {
  const root = tempDir(t, 'scan');
  const services = path.join(root, 'service');
  mkdirSync(services);
  const a = makeService(path.join(root, 'sv', 'a'), 'exec sleep 600');
  const b = makeService(path.join(root, 'sv', 'b'), 'exec sleep 600');
  const hidden = makeService(path.join(services, '.hidden'), 'exec sleep 600');
  writeFileSync(path.join(services, 'README'), 'not a service');
  symlinkSync(a, path.join(services, 'a'));

  const agent = supervise(t, 'services', services);
  await waitSupervised(a);
  await waitFor('a running', () => pidOf(a));
  t.match((await realSv('status', path.join(services, 'a'))).stdout, /^run: .*\/service\/a: \(pid \d+\)/);

  symlinkSync(b, path.join(services, 'b'));
  await waitSupervised(b);
  await waitFor('b running', () => pidOf(b));
  t.notOk(existsSync(path.join(hidden, 'supervise')), 'dot entries are skipped');

  const aPid = pidOf(a);
  unlinkSync(path.join(services, 'a'));
  await waitFor('a stopped once its directory is gone', async () => !alive(aPid) && (await notSupervised(a)));

  const bPid = pidOf(b);
  t.equal((await realSv('exit', b)).code, 0);
  await waitFor('b back under a new supervisor', async () => !alive(bPid) && pidOf(b) !== bPid && pidOf(b) !== 0 && !(await notSupervised(b)));

  const last = pidOf(b);
  await agent.stop();
  t.notOk(alive(last), 'stopping the agent stopped b');
});

t.test('list() shows each service and log; stop() KILLs what ignores TERM', async (t) => {
  const dir = tempDir(t, 'list');
  makeService(path.join(dir, 'plain'), 'exec sleep 600', 'exec cat > /dev/null');
  makeService(path.join(dir, 'stubborn'), "trap '' TERM\nexec sleep 600");
  const began = Date.now();
  const said: Array<{ msg: string; service?: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void said.push(JSON.parse(line)) });
  const handle = startServices({ dir, log, scanMs: 200, stopTimeoutMs: 500 });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : handle.stop()));

  const list = await waitFor('three running', () => {
    const now = handle.list();
    return now.length === 3 && now.every((s) => s.state === 'run' && s.pid > 0) ? now : null;
  });
  t.same(
    list.map((s) => s.name),
    ['plain', 'plain/log', 'stubborn'],
  );
  for (const s of list) t.match(s, { want: 'up', paused: false, gotTerm: false });
  t.ok(list.every((s) => s.since >= began - 1000 && s.since <= Date.now()), 'since is the start');

  await handle.stop();
  stopped = true;
  const killed = said.filter((l) => l.msg === 'service did not stop in time; killing it').map((l) => l.service);
  t.ok(killed.includes('stubborn'), `stop() waited for the timeout, then KILLed what ignored TERM (${killed.join(', ')})`);
  t.notOk(said.some((l) => l.msg.startsWith('service still not down after KILL')), 'and ended with the KILL, not the wait after it');
  for (const s of list) t.notOk(alive(s.pid), `${s.name} is gone`);
});
