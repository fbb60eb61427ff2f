import type { AppSupervisor } from '../app/supervisor.js';
import type { Handlers } from '../control/server.js';
import type { Finding } from '../doctor/finding.js';
import type { Reconciler } from '../registry/reconciler.js';
import type { SideServices } from './services.js';
import { serviceLine, statusOf, statusText } from './status.js';
import type { OutOfTraffic } from './traffic.js';
import { registering, servicesOnlyVerdict, verdict } from './verdict.js';

interface Parts {
  app: AppSupervisor;
  hasApp: boolean;
  traffic: OutOfTraffic;
  side: SideServices;
  registration: () => Reconciler | null | undefined; // null: none configured; undefined: its clients are loading
  scene: { now(): Promise<Finding[]> };
}

/** What the control socket answers: the fast commands' verbs, each one line of the agent's state. */
export function controlHandlers({ app, hasApp, traffic, side, registration: current, scene }: Parts): Handlers {
  return {
    ping: () => ({ ok: true, pid: process.pid }),
    probe: () => ({ ok: true, ...(hasApp ? verdict(app.state, app.report, traffic.draining, Date.now(), registering(current(), app.state.phase)) : servicesOnlyVerdict(traffic.draining)) }),
    status: (form) => {
      const registration = current();
      const status = statusOf(app, traffic.draining, side.list().map(serviceLine), registration?.status() ?? [], registering(registration, app.state.phase));
      return form === 'text' ? { ok: true, text: statusText(status) } : status;
    },
    doctor: async () => ({ ok: true, phase: app.state.phase, findings: await scene.now() }),
    prestop: async () => {
      await traffic.start();
      return { ok: true, done: true };
    },
  };
}
