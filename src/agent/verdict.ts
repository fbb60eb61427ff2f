import type { AppState, Phase } from '../app/machine.js';
import type { Reconciler } from '../registry/reconciler.js';
import { seconds, type FailureReport } from '../app/report.js';
import { headlineFinding } from './scene.js';

/**
 * What the registration still lacks for a ready app to be Ready, or null when it is in place.
 * `registration`: null when no registry is configured, undefined while its clients load.
 */
export function registering(registration: Pick<Reconciler, 'pending'> | null | undefined, phase: Phase): string | null {
  if (phase !== 'ready' || registration === null) return null;
  return registration === undefined ? 'loading the registry clients' : registration.pending({ present: true, down: false });
}

export interface Verdict {
  ready: boolean;
  reason: string; // one line: it lands in the pod's events
}

/** With `app.command: []` nile only supervises services: ready until it drains. */
export function servicesOnlyVerdict(draining: boolean): Verdict {
  return draining ? { ready: false, reason: 'not ready: draining' } : { ready: true, reason: 'ready: no app configured (services only)' };
}

/**
 * The readiness verdict the kubelet gets from `nile probe`. Ready is the probe passing and the
 * registration in place (`registering` names what is not yet): nginx serves a pod as soon as it is Ready.
 */
export function verdict(state: AppState, report: FailureReport | null, draining: boolean, now: number, registering: string | null = null): Verdict {
  const probe = state.probe ? ` (${state.probe.detail})` : '';
  if (draining) return { ready: false, reason: 'not ready: draining' };
  switch (state.phase) {
    case 'ready':
      return registering === null ? { ready: true, reason: `ready${probe}` } : { ready: false, reason: `not ready: registering (${registering})${probe}` };
    case 'starting':
      return { ready: false, reason: `not ready: starting for ${seconds(now - (state.startedAt ?? now))}${probe}` };
    case 'notReady':
      return { ready: false, reason: `not ready: health check failing${probe}` };
    case 'failed': {
      const headline = headlineFinding(report?.findings);
      const finding = headline ? `; ${headline.summary}` : '';
      return { ready: false, reason: `not ready: ${report?.reason ?? 'startup failed'}${finding} (nile status has the report)` };
    }
    case 'restarting':
      return { ready: false, reason: `not ready: restarting after: ${report?.reason ?? 'exit'}` };
    case 'down':
      return { ready: false, reason: `not ready: app is down${report ? ` after: ${report.reason}` : ' (want down)'}` };
    case 'stopping':
    case 'stopped':
      return { ready: false, reason: `not ready: ${state.phase}` };
  }
}
