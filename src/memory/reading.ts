import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MemoryCgroup } from '../doctor/cgroup.js';

/** One look at the container's memory. */
export interface MemoryReading {
  at: number;
  usageBytes: number;
  limitBytes: number | null; // null: no limit
}

// v1 reports "no limit" as the largest page-aligned number it has.
export const UNLIMITED = 2 ** 62;

/** The cgroup's usage now: one small read (memory.current, or memory.usage_in_bytes on v1). */
export function readUsage(cgroup: MemoryCgroup): number {
  return Number(readFileSync(path.join(cgroup.dir, cgroup.version === 2 ? 'memory.current' : 'memory.usage_in_bytes'), 'utf8'));
}

/** The limit in force; on v1 one set on a parent cgroup binds too, and memory.stat says which. */
export function readLimit(cgroup: MemoryCgroup): number | null {
  const own = readFileSync(path.join(cgroup.dir, cgroup.version === 2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim();
  if (cgroup.version === 2) return own === 'max' ? null : Number(own);
  if (Number(own) < UNLIMITED) return Number(own);
  const stat = /^hierarchical_memory_limit (\d+)$/m.exec(readFileSync(path.join(cgroup.dir, 'memory.stat'), 'utf8'));
  return stat && Number(stat[1]) < UNLIMITED ? Number(stat[1]) : null;
}

export const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
export const percent = (share: number) => `${Math.round(share * 1000) / 10} %`;

/** "247.3 MiB of 256 MiB (96.6 %)" */
export function describeReading(r: MemoryReading): string {
  return r.limitBytes ? `${mib(r.usageBytes)} of ${mib(r.limitBytes)} (${percent(r.usageBytes / r.limitBytes)})` : `${mib(r.usageBytes)} (no limit)`;
}

/** The JVM options that size its memory, from the command and the option variables the JVM reads. */
export function heapSettings(command: string[], env: Record<string, string>): string {
  const sizing = /^-(Xmx|Xms|Xss|XX:(Max|Initial|Min)RAMPercentage|XX:MaxRAM|XX:MaxDirectMemorySize|XX:MaxMetaspaceSize)/;
  const fromEnv = ['JAVA_TOOL_OPTIONS', 'JDK_JAVA_OPTIONS', '_JAVA_OPTIONS'].flatMap((name) => (env[name] ?? '').split(/\s+/));
  const found = [...command, ...fromEnv].filter((arg) => sizing.test(arg));
  return found.length ? found.join(' ') : 'no heap options (the JVM takes a quarter of the limit for its heap)';
}
