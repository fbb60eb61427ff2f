import t from 'tap';
import { readFileSync } from 'node:fs';
import { threadDumpMaxBytes } from '../../src/app/thread-dump.js';
import { deploymentRunDir, exampleNileConfig, startContainer } from './runc.js';

// A start that fails keeps the container running with the scene, under the real runtime: after a
// start timeout the JVM is still there for nile status and nile doctor; the kubelet's KILL ends a
// JVM that ignores TERM once the grace period is over. An app over the container's memory limit
// is killed by the kernel, and nile doctor inside reads it from the container's cgroup.

t.test('a start timeout: the container keeps running with the JVM, status and doctor explain; KILL after the grace period', async (t) => {
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  nile.app.args = [...nile.app.args, '--never-ready', '--on-term', 'ignore', '--print-signals'];
  nile.app.startTimeout = '4s';
  nile.app.stopTimeout = '30s';
  nile.probe.interval = '300ms';
  const c = await startContainer(t, { name: 'timeout', nile });

  // nile takes a thread dump, then its doctor looks at the failure: the scene is complete then.
  await c.waitLog("the doctor's look at the failure", (l) => l.msg.startsWith('doctor: '), 60_000);
  const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.equal(probe.code, 1, 'nile probe: not ready');
  t.match(probe.stdout, /^not ready: startup failed: not ready within 4(\.0)?s \(thread dump taken, app left running\).*\(nile status has the report\)\n$/, `one line saying why: ${probe.stdout.trim()}`);

  const java = c.processes().find((p) => p.comm === 'java');
  t.ok(java, 'the JVM is still there');
  t.equal(java?.ppid, c.agentPid(), "as the agent's child");
  t.equal(c.state().status, 'running', 'runc state: the container still runs');

  const status = await c.exec(['nile', 'status'], { timeoutMs: 20_000 });
  t.equal(status.code, 0, 'nile status answers');
  t.match(status.stdout, /last failure at .*: startup failed: not ready within 4(\.0)?s/, 'with the failure report');
  const doctor = await c.exec(['nile', 'doctor'], { timeoutMs: 60_000 });
  t.match(doctor.stdout, /the start timed out: the probe got http 503 \/healthcheck .*; main is blocked on a lock/, 'nile doctor names the start timeout and where main waits');
  t.match(doctor.stdout, /"main" BLOCKED .* held by "config-loader"/, 'with the thread dump as evidence');

  // The pod is deleted: the JVM ignores TERM, nile waits app.stopTimeout (30s); the kubelet's grace
  // period ends first (once the JVM has ignored the TERM and nile waits for it to stop), and its KILL
  // to PID 1 takes the whole container down.
  const { exited, killed, termAt } = await c.deletePod(async () => {
    await c.waitLine('the JVM ignoring the TERM nile passed on', (text) => text === 'ignoring TERM', 30_000);
    await c.waitLog('nile waiting for the app to stop', (l) => l.msg === 'app stopping', 30_000);
  });
  t.ok(c.lines.some((l) => l.text === 'signal TERM' && l.at >= termAt), 'the JVM got its stop signal from nile');
  t.equal(killed, true, 'the runtime sent KILL at the end of the grace period');
  t.equal(exited.code, 137, 'the container exits 137 (KILL)');
  t.equal(c.state().status, 'stopped', 'runc state: stopped');
  t.same(c.processes(), [], 'nothing of the container is left');
});

t.test("an app over the container's memory limit: OOM-killed by the kernel, and nile doctor says so from the cgroup", async (t) => {
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  // The JVM touches its whole 512 MiB heap at start, in a container limited to 192 MiB.
  nile.app.javaOpts = ['-Xms512m', '-Xmx512m', '-XX:+AlwaysPreTouch', '-XX:+UseSerialGC'];
  const c = await startContainer(t, { name: 'oom', nile, memoryLimit: '192Mi' });

  const agent = await c.waitFor('the agent behind the front door', () => c.agentPid(), 60_000);
  const failed = await c.waitLog('the startup failure', (l) => l.msg.startsWith('startup failed'), 60_000);
  t.match(failed.msg, /app was killed by signal KILL/, `nile saw the JVM killed: ${failed.msg}`);
  await c.waitLog("the doctor's look at the failure", (l) => l.msg.startsWith('doctor: '), 60_000);
  t.equal(c.state().status, 'running', 'the container keeps running');
  const doctor = await c.exec(['nile', 'doctor'], { timeoutMs: 60_000 });
  t.match(doctor.stdout, /the kernel's OOM killer killed the app: its cgroup reached its limit of 192 MiB/, 'nile doctor: OOM-killed at the limit');
  t.match(doctor.stdout, /\/sys\/fs\/cgroup\/memory\S*\/memory\.oom_control: oom_kill 0 → 1/, 'with the cgroup v1 evidence from inside the container');
  const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.match(probe.stdout, /^not ready: startup failed: app was killed by signal KILL .*; the kernel's OOM killer killed the app/, `nile probe: ${probe.stdout.trim()}`);
  t.ok(c.processes().some((p) => p.pid === agent), 'nile itself was not the one killed');
});

t.test('a flood after the thread dump: the kept dump is bounded and redacted, the doctor reads it, PID 1 stays small', async (t) => {
  const secret = 's3cr3t-oci-flood-8282';
  const floodMiB = 600; // more than the longest string V8 makes, and most of the container's memory limit
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  nile.app.javaOpts = [...nile.app.javaOpts, `-Dflood.secret=${secret}`];
  nile.app.args = [...nile.app.args, '--never-ready', '--flood-after-quit', String(floodMiB)];
  nile.app.startTimeout = '4s';
  nile.probe.interval = '300ms';
  const c = await startContainer(t, { name: 'flood', nile, dropStdout: true });
  const agent = await c.waitFor('the agent behind the front door', () => c.agentPid(), 60_000); // PID 1 is the front door; the memory is the agent's

  await c.waitLog("the doctor's look at the failure", (l) => l.msg.startsWith('doctor: '), 120_000);
  t.equal(c.state().status, 'running', 'the container still runs');
  const size = await c.exec(['stat', '-c', '%s', `${deploymentRunDir}/thread-dump.txt`], { timeoutMs: 20_000 });
  t.ok(Number(size.stdout) > 0 && Number(size.stdout) <= threadDumpMaxBytes + 4096, `thread-dump.txt is ${size.stdout.trim()} bytes, within ${threadDumpMaxBytes}`);
  const found = await c.exec(['grep', '-c', secret, `${deploymentRunDir}/thread-dump.txt`], { timeoutMs: 20_000 });
  t.equal(found.stdout.trim(), '0', 'no secret in thread-dump.txt');
  const named = await c.exec(['grep', '-c', '"holder of \\*\\*\\*"', `${deploymentRunDir}/thread-dump.txt`], { timeoutMs: 20_000 });
  t.equal(named.stdout.trim(), '1', "the dump's thread named after the secret, blanked");
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${agent}/status`, 'utf8'))?.[1]) * 1024;
  t.comment(`the agent's peak RSS ${(hwm / 2 ** 20).toFixed(1)} MiB after a ${floodMiB} MiB flood`);
  t.ok(hwm < 256 * 2 ** 20, `the agent's peak RSS (${(hwm / 2 ** 20).toFixed(1)} MiB) stays under 256 MiB`);
  const doctor = await c.exec(['nile', 'doctor'], { timeoutMs: 60_000 });
  t.match(doctor.stdout, /the start timed out: .*main is blocked on a lock/, 'nile doctor reads the kept dump');
  t.notOk(doctor.stdout.includes(secret), 'and shows no secret');
});
