import { requireNative } from '../native.js';

export type LockResult = 'locked' | 'busy';

/**
 * Takes the exclusive, non-blocking flock(2) runsv takes on supervise/lock. The lock belongs to the
 * open file description: it goes when nile closes the descriptor or dies.
 */
export function lockExclusive(fd: number): LockResult {
  return requireNative().flock(fd) ? 'locked' : 'busy';
}
