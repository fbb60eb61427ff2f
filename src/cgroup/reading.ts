// One look at the memory cgroup as nile keeps it: the watch takes them, the record in runDir keeps the
// last few, and the doctor quotes them after a kill.
import type { MemoryCgroup } from './find.js';
import { readLimit, readOomCounts, readUsage, type OomCounts } from './memory.js';

/** One look at the container's memory. */
export interface MemoryReading {
  at: number;
  usageBytes: number;
  limitBytes: number | null; // null: no limit
  counts?: OomCounts; // the cgroup's OOM counts at that moment
}

/** The cgroup's usage, limit (a pod may be resized in place) and OOM counts at `at`. Throws when they cannot be read. */
export function takeReading(cgroup: MemoryCgroup, at: number): MemoryReading {
  return { at, usageBytes: readUsage(cgroup), limitBytes: readLimit(cgroup), counts: readOomCounts(cgroup) };
}

export const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
export const percent = (share: number) => `${Math.round(share * 1000) / 10} %`;

/** "247.3 MiB of 256 MiB (96.6 %)" */
export function describeReading(r: Pick<MemoryReading, 'usageBytes' | 'limitBytes'>): string {
  return r.limitBytes ? `${mib(r.usageBytes)} of ${mib(r.limitBytes)} (${percent(r.usageBytes / r.limitBytes)})` : `${mib(r.usageBytes)} (no limit)`;
}
