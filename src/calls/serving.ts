import type { AppState, Phase } from '../app/machine.js';
import type { Call, Config } from '../config/schema.js';
import type { Log } from '../log.js';
import type { CallResult } from './call.js';
import { callOffline, describeResults, offlineCalls } from './offline.js';
import { goingOnlineReason, OnlineRound } from './online.js';

const inService = (phase: Phase) => phase === 'ready' || phase === 'notReady';

/**
 * The online and offline calls around the app's time in service: online each time it becomes ready
 * (before it is registered), offline once when it leaves (prestop, TERM, a crash, `sv down`).
 */
export class Serving {
  private phase: Phase = 'down';
  private round: OnlineRound | null = null;
  private leaving: Promise<string> | null = null;
  private calling = false; // offline calls in flight
  private readonly last = new Map<string, CallResult>(); // by kind and name, for `nile status`
  readonly counts = new Map<string, number>(); // `${kind}\0${name}\0${ok|failed}`, for the metrics
  private readonly listeners: Array<() => void> = [];
  readonly offlineCalls: Call[];

  constructor(
    private readonly config: Config,
    private readonly log: Log,
  ) {
    this.offlineCalls = offlineCalls(config);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Follows the app: a start into service begins the online round, a way out of it the offline calls. */
  follow(state: AppState): void {
    const was = this.phase;
    this.phase = state.phase;
    if (state.phase === 'ready' && !inService(was)) this.goOnline();
    else if (inService(was) && !inService(state.phase)) void this.goOffline();
  }

  /** Ready or not ready after it: the app may have traffic. */
  get inService(): boolean {
    return inService(this.phase);
  }

  /** The offline calls are being made: the registration stays as it is until they are done. */
  get goingOffline(): boolean {
    return this.calling;
  }

  /** Every online call of this time in service succeeded (none configured: at once). */
  get online(): boolean {
    return this.round?.online ?? false;
  }

  /** Why the app is not online yet, for the probe's line; null when it is (or is not in service). */
  goingOnline(now = Date.now()): string | null {
    return this.round && !this.leaving ? goingOnlineReason(this.round.pending, now) : null;
  }

  /** The offline calls, once per time in service; later callers share the first one's run. */
  goOffline(): Promise<string> {
    if (this.leaving) return this.leaving;
    if (!this.round) return Promise.resolve('not in service');
    this.round.cancel();
    const calls = this.offlineCalls;
    if (calls.length === 0) return (this.leaving = Promise.resolve('none configured'));
    this.calling = true;
    this.leaving = callOffline(calls).then((results) => {
      results.forEach((r) => this.record(r));
      this.log.info({ calls: results.map(({ name, ok, detail, ms }) => ({ name, ok, detail, ms })) }, `offline calls: ${describeResults(results)}`);
      this.calling = false;
      this.changed();
      return describeResults(results);
    });
    return this.leaving;
  }

  /** Back in traffic after a stray prestop (`sv up app`): a new time in service, online again. */
  resume(): void {
    if (this.inService && this.leaving) this.goOnline();
  }

  /** Each call's last result, for `nile status`. */
  results(): CallResult[] {
    return [...this.last.values()];
  }

  private goOnline(): void {
    this.round?.cancel();
    this.leaving = null;
    const round = new OnlineRound(this.config.online, (result) => {
      if (round !== this.round) return;
      this.record(result);
      if (result.ok) this.log.info({ call: result.name, status: result.detail, ms: result.ms }, `online call ${result.name}: ${result.detail}`);
      else this.log.warn({ call: result.name, detail: result.detail, retry: goingOnlineReason(round.pending, Date.now()) }, `online call ${result.name} failed: ${result.detail}`);
      this.changed();
    });
    this.round = round;
    if (this.config.online.length) this.log.info({ calls: this.config.online.map((c) => c.name) }, 'going online');
    void round.finished.then((online) => online && this.config.online.length > 0 && this.log.info('online: every online call succeeded'));
    this.changed();
  }

  private record(result: CallResult): void {
    this.last.set(`${result.kind}\0${result.name}`, result);
    const key = `${result.kind}\0${result.name}\0${result.ok ? 'ok' : 'failed'}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
