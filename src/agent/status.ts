import type { AppSupervisor } from '../app/supervisor.js';
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

/** Everything `nile status` shows, as one JSON-able object. */
export function statusOf(app: AppSupervisor, draining: boolean, services: ServiceLine[], registry: BackendStatus[], registering: string | null, now = Date.now()) {
  const s = app.state;
  return {
    ok: true,
    pid: process.pid,
    verdict: verdict(s, app.report, draining, now, registering),
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
    lastFailure: app.report,
  };
}

export type Status = ReturnType<typeof statusOf>;

const up = (ms: number | null) => (ms === null ? '' : ` up ${Math.round(ms / 1000)}s`);

/** `nile status` as a person reads it. */
export function statusText(s: Status, now = Date.now()): string {
  const lines = [`${s.verdict.reason}`, `app: ${s.app.phase}${s.app.pid ? ` (pid ${s.app.pid})` : ''}${up(s.app.uptimeMs)}, want ${s.app.want}, ${s.app.restarts} restarts`];
  if (s.app.probe) lines.push(`  probe: ${s.app.probe.ok ? 'ok' : 'failing'}: ${s.app.probe.detail}`);
  for (const svc of s.services) lines.push(`${svc.name}: ${svc.state}${svc.pid ? ` (pid ${svc.pid})` : ''} ${Math.round((now - svc.since) / 1000)}s${svc.want ? `, want ${svc.want}` : ''}`);
  for (const r of s.registry) lines.push(`registry ${r.backend}: ${r.state}${r.lastError ? ` (last error: ${r.lastError})` : ''}`);
  const f = s.lastFailure;
  if (f) {
    lines.push(`last failure at ${f.at}: ${f.reason}`);
    for (const finding of f.findings ?? []) lines.push(`  finding: ${finding.summary}`, ...finding.evidence.slice(0, 3).map((e) => `    ${e}`));
    if (f.lastOutput.length) lines.push('  last output:', ...f.lastOutput.slice(-20).map((l) => `    ${l}`));
    if (f.threadDump) lines.push(`  thread dump: ${f.threadDump.split('\n').length} lines (nile status --json has it)`);
  }
  return lines.join('\n') + '\n';
}
