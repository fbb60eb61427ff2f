import type { AppSupervisor } from '../app/supervisor.js';
import type { Handlers } from '../control/server.js';
import type { Finding } from '../doctor/finding.js';
import type { Redactor } from '../redact.js';
import type { Reconciler } from '../registry/reconciler.js';
import type { SideServices } from './services.js';
import { serviceLine, statusOf } from './status.js';
import type { OutOfTraffic } from './traffic.js';
import { servicesOnlyVerdict, verdict } from './verdict.js';

interface Parts {
  app: AppSupervisor;
  hasApp: boolean;
  traffic: OutOfTraffic;
  side: SideServices;
  registration: Reconciler | null;
  scene: { now(): Promise<Finding[]> };
  redact: Redactor;
}

/** What the control socket answers: the fast commands' verbs, each one line of the agent's state. */
export function controlHandlers({ app, hasApp, traffic, side, registration, scene, redact }: Parts): Handlers {
  return {
    ping: () => ({ ok: true, pid: process.pid }),
    probe: () => ({ ok: true, ...(hasApp ? verdict(app.state, app.report, traffic.draining, Date.now()) : servicesOnlyVerdict(traffic.draining)) }),
    status: () => redact.value(statusOf(app, traffic.out, side.list().map(serviceLine), registration?.status() ?? [])),
    doctor: async () => ({ ok: true, phase: app.state.phase, findings: redact.value(await scene.now()) }),
    prestop: async () => {
      await traffic.start('prestop');
      return { ok: true, done: true };
    },
  };
}
