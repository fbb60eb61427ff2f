import { ask } from '../control/client.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { locateRunDir } from './locate.cjs';

interface Status {
  verdict: { ready: boolean; reason: string };
  draining?: { since: string; by: string } | null;
  app: { phase: string; want: string; pid: number | null; uptimeMs: number | null; restarts: number; probe: { ok: boolean; detail: string } | null };
  services: Array<{ name: string; state: string; pid: number | null; since: number; want?: string }>;
  registry: Array<{ backend: string; state: string; lastError?: string }>;
  calls?: Array<{ kind: string; name: string; ok: boolean; detail: string; at: string; ms: number }>;
  memory?: { usageBytes: number; limitBytes: number | null; warnAt: number; above: boolean; warnedAt: string | null } | null;
  lastFailure: null | { reason: string; at: string; exit: unknown; lastOutput: string[]; threadDumpFile?: string; findings?: Array<{ summary: string; evidence: string[] }> };
}

/** `nile status [--json]`. */
export async function status(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('status', argv);
  if (typeof parsed === 'number') return parsed;
  let answer: Status;
  try {
    answer = (await ask(await locateRunDir(configFlag(parsed)), 'status', 5000)) as Status;
  } catch (err) {
    process.stderr.write(`nile status: no agent answers (${(err as Error).message})\n`);
    return 1;
  }
  process.stdout.write(parsed.flags.json ? JSON.stringify(answer, null, 2) + '\n' : render(answer));
  return 0;
}

const up = (ms: number | null) => (ms === null ? '' : ` up ${Math.round(ms / 1000)}s`);

const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;

function memoryLine(m: NonNullable<Status['memory']>): string {
  if (m.limitBytes === null) return `memory: ${mib(m.usageBytes)} (no limit)`;
  const share = `${Math.round((m.usageBytes / m.limitBytes) * 1000) / 10} %`;
  return `memory: ${mib(m.usageBytes)} of ${mib(m.limitBytes)} (${share})${m.above ? `: WARNING above ${Math.round(m.warnAt * 100)} % of the limit since ${m.warnedAt}` : ''}`;
}

function render(s: Status): string {
  const lines = [`${s.verdict.reason}`, ...(s.draining ? [`draining (since ${s.draining.since}, by ${s.draining.by})`] : []), `app: ${s.app.phase}${s.app.pid ? ` (pid ${s.app.pid})` : ''}${up(s.app.uptimeMs)}, want ${s.app.want}, ${s.app.restarts} restarts`];
  if (s.app.probe) lines.push(`  probe: ${s.app.probe.ok ? 'ok' : 'failing'}: ${s.app.probe.detail}`);
  for (const svc of s.services) lines.push(`${svc.name}: ${svc.state}${svc.pid ? ` (pid ${svc.pid})` : ''} ${Math.round((Date.now() - svc.since) / 1000)}s${svc.want ? `, want ${svc.want}` : ''}`);
  for (const r of s.registry) lines.push(`registry ${r.backend}: ${r.state}${r.lastError ? ` (last error: ${r.lastError})` : ''}`);
  if (s.memory) lines.push(memoryLine(s.memory));
  for (const c of s.calls ?? []) lines.push(`${c.kind} call ${c.name}: ${c.ok ? 'ok' : 'failed'}: ${c.detail} at ${c.at} (${c.ms}ms)`);
  const f = s.lastFailure;
  if (f) {
    lines.push(`last failure at ${f.at}: ${f.reason}`);
    for (const finding of f.findings ?? []) lines.push(`  finding: ${finding.summary}`, ...finding.evidence.slice(0, 3).map((e) => `    ${e}`));
    if (f.lastOutput.length) lines.push('  last output:', ...f.lastOutput.slice(-20).map((l) => `    ${l}`));
    if (f.threadDumpFile) lines.push(`  thread dump: ${f.threadDumpFile}`);
  }
  return lines.join('\n') + '\n';
}
