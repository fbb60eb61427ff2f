import type { Call, Config } from '../config/schema.js';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import { sleep } from '../toolbox/sleep.js';
import type { DrainCause } from '../traffic/machine.js';
import type { Traffic } from '../traffic/traffic.js';

/** What the drain needs of the registration: the reconciler, or nothing when there is none to wait for. */
export interface Registration {
  settled(timeoutMs: number): Promise<boolean>;
}

/** The offline calls: their list (for the budget), and the last run's answers once made. */
export interface Offline {
  readonly offlineCalls: Call[];
  offlineDone(): Promise<string>;
}

const deregisterBudgetMs = 3000;

/**
 * Takes the instance out of traffic, as the traffic's `drain` effect says: not ready, the offline calls,
 * out of the registry, then wait for the traffic to end. Runs once; `nile prestop` and SIGTERM share the
 * same run. Only a prestop can be undone (`sv up app`): a stop cannot.
 */
export class OutOfTraffic {
  private run: Promise<void> | null = null;
  // Ends the waiting for traffic to stop (not the deregistration) when the kubelet's patience is over.
  private hurry = new AbortController();
  private finished = false;

  constructor(
    private readonly config: Config['prestop'],
    private readonly registration: () => Registration | null, // null until its clients are loaded, or none configured
    private readonly log: Log,
    private readonly traffic: Traffic,
    private readonly offline: Offline,
  ) {
    traffic.onEffect((effect) => {
      if (effect.type === 'drain') this.begin(effect.hadTraffic);
      else if (effect.type === 'hurry') this.cutShort();
      else if (effect.type === 'undrain') this.undo(effect.was);
    });
  }

  /** Upper bound of one run, for callers that must not wait longer. */
  budgetMs(): number {
    const { drain, wait } = this.config;
    const offline = Math.max(0, ...this.offline.offlineCalls.map((c) => c.timeout)); // made side by side
    return deregisterBudgetMs + offline + (drain.url ? drain.timeout : wait);
  }

  /** Since when and why the instance is out of traffic; null while it may serve. */
  get out(): { since: number; by: DrainCause } | null {
    return this.traffic.state.draining;
  }

  get draining(): boolean {
    return this.out !== null;
  }

  /** Out of traffic by `by`; resolves when this drain's run is over (the one already running, if any). */
  start(by: DrainCause): Promise<void> {
    this.traffic.dispatch({ type: 'drain', by, at: Date.now() });
    return this.run ?? Promise.resolve();
  }

  private begin(hadTraffic: boolean): void {
    const run = this.steps(hadTraffic)
      .catch((err) => this.log.error({ err: errorText(err) }, 'prestop: step failed'))
      .finally(() => run === this.run && (this.finished = true));
    this.run = run;
  }

  /**
   * The kubelet sends TERM only once the preStop hook returned or the grace period ran out: a drain
   * still waiting then would leave the app no time for its own stop before KILL.
   */
  private cutShort(): void {
    if (this.run && !this.finished && !this.hurry.signal.aborted) {
      this.log.warn('prestop: TERM came while still draining; the app is stopped now');
      this.hurry.abort();
    }
  }

  /**
   * The operator's `sv up app` after a stray `nile prestop`: the drain still waiting ends, the probe
   * answers for the app again and the registration follows its readiness.
   */
  private undo(was: { since: number; by: DrainCause }): void {
    this.log.info({ since: new Date(was.since).toISOString(), by: was.by }, 'back in traffic: the app is wanted up again after a prestop');
    this.hurry.abort();
    this.hurry = new AbortController();
    this.run = null;
    this.finished = false;
  }

  private async steps(hadTraffic: boolean): Promise<void> {
    const hurry = this.hurry.signal; // this run's: a resume ends it, and the next run has its own
    this.log.info({ step: 'draining' }, 'prestop: draining (probe answers not ready)');
    // Offline calls in flight (this drain's, or a crash's) come before the deregistration.
    const calling = this.traffic.until((s) => s.offline !== 'calling');
    if (hadTraffic && this.offline.offlineCalls.length) await this.timed('offline called', () => calling.then(() => this.offline.offlineDone()));
    else await calling;
    await this.timed('deregistered', () => this.deregistered());
    if (!hadTraffic) return this.log.info({ step: 'drained' }, 'prestop: drained (the app never became ready: no traffic to wait for)');
    if (this.config.drain.url) await this.timed('drained', () => this.drain(hurry));
    else await this.timed('waited', async () => void (await sleep(this.config.wait, hurry)));
  }

  private async timed(step: string, work: () => Promise<string | void>): Promise<void> {
    const started = Date.now();
    const detail = await work();
    this.log.info({ step, ms: Date.now() - started, detail }, `prestop: ${step}`);
  }

  // The traffic has told the registration to let go by now: wait for the registries to confirm it.
  private async deregistered(): Promise<string> {
    const registration = this.registration();
    if (!registration) return 'no registry configured';
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

// Loaded when an offline or drain call is made: the agent's start does not pay for node:http.
const httpClient = () => import('../http/client.js');
