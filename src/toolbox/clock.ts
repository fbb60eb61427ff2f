/** Time as the pieces whose subject is time see it (backoffs, session health, the memory watch); tests pass a manual one. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. Timers never hold the process open. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
