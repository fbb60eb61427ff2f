import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startPod } from './helpers/kubelet.js';

// A drain that lasts longer than the control socket's idle timeout (10 s): `nile prestop` must still
// wait for the agent's answer, not give up on the connection and fall back to prestop.wait.

t.test('a drain longer than the control socket idle timeout: the hook returns only once drained', async (t) => {
  // The drain ends 12 s after nile first asks, whenever the hook's request reached it.
  let drainAt = Infinity;
  const gateway = http.createServer((req, res) => {
    if (req.url === '/drain' && drainAt === Infinity) drainAt = Date.now() + 12_000;
    res.statusCode = req.url === '/drain' && Date.now() < drainAt ? 503 : 200;
    res.end();
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  t.teardown(() => gateway.close());
  const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  // prestop.wait is short: a hook that falls back to it returns early, and says so.
  const pod = await startPod(t, {
    door: 'front',
    name: 'prestop-long',
    nile: { project: 'prestop-long', type: 'worker', app: { command: ['sleep', '600'] }, probe: { interval: '200ms' }, prestop: { drain: { url: `${url}/drain`, timeout: '30s', interval: '200ms' }, wait: '1s' } },
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 10 },
  });
  await pod.nile.waitPhase('ready', 15_000);
  const run = await pod.execInPod(['nile', 'prestop'], 60_000);
  const drained = pod.nile.logs.find((l) => l.msg === 'prestop: drained');
  t.equal(run.code, 0, 'exits 0');
  t.equal(run.stdout, 'prestop: out of traffic\n', 'it got its answer from the agent');
  t.ok(drained && run.startedAt + run.ms >= drained.time, `it returned after the drain ended (${run.ms}ms)`);
});
