// A plain ZooKeeper client for tests, to look at what the servers hold (nodes, data, ACLs) and to
// wait, by watch, for a node to change.

import { call, codeOf, type Stat, type ZkAcl, type ZkClient, zk } from '../../src/registry/zookeeper-client.js';
import { settlesWithin, sleep } from './wait.js';

/** A plain client that looks at what the servers hold; every call is bounded. */
export class Observer {
  private wake: ((at: number) => void) | undefined;
  // One watcher function for every watch, so the library keeps one registration per path.
  private readonly watcher = (): void => this.wake?.(Date.now());

  private constructor(readonly raw: ZkClient) {}

  static async connect(connect: string, options: { sessionTimeoutMs?: number; digest?: string; sessionId?: Buffer; sessionPassword?: Buffer } = {}): Promise<Observer> {
    const raw = zk.createClient(connect, {
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
    return call<Stat | null>('exists', Date.now() + 5000, (done) => this.raw.exists(node, done));
  }

  async data(node: string): Promise<string> {
    const value = await call<Buffer>('getData', Date.now() + 5000, (done) => this.raw.getData(node, (error, data) => done(error, data)));
    return value ? value.toString() : '';
  }

  acl(node: string): Promise<ZkAcl[]> {
    return call<ZkAcl[]>('getACL', Date.now() + 5000, (done) => this.raw.getACL(node, (error, acls) => done(error, acls)));
  }

  /** Resolves with the error code of a refused call, or 0 when it went through. */
  async codeOf(work: (client: ZkClient, done: (error: Error | null) => void) => void): Promise<number> {
    try {
      await call<void>('call', Date.now() + 5000, (done) => work(this.raw, (error) => done(error as never, undefined)));
      return 0;
    } catch (err) {
      return codeOf(err) ?? -1;
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
        stat = await call<Stat | null>('exists', Math.min(deadline, Date.now() + 1000), (done) => this.raw.exists(node, this.watcher, done));
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
