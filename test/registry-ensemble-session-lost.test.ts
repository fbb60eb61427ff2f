import t from 'tap';
import { heldOnceBy, nileSession, startEnsembleScene, stayedReady, type Scene } from './helpers/ensemble-pod.js';
import { registryStatusUntil } from './helpers/switchable-pod.js';
import { measured } from './helpers/upsync.js';
import { zookeeperMissing } from './helpers/zookeeper.js';

// One pod registered in a three-server ZooKeeper ensemble through the faults that cost it its session: quorum lost
// for longer than the session timeout, and a partition that ends in an expired session. The pod stays Ready, says
// why, and is registered again by a new session within seconds of the ensemble's return, without a duplicate. The
// faults an ensemble rides out with the same session are registry-ensemble.

const UPSTREAM = 'shop-ensemble-lost';
// Short: what is checked comes after the session is lost, which takes a session timeout or 4/3 of one.
const SESSION_MS = 2000;
// nile gives a session up 4/3 of its timeout after the disconnect, seen at the next beat of its watchdog.
const GIVE_UP_MS = (SESSION_MS * 4) / 3 + 1000;
// "Back within a few seconds of the registry's return".
// How long a test waits for the node to come back: a bound on the wait; the time it took is printed, not asserted.
const BACK_WAIT_MS = 15_000;

/** Waits until the node is held by a session other than `old`; resolves with when, or throws. */
async function heldAnew(scene: Scene, old: string, timeoutMs: number): Promise<number> {
  const at = await scene.observer.until(scene.node, (stat) => stat !== null && stat.ephemeralOwner.toString('hex') !== old, timeoutMs);
  if (at === undefined) throw new Error(`the node was not held by a new session within ${timeoutMs} ms`);
  return at;
}

t.test('one pod in a three-server ensemble, its session lost', { skip: zookeeperMissing() }, async (t) => {
  const scene = await startEnsembleScene(t, UPSTREAM, SESSION_MS);
  const { zk, proxies, observer, pod } = scene;

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
    const backAt = await heldAnew(scene, session, BACK_WAIT_MS);
    measured(t, 'quorum back → node held by the new session', backAt - answering);
    t.pass('the node is back, held by a new session, once quorum returned');
    await registryStatusUntil(pod, (r) => r.state === 'registered', 5000);
    await heldOnceBy(t, scene, nileSession(scene));
    stayedReady(t, scene, stoppedAt);
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
    const backAt = await heldAnew(scene, session, BACK_WAIT_MS);
    measured(t, 'partition healed → node held by a new session', backAt - healedAt);
    t.pass('a fresh node once the partition ended');
    await registryStatusUntil(pod, (r) => r.state === 'registered', 5000);
    const now = nileSession(scene);
    t.not(now, session, 'a new session');
    await heldOnceBy(t, scene, now);
    t.equal(await zk.memberHolding(session), undefined, 'the old session is gone from every server');
    stayedReady(t, scene, cutAt);
  });
});
