import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import { trackOwnChildren } from './own-children.js';
import { loadNative } from '../native.js';
import { becomeSubreaper, reapOrphans } from './reaper.js';

const slowReapMs = 5000;

/**
 * PID 1's duties that do not depend on the app: reap orphans, or become a subreaper when not PID 1,
 * and never let a fault inside nile end the process (that would end the container).
 */
export function takePid1Duties(log: Log): { stop(): void } {
  trackOwnChildren();
  keepAlive(log);
  if (!loadNative()) {
    log.warn('the native module is not built: orphaned processes will stay zombies (run `make`)');
    return { stop() {} };
  }
  if (process.pid !== 1 && !becomeSubreaper()) log.warn('not PID 1 and cannot become a child subreaper: orphans will not be reaped by nile');
  const reap = () => {
    try {
      reapOrphans();
    } catch (err) {
      log.error({ err: errorText(err) }, 'reaping failed');
    }
  };
  process.on('SIGCHLD', reap);
  // A SIGCHLD can be coalesced with one libuv consumed; the slow timer catches what it hid.
  const timer = setInterval(reap, slowReapMs);
  timer.unref();
  reap();
  return {
    stop() {
      process.off('SIGCHLD', reap);
      clearInterval(timer);
    },
  };
}

function keepAlive(log: Log): void {
  process.on('uncaughtException', (err) => log.error({ err: errorText(err), stack: err?.stack }, 'internal fault caught; nile keeps running'));
  process.on('unhandledRejection', (err) => log.error({ err: errorText(err) }, 'internal fault caught; nile keeps running'));
}
