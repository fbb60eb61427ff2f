import type { Phase } from '../app/machine.js';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../log.js';
import type { Backend, Desired, Instance } from './backend.js';
import { createConsulKvBackend } from './consul-kv.js';
import { createConsulServiceBackend } from './consul-service.js';
import { Reconciler } from './reconciler.js';
import { ZooKeeperBackend } from './zookeeper.js';

/** Registered only while ready; `down` while not ready after being ready; out while draining or anything else. */
export function desiredFor(phase: Phase, draining: boolean): Desired {
  if (draining) return { present: false };
  if (phase === 'ready') return { present: true, down: false };
  if (phase === 'notReady') return { present: true, down: true };
  return { present: false };
}

/** Registered only while ready: the reconciler follows the app's phase (and the drain) from now on. */
export function registerWhenReady(config: Config, app: AppSupervisor, draining: () => boolean, log: Log): Reconciler | null {
  const registration = startRegistration(config, log);
  app.onChange((state) => registration?.want(desiredFor(state.phase, draining())));
  return registration;
}

/** One reconciler over the backends the config names; null when no registry is configured. */
export function startRegistration(config: Config, log: Log): Reconciler | null {
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
    backends.push(new ZooKeeperBackend({ connect: zk.connect, root: zk.root, sessionTimeoutMs: zk.sessionTimeout, digestFile: zk.digestFile || undefined, instance, log }));
  }
  if (consul.url) {
    const options = { url: consul.url, ttlMs: consul.ttl, tokenFile: consul.tokenFile || undefined, instance, log };
    backends.push(consul.mode === 'kv' ? createConsulKvBackend({ ...options, prefix: consul.prefix }) : createConsulServiceBackend(options));
  }
  if (backends.length === 0) return null;
  log.info({ backends: backends.map((b) => b.name), upstream: instance.upstream, address: `${instance.address}:${instance.port}` }, 'registration configured');
  return new Reconciler(backends, log);
}
