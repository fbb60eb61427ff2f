import { readdirSync, readFileSync } from 'node:fs';
import { loadNative } from '../native.js';
import { isOwnChild } from './own-children.js';

/** Our children right now: every task's `children` file (orphans may be re-parented to any thread). */
export function listChildren(): number[] {
  const pids: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return pids;
  }
  for (const tid of tasks) {
    try {
      for (const pid of readFileSync(`/proc/self/task/${tid}/children`, 'latin1').split(' ')) {
        if (pid) pids.push(Number(pid));
      }
    } catch {
      // the thread ended between readdir and read
    }
  }
  return pids;
}

/**
 * Reaps every exited child that Node did not spawn; returns how many. Children still running are
 * left alone by WNOHANG, so no /proc stat read is needed per child.
 */
export function reapOrphans(): number {
  const native = loadNative();
  if (!native) return 0;
  let reaped = 0;
  for (const pid of listChildren()) {
    if (isOwnChild(pid)) continue;
    if (native.reap(pid)) reaped++;
  }
  return reaped;
}

/** When not PID 1, ask the kernel to re-parent orphaned descendants to us. */
export function becomeSubreaper(): boolean {
  return loadNative()?.subreaper() ?? false;
}
