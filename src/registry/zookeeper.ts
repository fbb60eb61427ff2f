// The ZooKeeper backend: one ephemeral node per instance, `<root>/<upstream>/<address>:<port>`, as nginx upsync reads it.

import fs from 'node:fs';
import net from 'node:net';
import type { Log } from '../log.js';
import { upsyncValue, type Backend, type BackendStatus, type Desired, type Instance } from './backend.js';
import { messageOf } from '../errors.js';
import {
  call,
  codeOf,
  digestAcl,
  dispose,
  dropConnection,
  guard,
  joinPath,
  sharedAcl,
  splitConnect,
  TimeoutError,
  zk,
  type Stat,
  type ZkAcl,
  type ZkClient,
  type ZkException,
} from './zookeeper-client.js';

export interface ZooKeeperOptions {
  connect: string; // `h1:p,h2:p` with an optional `/chroot`
  root: string;
  sessionTimeoutMs: number;
  digestFile?: string; // holds `user:password`
  instance: Instance;
  log: Log;
}

interface Acls {
  shared: ZkAcl[]; // the levels above the upstream
  own: ZkAcl[]; // the upstream and the instance's node
}

const openAcls = (): Acls => ({ shared: zk.ACL.OPEN_ACL_UNSAFE, own: zk.ACL.OPEN_ACL_UNSAFE });

export class ZooKeeperBackend implements Backend {
  readonly name = 'zookeeper';
  /** The instance's node, chroot included. */
  readonly path: string;
  private readonly hosts: string;
  private readonly upstreamPath: string;
  private readonly budgetMs: number;
  private readonly log: Log;
  private client: ZkClient | undefined;
  private acls: Acls = openAcls();
  private connected = false;
  private disconnectedSince = Date.now();
  private held: Desired | undefined; // what the node was after the last apply that succeeded
  private lastError: string | undefined;
  private state = 'connecting';
  private since = Date.now();
  private closed = false;
  private probing = false;
  private lastProbe = 0;
  private outageReported = false;
  private applying: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private readonly driftListeners: (() => void)[] = [];
  private readonly changeWaiters = new Set<() => void>();
  // One function for every watch, so the library keeps a single registration per path.
  private readonly watcher = (): void => this.drift();

  constructor(private readonly opts: ZooKeeperOptions) {
    const { hosts, chroot } = splitConnect(opts.connect);
    this.hosts = hosts;
    this.upstreamPath = joinPath(chroot, opts.root, opts.instance.upstream);
    this.path = joinPath(this.upstreamPath, `${opts.instance.address}:${opts.instance.port}`);
    // Every apply ends within this, answered or not, so a dead ensemble fails fast and is retried.
    this.budgetMs = Math.min(5000, Math.max(1000, opts.sessionTimeoutMs / 2));
    this.log = opts.log.child({ backend: this.name, path: this.path });
  }

  apply(desired: Desired): Promise<void> {
    // One apply at a time, each to its end, so the calls of an older one never land after a newer one's.
    const run = this.applying.then(() => this.applyNow(desired));
    this.applying = run.catch(() => undefined);
    return run;
  }

  onDrift(listener: () => void): void {
    this.driftListeners.push(listener);
  }

  status(): BackendStatus {
    return { backend: this.name, state: this.state, registered: this.held?.present === true, lastError: this.lastError, since: this.since };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    this.changed();
    if (client) await dispose(client, 1000);
  }

  private async applyNow(desired: Desired): Promise<void> {
    if (this.closed) throw new Error('ZooKeeper backend closed');
    const deadline = Date.now() + this.budgetMs;
    try {
      const client = this.session();
      if (desired.present) await this.ensurePresent(client, desired.down, deadline);
      else await this.removeNode(client, -1, deadline);
      this.held = desired;
      this.lastError = undefined;
    } catch (err) {
      this.held = undefined;
      this.lastError = messageOf(err);
      throw err;
    } finally {
      this.refresh();
    }
  }

  /** The node exists, is ours (this session's), and holds the data for `down`. */
  private async ensurePresent(client: ZkClient, down: boolean, deadline: number): Promise<void> {
    const data = Buffer.from(upsyncValue(this.opts.instance, down));
    for (let round = 0; round < 4; round++) {
      const stat = await this.op<Stat | null>(client, deadline, 'exists', (done) => client.exists(this.path, this.watcher, done));
      if (!stat) {
        if (await this.create(client, data, deadline)) return;
      } else if (!stat.ephemeralOwner.equals(client.getSessionId())) {
        // Left by an earlier session of this instance (a restart, an expiry): it dies with that session, so take it over.
        this.log.info('replacing a node held by another session');
        await this.removeNode(client, stat.version, deadline);
      } else {
        const current = await this.op<Buffer | null>(client, deadline, 'getData', (done) => client.getData(this.path, (error, value) => done(error, value)));
        if (!Buffer.isBuffer(current) || !current.equals(data)) {
          await this.op(client, deadline, 'setData', (done) => client.setData(this.path, data, -1, done));
        }
        return;
      }
    }
    throw new Error(`${this.path} kept changing while nile registered it`);
  }

  /** True once created; false when someone created it first (the caller looks again). */
  private async create(client: ZkClient, data: Buffer, deadline: number): Promise<boolean> {
    const createNode = (): Promise<string> =>
      this.op<string>(client, deadline, 'create', (done) => client.create(this.path, data, this.acls.own, zk.CreateMode.EPHEMERAL, done));
    try {
      await createNode();
      return true;
    } catch (err) {
      if (codeOf(err) === zk.Exception.NODE_EXISTS) return false;
      if (codeOf(err) !== zk.Exception.NO_NODE) throw err;
    }
    await this.createParents(client, deadline);
    try {
      await createNode();
      return true;
    } catch (err) {
      if (codeOf(err) === zk.Exception.NODE_EXISTS) return false;
      throw err;
    }
  }

  private async createParents(client: ZkClient, deadline: number): Promise<void> {
    const above = this.upstreamPath.slice(0, this.upstreamPath.lastIndexOf('/'));
    if (above) await this.op(client, deadline, 'mkdirp', (done) => client.mkdirp(above, this.acls.shared, zk.CreateMode.PERSISTENT, done));
    try {
      await this.op(client, deadline, 'create', (done) => client.create(this.upstreamPath, Buffer.alloc(0), this.acls.own, zk.CreateMode.PERSISTENT, done));
    } catch (err) {
      if (codeOf(err) !== zk.Exception.NODE_EXISTS) throw err;
    }
  }

  private async removeNode(client: ZkClient, version: number, deadline: number): Promise<void> {
    try {
      await this.op(client, deadline, 'remove', (done) => client.remove(this.path, version, (error) => done(error, undefined)));
    } catch (err) {
      const code = codeOf(err);
      if (code !== zk.Exception.NO_NODE && code !== zk.Exception.BAD_VERSION) throw err;
    }
  }

  /** One library call on `client`, once it is connected, all before the deadline. */
  private async op<T>(client: ZkClient, deadline: number, what: string, start: (done: (error: ZkException | null, value?: T) => void) => void): Promise<T> {
    while (!(this.connected && this.client === client)) {
      if (this.closed) throw new Error('ZooKeeper backend closed');
      if (this.client !== client) throw new Error('ZooKeeper session was replaced');
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`no ZooKeeper server of ${this.hosts} answered within ${this.budgetMs} ms`);
      await this.nextChange(left);
    }
    return call<T>(what, deadline, start);
  }

  private session(): ZkClient {
    this.client ??= this.openSession();
    return this.client;
  }

  private openSession(): ZkClient {
    const credentials = this.readCredentials();
    const client = zk.createClient(this.hosts, { sessionTimeout: this.opts.sessionTimeoutMs, spinDelay: 250, retries: 0 });
    guard(client, this.log);
    client.on('connected', () => this.onConnected(client));
    client.on('disconnected', () => this.onDisconnected(client));
    client.on('expired', () => this.onExpired(client));
    client.on('authenticationFailed', () => this.onRefused(client));
    // Kept by the client and sent again on every reconnect of this session.
    if (credentials) client.addAuthInfo('digest', Buffer.from(credentials));
    this.acls = credentials ? { shared: sharedAcl(), own: digestAcl(credentials) } : openAcls();
    this.connected = false;
    this.disconnectedSince = Date.now();
    client.connect();
    this.startWatchdog();
    return client;
  }

  private readCredentials(): string | undefined {
    const file = this.opts.digestFile;
    if (!file) return undefined;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`cannot read ZooKeeper digestFile ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unknown error'}`);
    }
    if (text.indexOf(':') < 1 || text.includes('\n')) throw new Error(`ZooKeeper digestFile ${file} does not hold one user:password line`);
    return text;
  }

  private onConnected(client: ZkClient): void {
    if (client !== this.client) return;
    this.connected = true;
    this.outageReported = false;
    this.log.info({ session: client.getSessionId().toString('hex') }, 'connected to ZooKeeper');
    this.changed();
    // Whatever happened while away (a restarted server, a node deleted), the node is checked again.
    this.drift();
  }

  private onDisconnected(client: ZkClient): void {
    if (client !== this.client) return;
    this.connected = false;
    this.disconnectedSince = Date.now();
    this.log.info('disconnected from ZooKeeper; reconnecting');
    this.changed();
  }

  private onExpired(client: ZkClient): void {
    if (client !== this.client) return;
    this.log.warn('ZooKeeper session expired; starting a new session');
    this.renewSession();
  }

  private onRefused(client: ZkClient): void {
    if (client !== this.client) return;
    // No new session at once: the next apply opens one, paced by the reconciler's backoff.
    this.log.warn('ZooKeeper refused the credentials');
    this.endSession();
    this.lastError = 'ZooKeeper refused the credentials';
    this.changed();
  }

  /** Drop the session for a new one; its ephemeral node went (or will go) with it. */
  private renewSession(): void {
    this.endSession();
    if (!this.closed) {
      try {
        this.session();
      } catch (err) {
        this.lastError = messageOf(err);
      }
    }
    this.changed();
    this.drift();
  }

  private endSession(): void {
    const old = this.client;
    this.client = undefined;
    this.connected = false;
    this.held = undefined;
    if (old) void dispose(old, 1000);
  }

  private startWatchdog(): void {
    if (this.watchdog) return;
    // A quick beat, so an outage's end is noticed at once; liveness probes go out only every quarter session timeout.
    this.watchdog = setInterval(() => this.checkConnection(), watchdogBeatMs);
    this.watchdog.unref();
  }

  /**
   * The library neither notices a connection that stopped answering nor gives up on a session the
   * servers no longer know, and it waits with no deadline for a server that took the TCP connection
   * but never answers the handshake (one still starting).
   */
  private checkConnection(): void {
    const client = this.client;
    if (!client || this.closed || this.probing) return;
    const sessionTimeoutMs = client.getSessionTimeout();
    if (!this.connected) return this.checkOutage(client, sessionTimeoutMs);
    if (Date.now() - this.lastProbe < sessionTimeoutMs / 4) return;
    this.lastProbe = Date.now();
    this.probing = true;
    const deadline = Date.now() + Math.max(100, Math.floor(sessionTimeoutMs / 4));
    call('a liveness probe', deadline, (done) => client.exists('/', done))
      .catch((err) => {
        if (!(err instanceof TimeoutError) || client !== this.client || !this.connected) return;
        this.log.warn('ZooKeeper connection stopped answering; reconnecting');
        dropConnection(client);
      })
      .finally(() => {
        this.probing = false;
      });
  }

  // Disconnected: once the servers have surely dropped the session, or as soon as one serves again
  // after a real outage while ours still does not come back (refused, or a stuck handshake), only a new session gets through.
  private checkOutage(client: ZkClient, sessionTimeoutMs: number): void {
    const down = Date.now() - this.disconnectedSince;
    if (down > (sessionTimeoutMs * 4) / 3) return this.giveUpSession('no ZooKeeper server answered within the session timeout');
    if (down < Math.max(outageAfterMs, sessionTimeoutMs / 4)) return;
    this.probing = true;
    void anyServerServing(this.hosts, 500)
      .then((up) => {
        if (up && client === this.client && !this.connected && !this.closed) this.giveUpSession('a ZooKeeper server serves again but the session did not come back');
      })
      .finally(() => {
        this.probing = false;
      });
  }

  private giveUpSession(why: string): void {
    if (this.outageReported) this.log.debug(`${why}; trying a new session`);
    else this.log.warn(`${why}; trying a new session`);
    this.outageReported = true;
    this.renewSession();
  }

  private drift(): void {
    if (this.closed) return;
    for (const listener of this.driftListeners) {
      try {
        listener();
      } catch (err) {
        this.log.warn({ error: messageOf(err) }, 'drift listener failed');
      }
    }
  }

  private changed(): void {
    this.refresh();
    for (const wake of [...this.changeWaiters]) wake();
  }

  private refresh(): void {
    const state = this.lastError !== undefined ? 'error' : !this.connected ? 'connecting' : heldState(this.held);
    if (state === this.state) return;
    this.state = state;
    this.since = Date.now();
  }

  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.changeWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.changeWaiters.add(wake);
    });
  }
}

function heldState(held: Desired | undefined): string {
  if (!held) return 'connected';
  if (!held.present) return 'absent';
  return held.down ? 'down' : 'registered';
}

const watchdogBeatMs = 250;
// Longer than a leader election takes, so a session survives one.
const outageAfterMs = 1500;

/**
 * True when one of `host:port,…` says it serves clients (the `srvr` four-letter word, allowed by
 * default, answers with its Mode). A member in a leader election says it is not serving yet.
 */
function anyServerServing(hosts: string, timeoutMs: number): Promise<boolean> {
  const targets = hosts.split(',').map((h) => h.trim()).filter(Boolean);
  return new Promise((resolve) => {
    let pending = targets.length;
    if (pending === 0) return resolve(false);
    for (const target of targets) {
      const colon = target.lastIndexOf(':');
      const socket = net.connect({ host: colon > 0 ? target.slice(0, colon) : target, port: colon > 0 ? Number(target.slice(colon + 1)) : 2181 });
      let answer = '';
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (/^Mode: /m.test(answer)) resolve(true);
        else if (--pending === 0) resolve(false);
      };
      const timer = setTimeout(done, timeoutMs);
      socket.once('connect', () => socket.write('srvr'));
      socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
      socket.once('close', done);
      socket.once('error', done);
    }
  });
}
