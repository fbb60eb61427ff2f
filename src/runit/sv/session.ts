// What sv.c does for one invocation: read supervise/status, print it, write control letters, and
// check whether they took effect, with sv's lines and its count of failures as the exit status.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { decodeStatus, statusSize, type SuperviseStatus } from '../status.js';
import { errorWords } from './errno.js';

export interface Service {
  name: string; // as the user wrote it: sv prints it back
  dir: string;
}

type Got = -1 | 0 | 1; // sv's svstatus_get(): cannot tell, no supervisor, read

export class SvSession {
  failures = 0;
  private pending = '';
  private islog = false;
  private status: SuperviseStatus | null = null;
  readonly startedAt = Math.floor(Date.now() / 1000);
  now = this.startedAt;

  constructor(private readonly acts: string) {}

  /** sv status: the service, then its log on the same line. */
  printStatus(service: Service): void {
    if (this.getStatus(service) !== 1) return;
    this.describe(service.dir, service.name);
    this.islog = true;
    const logDir = path.join(service.dir, 'log');
    const problem = directoryProblem(logDir);
    if (problem?.code === 'ENOENT') this.outs('\n');
    else if (problem) {
      this.outs('; ');
      this.warn(service, 'unable to change directory', problem);
    } else {
      this.outs('; ');
      // As sv.c: only a missing supervisor skips the line; after a failed read it prints the last status read.
      if (this.getStatus({ name: service.name, dir: logDir }) !== 0) {
        this.describe(logDir, 'log');
        this.outs('\n');
      }
    }
    this.islog = false;
    this.flush();
  }

  /** Writes the letters to supervise/control: 1 sent, 0 nothing to do, -1 failed. */
  control(service: Service, acts: string): Got {
    if (this.getStatus(service) !== 1) return -1;
    const status = this.status!;
    const want = status.want === 'up' ? 'u' : 'd';
    // Already wanted that way; a `d` is sent again unless TERM already went out.
    if (want === acts[0] && (acts[0] !== 'd' || status.gotTerm)) return 0;
    let fd: number;
    try {
      fd = openSync(path.join(service.dir, 'supervise', 'control'), constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') this.warn(service, 'unable to open supervise/control', err);
      else this.notRunning(service);
      return -1;
    }
    try {
      if (writeSync(fd, acts) !== acts.length) throw new Error('short write');
      return 1;
    } catch (err) {
      this.warn(service, 'unable to write to supervise/control', err);
      return -1;
    } finally {
      closeSync(fd);
    }
  }

  /** sv's check(): 1 when the letters took effect (and says so), 0 not yet, -1 give up. */
  check(service: Service, acts: string): Got {
    const got = this.getStatus(service);
    if (got === -1) return -1;
    for (const act of acts) {
      if (got === 0) return act === 'x' ? 1 : -1;
      const status = this.status!;
      const letter = act === 'C' ? (status.want === 'up' ? 'u' : 'd') : act;
      const { pid } = status;
      const changedSince = Math.floor(status.since / 1000) >= this.startedAt;
      switch (letter) {
        case 'x':
          return 0;
        case 'u':
          if (!pid || status.state !== 'run' || !checkScript(service)) return 0;
          break;
        case 'd':
          if (pid || status.state !== 'down') return 0;
          break;
        case 't':
        case 'k':
          if (!pid && status.want === 'down') break;
          if (!changedSince || !pid || status.gotTerm || !checkScript(service)) return 0;
          break;
        case 'o':
          if ((!pid && !changedSince) || (pid && status.want !== 'down')) return 0;
          break;
        case 'p':
          if (pid && !status.paused) return 0;
          break;
        case 'c':
          if (pid && status.paused) return 0;
          break;
      }
    }
    this.outs('ok: ');
    this.describe(service.dir, service.name);
    this.flush('\n');
    return 1;
  }

  /** The -w deadline passed: "timeout: " (or "kill: ", then `k`) and the status. */
  timedOut(service: Service, kill: boolean): void {
    this.outs(kill ? 'kill: ' : 'timeout: ');
    if (this.getStatus(service) === 1) {
      this.describe(service.dir, service.name);
      this.failures++;
    }
    this.flush('\n');
    if (kill) this.control(service, 'k');
  }

  fail(service: Service, message: string, err?: unknown): void {
    this.failures++;
    this.out('fail: ', service, message, err);
  }

  private warn(service: Service, message: string, err?: unknown): void {
    this.failures++;
    this.out('warning: ', service, message, err);
  }

  // sv's svstatus_get(): a writer can open supervise/ok only while a supervisor holds it open.
  private getStatus(service: Service): Got {
    try {
      closeSync(openSync(path.join(service.dir, 'supervise', 'ok'), constants.O_WRONLY | constants.O_NONBLOCK));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENXIO') {
        this.notRunning(service);
        return 0;
      }
      this.warn(service, 'unable to open supervise/ok', err);
      return -1;
    }
    let bytes: Buffer;
    try {
      bytes = readStatusFile(path.join(service.dir, 'supervise', 'status'));
    } catch (err) {
      this.warn(service, `unable to ${(err as { during?: string }).during ?? 'read'} supervise/status`, err);
      return -1;
    }
    const status = decodeStatus(bytes);
    if (!status) {
      this.warn(service, 'unable to read supervise/status: bad format');
      return -1;
    }
    this.status = status;
    return 1;
  }

  private notRunning(service: Service): void {
    if (this.acts[0] === 'x') this.out('ok: ', service, 'runsv not running');
    else this.fail(service, 'runsv not running');
  }

  // sv's svstatus_print(): "run: NAME: (pid N) Ss" and the flags that differ from the usual.
  private describe(dir: string, label: string): void {
    const status = this.status!;
    const down = statSyncOrError(path.join(dir, 'down'));
    if (down && down.code !== 'ENOENT') {
      process.stderr.write(`warning: unable to stat ${label}/down: ${errorWords(down)}\n`);
      return;
    }
    const normallyUp = down !== null;
    const { pid } = status;
    const seconds = Math.max(0, this.now - Math.floor(status.since / 1000));
    let line = `${status.state}: ${label}: `;
    if (status.state !== 'down') line += `(pid ${pid}) `;
    line += `${seconds}s`;
    if (pid && !normallyUp) line += ', normally down';
    if (!pid && normallyUp) line += ', normally up';
    if (pid && status.paused) line += ', paused';
    if (!pid && status.want === 'up') line += ', want up';
    if (pid && status.want === 'down') line += ', want down';
    if (pid && status.gotTerm) line += ', got TERM';
    this.outs(line);
  }

  private out(prefix: string, service: Service, message: string, err?: unknown): void {
    const reason = err === undefined ? '' : `: ${errorWords(err)}`;
    this.flush(`${prefix}${service.name}${this.islog ? '/log' : ''}: ${message}${reason}\n`);
  }

  private outs(text: string): void {
    this.pending += text;
  }

  private flush(text = ''): void {
    process.stdout.write(this.pending + text);
    this.pending = '';
  }
}

/** Why `dir` cannot be entered, as chdir(2) would say; null when it can. */
export function directoryProblem(dir: string): NodeJS.ErrnoException | null {
  const err = statSyncOrError(dir);
  if (err) return err;
  if (!statSync(dir).isDirectory()) return Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  return null;
}

function statSyncOrError(file: string): NodeJS.ErrnoException | null {
  try {
    statSync(file);
    return null;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

function readStatusFile(file: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw Object.assign(err as Error, { during: 'open' });
  }
  try {
    const buf = Buffer.alloc(statusSize);
    return buf.subarray(0, readSync(fd, buf, 0, statusSize, null));
  } finally {
    closeSync(fd);
  }
}

// sv runs ./check, when there is one, before it calls a service up; stdout closed, as sv does.
function checkScript(service: Service): boolean {
  const missing = statSyncOrError(path.join(service.dir, 'check'));
  if (missing?.code === 'ENOENT') return true;
  if (missing) {
    process.stderr.write(`warning: unable to stat ${service.name}/check: ${errorWords(missing)}\n`);
    return false;
  }
  const result = spawnSync('./check', [], { cwd: service.dir, stdio: ['inherit', 'ignore', 'inherit'] });
  if (result.error) {
    process.stderr.write(`warning: unable to run ${service.name}/check: ${errorWords(result.error)}\n`);
    return true;
  }
  return result.status === 0;
}
