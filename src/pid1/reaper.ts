import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isOwnChild } from './own-children.js';

interface Addon {
  reap(pid: number): { pid: number; code: number | null; signal: number | null } | null;
  setSubreaper(): boolean;
  lockExclusive(fd: number): boolean;
  makeFifo(path: string, mode: number): void;
  // Output relay (native/relay.c); optional so an older build still loads.
  tailOpen?(keepBytes: number): number;
  tailRead?(id: number): Buffer;
  tailCount?(id: number): number;
  tailCapture?(id: number, fd: number): void;
  relayStart?(tailId: number, outFd: number, onEnd: () => void): number;
}

const require = createRequire(import.meta.url);
let addon: Addon | null | undefined;

/** The native addon, or null when it was not built (then nile cannot reap orphans, and says so). */
export function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  for (const candidate of ['../../../build/Release/reaper.node', '../../build/Release/reaper.node']) {
    try {
      addon = require(candidate) as Addon;
      return addon;
    } catch {
      // try the next layout (running from dist/src or from an installed package)
    }
  }
  addon = null;
  return addon;
}

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
  const native = loadAddon();
  if (!native) return 0;
  let reaped = 0;
  for (const pid of listChildren()) {
    if (isOwnChild(pid)) continue;
    if (native.reap(pid)) reaped++;
  }
  return reaped;
}

/** The addon, for the calls nile cannot do without (flock, mkfifo): a clear error when it is not built. */
export function requireAddon(): Addon {
  const native = loadAddon();
  if (!native) throw new Error('the native addon is not built (build/Release/reaper.node): run `make build`');
  return native;
}

/** When not PID 1, ask the kernel to re-parent orphaned descendants to us. */
export function becomeSubreaper(): boolean {
  const native = loadAddon();
  return native ? native.setSubreaper() : false;
}
