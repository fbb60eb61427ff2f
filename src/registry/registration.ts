import type { Config } from '../config/schema.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import type { Backend, Instance } from './backend.js';
import { Reconciler } from './reconciler.js';

/** Where the registration stands: none configured, its clients loading, failed to load (never registered), or up. */
export type RegistrationState =
  | { state: 'none' }
  | { state: 'loading' }
  | { state: 'failed'; error: string }
  | { state: 'ready'; reconciler: Reconciler };

/** The registration the config names: up, none configured, or failed (its clients would not start; logged). */
export async function startRegistration(config: Config, log: Log): Promise<Exclude<RegistrationState, { state: 'loading' }>> {
  try {
    const reconciler = await reconcilerFor(config, log);
    return reconciler ? { state: 'ready', reconciler } : { state: 'none' };
  } catch (err) {
    log.error({ err: errorText(err) }, 'registration cannot start: the instance will not be registered');
    return { state: 'failed', error: errorText(err) };
  }
}

/** One reconciler over the backends the config names; null when no registry is configured. Only their clients are loaded. */
async function reconcilerFor(config: Config, log: Log): Promise<Reconciler | null> {
  const { registry } = config;
  const instance: Instance = {
    upstream: registry.upstream,
    address: registry.address,
    port: registry.port,
    weight: registry.weight,
    maxFails: registry.maxFails,
    failTimeout: registry.failTimeout,
  };
  const backends: Backend[] = [];
  const { zookeeper: zk, consul } = registry;
  if (zk.connect) {
    const { ZooKeeperBackend } = await import('./zookeeper.js');
    backends.push(new ZooKeeperBackend({ connect: zk.connect, root: zk.root, sessionTimeoutMs: zk.sessionTimeout, digestFile: zk.digestFile || undefined, instance, log }));
  }
  if (consul.url) {
    const options = { url: consul.url, ttlMs: consul.ttl, tokenFile: consul.tokenFile || undefined, instance, log };
    if (consul.mode === 'kv') backends.push((await import('./consul-kv.js')).createConsulKvBackend({ ...options, prefix: consul.prefix }));
    else backends.push((await import('./consul-service.js')).createConsulServiceBackend(options));
  }
  if (backends.length === 0) return null;
  log.info({ backends: backends.map((b) => b.name), upstream: instance.upstream, address: `${instance.address}:${instance.port}` }, 'registration configured');
  return new Reconciler(backends, log);
}
