import { constants, mkdirSync, openSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Log } from '../log.js';
import { writeOwnFile } from '../run-dir.js';
import { closeQuietly } from '../fd.js';
import { ensureFifo } from './fifo.js';
import { lockExclusive } from './lock.js';
import { isControlLetter, type ControlLetter } from './letters.js';
import { encodeStatus, pidLine, statLine, type SuperviseStatus } from './status.js';

/**
 * One service directory's supervise/, kept as runsv keeps it so the real `sv` can read and drive
 * the service: the lock, the control and ok FIFOs, and the status, stat and pid files.
 */
export class SuperviseDir {
  private handler: ((letter: ControlLetter) => void) | null = null;
  private readonly early: ControlLetter[] = []; // letters that came before onControl()
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly log: Log,
    private readonly lockFd: number,
    private readonly okFd: number,
    private readonly control: net.Socket,
    private lastPid: number,
  ) {
    control.on('data', (bytes: Buffer) => this.dispatch(bytes));
    control.on('error', (err) => this.log.warn({ dir, err: err.message }, 'reading supervise/control failed'));
  }

  /**
   * Makes supervise/ in `serviceDir` (made too if missing) the way runsv does. `initial` is written
   * before the ok FIFO opens, so `sv` never reads a stale status. Rejects when another supervisor
   * holds the lock.
   */
  static async open(serviceDir: string, log: Log, initial?: SuperviseStatus): Promise<SuperviseDir> {
    const dir = makeSuperviseDir(serviceDir);
    const lockFd = openSync(path.join(dir, 'lock'), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
    let controlFd = -1;
    try {
      if (lockExclusive(lockFd) === 'busy') throw new Error(`${dir}/lock is held: another supervisor runs ${serviceDir}`);
      await ensureFifo(path.join(dir, 'control'));
      // Read-write, so the FIFO never reports end-of-file when `sv` closes it; libuv polls it, no thread waits.
      controlFd = openSync(path.join(dir, 'control'), constants.O_RDWR | constants.O_NONBLOCK);
      if (initial) publish(dir, initial, true);
      await ensureFifo(path.join(dir, 'ok'));
      // Held open so `sv` can open ok for writing: that is how it knows a supervisor is running.
      const okFd = openSync(path.join(dir, 'ok'), constants.O_RDONLY | constants.O_NONBLOCK);
      const control = new net.Socket({ fd: controlFd, readable: true, writable: false });
      return new SuperviseDir(dir, log, lockFd, okFd, control, initial ? initial.pid : -1);
    } catch (err) {
      if (controlFd >= 0) closeQuietly(controlFd);
      closeQuietly(lockFd);
      throw err;
    }
  }

  /** Called with each known control letter, in order; unknown bytes are ignored as runsv does. */
  onControl(handler: (letter: ControlLetter) => void): void {
    this.handler = handler;
    for (const letter of this.early.splice(0)) this.deliver(letter);
  }

  /** Publishes the service's state as runsv's update_status(): pid when it changed, stat, then status. */
  write(status: SuperviseStatus): void {
    if (this.closed) return;
    try {
      publish(this.dir, status, status.pid !== this.lastPid);
      this.lastPid = status.pid;
    } catch (err) {
      this.log.warn({ dir: this.dir, err: (err as Error).message }, 'cannot write supervise status');
    }
  }

  /** Lets go of supervise/: `sv` then reports that no supervisor is running. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.okFd);
    await new Promise<void>((resolve) => {
      this.control.once('close', () => resolve());
      this.control.destroy();
    });
    closeQuietly(this.lockFd);
  }

  private dispatch(bytes: Buffer): void {
    for (const ch of bytes.toString('latin1')) {
      if (!isControlLetter(ch)) continue;
      if (this.handler) this.deliver(ch);
      else this.early.push(ch);
    }
  }

  private deliver(letter: ControlLetter): void {
    try {
      this.handler!(letter);
    } catch (err) {
      this.log.error({ dir: this.dir, letter, err: (err as Error).message }, 'control letter failed');
    }
  }
}

function publish(dir: string, status: SuperviseStatus, pidChanged: boolean): void {
  if (pidChanged) replace(dir, 'pid', pidLine(status.pid));
  replace(dir, 'stat', statLine(status));
  replace(dir, 'status', encodeStatus(status));
}

// Written beside the file and renamed over it, so a reader sees the old or the new content, whole.
function replace(dir: string, name: string, content: string | Buffer): void {
  writeOwnFile(path.join(dir, name), content);
}

/** mkdir supervise 0700; when supervise is a dangling symlink, runsv makes its target instead. */
function makeSuperviseDir(serviceDir: string): string {
  const dir = path.join(serviceDir, 'supervise');
  mkdirSync(serviceDir, { recursive: true });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const target = symlinkTarget(dir);
    if (target !== null) mkdirSync(path.resolve(serviceDir, target), { recursive: true, mode: 0o700 });
  }
  return dir;
}

function symlinkTarget(file: string): string | null {
  try {
    return readlinkSync(file);
  } catch {
    return null;
  }
}
