import t from 'tap';
import { exists, observe, register, registrar } from './helpers/zookeeper-registrar.js';
import { ZooKeeperServers, zookeeperMissing } from './helpers/zookeeper.js';
import { eventually } from './helpers/wait.js';

// nile's ZooKeeper backend behind its reconciler, without the agent, in an ensemble of three under a chroot: the
// registration outlives the leader. A standalone server's faults are registry-zookeeper; the agent in an ensemble,
// registry-ensemble.

/** Measured times go to the TAP output as comments. */
function report(line: string): void {
  t.comment(line);
}

t.test('ZooKeeper ensemble of 3 with a chroot: the registration outlives the leader', { skip: zookeeperMissing() }, async (t) => {
  const servers = await ZooKeeperServers.ensemble(3);
  t.teardown(() => servers.destroy());
  await servers.start();
  const reg = registrar(t, `${servers.connect}/nile-chroot`);
  const observer = await observe(t, servers.connect);
  const registeredMs = await register(t, reg, observer);
  report(`ensemble: want(present) → registered: ${registeredMs} ms`);
  t.match(reg.backend.path, /^\/nile-chroot\/nginx\/upstreams\/demo\/10\.0\.0\.7:\d+$/, 'under the chroot');
  t.ok(await reg.reconciler.settled(2000));
  const owner = (await observer.exists(reg.backend.path))!.ephemeralOwner;

  const leader = await servers.leader();
  const at = Date.now();
  await servers.kill(leader);
  const others = [0, 1, 2].filter((i) => i !== leader);
  const newLeader = await servers.leader(20_000);
  t.not(newLeader, leader, 'another member leads');
  const elected = Date.now();
  const survivor = await observe(t, others.map((i) => servers.address(i)).join(','));
  const seen = await survivor.until(reg.backend.path, exists, 5000);
  t.ok(seen, `node present ${seen === undefined ? 'never' : seen - elected + ' ms'} after a new leader (election took ${elected - at} ms)`);
  t.ok(await eventually(async () => (await survivor.exists(reg.backend.path))?.ephemeralOwner.equals(owner) === true, 5000), 'still the same session');
  t.ok(await reg.reconciler.settled(5000));
  report(`ensemble: leader killed → new leader in ${elected - at} ms; node ${seen === undefined ? 'missing' : 'present'}, same session`);
});
