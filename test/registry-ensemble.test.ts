import t from 'tap';
import { heldOnceBy, neverVanished, nileSession, startEnsembleScene, stayedReady, type Scene } from './helpers/ensemble-pod.js';
import { measured } from './helpers/upsync.js';
import { zookeeperMissing } from './helpers/zookeeper.js';

// One pod registered in a three-server ZooKeeper ensemble, as production runs it, through the faults an ensemble
// rides out with the same session: a lost server, a lost leader, a rolling restart. The oracle reads ZooKeeper itself;
// nile reaches each server through a proxy. The faults that cost the session are registry-ensemble-session-lost.

const UPSTREAM = 'shop-ensemble';
// Long enough for a leader election under load: the session must outlive it.
const SESSION_MS = 4000;

/** Waits for nile to connect again after `since`; resolves with the session it connected with. */
async function reconnected(scene: Scene, since: number, timeoutMs: number): Promise<string> {
  const line = await scene.pod.nile.waitLog((l) => l.msg === 'connected to ZooKeeper' && l.time >= since, 'nile to connect again', timeoutMs);
  return String(line.session);
}

t.test('one pod in a three-server ensemble, its session kept', { skip: zookeeperMissing() }, async (t) => {
  const scene = await startEnsembleScene(t, UPSTREAM, SESSION_MS);
  const { zk, observer, pod } = scene;

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
});
