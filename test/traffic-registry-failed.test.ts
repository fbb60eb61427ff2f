import t from 'tap';
import { fixtureCommand, Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

// A registry configured whose clients cannot load (here the ZooKeeper package is missing from the image):
// the instance is never registered, so the pod must not be Ready, and the probe and status say why.

const preload = new URL('./helpers/missing-module.js', import.meta.url).href;

t.test('registry clients that failed to load: not Ready, said by the probe and status', async (t) => {
  const [port, zkPort] = await Promise.all([freePort(), freePort()]);
  const nile = new Nile({
    config: { project: 'no-zk', app: { command: fixtureCommand('--port', String(port)) }, probe: { http: { port }, interval: '200ms' }, registry: { upstream: 'shop-web', port, zookeeper: { connect: `127.0.0.1:${zkPort}` } } },
    env: { NODE_OPTIONS: `--import=${preload}`, MISSING_MODULE: 'node-zookeeper-client' },
  });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg === 'registration cannot start: the instance will not be registered', 'the registration failing to start', 30_000);
  await nile.waitPhase('ready', 30_000);
  const probe = await nile.exec(['probe']);
  t.equal(probe.code, 1, `not Ready: ${probe.stdout.trim()}`);
  t.match(probe.stdout, /^not ready: .*the registry clients failed to load/, 'the probe line says the registry clients failed');
  const status = JSON.parse((await nile.exec(['status', '--json'])).stdout);
  t.equal(status.verdict.ready, false, 'status has the same verdict');
  t.equal(status.traffic?.registry, 'failed', 'status says the registration failed');
  const text = (await nile.exec(['status'])).stdout;
  t.match(text, /^traffic: in service, online \(round 1\), registry clients failed to load: not registered$/m, `nile status prints the traffic line: ${text}`);
});
