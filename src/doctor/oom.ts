import type { Finding } from '../control/protocol.cjs';
import { memoryCgroup } from '../cgroup/find.js';
import { fileOf, readMemoryState, readOomCounts, type MemoryState } from '../cgroup/memory.js';
import { describeReading, mib, type MemoryReading } from '../cgroup/reading.js';

/**
 * The OOM kill count of the cgroup at `cgroupPath` (this process's by default), read at once: take
 * it in the tick the app is spawned, and hand it to oomKillFinding after.
 */
export function oomKillCount(cgroupPath?: string): number | undefined {
  const cgroup = memoryCgroup(cgroupPath);
  return cgroup ? readOomCounts(cgroup).oomKills : undefined;
}

/** An 'oom-killed' finding when the cgroup's OOM kill count rose above `baseline`; with nile's last readings before it. */
export async function oomKillFinding(baseline: number, cgroupPath?: string, readings: MemoryReading[] = []): Promise<Finding | undefined> {
  const cgroup = memoryCgroup(cgroupPath);
  const state = cgroup && readMemoryState(cgroup);
  if (state?.oomKills === undefined || state.oomKills <= baseline) return undefined;
  const evidence = [`${fileOf(state.cgroup, 'events')}: oom_kill ${baseline} → ${state.oomKills}`, ...limitEvidence(state)];
  const where = state.limitBytes !== undefined ? `its cgroup reached its limit of ${mib(state.limitBytes)}` : 'its cgroup has no limit, so the machine ran out';
  const kills = state.oomKills - baseline;
  const last = readings.at(-1);
  for (const r of readings) evidence.push(`nile's memory reading at ${new Date(r.at).toISOString()}: ${describeReading(r)}`);
  const close = last ? ` (nile's last reading: ${describeReading(last)})` : '';
  return { cause: 'oom-killed', summary: `the kernel's OOM killer killed the app${kills > 1 ? ` (${kills} kills)` : ''}: ${where}${close}`, evidence };
}

/** The cgroup's limit, peak and times at the limit, quoted from their files. */
function limitEvidence(state: MemoryState): string[] {
  const evidence: string[] = [];
  const v1 = state.cgroup.version === 1;
  if (state.limitBytes !== undefined) evidence.push(`${fileOf(state.cgroup, 'limit')}: ${state.limitBytes} (${mib(state.limitBytes)})`);
  if (state.peakBytes !== undefined) evidence.push(`${fileOf(state.cgroup, 'peak')}: ${state.peakBytes} (${mib(state.peakBytes)}) at the peak`);
  if (v1 && state.atLimit !== undefined) evidence.push(`${fileOf(state.cgroup, 'atLimit')}: ${state.atLimit} times at the limit`);
  if (!v1 && state.groupKills) evidence.push(`${fileOf(state.cgroup, 'events')}: oom_group_kill ${state.groupKills} (the whole container killed at once)`);
  return evidence;
}
