// The memory cgroup's files, v1 and v2, read in one place for the memory watch, the doctor, the
// metrics and status. Small kernel files, read at once: the OOM count is taken in the tick of the spawn.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MemoryCgroup } from './find.js';

// v1 reports "no limit" as the largest page-aligned number it has.
const UNLIMITED = 2 ** 62;

/** What the kernel counts of a cgroup's brushes with its limit; a count is missing where the kernel does not say. */
export interface OomCounts {
  atLimit?: number; // v2 memory.events `max`, v1 memory.failcnt: times usage hit the limit
  oomKills?: number; // `oom_kill`: processes the OOM killer killed (v1 memory.oom_control, v2 memory.events)
  groupKills?: number; // v2 `oom_group_kill`: times it killed the whole cgroup (memory.oom.group, Kubernetes 1.28+)
}

/** A memory cgroup's usage, limit, peak and OOM counts; a field is missing where the kernel does not say. */
export interface MemoryState extends OomCounts {
  cgroup: MemoryCgroup;
  usageBytes?: number;
  limitBytes?: number;
  peakBytes?: number;
}

/** The file each figure comes from, by version: what the doctor quotes as evidence. */
export function fileOf(cgroup: MemoryCgroup, figure: 'usage' | 'limit' | 'peak' | 'events' | 'atLimit'): string {
  const v2 = cgroup.version === 2;
  const name = {
    usage: v2 ? 'memory.current' : 'memory.usage_in_bytes',
    limit: v2 ? 'memory.max' : 'memory.limit_in_bytes',
    peak: v2 ? 'memory.peak' : 'memory.max_usage_in_bytes',
    events: v2 ? 'memory.events' : 'memory.oom_control',
    atLimit: v2 ? 'memory.events' : 'memory.failcnt',
  }[figure];
  return path.join(cgroup.dir, name);
}

/** The cgroup's usage now: one small read. Throws when it cannot be read. */
export function readUsage(cgroup: MemoryCgroup): number {
  return Number(readFileSync(fileOf(cgroup, 'usage'), 'utf8'));
}

/** The limit in force, null for none; on v1 one set on a parent cgroup binds too, and memory.stat says which. Throws when it cannot be read. */
export function readLimit(cgroup: MemoryCgroup): number | null {
  const own = readFileSync(fileOf(cgroup, 'limit'), 'utf8').trim();
  if (cgroup.version === 2) return own === 'max' ? null : Number(own);
  if (Number(own) < UNLIMITED) return Number(own);
  const inForce = field(readText(path.join(cgroup.dir, 'memory.stat')), 'hierarchical_memory_limit');
  return inForce !== undefined && inForce < UNLIMITED ? inForce : null;
}

/** The OOM counts now; none of them when the files cannot be read (kernels before 4.13 lack oom_kill, before 5.17 oom_group_kill). */
export function readOomCounts(cgroup: MemoryCgroup): OomCounts {
  const events = readText(fileOf(cgroup, 'events'));
  const counts: OomCounts = { oomKills: field(events, 'oom_kill') };
  if (cgroup.version === 2) {
    counts.atLimit = field(events, 'max');
    counts.groupKills = field(events, 'oom_group_kill');
  } else counts.atLimit = number(readText(fileOf(cgroup, 'atLimit')));
  return withoutMissing(counts);
}

/** Everything the cgroup says of its memory, for the doctor. */
export function readMemoryState(cgroup: MemoryCgroup): MemoryState {
  let limitBytes: number | null | undefined;
  try {
    limitBytes = readLimit(cgroup);
  } catch {
    limitBytes = undefined;
  }
  return withoutMissing({
    cgroup,
    usageBytes: number(readText(fileOf(cgroup, 'usage'))),
    limitBytes: limitBytes ?? undefined,
    peakBytes: number(readText(fileOf(cgroup, 'peak'))), // memory.peak: kernels 5.19+
    ...readOomCounts(cgroup),
  });
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function field(text: string | undefined, key: string): number | undefined {
  const m = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function number(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+\s*$/.test(text) ? Number(text) : undefined;
}

function withoutMissing<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
