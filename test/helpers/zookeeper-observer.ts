// A plain ZooKeeper client for tests, to look at what the servers hold (nodes, data, ACLs) and to
// wait, by watch, for a node to change.

import type { Stat, ZkAcl, ZkClient, ZkException } from '../../src/registry/zookeeper-client.js';
import { ask, errorCode, zkLibrary } from './zookeeper-library.js';
import { settlesWithin, sleep } from './wait.js';

/** One look at a node: who holds it (the owner session, hex), or null when it is not there. */
export interface NodeSample {
  at: number;
  owner: string | null;
}

type ListingClient = ZkClient & { getChildren(path: string, done: (error: ZkException | null, children: string[]) => void): void };

/** A plain client that looks at what the servers hold; every call is bounded. */
export class Observer {
  private wake: ((at: number) => void) | undefined;
  // One watcher function for every watch, so the library keeps one registration per path.
  private readonly watcher = (): void => this.wake?.(Date.now());

  private constructor(readonly raw: ZkClient) {}

  static async connect(connect: string, options: { sessionTimeoutMs?: number; digest?: string; sessionId?: Buffer; sessionPassword?: Buffer } = {}): Promise<Observer> {
    const raw = zkLibrary.createClient(connect, {
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      spinDelay: 100,
      ...(options.sessionId ? { sessionId: options.sessionId, sessionPassword: options.sessionPassword } : {}),
    });
    raw.on('error', () => undefined);
    if (options.digest) raw.addAuthInfo('digest', Buffer.from(options.digest));
    const connected = new Promise<void>((resolve) => raw.once('connected', () => resolve()));
    raw.connect();
    const ok = await settlesWithin(connected, 10_000);
    if (!ok) {
      raw.close();
      throw new Error(`cannot connect to ZooKeeper at ${connect}`);
    }
    return new Observer(raw);
  }

  exists(node: string): Promise<Stat | null> {
    return ask<Stat | null>('exists', 5000, (done) => this.raw.exists(node, done));
  }

  async data(node: string): Promise<string> {
    const value = await ask<Buffer>('getData', 5000, (done) => this.raw.getData(node, (error, data) => done(error, data)));
    return value ? value.toString() : '';
  }

  children(node: string): Promise<string[]> {
    return ask<string[]>('getChildren', 5000, (done) => (this.raw as ListingClient).getChildren(node, (error, names) => done(error, names)));
  }

  /**
   * Looks at `node` every `everyMs` until `stop()` (at most `forMs`), resolving with what it saw: a node that vanished
   * even for a moment, or changed owner, shows. Looks that fail (this client reconnecting) are left out.
   */
  sample(node: string, everyMs = 50, forMs = 120_000): { stop(): Promise<NodeSample[]> } {
    const samples: NodeSample[] = [];
    let stopped = false;
    const deadline = Date.now() + forMs;
    const loop = (async () => {
      while (!stopped && Date.now() < deadline) {
        try {
          const stat = await ask<Stat | null>('exists', 1000, (done) => this.raw.exists(node, done));
          samples.push({ at: Date.now(), owner: stat ? stat.ephemeralOwner.toString('hex') : null });
        } catch {
          // Not an answer about the node.
        }
        await sleep(everyMs);
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
        return samples;
      },
    };
  }

  acl(node: string): Promise<ZkAcl[]> {
    return ask<ZkAcl[]>('getACL', 5000, (done) => this.raw.getACL(node, (error, acls) => done(error, acls)));
  }

  /** Resolves with the error code of a refused call, or 0 when it went through. */
  async codeOf(work: (client: ZkClient, done: (error: Error | null) => void) => void): Promise<number> {
    try {
      await ask<void>('call', 5000, (done) => work(this.raw, (error) => done(error as never, undefined)));
      return 0;
    } catch (err) {
      return errorCode(err) ?? -1;
    }
  }

  /**
   * Wait until `node` satisfies `check`; resolves with the time it was first seen so (ms epoch), or undefined after timeoutMs.
   * A watch answers at once; a short poll covers the moments this client itself is reconnecting.
   */
  async until(node: string, check: (stat: Stat | null) => boolean, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    let notifiedAt: number | undefined; // when the watch fired that led to this look
    while (Date.now() < deadline) {
      let firedAt: number | undefined;
      const changed = new Promise<void>((resolve) => (this.wake = (at) => void ((firedAt = at), resolve())));
      let stat: Stat | null | undefined;
      try {
        stat = await ask<Stat | null>('exists', Math.min(deadline - Date.now(), 1000), (done) => this.raw.exists(node, this.watcher, done));
      } catch {
        stat = undefined;
      }
      // Seen when the notification came, if this look (made because of it) confirms it; else when looked.
      if (stat !== undefined && check(stat)) return notifiedAt ?? Date.now();
      await Promise.race([changed, sleep(Math.min(100, Math.max(0, deadline - Date.now())))]);
      notifiedAt = firedAt;
    }
    return undefined;
  }

  close(): void {
    try {
      this.raw.close();
    } catch {
      // A client that lost its server may throw on close; it is gone either way.
    }
  }
}
