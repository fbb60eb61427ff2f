import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { builtImage, bytesOf, capabilitiesOf, deploymentContainer, deploymentPod, exampleNileConfig, startContainer } from './runc.js';
import { sleep } from '../helpers/wait.js';

// The example image as a pod's container under runc: nile is PID 1, the JVM runs as app.user,
// the exec probe answers not ready then ready, a probe killed on its timeout leaves no zombie,
// an ssh login sees the app, and a delete runs preStop, TERM, and ends with the JVM's status.

const image = builtImage();
const keys = mkdtempSync(path.join(os.tmpdir(), 'nile-oci-ssh-'));
t.teardown(() => rmSync(keys, { recursive: true, force: true }));
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'oci-test', '-f', path.join(keys, 'id')]);

const nile = exampleNileConfig();
delete nile.registry; // registration is the hostNetwork scenario's
nile.app.user = 'nobody';
// The test moves the JVM on: it becomes ready on USR1, and /drain answers 200 only after HUP, so
// prestop waits on the drain until the test has seen the delete's in-between state.
nile.app.args = [...nile.app.args, '--ready-on', 'USR1', '--drain-on', 'HUP', '--print-signals'];
nile.probe.interval = '300ms';
nile.prestop.drain.interval = '300ms';

const c = await startContainer(t, {
  name: 'life',
  nile,
  files: {
    [nile.sshd.authorizedKeysFile ?? '/etc/nile/authorized_keys']: { content: readFileSync(path.join(keys, 'id.pub'), 'utf8'), mode: 0o600 },
    // Preloaded into one `nile probe` to say how much memory it took at its peak.
    '/opt/test/maxrss.cjs': { content: "process.on('exit', () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`));\n" },
  },
});
const pid1 = c.state().pid;
const agent = await c.waitFor('the agent', () => c.agentPid(), 20_000);

t.test('nile is PID 1, on the Node and with the addon the image was built with', async (t) => {
  const cmdline = await c.exec(['cat', '/proc/1/cmdline', '/proc/1/comm']);
  // The image's ENTRYPOINT is the native front door: PID 1, the init over the Node agent.
  t.equal(cmdline.stdout, 'nile\0nile\n', 'PID 1 is the front door, named nile');
  const title = await c.waitFor("the agent's title", () => /^nile: \w+\n$/.exec(readFileSync(`/proc/${agent}/comm`, 'utf8'))?.[0], 20_000);
  t.pass(`the agent, its child, shows as nile with the app state, not as MainThread (${title.trim()})`);
  const threads = readdirSync(`/proc/${agent}/task`).map((tid) => readFileSync(`/proc/${agent}/task/${tid}/comm`, 'utf8').trim());
  t.notOk(threads.includes('SignalInspector'), `Node 24 runs the agent with --disable-sigusr1: no SIGUSR1 inspector thread (${[...new Set(threads)].join(', ')})`);
  const version = await c.exec(['node', '--version']);
  t.equal(version.stdout.trim(), image.node, `node in the image is ${image.node}`);
  t.match(image.node, /^v24\./, 'the image ships Node 24 LTS');
  const maps = readFileSync(`/proc/${agent}/maps`, 'utf8');
  t.match(maps, /\/opt\/nile\/build\/Release\/nile_native\.node/, "the agent loaded the image's own native addon");
  const status = readFileSync(`/proc/${pid1}/status`, 'utf8');
  t.match(status, /^NSpid:\s+\d+\s+1$/m, 'and is pid 1 in its own PID namespace');
  t.match(status, /^NoNewPrivs:\s+1$/m, 'allowPrivilegeEscalation: false holds');
  t.match(status, /^Seccomp:\s+2$/m, 'under the RuntimeDefault seccomp filter');
  const capEff = BigInt(`0x${/^CapEff:\s+(\w+)$/m.exec(status)![1]}`);
  t.equal(capEff.toString(2).replace(/0/g, '').length, capabilitiesOf(deploymentContainer().securityContext).length, "with the Deployment's capabilities only");
});

t.test('the exec probe answers not ready, then ready, with the one-line reasons', async (t) => {
  const answers: string[] = [];
  let released = false;
  for (let i = 0; i < 120; i++) {
    const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
    answers.push(`${probe.code} ${probe.stdout.trim()}`);
    if (probe.code === 0) break;
    // The JVM answers 503 (its signal handlers are in): now it may become ready.
    if (!released && /^not ready: starting for .*\(http 503 /.test(probe.stdout)) {
      c.signalJava('SIGUSR1');
      released = true;
    }
    await sleep(300);
  }
  t.match(answers[0], /^1 not ready: (starting|no agent answering)/, `the first probe fails while the JVM starts: ${answers[0]}`);
  t.ok(answers.some((a) => /^1 not ready: starting for \d/.test(a)), `the agent answered "starting" (${answers.slice(0, -1).join(' | ')})`);
  t.match(answers[answers.length - 1], /^0 ready \(http 200 \/healthcheck/, 'then ready, saying why');
  const told = c.lines.findIndex((l) => l.text === 'signal USR1');
  t.ok(told >= 0 && told < c.lines.findIndex((l) => l.text.startsWith('fixture ready after')), 'ready only once the JVM was told to be');
});

t.test('the JVM runs as app.user', async (t) => {
  const java = await c.waitFor('the JVM', () => c.processes().find((p) => p.comm === 'java'), 10_000);
  t.equal(java.ppid, agent, "the JVM is the agent's child");
  const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${java.pid}/status`, 'utf8'))![1];
  t.equal(uid, '65534', 'as nobody (uid 65534), not root');
  const whoami = await c.exec(['sh', '-c', 'for p in /proc/[0-9]*; do grep -q "[a]pp.jar" $p/cmdline 2>/dev/null && stat -c %U $p; done']);
  t.equal(whoami.stdout.trim(), 'nobody', 'seen from inside the container too');
});

t.test('an ssh login with a key into the container sees the app', async (t) => {
  const ssh = (command: string) =>
    spawnSync('nsenter', ['-t', String(pid1), '-n', 'ssh', '-i', path.join(keys, 'id'), '-p', String(nile.sshd.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', command], { encoding: 'utf8', timeout: 30_000 });
  const login = await c.waitFor('sshd to take a login', () => {
    const out = ssh('hostname; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done | grep -c "[a]pp.jar"; nile status');
    return out.status === 0 && out;
  }, 20_000);
  const [hostname, jvms, ...status] = login.stdout.split('\n');
  t.equal(hostname, 'life', "the login is in the container's namespaces");
  t.equal(jvms, '1', 'it sees the JVM running app.jar');
  t.match(status.join('\n'), /^\s*app: ready \(pid \d+\)/m, 'and nile status says the app runs');
  const services = [...status.join('\n').matchAll(/^([\w/.-]+): /gm)].map((m) => m[1]).filter((name) => name !== 'memory' && name !== 'traffic');
  t.same(services, ['app', 'sshd'], "nile runs the app and sshd, and no runit service the image's packages enabled");
});

t.test('a probe killed on its timeout leaves no zombie in the container', async (t) => {
  // nile frozen (a starved CPU): `nile probe` waits for the agent past the probe's timeout. The
  // shell's `sleep` outlives the killed probe and is re-parented to PID 1.
  const freeze = (signal: 'SIGSTOP' | 'SIGCONT') => [pid1, agent].forEach((pid) => process.kill(pid, signal));
  freeze('SIGSTOP');
  t.teardown(() => freeze('SIGCONT'));
  const probe = await c.exec(['sh', '-c', 'sleep 1 >/dev/null 2>&1 & exec nile probe'], { timeoutMs: 600 });
  t.ok(probe.timedOut, `the probe timed out and was killed (${probe.ms} ms, runc exec exit ${probe.code})`);
  const zombie = await c.waitFor('the orphaned sleep, a zombie under the frozen nile', () => c.zombies().find((p) => p.ppid === pid1), 5000);
  t.equal(zombie.comm, 'sleep', 'while nile is frozen the check sees the zombie');
  freeze('SIGCONT');
  await c.waitFor('no zombie', () => c.zombies().length === 0 || null, 5000).catch(() => undefined);
  t.same(c.zombies(), [], 'nile reaped it once it ran again');
  const left = await c.waitFor('only nile and its services', () => {
    const others = c.processes().filter((p) => p.pid !== pid1 && p.pid !== agent && !(p.ppid === agent && ['java', 'sshd'].includes(p.comm)));
    return others.length === 0 ? others : false;
  }, 5000).catch(() => c.processes().filter((p) => p.pid !== pid1 && p.pid !== agent && p.ppid !== agent));
  t.same(left, [], 'no probe process left either');
  const after = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.equal(after.code, 0, 'nile answers ready again');
});

t.test("the Deployment's memory limit fits the heap, the agent, a probe and the JVM's own", async (t) => {
  const limit = bytesOf(deploymentContainer().resources.limits.memory);
  // The heap the JVM sizes from this container's limit, with the image's javaOpts.
  const flags = await c.exec(['java', ...nile.app.javaOpts, '-XX:+PrintFlagsFinal', '-version'], { timeoutMs: 60_000 });
  const heap = Number(/\bMaxHeapSize\s+=\s+(\d+)/.exec(flags.stdout)?.[1]);
  // nile is the front door (PID 1) and the agent.
  const rss = [pid1, agent].reduce((sum, pid) => sum + Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024, 0);
  // The exec'd probe (and the preStop hook) run in the container's cgroup: their memory counts too.
  const probe = await c.exec(['node', '-r', '/opt/test/maxrss.cjs', '/usr/local/bin/nile', 'probe'], { timeoutMs: 10_000 });
  const probeRss = Number(/maxrss (\d+)/.exec(probe.stderr)?.[1]) * 1024;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const left = limit - heap - rss - probeRss;
  t.comment(`measured: agent RSS in the container ${mib(rss)}, a probe's peak ${mib(probeRss)} (Node ${image.node}); heap ${mib(heap)} of a ${mib(limit)} limit`);
  t.ok(heap > 0 && probeRss > 0, `the JVM's heap in this container: ${mib(heap)}; a probe's peak RSS: ${mib(probeRss)}`);
  t.ok(left >= 128 * 2 ** 20, `limit ${mib(limit)} − heap ${mib(heap)} − agent ${mib(rss)} − probe ${mib(probeRss)} leaves ${mib(left)} (≥ 128 MiB) for the JVM's metaspace, code cache and threads`);
});

t.test('delete: preStop drains, then TERM; the JVM gets its stop signal after the drain; nile exits with its status', async (t) => {
  const grace = deploymentPod().terminationGracePeriodSeconds;
  const deleted = Date.now();
  const deleting = c.deletePod(grace);
  const at = (text: string) => c.lines.findIndex((l) => l.text.startsWith(text) || l.log?.msg.startsWith(text));
  await c.waitLog('prestop: draining', (l) => l.msg.startsWith('prestop: draining'), 20_000);
  await c.waitLine('nile asking /drain and the app not drained yet', (text) => text === 'fixture drain answered 503', 20_000);
  const during = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.same([during.code, during.stdout], [1, 'not ready: draining\n'], 'during the drain the readiness probe says so');
  t.equal(at('prestop: drained'), -1, 'nile still waits for the drain');
  t.equal(at('signal TERM'), -1, 'and the JVM has no TERM yet');
  const released = c.lines.length;
  c.signalJava('SIGHUP');
  const { exited, hook, killed, termAt } = await deleting;
  t.equal(hook?.code, 0, `nile prestop exits 0: ${hook?.stdout.trim()}`);
  t.match(hook?.stdout, /out of traffic/, 'and says what it did');
  const drained = c.logs().find((l) => l.msg.startsWith('prestop: drained'));
  t.equal(drained?.detail, 'drain url answered 200', 'nile waited for the drain');
  // The app's lines, in the order it printed them; nile's log comes through another pipe, so its drained line is
  // placed only after the release (its detail above says it saw the 200).
  const order = ['fixture offline called', 'fixture drain answered 503', 'signal HUP', 'fixture drain answered 200'].map(at);
  t.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])), `the offline call, the drain refused, the test's HUP, then the drain done, in that order (lines ${order.join(' < ')})`);
  t.ok(order[2] >= released && at('prestop: drained') > released, 'the drain ended after the test let it');
  t.ok(c.lines.find((l) => l.text.startsWith('signal TERM'))!.at >= termAt, 'the JVM got TERM only after the hook returned and the runtime sent TERM');
  t.equal(killed, false, 'the runtime never had to KILL: all within the grace period');
  t.equal(exited.code, 143, "the container's status is the JVM's (143)");
  t.comment(`delete → exited: ${exited.at - deleted} ms of the ${grace} s grace period`);
  t.equal(c.state().status, 'stopped', 'runc state: stopped');
});
