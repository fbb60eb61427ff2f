import t, { type Test } from 'tap';
import { startPod, type Kubelet } from './helpers/kubelet.js';
import { fixtureCommand } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

// Exec probes that time out: the kubelet kills the probe process; whatever it started is orphaned
// into the pod and PID 1 must reap it. A frozen agent (SIGSTOP, as a starved CPU would) makes the
// probes time out: `nile probe` waits 800 ms for the agent, the probe's timeout is shorter.

const timeoutSeconds = 0.6;

async function podWithApp(t: Test, name: string, exec?: string[]): Promise<{ pod: Kubelet; jvm: number }> {
  const port = await freePort();
  const pod = await startPod(t, {
    door: 'front',
    name,
    nile: { project: name, type: 'web', app: { command: fixtureCommand('--port', String(port)) }, probe: { http: { port }, interval: '200ms' }, prestop: { wait: '100ms' } },
    readinessProbe: { ...(exec ? { exec } : {}), periodSeconds: 0.4, timeoutSeconds, failureThreshold: 2 },
  });
  t.teardown(() => thaw(pod));
  // The agent's own verdict: the kubelet's may lag on a loaded machine, where node starts slowly.
  await pod.nile.waitPhase('ready', 30_000);
  const jvm = await pod.waitFor('the JVM', () => pod.podProcesses().find((p) => p.comm === 'java')?.pid, 5000);
  return { pod, jvm };
}

// nile is the front door (PID 1, which reaps the exec probes' orphans) and the agent under it.
const nilePids = (pod: Kubelet) => [pod.hostPid(), pod.nile.agentHostPid()];
const freeze = (pod: Kubelet) => nilePids(pod).forEach((pid) => process.kill(pid, 'SIGSTOP'));
function thaw(pod: Kubelet): void {
  for (const pid of nilePids(pod)) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone already
    }
  }
}

/** With the prober stopped and every exec ended, the pod holds nile and the JVM, nothing else. */
async function onlyNileAndJvm(t: Test, pod: Kubelet, jvm: number): Promise<void> {
  await pod.stopProbing();
  const left = await pod.waitFor('only nile and the JVM in the pod', () => {
    const others = pod.podProcesses().filter((p) => !nilePids(pod).includes(p.pid) && p.pid !== jvm);
    return others.length === 0 ? [] : false;
  }, 5000).catch(() => pod.podProcesses().filter((p) => !nilePids(pod).includes(p.pid) && p.pid !== jvm));
  t.same(left, [], 'no probe process and no zombie left in the pod');
}

t.test('probes that time out are killed and leave no process and no zombie in the pod', async (t) => {
  const { pod, jvm } = await podWithApp(t, 'probe-timeout');
  const frozenAt = Date.now();
  freeze(pod);
  const timedOut = await pod.waitFor('two timed-out probes', () => {
    const found = pod.events.filter((e) => e.type === 'Probe' && e.timedOut && e.at >= frozenAt);
    return found.length >= 2 && found;
  }, 20_000);
  t.ok(timedOut.every((e) => e.timedOut), 'each was killed at its timeout, not answered');
  t.comment(`the timed-out probes ended after ${timedOut.map((e) => e.ms).join(', ')} ms (timeout ${timeoutSeconds} s)`);
  t.match(timedOut[0].output, /^command "nile probe" timed out$/, 'the kubelet says it timed out');
  await pod.waitFor('the pod not Ready', () => !pod.ready, 20_000);
  t.pass('timeouts count as failures: the pod is not Ready');
  thaw(pod);
  const after = await pod.execInPod(['nile', 'probe'], 20_000);
  t.equal(after.code, 0, 'the agent answers ready again once it runs');
  t.equal(pod.nile.proc.exitCode, null, 'nile survived the clients that hung up on it');
  // The exec'd probes' ends reach nile as they are killed: reaped as soon as it runs, which under load is not at once.
  const zombies = await pod.waitFor('no zombie in the pod', () => (pod.zombies().length === 0 ? [] : false), 10_000).catch(() => pod.zombies());
  t.same(zombies, [], 'no zombie in the pod');
  await onlyNileAndJvm(t, pod, jvm);
});

t.test("a shell-wrapped probe's orphans are re-parented to nile and reaped, even after a timeout", async (t) => {
  // `sleep 1 &` outlives the probe (killed at its timeout, or done before): it becomes PID 1's child.
  // Its output goes elsewhere: the runtime's exec waits for the probe's stdout to close, as containerd does.
  const { pod, jvm } = await podWithApp(t, 'probe-orphans', ['sh', '-c', 'sleep 1 >/dev/null 2>&1 & exec nile probe']);
  const nile = pod.hostPid();
  await pod.waitFor('an orphaned sleep under nile', () => pod.podProcesses().some((p) => p.comm === 'sleep' && p.ppid === nile), 20_000);
  t.pass("the probe's sleep was re-parented to nile");
  const frozenAt = Date.now();
  freeze(pod);
  await pod.waitFor('a timed-out probe', () => pod.events.some((e) => e.type === 'Probe' && e.timedOut && e.at >= frozenAt), 20_000);
  // While nile is frozen it cannot reap: the orphans that end stay zombies. This is what the check sees.
  const zombies = await pod.waitFor('zombies under the frozen nile', () => {
    const found = pod.zombies().filter((p) => p.ppid === nile);
    return found.length > 0 && found;
  }, 10_000);
  t.ok(zombies.length > 0, `${zombies.length} zombie(s) wait for the frozen nile: the check can see them`);
  thaw(pod);
  await pod.waitFor('every zombie reaped', () => pod.zombies().length === 0, 5000).catch(() => {});
  t.same(pod.zombies(), [], 'nile reaped them once it ran again');
  await onlyNileAndJvm(t, pod, jvm);
});
