import t from 'tap';
import { startPod } from './helpers/kubelet.js';
import { fixtureCommand } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

// A JVM that dies before it was ever ready: the pod stays up with the scene kept, never Ready, and
// every probe result in the pod's events says why.
t.test('a failed start keeps the pod up, never Ready, with the reason in the probe output', async (t) => {
  const port = await freePort();
  const pod = await startPod(t, {
    door: 'front',
    name: 'failed-start',
    nile: {
      project: 'failed-start',
      type: 'web',
      app: { command: fixtureCommand('--port', String(port), '--exit-after', '300', '--ready-after', '5000'), startTimeout: '60s' },
      probe: { http: { port }, interval: '200ms' },
      prestop: { wait: '200ms' },
    },
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 10 },
    terminationGracePeriodSeconds: 10,
  });
  const reason = /^not ready: startup failed: app exited with status 1 after \d+\.\ds .*\(nile status has the report\)$/;
  const failed = await pod.waitEvent('a probe that gives the reason', (e) => e.type === 'Probe' && reason.test(e.output ?? ''), 20_000);
  // A restart would come at most runit's second after the start: probe past it, twice since the failure.
  const started = pod.nile.logs.find((l) => l.msg === 'app started')!;
  const probesSince = () => pod.events.filter((e) => e.type === 'Probe' && e.at > failed.at);
  await pod.waitFor('two probes since the failure, past the time a restart would come', () => probesSince().length >= 2 && probesSince().at(-1)!.at >= started.time + 1000, 20_000);
  const after = probesSince();
  t.ok(after.length >= 2, `the kubelet kept probing (${after.length} probes)`);
  t.ok(after.every((e) => !e.ok && reason.test(e.output ?? '')), 'every probe since fails with the reason');
  t.same(pod.eventsOf('Ready'), [], 'the pod was never Ready');
  t.ok(pod.isRunning(), 'the container is still running: the scene is kept');
  t.equal(pod.nile.logs.filter((l) => l.msg === 'app started').length, 1, 'the JVM was started once');

  const status = await pod.execInPod(['nile', 'status'], 10_000);
  t.equal(status.code, 0, 'nile status answers');
  t.match(status.stdout, /last failure at .*: startup failed: app exited with status 1/, 'with the failure report');
  t.match(status.stdout, /fixture exiting by itself with 1/, "and the app's last output");

  const exited = await pod.deletePod();
  t.same(pod.eventsOf('KILL'), [], 'the delete needs no KILL');
  t.match(pod.events.find((e) => e.type === 'PreStopFinished'), { code: 0 }, 'the hook returns 0');
  t.ok(pod.nile.logs.some((l) => l.msg.startsWith('prestop: drained (the app never became ready')), 'with no traffic to wait for');
  t.equal(exited.code, 1, "the container exits with the failed JVM's status");
});
