import type { Call } from '../config/schema.js';
import { backoffDelay, type BackoffPolicy } from '../registry/backoff.js';
import { sleep } from '../toolbox/sleep.js';
import { makeCall, type CallResult } from './call.js';

// A gateway that is down is asked again soon, then every half minute at most.
export const onlineBackoff: BackoffPolicy = { baseMs: 1000, capMs: 30_000 };

/** Where one online call stands in the current round; printable in one line. */
export interface Pending {
  name: string;
  done: boolean;
  last: CallResult | null;
  retryAt: number | null; // ms epoch of the next try after a failure
}

/** "gateway: 503, retrying in 2s" for the first call not yet done ("calling again" once its time has come); null once all are. */
export function goingOnlineReason(pending: Pending[], now: number): string | null {
  const first = pending.find((p) => !p.done);
  if (!first) return null;
  if (!first.last || first.retryAt === null) return `${first.name}: calling`;
  if (first.retryAt <= now) return `${first.name}: ${first.last.detail}, calling again`;
  return `${first.name}: ${first.last.detail}, retrying in ${Math.ceil((first.retryAt - now) / 1000)}s`;
}

/**
 * The online calls of one time the app became ready: each is made until it succeeds, with backoff;
 * `cancel` ends the round when the app leaves service.
 */
export class OnlineRound {
  readonly pending: Pending[];
  readonly finished: Promise<boolean>; // true once every call succeeded, false when cancelled
  private readonly abort = new AbortController();

  constructor(
    calls: Call[],
    private readonly onResult: (result: CallResult) => void,
    private readonly policy: BackoffPolicy = onlineBackoff,
  ) {
    this.pending = calls.map((c) => ({ name: c.name, done: false, last: null, retryAt: null }));
    this.finished = Promise.all(calls.map((c, i) => this.callUntilDone(c, this.pending[i]!))).then((all) => all.every(Boolean));
  }

  get online(): boolean {
    return this.pending.every((p) => p.done);
  }

  cancel(): void {
    this.abort.abort();
  }

  private async callUntilDone(call: Call, pending: Pending): Promise<boolean> {
    for (let failures = 1; !this.abort.signal.aborted; failures++) {
      const result = await makeCall('online', call, this.abort.signal);
      if (this.abort.signal.aborted) return false;
      pending.last = result;
      if (result.ok) pending.done = true;
      else pending.retryAt = Date.now() + backoffDelay(failures, this.policy);
      this.onResult(result);
      if (result.ok) return true;
      await sleep(pending.retryAt! - Date.now(), this.abort.signal);
    }
    return false;
  }
}
