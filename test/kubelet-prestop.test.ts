import t, { type Test } from 'tap';
import { nileLines, startPod, type Kubelet } from './helpers/kubelet.js';
import { serveHttp } from './helpers/ports.js';

// The preStop hook as the kubelet delivers it: at least once, maybe twice, and bounded by its budget.
// The app is a plain worker (ready while running); the offline and drain urls are served here.

interface Gateway {
  url: string;
  offlineCalls: number;
  drainAt: number; // /drain answers 200 from then on
}

/** The offline and drain endpoints; `hang` makes them accept and never answer. */
async function gateway(t: Test, hang = false): Promise<Gateway> {
  const gw: Gateway = { url: '', offlineCalls: 0, drainAt: Infinity };
  gw.url = await serveHttp(t, (req, res) => {
    if (hang) return;
    if (req.url === '/offline') gw.offlineCalls++;
    res.statusCode = req.url === '/drain' && Date.now() < gw.drainAt ? 503 : 200;
    res.end();
  });
  return gw;
}

async function workerPod(t: Test, name: string, prestop: object): Promise<Kubelet> {
  const pod = await startPod(t, {
    door: 'front',
    name,
    nile: { project: name, type: 'worker', app: { command: ['sleep', '600'] }, probe: { interval: '200ms' }, prestop },
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 10 },
  });
  await pod.waitReady(true, 15_000);
  return pod;
}

const hook = (pod: Kubelet) => pod.execInPod(['nile', 'prestop'], 60_000);

t.test('the hook delivered twice at once, then again: all return once drained, and the drain runs once', async (t) => {
  const gw = await gateway(t);
  const pod = await workerPod(t, 'prestop-twice', { offline: { url: `${gw.url}/offline`, timeout: '2s' }, drain: { url: `${gw.url}/drain`, timeout: '10s', interval: '100ms' } });
  gw.drainAt = Date.now() + 1500;
  const [first, second] = await Promise.all([hook(pod), hook(pod)]);
  const drained = pod.nile.logs.find((l) => l.msg === 'prestop: drained');
  t.match(drained, { detail: 'drain url answered 200' }, 'nile drained: the drain url said so, before the budget ran out');
  for (const [name, run] of [['first', first], ['second', second]] as const) {
    t.equal(run.code, 0, `the ${name} hook exits 0`);
    t.equal(run.stdout, 'prestop: out of traffic\n', `the ${name} hook says what it did`);
    t.ok(run.startedAt + run.ms >= drained!.time, `the ${name} hook returned only once drained`);
    t.notOk(run.timedOut, `the ${name} hook returned by itself (${run.ms}ms)`);
  }
  const third = await hook(pod);
  t.equal(third.code, 0, 'a third delivery after the drain exits 0');
  t.equal(nileLines(pod, 'prestop:').length, 4, 'and nile did nothing more for it (draining, offline called, deregistered, drained)');
  t.equal(nileLines(pod, 'prestop: draining').length, 1, 'one drain for three deliveries');
  t.equal(gw.offlineCalls, 1, 'one offline call');
  const exited = await pod.deletePod(); // a fourth delivery, then TERM: the same drain is reused
  t.equal(nileLines(pod, 'prestop: draining').length, 1, 'still one drain after the delete');
  t.equal(exited.code, 143, 'the worker stopped by TERM');
});

t.test('nile prestop returns within its budget when the offline and drain urls hang', async (t) => {
  const gw = await gateway(t, true);
  const offlineMs = 1000;
  const drainMs = 2000;
  const pod = await workerPod(t, 'prestop-hang', { offline: { url: `${gw.url}/offline`, timeout: `${offlineMs}ms` }, drain: { url: `${gw.url}/drain`, timeout: `${drainMs}ms`, interval: '500ms' } });
  const exited = await pod.deletePod();
  const at = (type: string) => pod.events.find((e) => e.type === type);
  const draining = pod.nile.logs.find((l) => l.msg.startsWith('prestop: draining'))!;
  const drained = pod.nile.logs.find((l) => l.msg === 'prestop: drained')!;
  const finished = at('PreStopFinished');
  t.equal(finished?.code, 0, 'exits 0 once its budget is spent');
  // A floor set by nile's own timers: a loaded machine makes them later, never sooner.
  t.ok(drained.time - draining.time >= offlineMs + drainMs - 200, `nile waited for both timeouts (${drained.time - draining.time}ms)`);
  t.match(pod.nile.logs.find((l) => l.msg === 'prestop: offline called'), { detail: /^prestop timed out after 1000ms/ }, 'the hanging offline call is given up at its timeout');
  t.match(drained, { detail: /^gave up after 2000ms/ }, 'so is the drain');
  t.ok(finished!.at >= drained.time, `the hook returned with the drain's end (${finished!.at - drained.time}ms after it)`);
  t.notOk(at('PreStopNotCompleted'), 'before the kubelet gave up on it');
  t.ok(finished!.at <= at('TERM')!.at, 'TERM came after the hook');
  t.same(pod.eventsOf('KILL'), [], 'and the kubelet needed no KILL');
  t.equal(exited.code, 143, 'the worker stopped by TERM');
});
