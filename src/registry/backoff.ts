// How long to wait before trying a failing registry again.

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 100, capMs: 5000 };

/**
 * Delay before retry number `failures` (1 = the first retry): doubles each time up to the cap;
 * half of it is random so a fleet that lost its registry at once does not come back in step.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy = defaultBackoff, random: () => number = Math.random): number {
  const full = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}
