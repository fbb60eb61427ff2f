import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { freePort } from './helpers/ports.js';
import { FIXTURE_JAR, fixtureCommand, JAVA, Nile } from './helpers/nile.js';
import { alive } from './helpers/proc.js';

const web = (port: number, command: string[], extra: Record<string, unknown> = {}) => ({
  project: 'lifecycle',
  type: 'web',
  app: { command, startTimeout: '60s', ...extra },
  probe: { http: { port }, interval: '200ms' },
  prestop: { wait: '100ms' },
});

t.test('an app that serves /healthcheck becomes ready', async (t) => {
  const port = await freePort();
  const nile = new Nile({ door: 'node', config: web(port, fixtureCommand('--port', String(port), '--ready-after', '500')) });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  const probe = await nile.exec(['probe']);
  t.equal(probe.code, 0, 'nile probe exits 0');
  t.match(probe.stdout, /^ready \(http 200 \/healthcheck in \d+ms\)\n$/, 'one line that says why');
  const status = JSON.parse((await nile.exec(['status', '--json'])).stdout);
  t.equal(status.app.phase, 'ready');
  t.equal(status.pid, 1, 'the agent is PID 1 in its namespace');
  t.ok(nile.stdout.some((l) => l.includes('fixture ready after')), "the app's stdout reaches the container's stdout unchanged");
});

t.test('an app that exits during start is failed, not restarted, and PID 1 stays up', async (t) => {
  const port = await freePort();
  const nile = new Nile({ door: 'node', config: web(port, fixtureCommand('--port', String(port), '--ready-after', '60000', '--exit-after', '300')) });
  t.teardown(() => nile.stop());
  const failed = await nile.waitLog((l) => l.msg.startsWith('startup failed'), 'the failure logged', 30_000);
  const started = nile.logs.find((l) => l.msg === 'app started')!;
  const probe = await nile.probeAfter(started.time, 1000);
  t.equal(nile.proc.exitCode, null, 'nile is still running past the time a restart would come');
  t.equal(nile.logs.filter((l) => l.msg === 'app started').length, 1, 'the JVM was started once only');
  t.ok(failed, 'failed');
  t.equal(probe.code, 1, 'nile probe exits 1');
  t.match(probe.stdout, /^not ready: startup failed: app exited with status 1 after \d+\.\ds \(nile status has the report\)\n$/);
  const report = JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8'));
  t.equal(report.kind, 'exited');
  t.same(report.exit, { code: 1, signal: null });
  t.ok(report.lastOutput.some((l: string) => l.includes('fixture exiting by itself with 1')), "the report holds the app's last output");
  const status = await nile.exec(['status']);
  t.match(status.stdout, /last failure at .*: startup failed: app exited with status 1/, 'nile status shows the report');
});

t.test('a jar that does not exist is a startup failure with its report; nile stays up', async (t) => {
  const nile = new Nile({ door: 'node', config: { project: 'nojar', app: { jar: '/nonexistent/app.jar', javaOpts: JAVA.slice(1) }, probe: { interval: '200ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg.startsWith('startup failed'), 'the failure logged', 30_000);
  const report = JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8'));
  t.match(report.reason, /startup failed: app exited with status 1/);
  t.ok(report.lastOutput.some((l: string) => l.includes('Unable to access jarfile /nonexistent/app.jar')), 'the JVM said why');
  t.match(report.command, ['java', '-XX:+HeapDumpOnOutOfMemoryError'], 'the generated JVM command');
  const started = nile.logs.find((l) => l.msg === 'app started')!;
  t.equal((await nile.probeAfter(started.time, 1000)).code, 1, 'not ready past the time a restart would come');
  t.equal(nile.proc.exitCode, null, 'nile stays up');
  t.equal(nile.logs.filter((l) => l.msg === 'app started').length, 1, 'the JVM was started once only');
});

t.test('a command that cannot be spawned is a startup failure too', async (t) => {
  const nile = new Nile({ door: 'node', config: { project: 'nocmd', type: 'worker', app: { command: ['/no/such/binary'] } } });
  t.teardown(() => nile.stop());
  await nile.waitPhase('failed', 10_000);
  const probe = await nile.exec(['probe']);
  t.match(probe.stdout, /not ready: startup failed: cannot start app: \/no\/such\/binary does not exist \(nile status has the report\)/);
  t.equal(nile.proc.exitCode, null);
});

t.test('never healthy: failed at startTimeout, thread dump in the report, JVM left running', async (t) => {
  const port = await freePort();
  const nile = new Nile({ door: 'node', config: web(port, fixtureCommand('--port', String(port), '--never-ready'), { startTimeout: '3s' }) });
  t.teardown(() => nile.stop());
  const started = await nile.waitLog((l) => l.msg === 'app started', 'app started');
  const failed = await nile.waitPhase('failed', 30_000);
  t.ok(failed.time - started.time >= 3000, `failed ${failed.time - started.time} ms after start (startTimeout 3s)`);
  const report = await nile.waitThreadDump(10_000);
  t.equal(report.kind, 'timeout');
  const dump = readFileSync(report.threadDumpFile, 'utf8');
  t.match(dump, /Full thread dump/);
  t.match(dump, /"main".*\n\s+java.lang.Thread.State: BLOCKED/, 'the dump shows main blocked');
  const jvm = nile.appHostPid();
  t.ok(jvm && alive(jvm), 'the JVM is still running');
  const probe = await nile.probeAfter(failed.time, 1000);
  t.ok(jvm && alive(jvm), 'and stays running');
  t.match(probe.stdout, /not ready: startup failed: not ready within 3\.0s \(thread dump taken, app left running\); the start timed out: the probe got http 503 \/healthcheck .*; main is blocked on a lock in App\.blockOnLock/);

  // The kept JVM is then KILLed (the OOM killer, an operator): the scene says it is gone, and how.
  process.kill(jvm!, 'SIGKILL');
  await nile.waitLog((l) => /killed by signal KILL/.test(l.msg), 'the end of the kept JVM logged', 10_000);
  const status = (await nile.exec(['status'])).stdout;
  t.notMatch(status, /left running/, 'no longer said to be running');
  t.match(status, /^not ready: startup failed: not ready within 3\.0s \(thread dump taken\); then the app was killed by signal KILL after \d/, status);
  t.notMatch(status, /^\s+probe: /m, 'no probe line of a JVM that is gone');
  const kept = JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8'));
  t.match(kept, { kind: 'timeout', exit: { code: null, signal: 'KILL' }, threadDumpFile: report.threadDumpFile }, 'the report says how it ended and keeps its thread dump');
});

t.test('app.user, app.workdir and app.env are honoured', async (t) => {
  const nile = new Nile({
    door: 'node',
    config: {
      project: 'env',
      type: 'worker',
      app: { command: ['sh', '-c', 'echo "uid=$(id -u) gid=$(id -g) cwd=$(pwd) greeting=$GREETING home=$HOME"; exec sleep 60'], user: 'nobody', workdir: '/tmp', env: { GREETING: 'hello world' } },
    },
  });
  t.teardown(() => nile.stop());
  const line = await nile.waitFor('the app printed its identity', () => nile.stdout.find((l) => l.startsWith('uid=')), 10_000);
  t.equal(line, 'uid=65534 gid=65534 cwd=/tmp greeting=hello world home=/nonexistent');
});

t.test('with app.user the JVM writes its heap dump where that user may write', async (t) => {
  // runDir in a folder the app's user can reach, as /run/nile is: the test's own folder is private.
  const runDir = `/run/nile-test-heap-${process.pid}`;
  const nile = new Nile({ door: 'node', config: { project: 'heap', type: 'worker', runDir, app: { jar: FIXTURE_JAR, javaOpts: [...JAVA.slice(1), '-Xmx16m'], args: ['--fill-heap'], user: 'nobody' } } });
  t.teardown(async () => {
    await nile.stop();
    for (const dir of [runDir, `${runDir}-heapdumps`]) rmSync(dir, { recursive: true, force: true });
  });
  const said = await nile.waitFor('the JVM on its heap dump', () => nile.stdout.find((l) => /^Heap dump file created|^Unable to create/.test(l)), 30_000);
  t.match(said, /^Heap dump file created/, nile.stdout.slice(0, 4).join(' | '));
  const file = /^Dumping heap to (\S+) \.\.\./.exec(nile.stdout.find((l) => l.startsWith('Dumping heap to ')) ?? '')?.[1];
  t.ok(file && statSync(file).size > 0, `the dump is there: ${file}`);
  t.equal(file && statSync(file).uid, 65534, "written as the app's user");
  t.equal(statSync(path.dirname(file!)).mode & 0o777, 0o700, 'in a folder only that user (and root) may read');
});
