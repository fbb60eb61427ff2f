// What both Consul backends share: the life of a registration kept alive by a heartbeat inside its TTL.

import type { Log } from '../log.js';
import { RegistryRefused, type Backend, type BackendStatus, type Desired, type Instance } from './backend.js';
import { ConsulApi, ConsulError, readToken, requestTimeoutMs } from './consul-api.js';
import { realClock, type Clock } from '../toolbox/clock.js';
import { Emitter } from '../toolbox/emitter.js';

export interface ConsulOptions {
  url: string;
  ttlMs: number;
  tokenFile?: string;
  instance: Instance;
  log: Log;
  /** The heartbeats' time; tests pass a manual one. */
  clock?: Clock;
}

/**
 * A registration held in Consul and kept alive by a heartbeat every TTL/3. Calls are serialized, so the reconciler's
 * apply and the heartbeat never interleave. The heartbeat only renews: when it finds the registration lost (expired
 * session, deleted key, restarted agent), it tells the drift listeners, and the reconciler registers it again.
 */
export abstract class ConsulBackend implements Backend {
  abstract readonly name: string;
  reached = false;
  protected readonly log: Log;
  private api?: { client: ConsulApi; token: string | undefined };
  private desired: Desired = { present: false };
  private held = false;
  private cancelHeartbeat?: () => void;
  private heartbeats = 0; // which run of heartbeats is on; a beat of a stopped run schedules none
  private queue: Promise<unknown> = Promise.resolve();
  private readonly drift: Emitter<void>;
  private readonly clock: Clock;
  private current: BackendStatus;
  private lastWarning = '';
  private closed = false;

  constructor(protected readonly options: ConsulOptions) {
    this.log = options.log;
    this.clock = options.clock ?? realClock;
    this.drift = new Emitter((err) => this.log.error({ backend: this.name, err: (err as Error).message }, 'drift listener failed'));
    this.current = { backend: '', state: 'absent', registered: false, since: this.clock.now() };
  }

  /** Makes Consul hold the instance (or not); rejects with a ConsulError, and the caller retries. */
  protected abstract register(down: boolean): Promise<void>;
  protected abstract remove(): Promise<void>;
  /** Keeps the registration alive; returns what was found lost, or undefined when it is intact. */
  protected abstract heartbeat(down: boolean): Promise<string | undefined>;

  apply(desired: Desired): Promise<void> {
    this.desired = desired;
    if (desired.present) this.startHeartbeat();
    else this.stopHeartbeat();
    return this.serial(async () => {
      try {
        if (desired.present) await this.hold(desired.down);
        else await this.release();
        this.reached = true;
      } catch (err) {
        this.setState('error', this.held, (err as Error).message);
        throw this.answered(err);
      }
    });
  }

  onDrift(listener: () => void): void {
    this.drift.listen(listener);
  }

  status(): BackendStatus {
    return { ...this.current, backend: this.name };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopHeartbeat();
    await this.queue;
    this.api?.client.close();
  }

  /** The client with the token the file holds now: read at each use, so a token rotated while running is taken up. */
  protected consul(): ConsulApi {
    const token = readToken(this.options.tokenFile);
    if (!this.api || this.api.token !== token) {
      this.api?.client.close();
      this.api = { client: new ConsulApi(this.options.url, token, requestTimeoutMs(this.options.ttlMs)), token };
    }
    return this.api.client;
  }

  private async hold(down: boolean): Promise<void> {
    await this.register(down);
    this.held = true;
    this.lastWarning = '';
    const state = down ? 'down' : 'registered';
    if (state !== this.current.state) this.log.info({ backend: this.name, state }, 'consul registration applied');
    this.setState(state, true);
  }

  private async release(): Promise<void> {
    this.held = false;
    await this.remove();
    this.setState('absent', false);
  }

  private startHeartbeat(): void {
    if (this.cancelHeartbeat || this.closed) return;
    // Each beat 1/4–1/3 of the TTL after the last (well inside it), drawn anew: a fleet registered together (after an
    // agent restart, a rollout) does not renew in step.
    const run = ++this.heartbeats;
    const next = (): void => {
      const delayMs = (this.options.ttlMs / 12) * (3 + Math.random());
      this.cancelHeartbeat = this.clock.after(delayMs, () => void this.serial(() => this.beat()).finally(() => run === this.heartbeats && next()));
    };
    next();
  }

  private stopHeartbeat(): void {
    this.cancelHeartbeat?.();
    this.cancelHeartbeat = undefined;
    this.heartbeats++;
  }

  private async beat(): Promise<void> {
    const desired = this.desired;
    if (!desired.present || !this.held || this.closed) return;
    try {
      const lost = await this.heartbeat(desired.down);
      this.reached = true;
      if (lost) this.lost(lost);
      else this.stillHeld(desired.down);
    } catch (err) {
      // Still held until the TTL says otherwise: the status says Consul does not answer (or refuses), not that it is gone.
      const failure = this.answered(err);
      this.warnOnce(err as Error);
      this.setState(failure instanceof RegistryRefused ? 'refused' : 'unreachable', this.held, (err as Error).message);
    }
  }

  /** Notes that Consul answered, when it did; a 401 or 403 is Consul saying no (the token, its ACL), not an outage. */
  private answered(err: unknown): unknown {
    if (err instanceof RegistryRefused) this.reached = true;
    if (!(err instanceof ConsulError) || err.status === undefined) return err;
    this.reached = true;
    return err.status === 401 || err.status === 403 ? new RegistryRefused(err.message) : err;
  }

  private lost(what: string): void {
    this.held = false;
    this.log.warn({ backend: this.name, lost: what }, 'consul registration lost; registering again');
    this.setState('lost', false, what);
    this.drift.emit();
  }

  private stillHeld(down: boolean): void {
    this.lastWarning = '';
    if (['error', 'unreachable', 'refused'].includes(this.current.state)) this.setState(down ? 'down' : 'registered', true);
  }

  // One line per distinct failure, not one per heartbeat while Consul stays unreachable.
  private warnOnce(err: Error): void {
    if (err.message === this.lastWarning) return;
    this.lastWarning = err.message;
    this.log.warn({ backend: this.name, err: err.message }, 'consul heartbeat failed');
  }

  private setState(state: string, registered: boolean, lastError?: string): void {
    const since = state === this.current.state ? this.current.since : this.clock.now();
    this.current = { backend: this.name, state, registered, since, ...(lastError ? { lastError } : {}) };
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
