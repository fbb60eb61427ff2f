import path from 'node:path';
import type { Finding } from '../control/protocol.cjs';
import type { ProbeAnswer } from '../doctor/probe.js';
import { writeOwnFile } from '../run-dir.js';
import type { Exit } from '../runit/letters.js';
import type { ScriptRun } from './jvm.js';
import type { Failure } from './machine.js';

export type { ProbeAnswer };

/** What a developer needs to see after the app failed or crashed; kept in runDir and shown by `nile status`. */
export interface FailureReport {
  kind: Failure['kind'];
  reason: string;
  at: string;
  startedAt: string | null;
  afterMs: number | null;
  exit: Exit | null;
  error?: string; // why a start never ran
  endedAt?: string; // when the app a timed-out start left running ended (`exit` says how)
  command: string[];
  lastOutput: string[];
  threadDumpFile?: string; // the whole thread dump of a timed-out start, in runDir
  jvmEnded?: number; // the JVM that ended under the start script before the script exited 0
  startScript?: ScriptRun; // the app was a script that ran the JVM as its child
  probes?: ProbeAnswer[]; // the probe's last answers before the failure, oldest first
  findings?: Finding[];
}

export const reportFile = (runDir: string) => path.join(runDir, 'last-failure.json');
export const threadDumpFile = (runDir: string) => path.join(runDir, 'thread-dump.txt');

/** A duration as the reason says it: `4.2s`, `3m5s`, `1h2m`. */
export function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m}m${Math.round((ms % 60_000) / 1000)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

/** What became of the thread dump of a timed-out start, as the reason says it. */
export const dumpTaken = 'thread dump taken';

function exitText(exit: Exit | null): string {
  if (!exit) return 'ended';
  return exit.code !== null ? `exited with status ${exit.code}` : `was killed by signal ${exit.signal}`;
}

/** One line: what happened, for the probe's event line and the log; `dump` says what became of a timed-out start's thread dump. */
export function reasonOf(failure: Failure, startTimeout: number, dump = dumpTaken): string {
  const after = (at: number) => (failure.startedAt !== null ? ` after ${seconds(at - failure.startedAt)}` : '');
  const script = failure.jvmEnded !== undefined ? `its JVM (pid ${failure.jvmEnded}) ended under the start script, which then ` : null;
  switch (failure.kind) {
    case 'exited':
      return `startup failed: ${script ?? 'app '}${exitText(failure.exit)}${after(failure.at)}`;
    case 'timeout':
      if (failure.ended) return `startup failed: not ready within ${seconds(startTimeout)} (${dump}); then the app ${exitText(failure.ended.exit)}${after(failure.ended.at)}`;
      return `startup failed: not ready within ${seconds(startTimeout)} (${dump}, app left running)`;
    case 'spawn':
      return `startup failed: cannot start app: ${failure.error}`;
    case 'crashed': {
      // An exit 0 is the app's own decision to end, not a crash; unless its JVM ended under a start script before.
      const what = failure.exit?.code === 0 && !script ? `app ${exitText(failure.exit)}` : `app crashed: ${script ?? ''}${exitText(failure.exit)}`;
      return `${what}${after(failure.at)} running${failure.endsNile ? ' (restart: never: nile exits with its status)' : ''}`;
    }
    case 'held':
      return failure.error ?? 'the start was held back';
  }
}

/** The report of a timed-out start once the app it left running has ended: how, and when. */
export function keptAppEnded(report: FailureReport, failure: Failure, startTimeout: number, dump = dumpTaken): FailureReport {
  if (!failure.ended) return report;
  return { ...report, reason: reasonOf(failure, startTimeout, dump), exit: failure.ended.exit, endedAt: new Date(failure.ended.at).toISOString() };
}

export function buildReport(failure: Failure, startTimeout: number, command: string[], lastOutput: string[], probes: ProbeAnswer[] = [], dump = dumpTaken): FailureReport {
  return {
    kind: failure.kind,
    reason: reasonOf(failure, startTimeout, dump),
    at: new Date(failure.at).toISOString(),
    startedAt: failure.startedAt !== null ? new Date(failure.startedAt).toISOString() : null,
    afterMs: failure.startedAt !== null ? failure.at - failure.startedAt : null,
    exit: failure.exit,
    ...(failure.error ? { error: failure.error } : {}),
    ...(failure.jvmEnded !== undefined ? { jvmEnded: failure.jvmEnded } : {}),
    command,
    lastOutput,
    ...(probes.length ? { probes } : {}),
  };
}

export function writeReport(runDir: string, report: FailureReport): void {
  const file = reportFile(runDir);
  writeOwnFile(file, JSON.stringify(report, null, 2) + '\n');
}
