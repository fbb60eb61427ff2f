// The ZooKeeper backend: one ephemeral node per instance, `<root>/<upstream>/<address>:<port>`, as nginx upsync reads it.
// The session and its health live in zookeeper-session.ts, the node operations in zookeeper-nodes.ts.

import type { Log } from '../log.js';
import { RegistryRefused, upsyncValue, type Backend, type BackendStatus, type Desired, type Instance } from './backend.js';
import { messageOf } from '../errors.js';
import { call, codeOf, joinPath, splitConnect, TimeoutError, zk } from './zookeeper-client.js';
import { ensurePresent, removeNode, type Calls, type InstanceNode } from './zookeeper-nodes.js';
import { ZooKeeperSession } from './zookeeper-session.js';
import type { Clock } from '../toolbox/clock.js';
import { Emitter } from '../toolbox/emitter.js';

export interface ZooKeeperOptions {
  connect: string; // `h1:p,h2:p` with an optional `/chroot`
  root: string;
  sessionTimeoutMs: number;
  digestFile?: string; // holds `user:password`
  instance: Instance;
  log: Log;
  /** The session watchdog's time; tests pass a manual one. */
  clock?: Clock;
}

export class ZooKeeperBackend implements Backend {
  readonly name = 'zookeeper';
  /** The instance's node, chroot included. */
  readonly path: string;
  private readonly hosts: string;
  private readonly node: InstanceNode;
  private readonly budgetMs: number;
  private readonly session: ZooKeeperSession;
  private held: Desired | undefined; // what the node was after the last apply that succeeded
  private lastError: string | undefined;
  private state = 'connecting';
  private since = Date.now();
  private closed = false;
  private applying: Promise<void> = Promise.resolve();
  private readonly driftListeners: Emitter<void>;

  constructor(private readonly opts: ZooKeeperOptions) {
    const { hosts, chroot } = splitConnect(opts.connect);
    this.hosts = hosts;
    const upstreamPath = joinPath(chroot, opts.root, opts.instance.upstream);
    this.path = joinPath(upstreamPath, `${opts.instance.address}:${opts.instance.port}`);
    const log = opts.log.child({ backend: this.name, path: this.path });
    this.driftListeners = new Emitter((err) => log.warn({ error: messageOf(err) }, 'drift listener failed'));
    this.node = { path: this.path, upstreamPath, watcher: () => this.drift(), log };
    // Every apply ends within this, answered or not, so a dead ensemble fails fast and is retried.
    this.budgetMs = Math.min(5000, Math.max(1000, opts.sessionTimeoutMs / 2));
    this.session = new ZooKeeperSession(
      { hosts, sessionTimeoutMs: opts.sessionTimeoutMs, digestFile: opts.digestFile, log, clock: opts.clock },
      {
        changed: () => this.refresh(),
        ended: (error) => {
          this.held = undefined;
          if (error !== undefined) this.lastError = error;
        },
        drift: () => this.drift(),
      },
    );
  }

  apply(desired: Desired): Promise<void> {
    // One apply at a time, each to its end, so the calls of an older one never land after a newer one's.
    const run = this.applying.then(() => this.applyNow(desired));
    this.applying = run.catch(() => undefined);
    return run;
  }

  onDrift(listener: () => void): void {
    this.driftListeners.listen(listener);
  }

  get reached(): boolean {
    return this.session.reached;
  }

  status(): BackendStatus {
    return { backend: this.name, state: this.state, registered: this.held?.present === true, lastError: this.lastError, since: this.since };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.close();
  }

  private async applyNow(desired: Desired): Promise<void> {
    if (this.closed) throw new Error('ZooKeeper backend closed');
    try {
      const calls = this.calls(Date.now() + this.budgetMs);
      if (desired.present) await ensurePresent(calls, this.node, Buffer.from(upsyncValue(this.opts.instance, desired.down)));
      else await removeNode(calls, this.node, -1);
      this.held = desired;
      this.lastError = undefined;
    } catch (err) {
      this.held = undefined;
      this.lastError = messageOf(err);
      // NO_AUTH: the node or a parent is another identity's (a conflicting owner, a wrong digest): ZooKeeper says no.
      throw codeOf(err) === zk.Exception.NO_AUTH ? new RegistryRefused(`ZooKeeper refused: ${this.lastError}`) : err;
    } finally {
      this.refresh();
    }
  }

  /** The current session's calls, each made once it is connected and all before the deadline. */
  private calls(deadline: number): Calls {
    const { client, acls } = this.session.current();
    return {
      client,
      acls,
      run: async (what, start) => {
        if (!(await this.session.connectedBy(client, deadline))) throw new TimeoutError(`no ZooKeeper server of ${this.hosts} answered within ${this.budgetMs} ms`);
        return call(what, deadline, start);
      },
    };
  }

  private drift(): void {
    if (!this.closed) this.driftListeners.emit();
  }

  private refresh(): void {
    const state = this.lastError !== undefined ? 'error' : !this.session.connected ? 'connecting' : heldState(this.held);
    if (state === this.state) return;
    this.state = state;
    this.since = Date.now();
  }
}

function heldState(held: Desired | undefined): string {
  if (!held) return 'connected';
  if (!held.present) return 'absent';
  return held.down ? 'down' : 'registered';
}
