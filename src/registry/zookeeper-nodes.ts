// The node operations of one apply: the instance's ephemeral node made to hold its data, or removed.
// Each library call goes through `Calls`, which waits for the session and keeps to the apply's deadline.

import type { Log } from '../log.js';
import { RegistryRefused } from './backend.js';
import { codeOf, zk, type Acls, type Stat, type ZkClient, type ZkEvent, type ZkException } from './zookeeper-client.js';

/** One apply's use of the session: its client and ACLs, and calls bounded by the apply's deadline. */
export interface Calls {
  client: ZkClient;
  acls: Acls;
  run<T>(what: string, start: (done: (error: ZkException | null, value?: T) => void) => void): Promise<T>;
}

/** The instance's node and what watches it. */
export interface InstanceNode {
  path: string; // `<chroot><root>/<upstream>/<address>:<port>`
  upstreamPath: string;
  watcher: (event: ZkEvent) => void; // one function for every watch, so the library keeps a single registration per path
  log: Log;
}

/** The node exists, is ours (this session's), and holds `data`. */
export async function ensurePresent(calls: Calls, node: InstanceNode, data: Buffer): Promise<void> {
  const { client } = calls;
  for (let round = 0; round < 4; round++) {
    const stat = await calls.run<Stat | null>('exists', (done) => client.exists(node.path, node.watcher, done));
    if (!stat) {
      if (await create(calls, node, data)) return;
    } else if (!stat.ephemeralOwner.equals(client.getSessionId())) {
      // Left by an earlier session of this instance (a restart, an expiry): it dies with that session, so take it over.
      node.log.info('replacing a node held by another session');
      await removeNode(calls, node, stat.version);
    } else {
      const current = await calls.run<Buffer | null>('getData', (done) => client.getData(node.path, (error, value) => done(error, value)));
      if (!Buffer.isBuffer(current) || !current.equals(data)) {
        await calls.run('setData', (done) => client.setData(node.path, data, -1, done));
      }
      return;
    }
  }
  // Another owner keeps taking the node (two instances configured with one address:port): ZooKeeper is not down.
  throw new RegistryRefused(`${node.path} kept changing while nile registered it`);
}

/** The node is gone; `version` -1 removes whatever is there. */
export async function removeNode(calls: Calls, node: InstanceNode, version: number): Promise<void> {
  try {
    await calls.run('remove', (done) => calls.client.remove(node.path, version, (error) => done(error, undefined)));
  } catch (err) {
    const code = codeOf(err);
    if (code !== zk.Exception.NO_NODE && code !== zk.Exception.BAD_VERSION) throw err;
  }
}

/** True once created; false when someone created it first (the caller looks again). */
async function create(calls: Calls, node: InstanceNode, data: Buffer): Promise<boolean> {
  const createNode = (): Promise<string> => calls.run<string>('create', (done) => calls.client.create(node.path, data, calls.acls.own, zk.CreateMode.EPHEMERAL, done));
  try {
    await createNode();
    return true;
  } catch (err) {
    if (codeOf(err) === zk.Exception.NODE_EXISTS) return false;
    if (codeOf(err) !== zk.Exception.NO_NODE) throw err;
  }
  await createParents(calls, node);
  try {
    await createNode();
    return true;
  } catch (err) {
    if (codeOf(err) === zk.Exception.NODE_EXISTS) return false;
    throw err;
  }
}

async function createParents(calls: Calls, node: InstanceNode): Promise<void> {
  const { client, acls } = calls;
  const above = node.upstreamPath.slice(0, node.upstreamPath.lastIndexOf('/'));
  if (above) await calls.run('mkdirp', (done) => client.mkdirp(above, acls.shared, zk.CreateMode.PERSISTENT, done));
  try {
    await calls.run('create', (done) => client.create(node.upstreamPath, Buffer.alloc(0), acls.own, zk.CreateMode.PERSISTENT, done));
  } catch (err) {
    if (codeOf(err) !== zk.Exception.NODE_EXISTS) throw err;
  }
}
