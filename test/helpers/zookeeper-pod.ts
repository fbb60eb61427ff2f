// What the tests of a pod registered in one ZooKeeper server through the whole agent share (its life, a ZooKeeper
// late or never reached): the server, the pod, and when nile's watchdog gives a session up.

import type { Test } from 'tap';
import { startSwitchablePod, type SwitchablePod } from './switchable-pod.js';
import { ZooKeeperServers } from './zookeeper.js';

export const UPSTREAM = 'shop-web';
export const ROOT = '/nginx/upstreams';

/**
 * nile's last resort for a ZooKeeper that does not take its session: a new session 4/3 of the timeout after the
 * disconnect, seen at the next tick (every quarter of the timeout) of its watchdog.
 */
export const watchdogMs = (sessionMs: number): number => (sessionMs * 4) / 3 + sessionMs / 4;

/** A standalone server, started unless `start` is false; stopped at the test's end. */
export async function zookeeperServer(t: Test, start = true): Promise<ZooKeeperServers> {
  const servers = await ZooKeeperServers.standalone();
  t.teardown(() => servers.destroy());
  if (start) await servers.start();
  return servers;
}

/** A switchable pod registered at `connect` with upsync's weight 3, max_fails 4, fail_timeout 7. */
export function zookeeperPod(t: Test, name: string, connect: string, sessionMs: number): Promise<SwitchablePod> {
  return startSwitchablePod(t, name, { upstream: UPSTREAM, weight: 3, maxFails: 4, failTimeout: 7, zookeeper: { connect, root: ROOT, sessionTimeout: `${sessionMs}ms` } });
}
