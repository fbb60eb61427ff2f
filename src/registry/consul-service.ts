// Consul `mode: service`: the instance as an agent service with upsync's tags and a TTL check that nile keeps
// passing (ready) or critical (down) well inside its TTL.

import type { CheckOptions } from 'consul/lib/agent/check.js';
import type { Backend } from './backend.js';
import { formatDuration } from '../config/duration.js';
import { ConsulError } from './consul-api.js';
import { ConsulBackend, type ConsulOptions } from './consul-backend.js';

export type ConsulServiceOptions = ConsulOptions;

export function createConsulServiceBackend(options: ConsulServiceOptions): Backend {
  return new ConsulServiceBackend(options);
}

// Consul's floor for DeregisterCriticalServiceAfter: a service whose check stays critical this long is reaped.
const DEREGISTER_CRITICAL_AFTER = '1m';

class ConsulServiceBackend extends ConsulBackend {
  readonly name = 'consul-service';
  private readonly serviceId: string;
  private readonly checkId: string;

  constructor(options: ConsulServiceOptions) {
    super(options);
    const { upstream, address, port } = options.instance;
    this.serviceId = `${upstream}-${address}-${port}`;
    this.checkId = `service:${this.serviceId}`;
  }

  protected async register(down: boolean): Promise<void> {
    const { upstream, address, port, weight, maxFails, failTimeout } = this.options.instance;
    await this.consul().call('PUT /v1/agent/service/register', (c) =>
      c.agent.service.register({
        name: upstream,
        id: this.serviceId,
        address,
        port,
        tags: [`weight=${weight}`, `max_fails=${maxFails}`, `fail_timeout=${failTimeout}s`],
        check: this.ttlCheck(down),
      }),
    );
    // A re-registration may keep the check's previous status; say the current one explicitly.
    await this.report(down);
  }

  protected async remove(): Promise<void> {
    try {
      await this.consul().call(`PUT /v1/agent/service/deregister/${this.serviceId}`, (c) => c.agent.service.deregister(this.serviceId));
    } catch (err) {
      if ((err as ConsulError).status !== 404) throw err;
    }
    this.log.info({ backend: this.name, serviceId: this.serviceId }, 'consul service deregistered');
  }

  protected async heartbeat(down: boolean): Promise<string | undefined> {
    try {
      await this.report(down);
      return undefined;
    } catch (err) {
      if (isForgotten(err)) return 'the agent no longer knows the service';
      throw err;
    }
  }

  // The typings ask every check for a name and a timeout; a TTL check takes neither (Consul names it itself).
  private ttlCheck(down: boolean): CheckOptions {
    const check = { ttl: formatDuration(this.options.ttlMs), deregistercriticalserviceafter: DEREGISTER_CRITICAL_AFTER, status: checkStatus(down) };
    return check as CheckOptions;
  }

  private report(down: boolean): Promise<unknown> {
    const verb = down ? 'fail' : 'pass';
    const note = down ? 'nile: not ready' : 'nile: ready';
    return this.consul().call(`PUT /v1/agent/check/${verb}/${this.checkId}`, (c) =>
      down ? c.agent.check.fail({ id: this.checkId, note }) : c.agent.check.pass({ id: this.checkId, note }),
    );
  }
}

function checkStatus(down: boolean): string {
  return down ? 'critical' : 'passing';
}

// Agents answer an update of a check they do not have with 404 "Unknown check ID" (Consul 1.11+), or with 500
// `Unknown check` / `CheckID ... does not have associated TTL` (older ones).
function isForgotten(err: unknown): boolean {
  if (!(err instanceof ConsulError)) return false;
  return err.status === 404 || (err.status === 500 && /does not have associated TTL|Unknown check/i.test(err.detail));
}
