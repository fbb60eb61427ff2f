import type { Clock } from '../../src/toolbox/clock.js';

/** A clock the test moves: timers fire, in order, only when `advance` passes them. */
export class ManualClock implements Clock {
  private time: number;
  private timers: Array<{ at: number; fn: () => void; seq: number }> = [];
  private seq = 0;

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + Math.max(0, ms), fn, seq: this.seq++ };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing each timer due on the way at its own instant. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (let fired = 0; fired < 100_000; fired++) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }

  /** Moves time forward `ms` in steps of `stepMs`, letting what each step started run before the next. */
  async pass(ms: number, stepMs = ms): Promise<void> {
    const step = Math.max(1, stepMs);
    for (let passed = 0; passed < ms; passed += step) {
      this.advance(Math.min(step, ms - passed));
      await turns();
    }
  }
}

/** Lets the work that a timer or an answer started run on: a few turns of the event loop, no time passes. */
export async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}
