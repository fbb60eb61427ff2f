// Consul's raft index: one counter for every write, and the wake-up of blocking queries that wait on it.

import type { Clock } from '../../src/toolbox/clock.js';
import { parseDuration } from './duration.js';

// Consul caps a blocking query's wait at 10 minutes and defaults it to 5.
const maxWaitMs = 10 * 60_000;
const defaultWaitMs = 5 * 60_000;

export class Changes {
  index = 1;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** The index of a new write; blocking queries re-check their own index once the write is in place. */
  next(): number {
    this.index += 1;
    setImmediate(() => this.wake());
    return this.index;
  }

  /**
   * Holds a blocking query (`?index=N&wait=Xs`) until `indexOf()` passes N or the wait runs out.
   * Returns at once without `?index`, or when the index has already passed N.
   */
  async block(query: URLSearchParams, indexOf: () => number): Promise<void> {
    const min = Number(query.get('index') ?? 0);
    if (!min || indexOf() > min) return;
    const wait = Math.min(parseDuration(query.get('wait') ?? '') ?? defaultWaitMs, maxWaitMs);
    await new Promise<void>((resolve) => {
      const done = () => {
        cancel();
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (indexOf() > min) done();
      };
      const cancel = this.clock.after(wait, done);
      this.waiters.add(check);
    });
  }

  /** Lets every held query answer (the server is going away). */
  releaseAll(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const release of all) release();
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}
