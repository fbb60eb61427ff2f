import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { deploymentContainer, deploymentPod, exampleNileConfig, makeEmptyDir, processUserOf, startContainer, type Container } from './runc.js';
import { waitFor } from '../helpers/wait.js';

// The example image in a Pod Security "restricted" pod (image/k8s/deployment-restricted.yaml) under
// runc with exactly its settings: uid 10001, no capabilities, no new privileges, the RuntimeDefault
// seccomp filter, a read-only root, runDir and /tmp on emptyDirs made as the kubelet makes them
// (root's, 2777, group-owned by the fsGroup). Then the root Deployment with an emptyDir at runDir.

const manifest = 'deployment-restricted.yaml';

function scenario(): Record<string, any> {
  const nile = exampleNileConfig();
  delete nile.registry; // registration is the hostNetwork scenario's
  nile.probe.interval = '300ms';
  nile.prestop.drain = { url: nile.prestop.drain.url, timeout: '5s', interval: '300ms' };
  return nile;
}

/** The pod's emptyDir for runDir, on the host: it outlives the container, as the kubelet's does. */
function runVolume(t: Test, fsGroup?: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-oci-volume-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return makeEmptyDir(path.join(dir, 'run'), fsGroup);
}

async function waitReady(t: Test, c: Container): Promise<string> {
  let last = '';
  try {
    return await waitFor('nile probe: ready', async () => {
      const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
      last = `${probe.code} ${probe.stdout.trim()}`;
      return probe.code === 0 && probe.stdout.trim();
    }, 60_000, { everyMs: 300 });
  } catch {
    t.fail(`never ready: ${last}`);
    return last;
  }
}

t.test('a restricted pod: nile as uid 10001 with no privileges, runDir on its emptyDir', async (t) => {
  const pod = deploymentPod(manifest);
  const user = processUserOf(pod, deploymentContainer(manifest));
  t.same(user, { uid: 10001, gid: 10001, additionalGids: [10001] }, 'the manifest runs the container as 10001, fsGroup 10001');
  const volume = runVolume(t, pod.securityContext?.fsGroup);
  const c = await startContainer(t, { name: 'restricted', nile: scenario(), manifest, volumes: { '/run/nile': volume } });
  const pid1 = c.state().pid;

  const status = readFileSync(`/proc/${pid1}/status`, 'utf8');
  t.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m, 'PID 1 runs as uid 10001');
  t.match(status, /^CapEff:\s+0+$/m, 'with no capabilities');
  t.match(status, /^CapBnd:\s+0+$/m, 'none to gain either');
  t.match(status, /^NoNewPrivs:\s+1$/m, 'no new privileges');
  t.match(status, /^Seccomp:\s+2$/m, 'under the RuntimeDefault seccomp filter');
  const write = await c.exec(['sh', '-c', 'touch /opt/nile/x']);
  t.not(write.code, 0, `the root is read-only: ${write.stderr.trim()}`);

  t.match(await waitReady(t, c), /^ready \(http 200 \/healthcheck/, 'the app starts and the probe says ready');
  const java = c.processes().find((p) => p.comm === 'java');
  t.match(readFileSync(`/proc/${java?.pid}/status`, 'utf8'), /^Uid:\s+10001\s/m, 'the JVM runs as the same user');

  const own = statSync(path.join(volume, 'private'));
  t.equal(own.uid, 10001, "runDir/private on the volume is nile's");
  t.equal(own.mode & 0o7777, 0o700, 'and 0700');
  t.ok(statSync(path.join(volume, 'private', 'control.sock')).isSocket(), 'the control socket is in it');
  t.equal(statSync(volume).mode & 0o7777, 0o2777, 'the volume, root\'s, keeps its mode');

  const text = await c.exec(['nile', 'status'], { timeoutMs: 20_000 });
  t.equal(text.code, 0, 'nile status answers');
  t.match(text.stdout, /^ready .*\napp: ready \(pid \d+\)/, text.stdout);
  t.notOk(c.logs().some((l) => /sshd/.test(l.msg)), 'sshd is off, as the manifest says: nothing tried');

  const { exited, hook, killed } = await c.deletePod(pod.terminationGracePeriodSeconds);
  t.equal(hook?.code, 0, `nile prestop: ${hook?.stdout.trim()}`);
  t.match(hook?.stdout, /^prestop: out of traffic/, 'out of traffic, through the agent');
  t.equal(killed, false, 'TERM ends the container within the grace period');
  t.equal(exited.code, 143, "with the JVM's status: ended by TERM");
});

t.test('a restricted pod: a start timeout keeps its scene on the volume, and the doctor reads it', async (t) => {
  const pod = deploymentPod(manifest);
  const volume = runVolume(t, pod.securityContext?.fsGroup);
  const nile = scenario();
  nile.app.args = [...nile.app.args, '--never-ready'];
  nile.app.startTimeout = '4s';
  const c = await startContainer(t, { name: 'restricted-timeout', nile, manifest, volumes: { '/run/nile': volume } });
  await c.waitLog("the doctor's look at the failure", (l) => l.msg.startsWith('doctor: '), 60_000);
  const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.match(probe.stdout, /^not ready: startup failed: not ready within 4(\.0)?s \(thread dump taken, app left running\)/, probe.stdout.trim());
  const dump = statSync(path.join(volume, 'private', 'thread-dump.txt'));
  t.same([dump.uid, dump.mode & 0o777], [10001, 0o600], 'the thread dump is on the volume, 0600, nile\'s');
  t.ok(dump.size > 1000, `and whole (${dump.size} bytes)`);
  t.ok(statSync(path.join(volume, 'private', 'last-failure.json')).isFile(), 'so is the failure report');
  const doctor = await c.exec(['nile', 'doctor'], { timeoutMs: 60_000 });
  t.equal(doctor.code, 1, 'nile doctor: the app failed');
  t.match(doctor.stdout, /the start timed out/, 'and says how');
});

t.test('the root Deployment with an emptyDir at runDir: root\'s 0777 volume, made sticky, runDir/private in it', async (t) => {
  const volume = runVolume(t);
  const nile = scenario();
  nile.sshd.enabled = false;
  const c = await startContainer(t, { name: 'root-volume', nile, emptyDirs: ['/run/nile'], volumes: { '/run/nile': volume } });
  t.match(await waitReady(t, c), /^ready/, 'the app starts and the probe says ready');
  const own = statSync(path.join(volume, 'private'));
  t.same([own.uid, own.mode & 0o7777], [0, 0o700], "runDir/private is root's, 0700");
  t.equal(statSync(volume).mode & 0o7777, 0o1777, 'the volume nile owns is made sticky');
  const status = await c.exec(['nile', 'status'], { timeoutMs: 20_000 });
  t.equal(status.code, 0, 'nile status answers');
  const { hook, killed } = await c.deletePod(deploymentPod().terminationGracePeriodSeconds);
  t.match(hook?.stdout, /^prestop: out of traffic/, 'nile prestop, through the agent');
  t.equal(killed, false, 'TERM ends the container within the grace period');
});
