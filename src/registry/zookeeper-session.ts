// One ZooKeeper session at a time, kept healthy: the client and its events, the credentials, and a watchdog
// that does what `nextAction` (zookeeper-health.ts) says. Opened on first use and again after one ends.

import type { Log } from '../log.js';
import { readSecretFile } from '../fd.js';
import { messageOf } from '../errors.js';
import { RegistryRefused } from './backend.js';
import { aclsFor, call, dispose, dropConnection, guard, TimeoutError, zk, type Acls, type ZkClient } from './zookeeper-client.js';
import { acted, connected, describeHealth, disconnected, nextAction, opened, probed, serversAnswered, watchdogBeatMs, type Action, type Health } from './zookeeper-health.js';
import { anyServerServing } from './zookeeper-servers.js';
import { realClock, type Clock } from '../toolbox/clock.js';

export interface SessionOptions {
  hosts: string; // `h1:p,h2:p`, no chroot
  sessionTimeoutMs: number;
  digestFile?: string; // holds `user:password`
  log: Log;
  /** The health's and the watchdog's time; tests pass a manual one. */
  clock?: Clock;
}

/** What the backend hears of the session. */
export interface SessionListener {
  /** Connected or disconnected, or the session replaced or closed. */
  changed(): void;
  /** The session ended, and the instance's node with it (or soon); `error` says why when it is one. */
  ended(error: string | undefined): void;
  /** Whatever happened while away (a restarted server, a node deleted, a new session), the node is checked again. */
  drift(): void;
}

export class ZooKeeperSession {
  private client: ZkClient | undefined;
  private acls: Acls = aclsFor(undefined);
  private health: Health | undefined;
  private stopWatchdog: (() => void) | undefined;
  private readonly clock: Clock;
  private closed = false;
  private everConnected = false;
  private endedBy: Error | undefined; // why the last session ended, told to the calls that waited on it
  private readonly changeWaiters = new Set<() => void>();

  constructor(
    private readonly opts: SessionOptions,
    private readonly listener: SessionListener,
  ) {
    this.clock = opts.clock ?? realClock;
  }

  get connected(): boolean {
    return this.health?.connected === true && this.client !== undefined;
  }

  /** A server took a session of this backend once: only then can anything of this run be in ZooKeeper. */
  get reached(): boolean {
    return this.everConnected;
  }

  /** The current session's client and ACLs, opening a session when there is none. Throws when the digestFile is unusable. */
  current(): { client: ZkClient; acls: Acls } {
    if (this.closed) throw new Error('ZooKeeper backend closed');
    this.client ??= this.open();
    return { client: this.client, acls: this.acls };
  }

  /** Waits until `client` is connected: true once it is, false when the deadline passed first. Throws once it is replaced or closed. */
  async connectedBy(client: ZkClient, deadline: number): Promise<boolean> {
    while (!(this.connected && this.client === client)) {
      if (this.closed) throw new Error('ZooKeeper backend closed');
      if (this.client !== client) throw this.endedBy ?? new Error('ZooKeeper session was replaced');
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.nextChange(left);
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatchdog?.();
    const client = this.client;
    this.client = undefined;
    if (this.health) this.health = disconnected(this.health, this.clock.now());
    this.changed();
    // A client that never reached a server has no session to close: nothing to wait for.
    if (client) await dispose(client, this.everConnected ? 1000 : 0);
  }

  private open(): ZkClient {
    const credentials = this.readCredentials();
    // The pause between servers varies per client, so a fleet does not reconnect in step: 250–500 ms, or 1–2 s for a
    // session opened during an outage (a thousand clients would otherwise knock on a quorum-less ensemble 3,000 times a second).
    const spinDelay = this.health?.outageReported ? 1000 + Math.round(Math.random() * 1000) : 250 + Math.round(Math.random() * 250);
    const client = zk.createClient(this.opts.hosts, { sessionTimeout: this.opts.sessionTimeoutMs, spinDelay, retries: 0 });
    guard(client, this.opts.log);
    client.on('connected', () => this.onConnected(client));
    client.on('disconnected', () => this.onDisconnected(client));
    client.on('expired', () => this.onExpired(client));
    client.on('authenticationFailed', () => this.onRefused(client));
    // Kept by the client and sent again on every reconnect of this session.
    if (credentials) client.addAuthInfo('digest', Buffer.from(credentials));
    this.acls = aclsFor(credentials);
    this.health = opened(this.health, client.getSessionTimeout(), this.clock.now(), Math.random());
    client.connect();
    this.startWatchdog();
    return client;
  }

  private readCredentials(): string | undefined {
    const file = this.opts.digestFile;
    if (!file) return undefined;
    let text: string;
    try {
      text = readSecretFile(file);
    } catch (err) {
      throw new Error(`cannot read ZooKeeper digestFile ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unknown error'}`);
    }
    if (text.indexOf(':') < 1 || text.includes('\n')) throw new Error(`ZooKeeper digestFile ${file} does not hold one user:password line`);
    return text;
  }

  private onConnected(client: ZkClient): void {
    if (client !== this.client || !this.health) return;
    this.health = connected(this.health, client.getSessionTimeout(), this.clock.now());
    this.everConnected = true;
    this.endedBy = undefined;
    this.opts.log.info({ session: client.getSessionId().toString('hex') }, 'connected to ZooKeeper');
    this.changed();
    this.listener.drift();
  }

  private onDisconnected(client: ZkClient): void {
    if (client !== this.client || !this.health) return;
    this.health = disconnected(this.health, this.clock.now());
    this.opts.log.info('disconnected from ZooKeeper; reconnecting');
    this.changed();
  }

  private onExpired(client: ZkClient): void {
    if (client !== this.client) return;
    this.opts.log.warn('ZooKeeper session expired; starting a new session');
    this.endedBy = new Error('the ZooKeeper session expired');
    this.renew();
  }

  private onRefused(client: ZkClient): void {
    if (client !== this.client) return;
    // No new session at once: the next apply opens one, paced by the reconciler's backoff.
    this.opts.log.warn('ZooKeeper refused the credentials');
    this.endedBy = new RegistryRefused('ZooKeeper refused the credentials');
    this.end();
    this.listener.ended('ZooKeeper refused the credentials');
    this.changed();
  }

  /** Drop the session for a new one; its ephemeral node went (or will go) with it. */
  private renew(): void {
    this.end();
    let error: string | undefined;
    if (!this.closed) {
      try {
        this.client = this.open();
      } catch (err) {
        error = messageOf(err);
      }
    }
    this.listener.ended(error);
    this.changed();
    this.listener.drift();
  }

  private end(): void {
    const old = this.client;
    this.client = undefined;
    if (this.health) this.health = disconnected(this.health, this.clock.now());
    if (old) void dispose(old, 1000);
  }

  private startWatchdog(): void {
    if (this.stopWatchdog || this.closed) return;
    const beat = (): void => {
      this.stopWatchdog = this.clock.after(watchdogBeatMs, () => {
        beat();
        this.check();
      });
    };
    beat();
  }

  /** Does what the session's health calls for now; run on every beat and after every probe's answer. */
  private check(): void {
    const client = this.client;
    if (!client || this.closed || !this.health) return;
    const now = this.clock.now();
    const action = nextAction(this.health, now);
    if (action.kind === 'idle') return;
    const before = this.health;
    this.health = acted(before, action, now);
    this.act(client, before, action);
  }

  private act(client: ZkClient, health: Health, action: Action): void {
    const session = health.session;
    const log = this.opts.log;
    switch (action.kind) {
      case 'probe':
        call('a liveness probe', Date.now() + action.timeoutMs, (done) => client.exists('/', done)).then(
          () => this.answered(probed, session, 'answered'),
          (err) => this.answered(probed, session, err instanceof TimeoutError ? 'timeout' : 'failed'),
        );
        return;
      case 'askServers':
        void anyServerServing(this.opts.hosts, action.timeoutMs).then((serving) => this.answered(serversAnswered, session, serving));
        return;
      case 'reconnect':
        if (health.connected) log.warn('ZooKeeper connection stopped answering; reconnecting');
        else log.info('a ZooKeeper server serves but the session is not back yet; trying the servers again with it');
        dropConnection(client);
        return;
      case 'newSession': {
        const fields = { health: describeHealth(health, this.clock.now()) };
        // Without a session yet, no server answered: the calls that waited say that, not that a session was replaced.
        const why = this.everConnected ? action.why : `no ZooKeeper server of ${this.opts.hosts} answered`;
        if (action.firstReport) log.warn(fields, `${why}; trying a new session`);
        else log.debug(fields, `${why}; trying a new session`);
        this.endedBy = new Error(why);
        this.renew();
        return;
      }
    }
  }

  private answered<A>(event: (health: Health, session: number, answer: A) => Health, session: number, answer: A): void {
    if (!this.health) return;
    this.health = event(this.health, session, answer);
    this.check();
  }

  private changed(): void {
    this.listener.changed();
    for (const wake of [...this.changeWaiters]) wake();
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
