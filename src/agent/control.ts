import type { AppSupervisor } from '../app/supervisor.js';
import type { Serving } from '../calls/serving.js';
import type { Handlers } from '../control/server.js';
import type { Finding, Verdict } from '../control/protocol.cjs';
import { readinessFindings } from '../doctor/readiness.js';
import type { MemoryWatch } from '../memory/watch.js';
import type { OutOfTraffic } from '../prestop/out-of-traffic.js';
import type { PreviousEnd } from '../record/previous.js';
import type { Redactor } from '../redact.js';
import type { RegistrationState } from '../registry/registration.js';
import type { ServiceInfo } from '../runit/service.js';
import type { Traffic } from '../traffic/traffic.js';
import { privilegeFindings } from '../doctor/privileges.js';
import { serviceLine, statusOf, statusText } from './status.js';
import { registrationWait, registryOutage, servicesOnlyVerdict, verdict, type Waiting } from './verdict.js';

/** What the control socket's answers are read from. */
export interface Answering {
  app: AppSupervisor;
  hasApp: boolean;
  traffic: Traffic;
  out: OutOfTraffic;
  services: () => ServiceInfo[]; // sshd and the runit services, none until they are started
  registration: () => RegistrationState;
  scene: { now(): Promise<Finding[]> };
  serving: Serving;
  memory: () => MemoryWatch | null;
  redact: Redactor;
  previous: PreviousEnd | null; // how the previous container of the pod ended
}

/** What a ready app still waits for: the online calls, then its registration. */
function waiting({ app, serving, registration }: Pick<Answering, 'app' | 'serving' | 'registration'>): Waiting {
  const phase = app.state.phase;
  return { goingOnline: serving.goingOnline(), registering: registrationWait(registration(), phase), registryOutage: registryOutage(registration(), phase) };
}

/** The readiness verdict: what `nile probe` prints, and the metrics' nile_app_ready. */
export function readiness(parts: Pick<Answering, 'app' | 'hasApp' | 'out' | 'serving' | 'registration'>): Verdict {
  const { app, hasApp, out } = parts;
  return hasApp ? verdict(app.state, app.report, out.draining, Date.now(), waiting(parts)) : servicesOnlyVerdict(out.draining);
}

/** What the control socket answers: the fast commands' verbs, each one line of the agent's state. */
export function controlHandlers(parts: Answering): Handlers {
  const { app, traffic, out, services, registration, scene, serving, memory, redact, previous } = parts;
  const registryStatus = () => {
    const r = registration();
    return r.state === 'ready' ? r.reconciler.status() : [];
  };
  return {
    ping: () => ({ ok: true, pid: process.pid }),
    probe: () => ({ ok: true, ...readiness(parts) }),
    status: (form) => {
      const around = { calls: serving.results(), memory: memory()?.status() ?? null, previous, traffic: traffic.state };
      const status = redact.value(statusOf(app, readiness(parts), out.out, services().map(serviceLine), registryStatus(), Date.now(), around));
      return form === 'text' ? { ok: true, text: statusText(status) } : status;
    },
    doctor: async () => {
      const found = await scene.now();
      const held = readinessFindings(readiness(parts), out.draining, registryStatus(), found.some((f) => !f.note));
      return { ok: true, phase: app.state.phase, failed: appFailed(app), lastOutput: redact.value(app.report?.lastOutput.slice(-20) ?? []), findings: redact.value([...found, ...held, ...privilegeFindings(services().map(serviceLine))]) };
    },
    prestop: async () => {
      await out.start('prestop');
      return { ok: true, done: true };
    },
  };
}

/** The app failed to start, or crashed and is not serving again: `nile doctor` exits 1 then, findings or not. */
function appFailed(app: AppSupervisor): boolean {
  const { phase } = app.state;
  return phase === 'failed' || (app.report !== null && (phase === 'down' || phase === 'restarting'));
}
