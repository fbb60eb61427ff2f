import t from 'tap';
import { rssMiB } from '../bench/proc.js';
import { endlessHttpBody, hostileZooKeeper } from '../helpers/hostile.js';
import { freePort } from '../helpers/ports.js';
import { exampleNileConfig, startContainer } from './runc.js';

// The image under runc with the Deployment's memory limit, its registries on the node's loopback answering
// without end: a Consul whose every answer is an endless body, a ZooKeeper whose every frame claims 2 GB. PID 1
// stays up with its RSS bounded, keeps retrying both, and answers the probe: not ready, registering.

const mostRssMiB = 160; // the agent takes about 72-93 MiB on Node 24 here

t.test('registries that answer without end take neither the memory nor the life of PID 1', async (t) => {
  const consul = await endlessHttpBody();
  const zk = await hostileZooKeeper('endless frame');
  t.teardown(() => Promise.all([consul.close(), zk.close()]));
  const port = await freePort();
  const nile = exampleNileConfig();
  nile.sshd.enabled = false;
  nile.metrics = { port: 0 };
  nile.app.args = ['--port', String(port)];
  nile.probe = { ...nile.probe, http: { ...nile.probe.http, port }, interval: '300ms' };
  nile.prestop = { drain: { ...nile.prestop.drain, url: `http://127.0.0.1:${port}/drain` } };
  nile.registry = { ...nile.registry, zookeeper: { ...nile.registry.zookeeper, connect: `127.0.0.1:${zk.port}`, sessionTimeout: '4s' }, consul: { url: `http://127.0.0.1:${consul.port}`, ttl: '3s' } };
  const c = await startContainer(t, { name: 'hostile-registry', nile, hostNetwork: true, env: { POD_IP: '127.0.0.1' } });

  await c.waitLog('the app ready', (l) => l.msg === 'app ready', 120_000);
  const agent = await c.waitFor('the agent behind the front door', () => c.agentPid(), 10_000); // PID 1 is the front door; the memory is the agent's
  let most = rssMiB(agent);
  await c.waitFor('a few rounds of retries at both registries', () => {
    most = Math.max(most, rssMiB(agent));
    return consul.accepted() >= 4 && zk.accepted() >= 4;
  }, 60_000);
  t.equal(c.isRunning(), true, 'PID 1 is up');
  t.ok(most < mostRssMiB, `the agent's RSS stayed under ${mostRssMiB} MiB (at most ${most.toFixed(1)} MiB)`);
  const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.equal(probe.code, 1, 'not ready: the registration is not in place');
  t.match(probe.stdout, /^not ready: registering/, `it says so: ${probe.stdout.trim()}`);
  t.comment(`Consul accepted ${consul.accepted()} connections and sent ${consul.sent()} bytes; ZooKeeper ${zk.accepted()} and ${zk.sent()}; RSS at most ${most.toFixed(1)} MiB`);
  const { exited } = await c.deletePod(30);
  t.equal(exited.code, 143, "TERM still ends it with the JVM's status");
});
