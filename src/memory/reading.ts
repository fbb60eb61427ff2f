import type { OomCounts } from '../cgroup/memory.js';

/** One look at the container's memory. */
export interface MemoryReading {
  at: number;
  usageBytes: number;
  limitBytes: number | null; // null: no limit
  counts?: OomCounts; // the cgroup's OOM counts at that moment
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
