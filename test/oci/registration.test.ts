import t from 'tap';
import { freePort } from '../helpers/ports.js';
import { ZooKeeperServers, zookeeperMissing } from '../helpers/zookeeper.js';
import { Observer } from '../helpers/zookeeper-observer.js';
import { exampleNileConfig, startContainer } from './runc.js';

// Registration from inside the container: a hostNetwork: true pod reaches a ZooKeeper on the node's
// loopback. Its node appears once the app is ready and is gone after `nile prestop`, before the
// app is stopped.

t.test('a hostNetwork container registers in ZooKeeper while ready, and leaves at nile prestop', { skip: zookeeperMissing() }, async (t) => {
  const zk = await ZooKeeperServers.standalone();
  t.teardown(() => zk.destroy());
  await zk.start();
  const observer = await Observer.connect(zk.connect);
  t.teardown(() => observer.close());

  // The node's network: the app and the probe on free ports, as a hostNetwork pod must.
  const port = await freePort();
  const nile = exampleNileConfig();
  nile.sshd.enabled = false;
  nile.app.args = ['--port', String(port), '--ready-after', '1000', '--print-signals'];
  nile.probe = { ...nile.probe, http: { ...nile.probe.http, port }, interval: '300ms' };
  nile.prestop = { offline: { ...nile.prestop.offline, url: `http://127.0.0.1:${port}/offline` }, drain: { ...nile.prestop.drain, url: `http://127.0.0.1:${port}/drain` } };
  nile.registry.zookeeper = { ...nile.registry.zookeeper, connect: zk.connect, sessionTimeout: '4s' };
  // POD_IP from the downward API, as the Deployment sets it; a hostNetwork pod's is the node's.
  const c = await startContainer(t, { name: 'hostnet', nile, hostNetwork: true, env: { POD_IP: '127.0.0.1' } });

  const configured = await c.waitLog('registration configured', (l) => l.msg === 'registration configured', 30_000);
  const node = `${nile.registry.zookeeper.root}/${configured.upstream}/${configured.address}`;
  t.equal(node, `/nginx/upstreams/demo-web/127.0.0.1:${port}`, 'the node: <root>/<project>/<POD_IP>:<port>');
  t.equal(await observer.exists(node), null, 'not registered before the app is ready');

  const registeredAt = await observer.until(node, (stat) => stat !== null, 60_000);
  t.ok(registeredAt, 'registered once ready');
  const ready = c.logs().find((l) => l.msg === 'app ready');
  t.ok(ready && registeredAt! >= ready.time, 'and not before the app was ready');
  const probe = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.equal(probe.code, 0, `nile probe: ${probe.stdout.trim()}`);

  const hook = await c.exec(['nile', 'prestop'], { timeoutMs: 60_000 });
  t.equal(hook.code, 0, `nile prestop: ${hook.stdout.trim()}`);
  t.equal(await observer.exists(node), null, 'the node is gone when nile prestop returns');
  t.notOk(c.lines.some((l) => l.text === 'signal TERM'), 'and the app has not been stopped yet');

  const { exited, killed } = await c.deletePod(30, null);
  t.equal(killed, false, 'TERM stops it');
  t.equal(exited.code, 143, "the container exits with the JVM's status");
  t.equal(await observer.exists(node), null, 'and stays out');
});
