import { shownWant } from '../app/machine.js';
import type { AppSupervisor } from '../app/supervisor.js';
import type { CallResult } from '../calls/call.js';
import { describeReading } from '../cgroup/reading.js';
import type { MemoryStatus } from '../memory/watch.js';
import { previousLine, type PreviousEnd } from '../record/previous.js';
import type { BackendStatus } from '../registry/backend.js';
import type { ServiceLine, Status, Verdict } from '../control/protocol.cjs';
import { trafficLine, type TrafficState } from '../traffic/machine.js';

/** One runit-style service as `nile status` lists it. */
export function serviceLine(info: ServiceLine): ServiceLine {
  return { name: info.name, state: info.state, pid: info.pid, since: info.since, want: info.want, ...(info.note ? { note: info.note } : {}) };
}

/** What `nile status` shows beside the app: the online and offline calls, the container's memory. */
export interface Around {
  calls?: CallResult[];
  memory?: MemoryStatus | null;
  previous?: PreviousEnd | null; // how the previous container of the pod ended
  traffic?: TrafficState;
}

/** Everything `nile status` shows, as one JSON-able object; `verdict` is what `nile probe` answers, word for word. */
export function statusOf(app: AppSupervisor, verdict: Verdict, out: { since: number; by: string } | null, services: ServiceLine[], registry: BackendStatus[], now = Date.now(), around: Around = {}): Status {
  const s = app.state;
  return {
    ok: true,
    pid: process.pid,
    verdict,
    draining: out && { since: new Date(out.since).toISOString(), by: out.by },
    app: {
      phase: s.phase,
      want: shownWant(s),
      pid: s.pid,
      jvms: app.jvms(),
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
    previous: around.previous ? { how: around.previous.how, phase: around.previous.phase, at: around.previous.at, line: previousLine(around.previous) } : null,
    lastFailure: app.report,
    ...(around.traffic ? { traffic: { ...around.traffic, line: trafficLine(around.traffic) } } : {}),
  };
}

const up = (ms: number | null) => (ms === null ? '' : ` up ${Math.round(ms / 1000)}s`);

function memoryLine(m: MemoryStatus): string {
  return `memory: ${describeReading(m)}${m.limitBytes !== null && m.above ? `: WARNING above ${Math.round(m.warnAt * 100)} % of the limit since ${m.warnedAt}` : ''}`;
}

function registryLine(r: BackendStatus, now: number): string {
  const lost = r.lost ? `, registration lost for ${Math.round((now - r.lost.since) / 1000)}s (Ready kept; retrying)` : '';
  return `registry ${r.backend}: ${r.state}${lost}${r.lastError ? ` (last error: ${r.lastError})` : ''}`;
}

/** `nile status` as a person reads it: rendered here, so the native front door and the Node client print the same. */
export function statusText(s: Status, now = Date.now()): string {
  const lines = [`${s.verdict.reason}`, ...(s.draining ? [`draining (since ${s.draining.since}, by ${s.draining.by})`] : []), `app: ${s.app.phase}${s.app.pid ? ` (pid ${s.app.pid}${s.app.jvms?.length ? `, JVM pid ${s.app.jvms.join(', ')}` : ''})` : ''}${up(s.app.uptimeMs)}, want ${s.app.want}, ${s.app.restarts} restarts`];
  if (s.app.probe) lines.push(`  probe: ${s.app.probe.ok ? 'ok' : 'failing'}: ${s.app.probe.detail}`);
  if (s.traffic) lines.push(s.traffic.line);
  for (const svc of s.services) lines.push(`${svc.name}: ${svc.state}${svc.pid ? ` (pid ${svc.pid})` : ''} ${Math.round((now - svc.since) / 1000)}s${svc.want ? `, want ${svc.want}` : ''}${svc.note ? `: ${svc.note}` : ''}`);
  for (const r of s.registry) lines.push(registryLine(r, now));
  if (s.memory) lines.push(memoryLine(s.memory));
  if (s.previous) lines.push(s.previous.line);
  for (const c of s.calls) lines.push(`${c.kind} call ${c.name}: ${c.ok ? 'ok' : 'failed'}: ${c.detail} at ${c.at} (${c.ms}ms)`);
  const f = s.lastFailure;
  if (f) {
    lines.push(`last failure at ${f.at}: ${f.reason}`);
    for (const finding of f.findings ?? []) lines.push(`  finding: ${finding.summary}`, ...finding.evidence.slice(0, 3).map((e) => `    ${e}`));
    if (f.lastOutput.length) lines.push('  last output:', ...f.lastOutput.slice(-20).map((l) => `    ${l}`));
    if (f.threadDumpFile) lines.push(`  thread dump: ${f.threadDumpFile}`);
  }
  return lines.join('\n') + '\n';
}
