import t from 'tap';
import { startSwitchablePod } from './helpers/switchable-pod.js';
import { measured } from './helpers/upsync.js';
import { zookeeperMissing } from './helpers/zookeeper.js';
import { ROOT, UPSTREAM, watchdogMs } from './helpers/zookeeper-pod.js';

// A pod whose ZooKeeper is never reached (a name that does not resolve): never Ready, and the probe, nile status and
// nile doctor say why; TERM does not wait to deregister what was never registered.

// Short: what is checked comes after the watchdog gives the first session up.
const SESSION_MS = 2000;
const WATCHDOG_MS = watchdogMs(SESSION_MS);

// Failed before: once the watchdog had given up on the first session, the probe said "ZooKeeper session was replaced"
// though no session ever existed; nile doctor said "nothing found (app ready)", exit 0, for a pod that is not Ready;
// TERM waited 3 s to deregister a node that was never registered.
t.test('a ZooKeeper never reached (an unresolvable name): probe, status and doctor say so, TERM does not wait for it', { skip: zookeeperMissing() }, async (t) => {
  const zookeeper = { connect: 'zk-0.zk.nile-test.invalid:2181', root: ROOT, sessionTimeout: `${SESSION_MS}ms` };
  // No prestop wait: nothing is registered for nginx to let go of.
  const { pod } = await startSwitchablePod(t, 'zk-never', { upstream: UPSTREAM, zookeeper }, { prestopWait: '0s' });
  await pod.nile.waitPhase('ready', 30_000);
  const gaveUp = await pod.nile.waitLog((l) => / trying a new session$/.test(l.msg), 'the watchdog to give up on the first session', WATCHDOG_MS + 5000);
  t.match(gaveUp.msg, /^no ZooKeeper server of zk-0\.zk\.nile-test\.invalid:2181 answered/, `the log says no server answered: ${gaveUp.msg}`);
  await pod.waitEvent('probes after the new session', (e) => e.type === 'Probe', 10_000, gaveUp.time + 2000);
  const probes = pod.eventsOf('Probe').map((e) => e.output ?? '');
  t.notOk(probes.some((line) => /session was replaced/.test(line)), 'no probe speaks of a session that never was');
  t.notOk(pod.eventsOf('Probe').some((e) => e.ok), 'no probe passed: never Ready');
  t.match(probes[probes.length - 1], /^not ready: registering \(zookeeper: no ZooKeeper server of zk-0\.zk\.nile-test\.invalid:2181 answered/, 'the probe says why');

  const status = await pod.execInPod(['nile', 'status'], 10_000);
  t.match(status.stdout, /^not ready: registering/, 'nile status starts with the verdict');
  t.match(status.stdout, /^registry zookeeper: unreachable \(last error: no ZooKeeper server/m, 'and its registry line says unreachable');
  const doctor = await pod.execInPod(['nile', 'doctor'], 30_000);
  t.equal(doctor.code, 1, 'nile doctor exits 1 for a pod that is not Ready');
  t.match(doctor.stdout, /the pod is not Ready: registering \(zookeeper/, `and says why: ${doctor.stdout}`);
  t.match(doctor.stdout, /zookeeper does not answer: the instance is not registered, so the pod is not Ready \[registry-unreachable\]/, 'with the registry finding');

  const termAt = Date.now();
  const exited = await pod.deletePod();
  t.equal(exited.code, 143, 'the app ended by TERM');
  const deregistered = await pod.nile.waitLog((l) => l.msg === 'prestop: deregistered', 'the deregistration step', 1000);
  t.notMatch(String(deregistered.detail), /not confirmed/, `nothing was registered, so nothing to wait for: ${deregistered.detail} in ${deregistered.ms} ms`);
  measured(t, 'pod deleted → exited (prestop wait included), registry never reached', exited.at - termAt);
  const term = pod.eventsOf('TERM')[0];
  if (term) measured(t, 'TERM to PID 1 → exited, registry never reached', exited.at - term.at);
});
