// What /proc says about a process: its children, state, parent and name; the processes of a PID namespace.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface PodProcess {
  pid: number; // as the host sees it
  ppid: number;
  state: string;
  comm: string;
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    }
  } catch {
    // the process is gone
  }
  return out;
}

export function statOf(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

export const isZombie = (pid: number) => statOf(pid)?.state === 'Z';

export function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function alive(pid: number): boolean {
  const st = statOf(pid);
  return st !== null && st.state !== 'Z';
}

/** Every process in the PID namespace of host pid `pid1`, as the host sees them. */
export function podProcessesOf(pid1: number): PodProcess[] {
  const ns = pidNamespace(pid1);
  if (!ns) return [];
  const found: PodProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pidNamespace(pid) !== ns) continue;
    const stat = statOf(pid);
    if (stat) found.push({ pid, ppid: stat.ppid, state: stat.state, comm: readComm(pid) });
  }
  return found;
}

function pidNamespace(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}
