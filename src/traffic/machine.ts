// The traffic's story as a pure function: (state, event) → (state, effects). Going online each time the app
// becomes ready, registered while in service, the offline calls before deregistration, the drain, `sv up`
// after a stray prestop. Times come in with the events; Serving, OutOfTraffic, the registration's follower
// and the operator's letters carry out the effects. A registry outage and an online call failing are not
// events here: the reconciler puts back what it was told, the online round calls again, and nothing else changes.
import { inService, type Phase } from '../app/machine.js';
import type { Desired } from '../registry/backend.js';
import { sameDesired } from '../registry/reconciler.js';

/** Why the instance is out of traffic: the preStop hook, or the stop of the pod. */
export type DrainCause = 'prestop' | 'SIGTERM' | 'SIGINT';

/** What ended a time in service: a drain, the operator's `sv down` (or exit), the app stopping or crashing. */
export type LeaveCause = DrainCause | 'sv down' | 'stop' | 'crash';

/** The registry clients: none configured, loading beside the app, failed to load, or up. */
export type RegistryState = 'none' | 'loading' | 'failed' | 'ready';

export interface TrafficState {
  app: Phase; // the app's phase as last seen
  round: number; // online rounds started so far: one per time in service
  online: 'no' | 'going' | 'yes'; // this round's online calls: not started (or cancelled), being made, all succeeded
  offline: 'none' | 'calling' | 'done'; // this time in service's offline calls
  leaving: { since: number; by: LeaveCause } | null; // this time in service is over or ending
  draining: { since: number; by: DrainCause } | null; // out of traffic: the probe answers not ready
  stopping: boolean; // the pod stops: a drain that cannot be undone
  registry: RegistryState;
  registered: Desired; // what the registration was last told to hold (a new one holds nothing)
  held: string[]; // the operator's letters held until the offline calls are made
}

/** What the config says about the calls; fixed for the agent's life. */
export interface TrafficPolicy {
  onlineCalls: boolean; // any online call configured
  offlineCalls: boolean; // any offline call configured
}

export type TrafficEvent =
  | { type: 'app'; phase: Phase; at: number }
  | { type: 'online'; round: number } // every online call of the round succeeded
  | { type: 'offlineDone' }
  | { type: 'drain'; by: DrainCause; at: number } // `nile prestop`, or TERM/INT to PID 1
  | { type: 'letter'; letter: string; at: number } // the operator's, through the app's supervise directory
  | { type: 'registry'; state: Exclude<RegistryState, 'loading'> }; // the registry clients loaded (or not)

export type TrafficEffect =
  | { type: 'goOnline'; round: number } // cancels the round before it
  | { type: 'cancelOnline' }
  | { type: 'callOffline' } // then the event offlineDone
  | { type: 'drain'; hadTraffic: boolean } // the drain's steps: deregistration, then wait for the traffic to end
  | { type: 'hurry' } // TERM during a prestop's drain: the waiting ends now
  | { type: 'undrain'; was: { since: number; by: DrainCause } } // a prestop undone: its drain stops waiting
  | { type: 'register'; desired: Desired }
  | { type: 'letter'; letter: string }; // to the app

export { inService };

export function initialTraffic(registry: RegistryState, app: Phase = 'down'): TrafficState {
  return { app, round: 0, online: 'no', offline: 'none', leaving: null, draining: null, stopping: false, registry, registered: { present: false }, held: [] };
}

/**
 * Registered only while in service, online and not leaving: up while ready, `down` while not ready; out
 * otherwise. While the offline calls are being made the registration stays as it is: they come first.
 */
export function desiredFor(s: TrafficState): Desired | 'unchanged' {
  if (s.offline === 'calling') return 'unchanged';
  if (s.draining || s.leaving || s.online !== 'yes') return { present: false };
  if (s.app === 'ready') return { present: true, down: false };
  if (s.app === 'notReady') return { present: true, down: true };
  return { present: false };
}

/** The traffic in one line, as `nile status` prints it: `traffic: in service, online (round 2), registered up`. */
export function trafficLine(s: TrafficState): string {
  const parts = [inService(s.app) ? 'in service' : 'out of service'];
  if (s.round > 0) parts.push(`${{ no: 'not online', going: 'going online', yes: 'online' }[s.online]} (round ${s.round})`);
  parts.push(registrationWords(s));
  if (s.leaving) parts.push(`leaving since ${new Date(s.leaving.since).toISOString()} (${s.leaving.by})`);
  if (s.offline === 'calling') parts.push('offline calls in flight');
  if (s.draining) parts.push(`draining (${s.draining.by})`);
  if (s.stopping) parts.push('stopping');
  return `traffic: ${parts.join(', ')}`;
}

function registrationWords(s: TrafficState): string {
  if (s.registry === 'none') return 'no registry';
  if (s.registry === 'loading') return 'registry clients loading';
  if (s.registry === 'failed') return 'registry clients failed to load: not registered';
  if (!s.registered.present) return 'not registered';
  return s.registered.down ? 'registered down' : 'registered up';
}

export function next(state: TrafficState, event: TrafficEvent, policy: TrafficPolicy): { state: TrafficState; effects: TrafficEffect[] } {
  const s: TrafficState = { ...state };
  const effects: TrafficEffect[] = [];
  let registerAnyway = false;

  const goOnline = () => {
    s.round += 1;
    s.online = policy.onlineCalls ? 'going' : 'yes';
    s.leaving = null;
    if (s.offline !== 'calling') s.offline = 'none'; // the last time's calls still in flight hold the registration
    effects.push({ type: 'goOnline', round: s.round });
  };
  // The offline calls, once per time in service; none before the first time in service.
  const leave = (by: LeaveCause, at: number) => {
    if (s.leaving || s.round === 0) return;
    s.leaving = { since: at, by };
    if (s.online === 'going') s.online = 'no';
    effects.push({ type: 'cancelOnline' });
    if (s.offline === 'calling') return; // made already, for the time before: they count for this one too
    if (!policy.offlineCalls) return void (s.offline = 'done');
    s.offline = 'calling';
    effects.push({ type: 'callOffline' });
  };

  switch (event.type) {
    case 'app': {
      const was = s.app;
      s.app = event.phase;
      if (event.phase === 'ready' && !inService(was)) goOnline();
      else if (inService(was) && !inService(event.phase)) leave(event.phase === 'stopping' || event.phase === 'stopped' ? 'stop' : 'crash', event.at);
      break;
    }
    case 'online':
      if (event.round === s.round && s.online === 'going' && !s.leaving) s.online = 'yes';
      break;
    case 'offlineDone':
      if (s.offline !== 'calling') break;
      s.offline = s.leaving ? 'done' : 'none'; // back in service meanwhile: this time's calls are still to make
      for (const letter of s.held) effects.push({ type: 'letter', letter });
      s.held = [];
      break;
    case 'drain': {
      if (event.by !== 'prestop') s.stopping = true;
      if (s.draining) {
        if (event.by !== 'prestop') effects.push({ type: 'hurry' });
        break;
      }
      s.draining = { since: event.at, by: event.by };
      const hadTraffic = inService(s.app);
      // With no offline calls to make, a prestop leaves this time in service open: `sv up` resumes it as it was.
      if (hadTraffic && policy.offlineCalls) leave(event.by, event.at);
      effects.push({ type: 'drain', hadTraffic });
      break;
    }
    case 'letter':
      if (event.letter === 'u' && s.draining && !s.stopping) {
        effects.push({ type: 'undrain', was: s.draining });
        s.draining = null;
        if (inService(s.app) && s.leaving) goOnline();
      }
      // `sv down` (or exit) in service: the offline calls first, then the app gets its letter.
      if ((event.letter === 'd' || event.letter === 'x') && inService(s.app)) {
        if (!s.leaving) leave('sv down', event.at);
        if (s.offline === 'calling') {
          s.held = [...s.held, event.letter];
          break;
        }
      }
      effects.push({ type: 'letter', letter: event.letter });
      break;
    case 'registry':
      s.registry = event.state;
      registerAnyway = event.state === 'ready'; // the app has been running while the clients loaded
      break;
  }

  const desired = desiredFor(s);
  if (s.registry === 'ready' && desired !== 'unchanged' && (registerAnyway || !sameDesired(s.registered, desired))) {
    s.registered = desired;
    effects.push({ type: 'register', desired });
  }
  return { state: s, effects };
}
