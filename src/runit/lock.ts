import { requireAddon } from '../pid1/reaper.js';

export type LockResult = 'locked' | 'busy';

/**
 * Takes the exclusive, non-blocking flock(2) runsv takes on supervise/lock. The lock belongs to the
 * open file description: it goes when nile closes the descriptor or dies.
 */
export function lockExclusive(fd: number): LockResult {
  return requireAddon().lockExclusive(fd) ? 'locked' : 'busy';
}
