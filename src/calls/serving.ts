import type { Call, Config } from '../config/schema.js';
import type { Log } from '../log.js';
import type { Traffic } from '../traffic/traffic.js';
import type { CallResult } from './call.js';
import { callOffline, describeResults, offlineCalls } from './offline.js';
import { goingOnlineReason, OnlineRound } from './online.js';

/** How many times one call answered one way, for the metrics. */
export interface CallCount {
  kind: CallResult['kind'];
  name: string;
  result: 'ok' | 'failed';
  count: number;
}

/**
 * The online and offline calls around the app's time in service, as the traffic's effects say: an online
 * round each time the app becomes ready (before it is registered), the offline calls once when it leaves
 * (prestop, TERM, a crash, `sv down`).
 */
export class Serving {
  private round: OnlineRound | null = null;
  private leaving: Promise<string> = Promise.resolve('not in service');
  private readonly last: CallResult[] = []; // each call's last result, for `nile status`
  readonly counts: CallCount[] = [];
  readonly offlineCalls: Call[];

  constructor(
    private readonly config: Config,
    private readonly log: Log,
    private readonly traffic: Traffic,
  ) {
    this.offlineCalls = offlineCalls(config);
    traffic.onEffect((effect) => {
      if (effect.type === 'goOnline') this.goOnline(effect.round);
      else if (effect.type === 'cancelOnline') this.round?.cancel();
      else if (effect.type === 'callOffline') this.goOffline();
    });
  }

  /** Why the app is not online yet, for the probe's line; null when it is (or is not in service). */
  goingOnline(now = Date.now()): string | null {
    const { online, leaving } = this.traffic.state;
    return this.round && online === 'going' && !leaving ? goingOnlineReason(this.round.pending, now) : null;
  }

  /** The last offline calls made, for whoever waits on them: what they answered, in one line. */
  offlineDone(): Promise<string> {
    return this.leaving;
  }

  /** Each call's last result, for `nile status`. */
  results(): CallResult[] {
    return [...this.last];
  }

  private goOffline(): void {
    this.leaving = callOffline(this.offlineCalls).then((results) => {
      results.forEach((r) => this.record(r));
      this.log.info({ calls: results.map(({ name, ok, detail, ms }) => ({ name, ok, detail, ms })) }, `offline calls: ${describeResults(results)}`);
      this.traffic.dispatch({ type: 'offlineDone' });
      return describeResults(results);
    });
  }

  private goOnline(number: number): void {
    this.round?.cancel();
    const round = new OnlineRound(this.config.online, (result) => {
      if (round !== this.round) return;
      this.record(result);
      if (result.ok) this.log.info({ call: result.name, status: result.detail, ms: result.ms }, `online call ${result.name}: ${result.detail}`);
      else this.log.warn({ call: result.name, detail: result.detail, retry: goingOnlineReason(round.pending, Date.now()) }, `online call ${result.name} failed: ${result.detail}`);
      if (round.online) this.traffic.dispatch({ type: 'online', round: number });
    });
    this.round = round;
    if (this.config.online.length) this.log.info({ calls: this.config.online.map((c) => c.name) }, 'going online');
    void round.finished.then((online) => online && this.config.online.length > 0 && this.log.info('online: every online call succeeded'));
  }

  private record(result: CallResult): void {
    const at = this.last.findIndex((r) => r.kind === result.kind && r.name === result.name);
    if (at >= 0) this.last[at] = result;
    else this.last.push(result);
    const outcome = result.ok ? 'ok' : 'failed';
    const counted = this.counts.find((c) => c.kind === result.kind && c.name === result.name && c.result === outcome);
    if (counted) counted.count += 1;
    else this.counts.push({ kind: result.kind, name: result.name, result: outcome, count: 1 });
  }
}
