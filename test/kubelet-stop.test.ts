import t from 'tap';
import { startPod } from './helpers/kubelet.js';
import { fixtureCommand } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

// Deletes that do not go to plan: a JVM that ignores TERM, and a preStop that outlives the grace period.

const web = (port: number, appArgs: string[], extra: { app?: object; prestop?: object } = {}) => ({
  project: 'stop',
  type: 'web',
  app: { command: fixtureCommand('--port', String(port), ...appArgs), ...extra.app },
  probe: { http: { port }, interval: '200ms' },
  prestop: extra.prestop ?? { wait: '300ms' },
});

t.test('a JVM that ignores TERM gets KILL from nile after app.stopTimeout, inside the grace period', async (t) => {
  const port = await freePort();
  const pod = await startPod(t, {
    door: 'front',
    name: 'slow-jvm',
    nile: web(port, ['--print-signals', '--on-term', 'ignore'], { app: { stopTimeout: '2s' } }),
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 10 },
    terminationGracePeriodSeconds: 15,
  });
  await pod.waitReady(true, 30_000);
  const exited = await pod.deletePod();
  const at = (type: string) => pod.events.find((e) => e.type === type)!;

  t.ok(pod.lines.some((l) => l.source === 'app' && l.text === 'ignoring TERM'), 'the JVM got TERM and ignored it');
  t.equal(exited.code, 137, 'the container exits 137: the JVM was killed by KILL');
  t.match(pod.nile.logs.find((l) => l.msg === 'nile exiting with the app status'), { code: 137 }, 'nile says so');
  const stopping = pod.nile.logs.find((l) => l.msg === 'app stopping')!;
  const stopped = pod.nile.logs.find((l) => l.msg === 'app stopped')!;
  // A floor set by nile's own timer: a loaded machine makes it later, never sooner.
  t.ok(stopped.time - stopping.time >= 2000, `nile waited app.stopTimeout before KILL (${stopped.time - stopping.time}ms)`);
  t.same(pod.eventsOf('KILL'), [], 'the kubelet did not need its KILL: all within the grace period');
  t.equal(exited.signal, null, 'PID 1 ended by itself, not by a signal');
  t.comment(`Killing → exited: ${exited.at - at('Killing').at}ms of the 15 s grace period`);
  t.equal(at('PreStopFinished').code, 0, 'the hook returned 0 first');
  t.ok(at('PreStopFinished').at <= at('TERM').at, 'TERM came after the hook');
});

t.test('a preStop that outlives the grace period: abandoned at the end of it; TERM cuts the drain short and the JVM stops inside the 2 s', async (t) => {
  const port = await freePort();
  const grace = 3;
  const pod = await startPod(t, {
    door: 'front',
    name: 'overrun',
    // The drain url never answers 200; the drain would last a minute.
    nile: web(port, ['--print-signals', '--drain-after', '999999999'], { prestop: { drain: { url: `http://127.0.0.1:${port}/drain`, timeout: '60s', interval: '200ms' } } }),
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 10 },
    terminationGracePeriodSeconds: grace,
  });
  await pod.waitReady(true, 30_000);
  const exited = await pod.deletePod();
  const at = (type: string) => pod.events.find((e) => e.type === type);
  const started = at('PreStopStarted')!;
  const abandoned = at('PreStopNotCompleted');
  const term = at('TERM');

  t.ok(abandoned, 'the kubelet gave up on the hook');
  const waited = abandoned!.at - started.at;
  t.ok(waited >= grace * 1000, `after the grace period (${waited}ms)`);
  const index = (type: string) => pod.events.findIndex((e) => e.type === type);
  t.ok(term && index('TERM') === index('PreStopNotCompleted') + 1, 'TERM to PID 1 at once: the next thing the kubelet did');
  t.ok(!at('PreStopFinished') || index('PreStopFinished') > index('TERM'), 'without waiting for the hook, still running then');
  t.equal(term?.gracePeriod, 2, 'with the 2 s minimum left: the hook used the whole grace period');
  // TERM cuts the drain short: the JVM still gets its TERM inside the 2 s, and no KILL is needed.
  t.notOk(at('KILL'), 'the container stopped by itself before the KILL');
  t.ok(pod.lines.some((l) => l.text === 'signal TERM'), 'nile stopped the JVM with TERM inside the 2 s');
  t.equal(exited.code, 143, "the container exits with the JVM's status: within the 2 s left, no KILL came");
  t.comment(`TERM → exited: ${exited.at - term!.at}ms of the 2 s left`);
  t.ok(pod.nile.logs.some((l) => l.msg.startsWith('prestop: TERM came while still draining')), 'nile says it cut the drain short');
});
