/** One wait that an abort ends early: the calls' retries, the drain's polls, the backoffs. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** A promise against a deadline: its value, or `late` once `ms` have passed (the promise is left to end on its own). */
export function within<T, L>(promise: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late), Math.max(0, ms))));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
