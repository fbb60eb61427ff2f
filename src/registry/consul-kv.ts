// Consul `mode: kv`: the upsync JSON at `<prefix>/<upstream>/<ip>:<port>`, locked by a TTL session with
// Behavior delete, so the key disappears by itself when nile stops renewing it.

import { RegistryRefused, upsyncValue, type Backend } from './backend.js';
import { formatDuration } from '../config/duration.js';
import { ConsulError } from './consul-api.js';
import { ConsulBackend, type ConsulOptions } from './consul-backend.js';

export interface ConsulKvOptions extends ConsulOptions {
  prefix: string;
}

export function createConsulKvBackend(options: ConsulKvOptions): Backend {
  return new ConsulKvBackend(options);
}

interface KvEntry {
  Value: string | null;
  Session?: string;
  ModifyIndex: number;
}

class ConsulKvBackend extends ConsulBackend {
  readonly name = 'consul-kv';
  private readonly key: string;
  private session?: string;

  constructor(options: ConsulKvOptions) {
    super(options);
    const { upstream, address, port } = options.instance;
    this.key = [options.prefix.replace(/^\/+|\/+$/g, ''), upstream, `${address}:${port}`].filter(Boolean).join('/');
  }

  protected async register(down: boolean): Promise<void> {
    const value = upsyncValue(this.options.instance, down);
    if (await this.acquire(value)) return;
    await this.takeOver(value);
  }

  protected async remove(): Promise<void> {
    await this.consul().call(`DELETE /v1/kv/${this.key}`, (c) => c.kv.del(this.key));
    const session = this.session;
    this.session = undefined;
    if (session) await this.consul().call(`PUT /v1/session/destroy/${session}`, (c) => c.session.destroy(session));
    this.log.info({ backend: this.name, key: this.key }, 'consul key removed');
  }

  protected async heartbeat(down: boolean): Promise<string | undefined> {
    const session = this.session;
    if (!session) return 'session gone';
    try {
      await this.consul().call(`PUT /v1/session/renew/${session}`, (c) => c.session.renew(session));
    } catch (err) {
      if ((err as ConsulError).status !== 404) throw err;
      this.session = undefined;
      return 'session expired or destroyed';
    }
    const entry = await this.read();
    if (entry?.Session !== session || entry.Value !== upsyncValue(this.options.instance, down)) return 'key deleted or changed';
    return undefined;
  }

  // Acquiring with our session creates the key or updates its value; false when another session holds it.
  private async acquire(value: string): Promise<boolean> {
    const session = await this.ensureSession();
    try {
      return await this.put(value, session);
    } catch (err) {
      if (!isInvalidSession(err)) throw err;
      this.session = undefined;
      return this.put(value, await this.ensureSession());
    }
  }

  // The key of this ip:port is held by a session that is not ours: an earlier run of this instance, so it goes.
  private async takeOver(value: string): Promise<void> {
    const entry = await this.read();
    if (entry?.Session) {
      this.log.info({ backend: this.name, key: this.key, holder: entry.Session }, 'taking over the key from an earlier session');
      await this.consul().call(`DELETE /v1/kv/${this.key}`, (c) => c.kv.del({ key: this.key, cas: entry.ModifyIndex }));
      if (await this.acquire(value)) return;
    }
    throw new RegistryRefused(`consul: cannot lock ${this.key}: ${entry?.Session ? `held by session ${entry.Session}` : 'it is in its lock-delay'}`);
  }

  private async ensureSession(): Promise<string> {
    if (this.session) return this.session;
    const { upstream, address, port } = this.options.instance;
    const created = await this.consul().call('PUT /v1/session/create', (c) =>
      c.session.create({ name: `nile ${upstream} ${address}:${port}`, ttl: formatDuration(this.options.ttlMs), behavior: 'delete', lockdelay: '0s', checks: [] }),
    );
    this.session = created.ID;
    return created.ID;
  }

  private put(value: string, session: string): Promise<boolean> {
    return this.consul().call(`PUT /v1/kv/${this.key}?acquire=${session}`, (c) => c.kv.set({ key: this.key, value, acquire: session }));
  }

  private async read(): Promise<KvEntry | undefined> {
    const entry = await this.consul().call(`GET /v1/kv/${this.key}`, (c) => c.kv.get(this.key));
    return (entry ?? undefined) as KvEntry | undefined;
  }
}

// Consul answers an acquire with a session it no longer knows with 500 `invalid session "<id>"`.
function isInvalidSession(err: unknown): boolean {
  return err instanceof ConsulError && err.status === 500 && /invalid session/i.test(err.detail);
}
