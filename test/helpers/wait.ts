// Waiting in tests: a pause, a bounded wait for a promise, and a bounded wait for a condition that
// names what it waited for.

import { setTimeout as delay } from 'node:timers/promises';

/** Resolves after `ms` (at once when ms <= 0). */
export function sleep(ms: number): Promise<void> {
  return delay(Math.max(0, ms));
}

/** true when `promise` settles (either way) within ms; the timer does not outlive the answer. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/** Wakes whoever waits for the next change of something a test watches (new log lines, events, answers). */
export class Changes {
  private readonly waiters = new Set<() => void>();

  /** Something changed: every wait looks again now. */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves at the next change, or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      this.waiters.add(wake);
    });
  }
}

export interface WaitOptions {
  /** How long between two looks (default 100 ms). */
  everyMs?: number;
  /** Look again as soon as one of these changes, not only every `everyMs`. */
  changes?: Changes;
  /** Said after the timeout, to show what the test saw last (recent logs, events). */
  context?: () => string;
}

type Falsy = undefined | null | false | 0 | '';

/**
 * Resolves with the first value `check` gives that is not falsy; rejects after `timeoutMs` saying
 * what it waited for. A throw from `check` ends the wait with that error.
 */
export async function waitFor<T>(what: string, check: () => T | Falsy | Promise<T | Falsy>, timeoutMs = 10_000, options: WaitOptions = {}): Promise<T> {
  const { everyMs = 100, changes, context } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as T;
    const left = deadline - Date.now();
    if (left < 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `; ${context()}` : ''}`);
    const pause = Math.min(everyMs, left + 1);
    await (changes ? changes.next(pause) : sleep(pause));
  }
}

/** Whether `check` comes to hold within `timeoutMs` (a throw counts as not yet), for a test that asserts it. */
export function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 50): Promise<boolean> {
  const holds = async (): Promise<boolean> => {
    try {
      return await check();
    } catch {
      return false;
    }
  };
  return waitFor('a check to hold', holds, timeoutMs, { everyMs }).then(
    () => true,
    () => false,
  );
}
