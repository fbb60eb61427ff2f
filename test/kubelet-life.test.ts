import t from 'tap';
import { nileLines, startPod } from './helpers/kubelet.js';
import { fixtureCommand } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

// A pod's whole life under the kubelet: not ready, ready, deleted, out of traffic, stopped.
t.test('not ready → ready → preStop drains → TERM → the JVM status is the container exit code', async (t) => {
  const port = await freePort();
  const app = `http://127.0.0.1:${port}`;
  // /drain answers 503 until the test sends the JVM HUP, once it has seen the drain under way.
  const pod = await startPod(t, {
    door: 'front',
    name: 'life',
    nile: {
      project: 'life',
      type: 'web',
      app: { command: fixtureCommand('--port', String(port), '--ready-after', '1500', '--drain-on', 'HUP', '--print-signals', '--on-term', 'exit:143'), stopTimeout: '5s' },
      probe: { http: { port }, interval: '200ms' },
      prestop: { offline: { url: `${app}/offline`, timeout: '2s' }, drain: { url: `${app}/drain`, timeout: '15s', interval: '200ms' } },
    },
    // A generous timeout: on a loaded machine a probe's node start alone can take seconds.
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 10, failureThreshold: 1 },
    terminationGracePeriodSeconds: 30,
  });

  const first = await pod.waitEvent('a first probe', (e) => e.type === 'Probe', 15_000);
  t.equal(first.ok, false, 'the first probe fails: the JVM is starting');
  t.match(first.output, /^not ready: (starting|no agent answering)/, 'and says why (before the agent listens, nile probe asks the app itself)');
  t.equal(pod.ready, false, 'the pod is not Ready before a probe passed');
  const ready = await pod.waitReady(true, 30_000);
  t.ok(pod.events.some((e) => e.type === 'Probe' && e.at < ready.at && /^not ready: starting for \d/.test(e.output ?? '')), 'the agent answered "starting" while the JVM started');
  const passed = pod.events.find((e) => e.type === 'Probe' && e.ok);
  t.match(passed?.output, /^ready \(http 200 \/healthcheck/, 'the passing probe says why');

  const deleted = Date.now();
  const exit = pod.deletePod();

  const draining = await pod.nile.waitLog((l) => l.msg.startsWith('prestop: draining'), 'prestop: draining', 10_000);
  await pod.waitLine('nile asking /drain, the app not drained yet', (l) => l.source === 'app' && l.text === 'fixture drain answered 503', 10_000);
  const during = await pod.execInPod(['nile', 'probe'], 10_000);
  t.equal(during.code, 1, 'during the drain nile probe exits 1');
  t.equal(during.stdout, 'not ready: draining\n', 'and says it is draining');
  t.notOk(pod.nile.logs.some((l) => l.msg === 'prestop: drained'), 'the drain waits for the drain url');
  process.kill(pod.nile.appHostPid()!, 'SIGHUP');
  const drained = await pod.nile.waitLog((l) => l.msg === 'prestop: drained', 'prestop: drained', 10_000);

  const exited = await exit;
  t.equal(exited.code, 143, "the container exits with the JVM's status");
  t.same(pod.eventsOf('KILL'), [], 'stopped within the grace period: the kubelet never had to KILL');
  t.comment(`delete → exited: ${exited.at - deleted}ms of the 30 s grace period`);

  const at = (type: string) => pod.events.find((e) => e.type === type)!;
  const appLine = (text: string) => pod.lines.find((l) => l.source === 'app' && l.text.startsWith(text));
  const offline = appLine('fixture offline called');
  const jvmTerm = appLine('signal TERM');
  const log = (msg: string) => pod.nile.logs.find((l) => l.msg.startsWith(msg));
  t.equal(offline?.text, 'fixture offline called POST', 'the offline url was called with POST');
  t.ok(jvmTerm, 'the JVM got TERM');
  t.match(log('prestop: offline called'), { detail: 'prestop 200' }, 'nile saw the offline call (prestop.offline, named prestop) answered');
  t.match(drained, { detail: 'drain url answered 200' }, 'the drain ended on the 200 of the drain url');

  // Each step is caused by the one before: compare a cause's time with the effect's arrival.
  const order: Array<[string, number]> = [
    ['Killing', at('Killing').at],
    ['PreStop started', at('PreStopStarted').at],
    ['nile: prestop: draining', draining.time],
    ['app: fixture offline called', offline!.at],
    ['nile: prestop: drained', drained.time],
    ['PreStop finished', at('PreStopFinished').at],
    ['TERM to PID 1', at('TERM').at],
    ['nile: stop requested', log('stop requested')!.time],
    ['nile: app stopping', log('app stopping')!.time],
    ['app: signal TERM', jvmTerm!.at],
    ['container exited', exited.at],
  ];
  for (let i = 1; i < order.length; i++) t.ok(order[i - 1][1] <= order[i][1], `${order[i - 1][0]} before ${order[i][0]}`);
  t.ok(log('app stopped')!.time >= log('app stopping')!.time, 'app stopped after app stopping');
  const appLines = pod.lines.filter((l) => l.source === 'app').map((l) => l.text);
  const steps = ['fixture offline called POST', 'fixture drain answered 503', 'signal HUP', 'fixture drain answered 200'].map((text) => appLines.indexOf(text));
  t.ok(steps.every((i, n) => i >= 0 && (n === 0 || i > steps[n - 1])), `the app saw the offline call, the drain refused, the test's HUP, then the drain done (lines ${steps.join(' < ')})`);
  t.equal(at('PreStopFinished').code, 0, 'the hook exits 0');
  t.match(at('PreStopFinished').output, /prestop: out of traffic/, 'and says what it did');

  t.equal(nileLines(pod, 'prestop: draining').length, 1, 'drained once although TERM followed the hook');
  const notReady = pod.events.find((e) => e.type === 'Ready' && e.ready === false && e.at >= deleted);
  t.ok(notReady, 'the pod turned not Ready during the drain');
  t.ok(pod.events.some((e) => e.type === 'Probe' && e.output === 'not ready: draining'), "the kubelet's probes saw the drain");
  t.ok(ready.at < deleted, 'it was Ready before the delete');
});
