// One registry backend (ZooKeeper, Consul KV, Consul service). The reconciler drives it.

/** What this instance is, as nginx upsync will read it. */
export interface Instance {
  upstream: string;
  address: string;
  port: number;
  weight: number;
  maxFails: number;
  failTimeout: number; // seconds
}

/** What the registry should hold for this instance. */
export type Desired = { present: false } | { present: true; down: boolean };

export interface BackendStatus {
  backend: string; // 'zookeeper' | 'consul-kv' | 'consul-service'
  state: string; // e.g. 'registered', 'down', 'absent', 'connecting', 'error'
  registered: boolean;
  lastError?: string;
  since: number; // ms epoch of the last state change
  lost?: { reason: 'unreachable' | 'refused'; since: number }; // registered since the app became ready, not held now
}

/** The registry answered and said no (credentials, ACL, another owner of the entry): not an outage, and it says so. */
export class RegistryRefused extends Error {
  override name = 'RegistryRefused';
}

export interface Backend {
  readonly name: string;
  /** The registry answered this run at least once: before that nothing of this run can be in it. */
  readonly reached: boolean;
  /** Make the registry hold `desired`. Resolves once it does; rejects on failure (the caller retries). Safe to call again at any time. */
  apply(desired: Desired): Promise<void>;
  /** Called when the backend sees the registry drift from what was applied (session lost, node deleted, agent restarted). */
  onDrift(listener: () => void): void;
  status(): BackendStatus;
  /** Release connections; does not remove anything by itself. */
  close(): Promise<void>;
}

/** The JSON value nginx upsync reads for one server. */
export function upsyncValue(instance: Instance, down: boolean): string {
  return JSON.stringify({ weight: instance.weight, max_fails: instance.maxFails, fail_timeout: instance.failTimeout, down: down ? 1 : 0, backup: 0 });
}

/** Whether the config names a registry at all. */
export const registryConfigured = ({ registry }: { registry: { zookeeper: { connect: string }; consul: { url: string } } }): boolean =>
  Boolean(registry.zookeeper.connect || registry.consul.url);
