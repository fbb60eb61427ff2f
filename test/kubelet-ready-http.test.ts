import http from 'node:http';
import t from 'tap';
import { startPod } from './helpers/kubelet.js';
import { fixtureCommand } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

// probe.serve: the kubelet's httpGet readiness probe on the agent's own endpoint, with no process started in the
// pod: the same verdict and the same line as `nile probe`, 503 while not ready, 404 anywhere else.

/** GET (or another method) as a plain client, answering status and body. */
function ask(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('the httpGet probe follows the agent from starting to ready to draining, with the line of nile probe', async (t) => {
  const appPort = await freePort();
  const readyPort = await freePort();
  const pod = await startPod(t, {
    door: 'front',
    name: 'ready-http',
    nile: {
      project: 'ready-http',
      type: 'web',
      app: { command: fixtureCommand('--port', String(appPort), '--ready-after', '1500') },
      probe: { http: { port: appPort }, interval: '200ms', serve: { port: readyPort, listen: '127.0.0.1' } },
      prestop: { wait: '100ms' },
    },
    readinessProbe: { httpGet: { port: readyPort, path: '/ready' }, periodSeconds: 0.3, timeoutSeconds: 1 },
  });
  const notYet = await pod.waitEvent('a failed httpGet probe while the app starts', (e) => e.type === 'Probe' && e.status === 503, 30_000);
  t.match(notYet.body, /^not ready: starting/, 'the body says why, as nile probe does');
  t.equal(notYet.output, 'HTTP probe failed with statuscode: 503', 'the kubelet sees 503');

  await pod.waitReady(true, 30_000);
  const ready = pod.eventsOf('Probe').filter((e) => e.ok).pop();
  t.match(ready?.body, /^ready \(http 200 \/healthcheck in \d+ms\)\n$/, 'ready: 200 with the app probe the verdict rests on');

  for (const [method, path] of [['GET', '/'], ['GET', '/metrics'], ['GET', '/ready/x'], ['POST', '/ready'], ['DELETE', '/ready']]) {
    t.equal((await ask(readyPort, path, method)).status, 404, `${method} ${path}: 404`);
  }

  const prestop = await pod.execInPod(['nile', 'prestop'], 20_000);
  t.equal(prestop.code, 0, 'nile prestop took it out of traffic');
  const draining = await pod.waitEvent('a failed httpGet probe after the prestop', (e) => e.type === 'Probe' && e.status === 503, 10_000, Date.now());
  const probe = await pod.execInPod(['nile', 'probe'], 20_000);
  t.equal(draining.body, probe.stdout, 'the httpGet body is the line nile probe prints');
  t.equal(draining.body, 'not ready: draining\n');
  await pod.waitReady(false, 10_000);
  t.pass('the pod leaves Ready on the httpGet probe');
});

t.test('probe.serve is off by default: no readiness endpoint unless asked for', async (t) => {
  const pod = await startPod(t, { door: 'front', name: 'ready-off', nile: { project: 'ready-off', type: 'worker', app: { command: ['sleep', '600'] } }, readinessProbe: null });
  await pod.nile.waitPhase('ready', 30_000);
  t.notOk(pod.nile.logs.some((l) => l.msg === 'readiness served at /ready'), 'nothing listens');
});
