// What the kernel says of a process: CPU ticks and resident memory, from /proc.

import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux

/** utime + stime of the whole process (every thread), in seconds. */
export function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, utime field 14, stime field 15 (man 5 proc).
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** VmRSS in MiB. */
export function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) / 1024;
}

/** RssAnon in MiB: what the process holds for itself, without the pages of files it maps (node's own code, shared by every node). */
export function anonMiB(pid: number): number {
  const match = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no RssAnon for ${pid}`);
  return Number(match[1]) / 1024;
}

/** CPU time of every thread of the process, in ns, from the scheduler (no 10 ms ticks). */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return total;
}
