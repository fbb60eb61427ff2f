import t, { type Test } from 'tap';
import { registryStatusUntil, startSwitchablePod, type SwitchablePod } from './helpers/switchable-pod.js';
import { ZooKeeperServers, zookeeperMissing } from './helpers/zookeeper.js';
import { FreezableProxy } from './helpers/zookeeper-faults.js';
import { Observer, type NodeSample } from './helpers/zookeeper-observer.js';

// One pod registered in a three-server ZooKeeper ensemble, as production runs it, through the faults an ensemble has:
// a lost server, a lost leader, quorum lost for longer than the session timeout, a rolling restart, and a partition
// that ends in an expired session. The oracle reads ZooKeeper itself; nile reaches each server through a proxy the
// test can freeze.

const UPSTREAM = 'shop-ensemble';
const ROOT = '/nginx/upstreams';
const SESSION_MS = 4000;
// nile gives a session up 4/3 of its timeout after the disconnect, seen at the next beat of its watchdog.
const GIVE_UP_MS = (SESSION_MS * 4) / 3 + 1000;
// "Back within a few seconds of the registry's return".
const BACK_MS = 5000;

const measured = (t: Test, what: string, ms: number) => t.comment(`measured: ${what}: ${ms} ms`);

interface Scene {
  zk: ZooKeeperServers;
  proxies: FreezableProxy[];
  observer: Observer;
  pod: SwitchablePod['pod'];
  address: string;
  node: string;
}

/** The session nile holds now, as the last "connected to ZooKeeper" line says (hex). */
function nileSession(scene: Scene): string {
  const line = [...scene.pod.nile.logs].reverse().find((l) => l.msg === 'connected to ZooKeeper');
  if (!line) throw new Error('nile never connected to ZooKeeper');
  return String(line.session);
}

/** Waits for nile to connect again after `since`; resolves with the session it connected with. */
async function reconnected(scene: Scene, since: number, timeoutMs: number): Promise<string> {
  const line = await scene.pod.nile.waitLog((l) => l.msg === 'connected to ZooKeeper' && l.time >= since, 'nile to connect again', timeoutMs);
  return String(line.session);
}

/** The pod never left Ready from `since` on, as the kubelet saw it. */
function stayedReady(t: Test, scene: Scene, since: number): void {
  const lost = scene.pod.eventsOf('Ready').filter((e) => e.at >= since && e.ready === false);
  t.same(lost, [], 'the pod stayed Ready throughout');
}

/** What the observer saw of the node, and sees at the end: never absent, and held by one session only. */
async function neverVanished(t: Test, scene: Scene, samples: NodeSample[], owner: string): Promise<void> {
  const last = await scene.observer.exists(scene.node);
  const seen = [...samples, { at: Date.now(), owner: last ? last.ephemeralOwner.toString('hex') : null }];
  t.ok(samples.length > 0, `the node was looked at throughout (${samples.length} looks, and one at the end)`);
  t.same(seen.filter((s) => s.owner === null), [], 'the node never vanished for a reader');
  t.same([...new Set(seen.map((s) => s.owner))], [owner], "and stayed nile's session's node");
}

/** The upstream holds exactly this instance, owned by nile's current session. */
async function heldOnceBy(t: Test, scene: Scene, session: string): Promise<void> {
  t.same(await scene.observer.children(`${ROOT}/${UPSTREAM}`), [scene.address], 'one node for the instance, no duplicate');
  const stat = await scene.observer.exists(scene.node);
  t.equal(stat?.ephemeralOwner.toString('hex'), session, "held by nile's current session");
}

/** Waits until the node is held by a session other than `old`; resolves with when, or throws. */
async function heldAnew(scene: Scene, old: string, timeoutMs: number): Promise<number> {
  const at = await scene.observer.until(scene.node, (stat) => stat !== null && stat.ephemeralOwner.toString('hex') !== old, timeoutMs);
  if (at === undefined) throw new Error(`the node was not held by a new session within ${timeoutMs} ms`);
  return at;
}

t.test('one pod in a three-server ensemble', { skip: zookeeperMissing() }, async (t) => {
  const zk = await ZooKeeperServers.ensemble(3);
  t.teardown(() => zk.destroy());
  await zk.start();
  const proxies = await Promise.all([0, 1, 2].map((i) => FreezableProxy.start(zk.port(i))));
  t.teardown(() => Promise.all(proxies.map((proxy) => proxy.close())));
  const connect = proxies.map((proxy) => `127.0.0.1:${proxy.port}`).join(',');
  const { pod, address } = await startSwitchablePod(t, 'zk-ensemble', { upstream: UPSTREAM, zookeeper: { connect, root: ROOT, sessionTimeout: `${SESSION_MS}ms` } });
  const observer = await Observer.connect(zk.connect);
  t.teardown(() => observer.close());
  const scene: Scene = { zk, proxies, observer, pod, address, node: `${ROOT}/${UPSTREAM}/${address}` };
  await pod.waitReady(true, 60_000);

  await t.test('the server nile talks to is lost: the node stays, with the same session', async (t) => {
    const session = nileSession(scene);
    const i = await zk.memberHolding(session);
    if (i === undefined) throw new Error(`no member holds nile's session ${session}`);
    const watch = observer.sample(scene.node);
    const stoppedAt = Date.now();
    await zk.stop(i);
    t.equal(await reconnected(scene, stoppedAt, SESSION_MS), session, 'nile reconnected to another server with its session');
    await pod.waitEvent('a probe after the reconnect', (e) => e.type === 'Probe', 5000, Date.now());
    await neverVanished(t, scene, await watch.stop(), session);
    stayedReady(t, scene, stoppedAt);
    await zk.start(i);
  });

  await t.test('the leader is lost: the node stays, with the same session', async (t) => {
    const session = nileSession(scene);
    const leader = await zk.leader();
    const watch = observer.sample(scene.node);
    const stoppedAt = Date.now();
    await zk.stop(leader);
    await zk.leader(30_000);
    const electedAt = Date.now();
    measured(t, 'leader stopped → a new leader serves', electedAt - stoppedAt);
    // Nile may or may not have been on the leader; either way its session must answer once a new leader serves.
    await pod.waitEvent('a probe after the election', (e) => e.type === 'Probe', 5000, electedAt);
    t.equal(nileSession(scene), session, 'no new session');
    await neverVanished(t, scene, await watch.stop(), session);
    stayedReady(t, scene, stoppedAt);
    await heldOnceBy(t, scene, session);
    await zk.start(leader);
  });

  await t.test('quorum lost for longer than the session timeout: Ready held, status says why, the node back within seconds, no duplicate', async (t) => {
    const session = nileSession(scene);
    const leader = await zk.leader();
    const lost = [leader, (leader + 1) % 3];
    const stoppedAt = Date.now();
    await Promise.all(lost.map((i) => zk.stop(i)));
    const gaveUp = await pod.nile.waitLog((l) => / trying a new session$/.test(l.msg) && l.time >= stoppedAt, 'nile to give its session up', GIVE_UP_MS + 5000);
    t.comment(`nile gave its session up ${gaveUp.time - stoppedAt} ms after quorum was lost`);
    const [status] = await registryStatusUntil(pod, (r) => r.lost !== undefined, 10_000);
    t.match(status, { backend: 'zookeeper', state: 'unreachable', registered: false, lost: { reason: 'unreachable' } }, 'nile status: the registration is lost, and why');
    const probe = await pod.execInPod(['nile', 'probe'], 10_000);
    t.equal(probe.code, 0, 'nile probe still answers ready');
    t.match(probe.stdout, /^ready .*; registration lost \(zookeeper unreachable for \d+s\): Ready kept, retrying$/m, `and says why: ${probe.stdout.trim()}`);
    t.ok(
      pod.nile.logs.some((l) => l.level === 40 && l.time >= stoppedAt && /registration lost/.test(String(l.msg))),
      'a WARN line says the registration is lost',
    );
    stayedReady(t, scene, stoppedAt);

    await Promise.all(lost.map((i) => zk.start(i)));
    const answering = Date.now();
    measured(t, 'quorum lost (stopped) → answering again', answering - stoppedAt);
    const backAt = await heldAnew(scene, session, BACK_MS + 10_000);
    measured(t, 'quorum back → node held by the new session', backAt - answering);
    t.ok(backAt - answering <= BACK_MS, `the node is back within ${BACK_MS} ms of quorum's return (${backAt - answering} ms)`);
    await registryStatusUntil(pod, (r) => r.state === 'registered', 5000);
    await heldOnceBy(t, scene, nileSession(scene));
    stayedReady(t, scene, stoppedAt);
  });

  await t.test('a rolling restart of the ensemble: the node stays, with the same session', async (t) => {
    const session = nileSession(scene);
    const watch = observer.sample(scene.node);
    const startedAt = Date.now();
    for (const i of [0, 1, 2]) await zk.restart(i);
    await zk.leader(30_000);
    measured(t, 'rolling restart of three servers', Date.now() - startedAt);
    await pod.waitEvent('a probe after the restart', (e) => e.type === 'Probe', 5000, Date.now());
    t.equal(nileSession(scene), session, 'no new session');
    await neverVanished(t, scene, await watch.stop(), session);
    stayedReady(t, scene, startedAt);
    await heldOnceBy(t, scene, session);
  });

  await t.test('a partition longer than the session timeout: the session expires, a fresh node, the old one gone, no duplicate', async (t) => {
    const session = nileSession(scene);
    const cutAt = Date.now();
    for (const proxy of proxies) {
      proxy.hold();
      proxy.freeze();
    }
    const expiredAt = await observer.until(scene.node, (stat) => stat === null, SESSION_MS * 3);
    if (expiredAt === undefined) throw new Error('the ensemble did not expire the partitioned session');
    measured(t, 'partition → the ensemble expired the session (node gone)', expiredAt - cutAt);
    await pod.nile.waitLog((l) => / trying a new session$/.test(l.msg) && l.time >= cutAt, 'nile to give its session up', GIVE_UP_MS + 5000);
    const [status] = await registryStatusUntil(pod, (r) => r.lost !== undefined, 10_000);
    t.match(status, { state: 'unreachable', lost: { reason: 'unreachable' } }, 'nile status: the registration is lost');
    stayedReady(t, scene, cutAt);

    const healedAt = Date.now();
    for (const proxy of proxies) proxy.release();
    const backAt = await heldAnew(scene, session, BACK_MS + 10_000);
    measured(t, 'partition healed → node held by a new session', backAt - healedAt);
    t.ok(backAt - healedAt <= BACK_MS, `a fresh node within ${BACK_MS} ms of the partition's end (${backAt - healedAt} ms)`);
    await registryStatusUntil(pod, (r) => r.state === 'registered', 5000);
    const now = nileSession(scene);
    t.not(now, session, 'a new session');
    await heldOnceBy(t, scene, now);
    t.equal(await zk.memberHolding(session), undefined, 'the old session is gone from every server');
    stayedReady(t, scene, cutAt);
  });
});
