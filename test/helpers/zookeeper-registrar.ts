// What the tests of nile's ZooKeeper backend share: the backend behind its reconciler (no agent), its log kept, and a
// plain client of the library itself that looks at what the servers hold.

import { pino } from 'pino';
import type { Test } from 'tap';
import type { Log } from '../../src/log.js';
import type { Desired, Instance } from '../../src/registry/backend.js';
import { Reconciler } from '../../src/registry/reconciler.js';
import { ZooKeeperBackend } from '../../src/registry/zookeeper.js';
import type { Stat } from '../../src/registry/zookeeper-client.js';
import { Observer } from './zookeeper-observer.js';

export const SESSION_MS = 3000;
export const present: Desired = { present: true, down: false };

let nextPort = 18080;
export function instance(upstream = 'demo'): Instance {
  return { upstream, address: '10.0.0.7', port: nextPort++, weight: 1, maxFails: 2, failTimeout: 10 };
}

/** A pino logger whose lines are kept, so tests can read what nile logged. */
function capture(): { log: Log; text: () => string } {
  const lines: string[] = [];
  return { log: pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }), text: () => lines.join('') };
}

export interface Registrar {
  backend: ZooKeeperBackend;
  reconciler: Reconciler;
  logText: () => string;
}

export function registrar(t: Test, connect: string, options: { instance?: Instance; digestFile?: string } = {}): Registrar {
  const { log, text } = capture();
  const backend = new ZooKeeperBackend({ connect, root: '/nginx/upstreams', sessionTimeoutMs: SESSION_MS, digestFile: options.digestFile, instance: options.instance ?? instance(), log });
  const reconciler = new Reconciler([backend], log);
  t.teardown(() => reconciler.close());
  return { backend, reconciler, logText: text };
}

export async function observe(t: Test, connect: string, digest?: string): Promise<Observer> {
  const observer = await Observer.connect(connect, { digest });
  t.teardown(() => observer.close());
  return observer;
}

export const exists = (stat: Stat | null): boolean => stat !== null;

/** want(present), and how long until the observer sees the node. */
export async function register(t: Test, reg: Registrar, observer: Observer): Promise<number> {
  const at = Date.now();
  reg.reconciler.want(present);
  const seen = await observer.until(reg.backend.path, exists, 5000);
  t.ok(seen, 'registered');
  return (seen ?? Date.now()) - at;
}
