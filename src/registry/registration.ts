import type { Phase } from '../app/machine.js';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Config } from '../config/schema.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import type { Backend, Desired, Instance } from './backend.js';
import { Reconciler } from './reconciler.js';

/**
 * Registered only while ready and online (the online calls succeeded); `down` while not ready after
 * that; out while draining or anything else.
 */
export function desiredFor(phase: Phase, draining: boolean, online = true): Desired {
  if (draining || !online) return { present: false };
  if (phase === 'ready') return { present: true, down: false };
  if (phase === 'notReady') return { present: true, down: true };
  return { present: false };
}

/** What else decides the registration: the online calls, and the offline calls that come before leaving. */
export interface OnlineGate {
  readonly online: boolean;
  readonly goingOffline: boolean;
  onChange(listener: () => void): void;
}

/** Registered only while ready: the reconciler follows the app's phase, the online calls and the drain from now on. */
export async function registerWhenReady(config: Config, app: AppSupervisor, draining: () => boolean, gate: OnlineGate, log: Log): Promise<Reconciler | null> {
  let registration: Reconciler | null;
  try {
    registration = await startRegistration(config, log);
  } catch (err) {
    log.error({ err: errorText(err) }, 'registration cannot start: the instance will not be registered');
    return null;
  }
  // A crash or `sv down` while in service: the offline calls first, then out of the registry.
  const follow = () => gate.goingOffline || registration?.want(desiredFor(app.state.phase, draining(), gate.online));
  app.onChange(follow);
  gate.onChange(follow);
  follow(); // the app has been running while the clients loaded
  return registration;
}

/** One reconciler over the backends the config names; null when no registry is configured. Only their clients are loaded. */
async function startRegistration(config: Config, log: Log): Promise<Reconciler | null> {
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
