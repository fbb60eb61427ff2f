import { loadAddon } from '../pid1/reaper.js';

/**
 * The native output relay. A tail keeps the last bytes of output (a ring, fed by a kernel pipe); a relay is a
 * thread that moves one app stream to one of our fds and tees it into a tail.
 */
export interface RelayAddon {
  /** A tail keeping at most keepBytes (1 to 2^28) of the most recent output; lives as long as the process. */
  tailOpen(keepBytes: number): number;
  /** The kept bytes, oldest first; reading does not consume them. */
  tailRead(id: number): Buffer;
  /** Bytes ever passed through the tail, kept or not. */
  tailCount(id: number): number;
  /** From now on every byte passing through the tail is also written to fd (duplicated); -1 ends it. */
  tailCapture(id: number, fd: number): void;
  /**
   * Starts a relay to outFd (duplicated, so the caller may close its own) and returns the write fd to
   * give the child as its stdout or stderr. The caller must close that fd once spawned (or if the spawn
   * fails): the relay ends, calling onEnd once on the main thread, when every copy of it is closed.
   * Until then the relay keeps the event loop alive, like a stream would.
   */
  relayStart(tailId: number, outFd: number, onEnd: () => void): number;
}

/** The relay functions, or null when the addon was not built or predates them (then output goes through JS). */
export function loadRelay(): RelayAddon | null {
  const addon = loadAddon();
  if (!addon?.tailOpen || !addon.tailRead || !addon.tailCount || !addon.tailCapture || !addon.relayStart) return null;
  const { tailOpen, tailRead, tailCount, tailCapture, relayStart } = addon;
  return { tailOpen, tailRead, tailCount, tailCapture, relayStart };
}
