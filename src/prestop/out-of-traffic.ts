import type { Call, Config } from '../config/schema.js';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import type { Desired } from '../registry/backend.js';

/** What the agent needs of the registration: the reconciler, or nothing when no registry is configured. */
export interface Registration {
  want(desired: Desired): void;
  settled(timeoutMs: number): Promise<boolean>;
}

/** The offline calls, made once per time in service (a crash may have made them already); `resume` starts a new time in service. */
export interface Offline {
  readonly offlineCalls: Call[];
  goOffline(): Promise<string>;
  resume(): void;
}

const deregisterBudgetMs = 3000;

/** Why the instance is out of traffic: the preStop hook, or the stop of the pod. */
export type DrainCause = 'prestop' | 'SIGTERM' | 'SIGINT';

/**
 * Takes the instance out of traffic: not ready, the offline calls, out of the registry, then wait for
 * the traffic to end. Runs once; `nile prestop` and SIGTERM share the same run. Only a prestop can be
 * undone (`sv up app`, see resume): a stop cannot.
 */
export class OutOfTraffic {
  /** Since when and why the instance is out of traffic; null while it may serve. */
  out: { since: number; by: DrainCause } | null = null;
  private run: Promise<void> | null = null;
  // Ends the waiting for traffic to stop (not the deregistration) when the kubelet's patience is over.
  private hurry = new AbortController();
  private finished = false;
  private stopping = false;
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly config: Config['prestop'],
    private readonly registration: () => Registration | null, // null until its clients are loaded, or none configured
    private readonly log: Log,
    private readonly mayHaveTraffic: () => boolean,
    private readonly offline: Offline,
  ) {}

  /** Upper bound of one run, for callers that must not wait longer. */
  budgetMs(): number {
    const { drain, wait } = this.config;
    const offline = Math.max(0, ...this.offline.offlineCalls.map((c) => c.timeout)); // made side by side
    return deregisterBudgetMs + offline + (drain.url ? drain.timeout : wait);
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

  get draining(): boolean {
    return this.out !== null;
  }

  /** Called when the instance leaves traffic and when it comes back. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(by: DrainCause): Promise<void> {
    if (by !== 'prestop') this.stopping = true;
    if (this.run) return this.run;
    this.out = { since: Date.now(), by };
    const run = this.steps()
      .catch((err) => this.log.error({ err: errorText(err) }, 'prestop: step failed'))
      .finally(() => run === this.run && (this.finished = true));
    this.run = run;
    this.changed();
    return run;
  }

  /**
   * The operator's `sv up app` after a stray `nile prestop`: the drain still waiting ends, the probe
   * answers for the app again and the registration follows its readiness. Not once the pod stops.
   */
  resume(): boolean {
    if (!this.out || this.stopping) return false;
    this.log.info({ since: new Date(this.out.since).toISOString(), by: this.out.by }, 'back in traffic: the app is wanted up again after a prestop');
    this.hurry.abort();
    this.hurry = new AbortController();
    this.out = null;
    this.run = null;
    this.finished = false;
    this.offline.resume();
    this.changed();
    return true;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private async steps(): Promise<void> {
    const hurry = this.hurry.signal; // this run's: a resume ends it, and the next run has its own
    this.log.info({ step: 'draining' }, 'prestop: draining (probe answers not ready)');
    const hadTraffic = this.mayHaveTraffic();
    if (hadTraffic && this.offline.offlineCalls.length) await this.timed('offline called', () => this.offline.goOffline());
    await this.timed('deregistered', () => this.deregister());
    if (!hadTraffic) return this.log.info({ step: 'drained' }, 'prestop: drained (the app never became ready: no traffic to wait for)');
    if (this.config.drain.url) await this.timed('drained', () => this.drain(hurry));
    else await this.timed('waited', async () => void (await sleep(this.config.wait, hurry)));
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

  // The app (or a sidecar) answers 200 on drain.url once no request is in flight.
  private async drain(hurry: AbortSignal): Promise<string> {
    const { url, timeout, interval } = this.config.drain;
    const deadline = Date.now() + timeout;
    let last = '';
    while (Date.now() < deadline) {
      if (hurry.aborted) return `cut short (last: ${last})`;
      try {
        const response = await (await httpClient()).request({ url, timeoutMs: Math.max(1, Math.min(interval, deadline - Date.now())), signal: hurry });
        if (response.status === 200) return 'drain url answered 200';
        last = `status ${response.status}`;
      } catch (err) {
        last = errorText(err);
      }
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), hurry);
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
