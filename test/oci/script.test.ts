import t from 'tap';
import { deploymentRunDir, exampleNileConfig, startContainer } from './runc.js';

// The example app started as many teams start theirs: `sh start.sh` whose body runs java as a child
// (Debian's sh is dash), under runc. A start timeout dumps the JVM behind the shell and keeps both;
// the kubelet's TERM reaches the JVM at once, its shutdown hook runs, and the container exits with
// the script's status well inside the grace period.

t.test('a start script without exec: whole thread dump, shell and JVM kept; TERM runs the shutdown hook', async (t) => {
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  const java = ['java', ...nile.app.javaOpts, '-jar', nile.app.jar, ...nile.app.args, '--never-ready', '--on-term', 'shutdown:143', '--hook-ms', '300'];
  nile.app = { command: ['sh', '/app/start.sh'], startTimeout: '4s', stopTimeout: '30s' };
  nile.probe.interval = '300ms';
  const script = ['echo "start.sh: starting java"', java.join(' '), 'echo "start.sh: java ended"', ''].join('\n');
  const c = await startContainer(t, { name: 'script', nile, files: { '/app/start.sh': { content: script, mode: 0o755 } } });

  await c.waitLog("the doctor's look at the failure", (l) => l.msg.startsWith('doctor: '), 60_000);
  const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.match(probe.stdout, /^not ready: startup failed: not ready within 4(\.0)?s \(thread dump taken, app left running\); .*main is blocked on a lock/, probe.stdout.trim());
  const dump = await c.exec(['cat', `${deploymentRunDir}/thread-dump.txt`], { timeoutMs: 10_000 });
  t.match(dump.stdout, /Full thread dump[^]*"main".*\n\s+java.lang.Thread.State: BLOCKED[^]*\nHeap\n/, 'the dump is whole, to its heap summary');
  const processes = c.processes();
  const shell = processes.find((p) => p.comm === 'sh');
  t.ok(shell && shell.state !== 'Z', 'the shell is kept');
  t.ok(processes.some((p) => p.comm === 'java' && p.ppid === shell?.pid && p.state !== 'Z'), 'the JVM is kept, its child');
  const status = await c.exec(['nile', 'status'], { timeoutMs: 20_000 });
  t.match(status.stdout, /app: failed \(pid \d+, JVM pid \d+\)/, 'nile status names the JVM');
  const doctor = await c.exec(['nile', 'doctor'], { timeoutMs: 60_000 });
  t.match(doctor.stdout, /the start script runs java as a child .*`exec java …`/, 'nile doctor says to exec java');

  const { exited, killed } = await c.deletePod(30);
  t.ok(c.lines.some((l) => l.text === 'fixture shutdown hook ran'), "the JVM's shutdown hook ran");
  t.equal(killed, false, 'no KILL from the runtime');
  t.equal(exited.code, 143, "the container exits with the script's status (the shell died of TERM)");
  t.same(c.processes(), [], 'nothing of the container is left');
});
