import { ChildProcess } from 'node:child_process';

// libuv waits for each child Node spawned by its pid; if we reaped one of those, libuv would never
// report its exit. So every child spawned through child_process is recorded here
// from the moment spawn() returns, and the reaper leaves those pids alone.
const own = new Set<number>();
let installed = false;

export function trackOwnChildren(): void {
  if (installed) return;
  installed = true;
  // spawn() is ChildProcess's internal entry point for every child; it is not in the typings.
  const proto = ChildProcess.prototype as unknown as { spawn(this: ChildProcess, ...args: unknown[]): unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
    const result = spawn.apply(this, args);
    const pid = this.pid;
    if (pid !== undefined) {
      own.add(pid);
      this.once('exit', () => own.delete(pid));
    }
    return result;
  };
}

export function isOwnChild(pid: number): boolean {
  return own.has(pid);
}
