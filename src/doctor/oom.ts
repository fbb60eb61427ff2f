import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Finding } from '../control/protocol.cjs';
import { findMemoryCgroup, memoryCgroupAt, type MemoryCgroup } from './cgroup.js';
import { describeReading, mib, UNLIMITED, type MemoryReading } from '../memory/reading.js';

/** A memory cgroup's OOM kill count, limit and peak usage; a field is missing where the kernel does not say. */
export interface MemoryState {
  cgroup: MemoryCgroup;
  oomKills?: number;
  limitBytes?: number;
  peakBytes?: number;
  failCount?: number; // v1: times usage hit the limit
}


/** The state of the memory cgroup at `cgroupPath`, or of this process's own; undefined without one. */
export async function readMemoryState(cgroupPath?: string): Promise<MemoryState | undefined> {
  const cgroup = cgroupPath ? memoryCgroupAt(cgroupPath) : findMemoryCgroup();
  if (!cgroup) return undefined;
  return cgroup.version === 2 ? readV2(cgroup) : readV1(cgroup);
}

/**
 * The OOM kill count of the cgroup at `cgroupPath` (this process's by default), read at once: take
 * it in the tick the app is spawned, and hand it to oomKillFinding after.
 */
export function oomKillCount(cgroupPath?: string): number | undefined {
  try {
    const cgroup = cgroupPath ? memoryCgroupAt(cgroupPath) : findMemoryCgroup();
    if (!cgroup) return undefined;
    return field(readFileSync(path.join(cgroup.dir, cgroup.version === 2 ? 'memory.events' : 'memory.oom_control'), 'utf8'), 'oom_kill');
  } catch {
    return undefined;
  }
}

/** An 'oom-killed' finding when the cgroup's OOM kill count rose above `baseline`; with nile's last readings before it. */
export async function oomKillFinding(baseline: number, cgroupPath?: string, readings: MemoryReading[] = []): Promise<Finding | undefined> {
  const state = await readMemoryState(cgroupPath);
  if (state?.oomKills === undefined || state.oomKills <= baseline) return undefined;
  const v1 = state.cgroup.version === 1;
  const file = (name: string) => path.join(state.cgroup.dir, name);
  const evidence = [`${file(v1 ? 'memory.oom_control' : 'memory.events')}: oom_kill ${baseline} → ${state.oomKills}`];
  if (state.limitBytes !== undefined) evidence.push(`${file(v1 ? 'memory.limit_in_bytes' : 'memory.max')}: ${state.limitBytes} (${mib(state.limitBytes)})`);
  if (state.peakBytes !== undefined) evidence.push(`${file(v1 ? 'memory.max_usage_in_bytes' : 'memory.peak')}: ${state.peakBytes} (${mib(state.peakBytes)}) at the peak`);
  if (state.failCount !== undefined) evidence.push(`${file('memory.failcnt')}: ${state.failCount} times at the limit`);
  const where = state.limitBytes !== undefined ? `its cgroup reached its limit of ${mib(state.limitBytes)}` : 'its cgroup has no limit, so the machine ran out';
  const kills = state.oomKills - baseline;
  const last = readings.at(-1);
  for (const r of readings) evidence.push(`nile's memory reading at ${new Date(r.at).toISOString()}: ${describeReading(r)}`);
  const close = last ? ` (nile's last reading: ${describeReading(last)})` : '';
  return { cause: 'oom-killed', summary: `the kernel's OOM killer killed the app${kills > 1 ? ` (${kills} kills)` : ''}: ${where}${close}`, evidence };
}

async function readV2(cgroup: MemoryCgroup): Promise<MemoryState> {
  const events = await readText(cgroup.dir, 'memory.events');
  const max = await readText(cgroup.dir, 'memory.max');
  return {
    cgroup,
    oomKills: field(events, 'oom_kill'),
    limitBytes: max && max.trim() !== 'max' ? Number(max) : undefined,
    peakBytes: number(await readText(cgroup.dir, 'memory.peak')),
  };
}

async function readV1(cgroup: MemoryCgroup): Promise<MemoryState> {
  const own = number(await readText(cgroup.dir, 'memory.limit_in_bytes'));
  // A limit set on a parent cgroup binds too; memory.stat says which one is in force.
  const inForce = own !== undefined && own < UNLIMITED ? own : field(await readText(cgroup.dir, 'memory.stat'), 'hierarchical_memory_limit');
  return {
    cgroup,
    oomKills: field(await readText(cgroup.dir, 'memory.oom_control'), 'oom_kill'),
    limitBytes: inForce !== undefined && inForce < UNLIMITED ? inForce : undefined,
    peakBytes: number(await readText(cgroup.dir, 'memory.max_usage_in_bytes')),
    failCount: number(await readText(cgroup.dir, 'memory.failcnt')),
  };
}

// Files a kernel does not have (memory.peak before 5.19, oom_kill before 4.13) read as undefined.
async function readText(dir: string, name: string): Promise<string | undefined> {
  return readFile(path.join(dir, name), 'utf8').catch(() => undefined);
}

function field(text: string | undefined, key: string): number | undefined {
  const m = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function number(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+\s*$/.test(text) ? Number(text) : undefined;
}
