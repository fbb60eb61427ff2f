// node-zookeeper-client as the tests use it to read and write ZooKeeper for themselves: the library itself, never
// nile's wrapper of it in src/registry/, so what a test sees of ZooKeeper does not go through the code it checks.

import { createRequire } from 'node:module';
import type { ZkAcl, ZkClient, ZkClientOptions } from '../../src/registry/zookeeper-client.js';
import { within } from '../../src/toolbox/sleep.js';

interface Library {
  createClient(connect: string, options: ZkClientOptions): ZkClient;
  ACL: { OPEN_ACL_UNSAFE: ZkAcl[] };
  CreateMode: { PERSISTENT: number; EPHEMERAL: number };
  Exception: { NO_NODE: number; NO_AUTH: number };
}

// The parts of the library's connection manager a test client reaches into.
interface Manager {
  socket?: { end(): void; destroy(): void };
  onSocketData?: (buffer: Buffer) => void;
  connect?: () => void;
}

export const zkLibrary: Library = createRequire(import.meta.url)('node-zookeeper-client');

/** One call of the library as a promise; rejected on its error, or when it has not answered within `ms`. */
export async function ask<T>(what: string, ms: number, start: (done: (error: Error | null, value?: T) => void) => void): Promise<T> {
  const late = Symbol('late');
  const answer = new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
  const value = await within(answer, Math.max(0, ms), late);
  if (value === late) throw new Error(`ZooKeeper did not answer ${what} within ${ms} ms`);
  return value as T;
}

/** The ZooKeeper error code of a failed call, if it is one. */
export const errorCode = (err: unknown): number | undefined => (err as { getCode?: () => number } | null)?.getCode?.();

/** A client whose faults stay inside it: a reply the library cannot parse (a server restarting under it) drops the connection instead of throwing out of a socket event. */
export function plainClient(connect: string, options: ZkClientOptions): ZkClient {
  const client = zkLibrary.createClient(connect, options);
  client.on('error', () => undefined);
  const manager = managerOf(client);
  const onData = manager?.onSocketData;
  if (manager && onData) {
    manager.onSocketData = function readOrDrop(this: Manager, buffer: Buffer) {
      try {
        onData.call(this, buffer);
      } catch {
        this.socket?.destroy();
      }
    };
  }
  return client;
}

/** Ends a client for good: the library would otherwise connect again even after close(). */
export function closeClient(client: ZkClient): void {
  const manager = managerOf(client);
  if (manager) manager.connect = () => undefined;
  try {
    client.close();
  } catch {
    // A client that never connected may throw on close; its socket ends below either way.
  }
  manager?.socket?.end();
}

function managerOf(client: ZkClient): Manager | undefined {
  return (client as unknown as { connectionManager?: Manager }).connectionManager;
}
