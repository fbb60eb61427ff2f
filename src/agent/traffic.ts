import type { Config } from '../config/schema.js';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import type { Desired } from '../registry/backend.js';

/** What the agent needs of the registration: the reconciler, or nothing when no registry is configured. */
export interface Registration {
  want(desired: Desired): void;
  settled(timeoutMs: number): Promise<boolean>;
}

const deregisterBudgetMs = 3000;

/**
 * Takes the instance out of traffic: not ready, out of the registry, the offline call, then wait for
 * the traffic to end. Runs once; `nile prestop` and SIGTERM share the same run.
 */
export class OutOfTraffic {
  draining = false;
  private run: Promise<void> | null = null;
  // Ends the waiting for traffic to stop (not the deregistration) when the kubelet's patience is over.
  private readonly hurry = new AbortController();
  private finished = false;

  constructor(
    private readonly config: Config['prestop'],
    private readonly registration: () => Registration | null, // null until its clients are loaded, or none configured
    private readonly log: Log,
    private readonly mayHaveTraffic: () => boolean,
  ) {}

  /** Upper bound of one run, for callers that must not wait longer. */
  budgetMs(): number {
    const { offline, drain, wait } = this.config;
    return deregisterBudgetMs + (offline.url ? offline.timeout : 0) + (drain.url ? drain.timeout : wait);
  }

  /**
   * The kubelet sends TERM only once the preStop hook returned or the grace period ran out: a drain
   * still waiting then would leave the app no time for its own stop before KILL.
   */
  cutShort(): void {
    if (this.run && !this.finished && !this.hurry.signal.aborted) {
      this.log.warn('prestop: TERM came while still draining; the app is stopped now');
      this.hurry.abort();
    }
  }

  start(): Promise<void> {
    this.run ??= this.steps()
      .catch((err) => this.log.error({ err: errorText(err) }, 'prestop: step failed'))
      .finally(() => (this.finished = true));
    return this.run;
  }

  private async steps(): Promise<void> {
    this.draining = true;
    this.log.info({ step: 'draining' }, 'prestop: draining (probe answers not ready)');
    await this.timed('deregistered', () => this.deregister());
    if (!this.mayHaveTraffic()) return this.log.info({ step: 'drained' }, 'prestop: drained (the app never became ready: no traffic to wait for)');
    if (this.config.offline.url) await this.timed('offline called', () => this.callOffline());
    if (this.config.drain.url) await this.timed('drained', () => this.drain());
    else await this.timed('waited', async () => void (await sleep(this.config.wait, this.hurry.signal)));
  }

  private async timed(step: string, work: () => Promise<string | void>): Promise<void> {
    const started = Date.now();
    const detail = await work();
    this.log.info({ step, ms: Date.now() - started, detail }, `prestop: ${step}`);
  }

  private async deregister(): Promise<string> {
    const registration = this.registration();
    if (!registration) return 'no registry configured';
    registration.want({ present: false });
    return (await registration.settled(deregisterBudgetMs)) ? 'removed' : `not confirmed within ${deregisterBudgetMs}ms`;
  }

  private async callOffline(): Promise<string> {
    const { url, method, timeout } = this.config.offline;
    try {
      const response = await (await httpClient()).request({ url, method, timeoutMs: timeout });
      return `${method} ${response.status}`;
    } catch (err) {
      return `${method} failed: ${errorText(err)}`;
    }
  }

  // The app (or a sidecar) answers 200 on drain.url once no request is in flight.
  private async drain(): Promise<string> {
    const { url, timeout, interval } = this.config.drain;
    const deadline = Date.now() + timeout;
    let last = '';
    while (Date.now() < deadline) {
      if (this.hurry.signal.aborted) return `cut short by TERM (last: ${last})`;
      try {
        const response = await (await httpClient()).request({ url, timeoutMs: Math.max(1, Math.min(interval, deadline - Date.now())), signal: this.hurry.signal });
        if (response.status === 200) return 'drain url answered 200';
        last = `status ${response.status}`;
      } catch (err) {
        last = errorText(err);
      }
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), this.hurry.signal);
    }
    return `gave up after ${timeout}ms (last: ${last})`;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

// Loaded when an offline or drain call is made: the agent's start does not pay for node:http.
const httpClient = () => import('../http/client.js');
