// The JVM behind the app. The app is usually `java` itself; a start script that runs `java …` without
// `exec` puts a shell in between, which dies of the QUIT meant for a thread dump and may outlive or
// hide its JVM. The JVMs are found in /proc: the app's descendants whose program is java.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

// A container holds a handful of processes; a runaway tree is not walked for ever.
const maxProcesses = 512;
const maxDepth = 16;

/** A start script that runs the JVM as its child: the app's process, its program's name, and the JVM(s) under it. */
export interface ScriptRun {
  pid: number;
  name: string;
  jvms: number[];
}

/** The process runs a JVM: its program (or, when that cannot be read, its name) is `java`. */
export function isJvm(pid: number): boolean {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`)) === 'java';
  } catch {
    return programName(pid) === 'java';
  }
}

export function programName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The JVMs among the descendants of `pid` (not `pid` itself), nearest first; a JVM's own children are its business. */
export function jvmsUnder(pid: number): number[] {
  const found: number[] = [];
  let level = childrenOf(pid);
  let seen = level.length;
  for (let depth = 0; depth < maxDepth && level.length > 0 && seen <= maxProcesses; depth++) {
    const next: number[] = [];
    for (const child of level) {
      if (isJvm(child)) found.push(child);
      else next.push(...childrenOf(child));
    }
    seen += next.length;
    level = next;
  }
  return found;
}

/** A start script when the app is not a JVM and runs one below it; null when the app is the JVM (or runs none). */
export function scriptRunOf(pid: number): ScriptRun | null {
  if (isJvm(pid)) return null;
  const jvms = jvmsUnder(pid);
  return jvms.length > 0 ? { pid, name: programName(pid), jvms } : null;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    }
  } catch {
    // gone, or a kernel without /proc/PID/task/*/children: nothing found below it
  }
  return out;
}
