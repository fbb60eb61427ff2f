// Processes the app left behind (a `setsid` daemon, a forgotten background job) are stopped before
// the app starts again and when it stops, as systemd's KillMode=control-group and s6 do. They are
// found in /proc: the app's session, and the mark every process it starts inherits in its environment.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import type { SignalName } from '../runit/letters.js';
import { sleep } from '../toolbox/sleep.js';

/** Put in the app's environment, as systemd's INVOCATION_ID: what carries it was started by this app. */
export const appMark = { name: 'NILE_INVOCATION_ID', value: randomBytes(12).toString('hex') };
const markFirst = Buffer.from(`${appMark.name}=${appMark.value}\0`);
const markLater = Buffer.from(`\0${appMark.name}=${appMark.value}\0`);

const pollMs = 50;

/** One run of the app: its pid is its session (it is started as a session leader), and when it started. */
export interface AppRun {
  session: number;
  startTime: number; // clock ticks after boot, as /proc/PID/stat has it
}

/** The run of the app that `pid` is, read as it starts. */
export function appRun(pid: number): AppRun {
  return { session: pid, startTime: statOf(pid)?.startTime ?? 0 };
}

/** Live processes of the app's session or carrying its mark; only those started after it can carry it. */
export function findLeftovers(app: AppRun): number[] {
  return liveProcesses((pid, stat) => stat.session === app.session || stat.pgrp === app.session || (stat.startTime >= app.startTime && carriesMark(pid)));
}

/** Live processes of the app's process group: those its stop signal reached with it. */
export function groupOf(app: AppRun): number[] {
  return liveProcesses((_, stat) => stat.pgrp === app.session);
}

function liveProcesses(match: (pid: number, stat: Stat) => boolean): number[] {
  const found: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const stat = statOf(pid);
    if (stat && stat.state !== 'Z' && match(pid, stat)) found.push(pid);
  }
  return found;
}

/** The stop signal to every leftover, KILL to those still there after timeoutMs; resolves once all are gone. */
export async function stopLeftovers(app: AppRun, signal: SignalName, timeoutMs: number, log: Log): Promise<void> {
  let left = findLeftovers(app);
  if (left.length === 0) return;
  log.info({ pids: left, signal }, 'stopping processes the app left behind');
  send(left, signal, log);
  left = await untilGone(() => left.filter(alive), Date.now() + timeoutMs);
  if (left.length === 0) return;
  log.warn({ pids: left, afterMs: timeoutMs }, 'killing processes the app left behind');
  send(left, 'KILL', log);
  await untilGone(() => left.filter(alive), Date.now() + 20 * pollMs);
}

/** Polls `left` until it names no process or the deadline passes; what is left then. */
export async function untilGone(left: () => number[], deadline: number): Promise<number[]> {
  let pids = left();
  while (pids.length > 0 && Date.now() < deadline) {
    await sleep(pollMs);
    pids = left();
  }
  return pids;
}

/** The signal to each pid; one already gone is no error. */
export function send(pids: number[], signal: SignalName, log: Log): void {
  for (const pid of pids) {
    try {
      process.kill(pid, `SIG${signal}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') log.warn({ pid, signal, err: errorText(err) }, 'signal not delivered');
    }
  }
}

export const alive = (pid: number): boolean => {
  const stat = statOf(pid);
  return stat !== null && stat.state !== 'Z';
};

interface Stat {
  state: string;
  pgrp: number;
  session: number;
  startTime: number;
}

function statOf(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
    return { state: fields[0], pgrp: Number(fields[2]), session: Number(fields[3]), startTime: Number(fields[19]) };
  } catch {
    return null;
  }
}

function carriesMark(pid: number): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`);
    return environ.indexOf(markFirst) === 0 || environ.includes(markLater);
  } catch {
    return false;
  }
}
