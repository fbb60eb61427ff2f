import type { AppState, Phase } from '../app/machine.js';
import type { Reconciler } from '../registry/reconciler.js';
import type { RegistrationState } from '../registry/registration.js';
import { seconds, type FailureReport } from '../app/report.js';
import type { Verdict } from '../control/protocol.cjs';
import { headlineFinding } from './scene.js';

/** With `app.command: []` nile only supervises services: ready until it drains. */
export function servicesOnlyVerdict(draining: boolean): Verdict {
  return draining ? { ready: false, reason: 'not ready: draining' } : { ready: true, reason: 'ready: no app configured (services only)' };
}

/** What a ready app still waits for before it is Ready: the online calls, then the registration. */
export interface Waiting {
  goingOnline?: string | null; // why the online calls are not done yet
  registering?: string | null; // what the registration still lacks
  registryOutage?: string | null; // registered once, lost since: said, but it does not take readiness
}

/** What a registration that is up still lacks for a ready app to be Ready; null once it was put in place since the app became ready. */
export function registering(reconciler: Pick<Reconciler, 'pending'>, phase: Phase): string | null {
  return phase === 'ready' ? reconciler.pending({ present: true, down: false }) : null;
}

/**
 * What the registration, as it stands, still lacks for a ready app to be Ready; null when none is configured.
 * Clients that failed to load will never register it: not Ready, and the line says why.
 */
export function registrationWait(registration: RegistrationState, phase: Phase): string | null {
  if (phase !== 'ready') return null;
  switch (registration.state) {
    case 'none':
      return null;
    case 'loading':
      return 'loading the registry clients';
    case 'failed':
      return `the registry clients failed to load: ${registration.error}`;
    case 'ready':
      return registering(registration.reconciler, phase);
  }
}

/** A registration lost after it was put in place (a registry outage): the pod stays Ready and says so. */
export function registryOutage(registration: RegistrationState, phase: Phase): string | null {
  return phase === 'ready' && registration.state === 'ready' ? registration.reconciler.outage() : null;
}

/**
 * The readiness verdict the kubelet gets from `nile probe`. Ready is the probe passing, the online
 * calls made and the registration in place: nginx serves a pod as soon as it is Ready.
 */
export function verdict(state: AppState, report: FailureReport | null, draining: boolean, now: number, waiting: Waiting = {}): Verdict {
  const probe = state.probe ? ` (${state.probe.detail})` : '';
  if (draining) return { ready: false, reason: 'not ready: draining' };
  switch (state.phase) {
    case 'ready':
      if (waiting.goingOnline) return { ready: false, reason: `not ready: going online (${waiting.goingOnline})` };
      if (waiting.registering) return { ready: false, reason: `not ready: registering (${waiting.registering})${probe}` };
      if (waiting.registryOutage) return { ready: true, reason: `ready${probe}; registration lost (${waiting.registryOutage}): Ready kept, retrying` };
      return { ready: true, reason: `ready${probe}` };
    case 'starting':
      return { ready: false, reason: `not ready: starting for ${seconds(now - (state.startedAt ?? now))}${probe}` };
    case 'notReady':
      return { ready: false, reason: `not ready: health check failing${probe}` };
    case 'failed': {
      const headline = headlineFinding(report?.findings);
      const finding = headline ? `; ${headline.summary}` : '';
      // A slow start that became healthy after its timeout waits for the operator's word, and says so.
      const healthy = state.pid !== null && state.probe?.ok ? `; the app answers its probe now (${state.probe.detail}): nile sv up app resumes it` : '';
      return { ready: false, reason: `not ready: ${report?.reason ?? 'startup failed'}${finding}${healthy} (nile status has the report)` };
    }
    case 'restarting':
      return { ready: false, reason: `not ready: restarting after: ${report?.reason ?? 'exit'}` };
    case 'down':
      // Before the first spawn the control socket already answers: the app is about to start.
      if (!report && state.want === 'up') return { ready: false, reason: 'not ready: starting (app not spawned yet)' };
      return { ready: false, reason: `not ready: app is down${report ? ` after: ${report.reason}` : ' (want down)'}` };
    case 'stopping':
    case 'stopped':
      return { ready: false, reason: `not ready: ${state.phase}` };
  }
}
