import http from 'node:http';
import t from 'tap';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { exampleNileConfig, startContainer } from './runc.js';

// The httpGet readiness probe (image/k8s/deployment-http-ready.yaml) against the image under runc: the kubelet's
// GET /ready from the node reaches the agent's endpoint (a hostNetwork pod's port is the node's), answers 503
// while the app starts and 200 once it is ready, with the line `runc exec … nile probe` prints.

function kubeletGet(port: number): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ready', agent: false, timeout: 1000, headers: { 'user-agent': 'kube-probe/1.31' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

t.test('GET /ready answers the kubelet from the container with the verdict of nile probe', async (t) => {
  const [port, readyPort] = [await freePort(), await freePort()];
  const nile = exampleNileConfig();
  nile.sshd.enabled = false;
  nile.metrics = { port: 0 };
  nile.registry = { zookeeper: { connect: '' } };
  nile.app.args = ['--port', String(port), '--ready-after', '1500'];
  nile.probe = { ...nile.probe, http: { ...nile.probe.http, port }, interval: '300ms' };
  nile.prestop = { drain: { ...nile.prestop.drain, url: `http://127.0.0.1:${port}/drain` } };
  // As the variant's Deployment turns it on: by the environment.
  const c = await startContainer(t, { name: 'ready-http', nile, hostNetwork: true, env: { POD_IP: '127.0.0.1', NILE_PROBE_SERVE_PORT: String(readyPort) } });

  const starting = await waitFor('a 503 while the app starts', async () => {
    const answer = await kubeletGet(readyPort);
    return answer?.status === 503 && answer;
  }, 60_000);
  t.match(starting.body, /^not ready: starting/, 'not ready, with the reason');
  const ready = await waitFor('a 200 once the app is ready', async () => {
    const answer = await kubeletGet(readyPort);
    return answer?.status === 200 && answer;
  }, 120_000);
  t.match(ready.body, /^ready \(http 200 \/healthcheck in \d+ms\)\n$/, '200 ready');

  t.equal((await c.exec(['nile', 'prestop'], { timeoutMs: 60_000 })).code, 0, 'nile prestop');
  const draining = await kubeletGet(readyPort);
  const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.same(draining, { status: 503, body: probe.stdout }, `the same line as nile probe: ${probe.stdout.trim()}`);
  const { exited } = await c.deletePod(30, null);
  t.equal(exited.code, 143, 'TERM ends it');
});
