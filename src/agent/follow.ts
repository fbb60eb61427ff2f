import type { Reconciler } from '../registry/reconciler.js';
import type { Traffic } from '../traffic/traffic.js';

/**
 * The registration follows the traffic from now on: it holds what the traffic's `register` effects say
 * (registered while in service and online, `down` while not ready, out once leaving or draining).
 */
export function followRegistration(traffic: Traffic, registration: Pick<Reconciler, 'want'>): void {
  traffic.onEffect((effect) => effect.type === 'register' && registration.want(effect.desired));
  traffic.dispatch({ type: 'registry', state: 'ready' }); // the app has been running while the clients loaded
}
