import type { Finding, Verdict } from '../control/protocol.cjs';
import type { BackendStatus } from '../registry/backend.js';

const since = (ms: number, now: number) => `${Math.round((now - ms) / 1000)}s`;

/**
 * What keeps a pod out of Service, or its registration out of the registry, as findings: `nile doctor` explains any
 * pod that is not Ready (the probe's own reason) that the scene's findings do not already explain, and each registry
 * that does not hold the registration now. A pod that is draining is out of Service on purpose: nothing to explain.
 */
export function readinessFindings(verdict: Verdict, draining: boolean, registry: BackendStatus[], explained: boolean, now = Date.now()): Finding[] {
  const out = verdict.ready || draining || explained ? [] : [{ cause: 'not-ready', summary: `the pod is not Ready: ${verdict.reason.replace(/^not ready: /, '')}`, evidence: [`nile probe: ${verdict.reason}`] }];
  return [...out, ...registry.flatMap((backend) => registryFinding(backend, now))];
}

function registryFinding(backend: BackendStatus, now: number): Finding[] {
  const { state, lastError, lost } = backend;
  if (state !== 'unreachable' && state !== 'refused') return [];
  const how = state === 'refused' ? 'refuses the registration' : 'does not answer';
  const evidence = [`registry ${backend.backend}: ${state} since ${new Date(backend.since).toISOString()}`, ...(lastError ? [`last error: ${lastError}`] : [])];
  if (lost) return [{ cause: `registry-${state}`, summary: `${backend.backend} ${how}: the registration is lost for ${since(lost.since, now)}; the pod stays Ready and nile retries`, evidence }];
  if (backend.registered) return [{ cause: `registry-${state}`, summary: `${backend.backend} ${how} since ${since(backend.since, now)}: the registration is held but not renewed; nile retries`, evidence }];
  return [{ cause: `registry-${state}`, summary: `${backend.backend} ${how}: the instance is not registered, so the pod is not Ready`, evidence }];
}
