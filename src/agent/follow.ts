import type { Phase } from '../app/machine.js';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Serving } from '../calls/serving.js';
import type { OutOfTraffic } from '../prestop/out-of-traffic.js';
import type { Desired } from '../registry/backend.js';
import type { Reconciler } from '../registry/reconciler.js';

/**
 * Registered only while ready and online (the online calls succeeded); `down` while not ready after
 * that; out while draining or anything else.
 */
export function desiredFor(phase: Phase, draining: boolean, online = true): Desired {
  if (draining || !online) return { present: false };
  if (phase === 'ready') return { present: true, down: false };
  if (phase === 'notReady') return { present: true, down: true };
  return { present: false };
}

/**
 * The registration follows the app's readiness, the online calls and the drain, from now on. While
 * the offline calls are being made (a crash or `sv down` in service) it waits: they come first, then
 * out of the registry. A prestop undone (`sv up app`) brings it back as the app's readiness says.
 */
export function follow(app: AppSupervisor, traffic: OutOfTraffic, serving: Serving, registration: Reconciler): void {
  const update = () => serving.goingOffline || registration.want(desiredFor(app.state.phase, traffic.draining, serving.online));
  app.onChange(update);
  serving.onChange(update);
  traffic.onChange(update);
  update(); // the app has been running while the clients loaded
}
