import type { AppSupervisor } from '../app/supervisor.js';
import type { CallResult } from '../calls/call.js';
import type { MemoryStatus } from '../memory/watch.js';
import type { BackendStatus } from '../registry/backend.js';
import { verdict } from './verdict.js';

export interface ServiceLine {
  name: string;
  state: string;
  pid: number | null;
  since: number;
  want?: string;
}

/** One runit-style service as `nile status` lists it. */
export function serviceLine(info: { name: string; state: string; pid: number | null; since: number; want?: string }): ServiceLine {
  return { name: info.name, state: info.state, pid: info.pid, since: info.since, want: info.want };
}

/** What `nile status` shows beside the app: the online and offline calls, the container's memory. */
export interface Around {
  goingOnline?: string | null;
  calls?: CallResult[];
  memory?: MemoryStatus | null;
}

/** Everything `nile status` shows, as one JSON-able object. */
export function statusOf(app: AppSupervisor, out: { since: number; by: string } | null, services: ServiceLine[], registry: BackendStatus[], now = Date.now(), around: Around = {}) {
  const s = app.state;
  return {
    ok: true,
    pid: process.pid,
    verdict: verdict(s, app.report, out !== null, now, around.goingOnline ?? null),
    draining: out && { since: new Date(out.since).toISOString(), by: out.by },
    app: {
      phase: s.phase,
      want: s.want,
      pid: s.pid,
      since: new Date(s.changedAt).toISOString(),
      uptimeMs: s.pid !== null && s.startedAt !== null ? now - s.startedAt : null,
      restarts: s.restarts,
      lastExit: s.lastExit,
      probe: s.probe,
    },
    services,
    registry,
    calls: (around.calls ?? []).map(({ kind, name, ok, detail, at, ms }) => ({ kind, name, ok, detail, at: new Date(at).toISOString(), ms })),
    memory: around.memory ?? null,
    lastFailure: app.report,
  };
}

export type Status = ReturnType<typeof statusOf>;
