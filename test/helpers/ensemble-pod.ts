// What the tests of one pod registered in a three-server ZooKeeper ensemble share: the scene (the ensemble, a proxy
// before each server that the test can freeze, the pod, an observer that reads ZooKeeper itself) and what they check
// of the node and the session through it.

import type { Test } from 'tap';
import { startSwitchablePod, type SwitchablePod } from './switchable-pod.js';
import { ZooKeeperServers } from './zookeeper.js';
import { ROOT } from './zookeeper-pod.js';
import { FreezableProxy } from './zookeeper-faults.js';
import { Observer, type NodeSample } from './zookeeper-observer.js';

export interface Scene {
  zk: ZooKeeperServers;
  proxies: FreezableProxy[];
  observer: Observer;
  pod: SwitchablePod['pod'];
  address: string;
  node: string;
  upstream: string;
}

/** The ensemble, its proxies and the pod registered through them, Ready; every part stopped at the test's end. */
export async function startEnsembleScene(t: Test, upstream: string, sessionMs: number): Promise<Scene> {
  const zk = await ZooKeeperServers.ensemble(3);
  t.teardown(() => zk.destroy());
  await zk.start();
  const proxies = await Promise.all([0, 1, 2].map((i) => FreezableProxy.start(zk.port(i))));
  t.teardown(() => Promise.all(proxies.map((proxy) => proxy.close())));
  const connect = proxies.map((proxy) => `127.0.0.1:${proxy.port}`).join(',');
  const { pod, address } = await startSwitchablePod(t, 'zk-ensemble', { upstream, zookeeper: { connect, root: ROOT, sessionTimeout: `${sessionMs}ms` } });
  const observer = await Observer.connect(zk.connect);
  t.teardown(() => observer.close());
  await pod.waitReady(true, 60_000);
  return { zk, proxies, observer, pod, address, node: `${ROOT}/${upstream}/${address}`, upstream };
}

/** The session nile holds now, as the last "connected to ZooKeeper" line says (hex). */
export function nileSession(scene: Scene): string {
  const line = [...scene.pod.nile.logs].reverse().find((l) => l.msg === 'connected to ZooKeeper');
  if (!line) throw new Error('nile never connected to ZooKeeper');
  return String(line.session);
}

/** The pod never left Ready from `since` on, as the kubelet saw it. */
export function stayedReady(t: Test, scene: Scene, since: number): void {
  const lost = scene.pod.eventsOf('Ready').filter((e) => e.at >= since && e.ready === false);
  t.same(lost, [], 'the pod stayed Ready throughout');
}

/** What the observer saw of the node, and sees at the end: never absent, and held by one session only. */
export async function neverVanished(t: Test, scene: Scene, samples: NodeSample[], owner: string): Promise<void> {
  const last = await scene.observer.exists(scene.node);
  const seen = [...samples, { at: Date.now(), owner: last ? last.ephemeralOwner.toString('hex') : null }];
  t.ok(samples.length > 0, `the node was looked at throughout (${samples.length} looks, and one at the end)`);
  t.same(seen.filter((s) => s.owner === null), [], 'the node never vanished for a reader');
  t.same([...new Set(seen.map((s) => s.owner))], [owner], "and stayed nile's session's node");
}

/** The upstream holds exactly this instance, owned by nile's current session. */
export async function heldOnceBy(t: Test, scene: Scene, session: string): Promise<void> {
  t.same(await scene.observer.children(`${ROOT}/${scene.upstream}`), [scene.address], 'one node for the instance, no duplicate');
  const stat = await scene.observer.exists(scene.node);
  t.equal(stat?.ephemeralOwner.toString('hex'), session, "held by nile's current session");
}
