// What both Consul backends share: the HTTP client (base URL, ACL token header, timeout, errors that say what failed
// and never carry the token), and the life of a registration kept alive by a heartbeat inside its TTL.

import { readFileSync } from 'node:fs';
import Consul from 'consul';
import type { Log } from '../log.js';
import type { Backend, BackendStatus, Desired, Instance } from './backend.js';

export interface ConsulOptions {
  url: string;
  ttlMs: number;
  tokenFile?: string;
  instance: Instance;
  log: Log;
}

/** A failed Consul call: `consul: 403 ACL not found on PUT /v1/session/create`. */
export class ConsulError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly detail = '',
  ) {
    super(message);
    this.name = 'ConsulError';
  }
}

/** The ACL token from its file, trimmed; undefined without a file. Errors name the file, never its content. */
function readToken(tokenFile: string | undefined): string | undefined {
  if (!tokenFile) return undefined;
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConsulError(`consul: cannot read the ACL token file ${tokenFile} (${code})`);
  }
  // An empty file would silently make every call anonymous.
  if (!token) throw new ConsulError(`consul: the ACL token file ${tokenFile} is empty`);
  return token;
}

/** The `consul` client with nile's token and timeout, and calls whose failures read as ConsulError. */
class ConsulApi {
  readonly client: Consul;

  constructor(
    url: string,
    private readonly token: string | undefined,
    timeoutMs: number,
  ) {
    // The typings omit baseUrl, which the client accepts: it keeps the scheme, host, port and any path prefix of the
    // configured URL. The token travels as the X-Consul-Token header the client sets from `defaults.token`.
    const options = { baseUrl: `${url.replace(/\/+$/, '')}/v1`, defaults: { token, timeout: timeoutMs } };
    try {
      this.client = new Consul(options as ConstructorParameters<typeof Consul>[0]);
    } catch {
      throw new ConsulError('consul: registry.consul.url is not a valid URL');
    }
  }

  /** Runs one request; `what` ("PUT /v1/session/create") names it in the error. */
  async call<T>(what: string, request: (client: Consul) => Promise<T>): Promise<T> {
    try {
      return await request(this.client);
    } catch (err) {
      throw this.describe(err, what);
    }
  }

  close(): void {
    this.client.destroy();
  }

  private describe(err: unknown, what: string): ConsulError {
    const failure = err as { statusCode?: number; response?: { statusCode?: number; statusMessage?: string; body?: unknown }; message?: string };
    const status = failure.response?.statusCode ?? failure.statusCode;
    const body = bodyText(failure.response?.body);
    const reason = status ? `${status} ${body || failure.response?.statusMessage || ''}`.trim() : (failure.message ?? String(err));
    return new ConsulError(this.scrub(`consul: ${reason} on ${what}`), status, this.scrub(body));
  }

  // Consul does not echo tokens, but an error text must not be the one place a secret leaks through.
  private scrub(text: string): string {
    return this.token ? text.split(this.token).join('[redacted]') : text;
  }
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body);
  return text.trim().slice(0, 300);
}

/**
 * A registration held in Consul and kept alive by a heartbeat every TTL/3. Calls are serialized, so the reconciler's
 * apply and the heartbeat never interleave. When the heartbeat finds the registration lost (expired session, deleted
 * key, restarted agent), it tells the drift listeners and registers again once; the reconciler retries beyond that.
 */
export abstract class ConsulBackend implements Backend {
  abstract readonly name: string;
  protected readonly log: Log;
  private api?: ConsulApi;
  private desired: Desired = { present: false };
  private held = false;
  private heartbeatTimer?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: (() => void)[] = [];
  private current: BackendStatus;
  private lastWarning = '';
  private closed = false;

  constructor(protected readonly options: ConsulOptions) {
    this.log = options.log;
    this.current = { backend: '', state: 'absent', registered: false, since: Date.now() };
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
      } catch (err) {
        this.setState('error', this.held, (err as Error).message);
        throw err;
      }
    });
  }

  onDrift(listener: () => void): void {
    this.listeners.push(listener);
  }

  status(): BackendStatus {
    return { ...this.current, backend: this.name };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopHeartbeat();
    await this.queue;
    this.api?.close();
  }

  /** The client, created on first use so that the token file is read when registration starts. */
  protected consul(): ConsulApi {
    if (!this.api) {
      const token = readToken(this.options.tokenFile);
      this.api = new ConsulApi(this.options.url, token, requestTimeoutMs(this.options.ttlMs));
    }
    return this.api;
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
    if (this.heartbeatTimer || this.closed) return;
    this.heartbeatTimer = setInterval(() => void this.serial(() => this.beat()), Math.max(1, this.options.ttlMs / 3));
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async beat(): Promise<void> {
    const desired = this.desired;
    if (!desired.present || !this.held || this.closed) return;
    try {
      const lost = await this.heartbeat(desired.down);
      if (lost) await this.recover(lost, desired.down);
      else this.stillHeld(desired.down);
    } catch (err) {
      this.warnOnce(err as Error);
      this.setState('error', this.held, (err as Error).message);
    }
  }

  private async recover(lost: string, down: boolean): Promise<void> {
    this.held = false;
    this.log.warn({ backend: this.name, lost }, 'consul registration lost; registering again');
    this.setState('lost', false, lost);
    this.notifyDrift();
    await this.hold(down);
  }

  private stillHeld(down: boolean): void {
    this.lastWarning = '';
    if (this.current.state === 'error') this.setState(down ? 'down' : 'registered', true);
  }

  private notifyDrift(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.log.error({ backend: this.name, err: (err as Error).message }, 'drift listener failed');
      }
    }
  }

  // One line per distinct failure, not one per heartbeat while Consul stays unreachable.
  private warnOnce(err: Error): void {
    if (err.message === this.lastWarning) return;
    this.lastWarning = err.message;
    this.log.warn({ backend: this.name, err: err.message }, 'consul heartbeat failed');
  }

  private setState(state: string, registered: boolean, lastError?: string): void {
    const since = state === this.current.state ? this.current.since : Date.now();
    this.current = { backend: this.name, state, registered, since, ...(lastError ? { lastError } : {}) };
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

// A request that outlives a third of the TTL is no use to a heartbeat; between 1s and 10s.
function requestTimeoutMs(ttlMs: number): number {
  return Math.min(10_000, Math.max(1000, Math.round(ttlMs / 3)));
}
