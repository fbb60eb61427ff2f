// At start, from the record the previous container left: start the app, or hold it back because the
// previous container was killed while the app was starting (the same start would die the same death).
import { inService, type Phase } from '../app/machine.js';
import type { MemoryReading } from '../cgroup/reading.js';
import type { ContainerRecord } from './record.js';

/** How the previous container of this pod ended, as its record says. */
export interface PreviousEnd {
  how: 'exited' | 'killed'; // killed: nile did not exit, its record stops mid-story
  phase: Phase; // the app's, at the last record
  at: string; // nile's exit, or its last sign of life
  code: number | null; // what nile exited with
  evidence: ContainerRecord; // what explains it: for a container that was holding, the record of the one killed before it
}

export type AtStart = { hold: false; previous: PreviousEnd | null } | { hold: true; previous: PreviousEnd; reason: string };

/** Start as usual, or hold: the previous container was killed while the app was starting, or while a failed start was kept. */
export function atStart(record: ContainerRecord | null): AtStart {
  if (!record) return { hold: false, previous: null };
  const { phase } = record.app;
  if (record.ended) return { hold: false, previous: { how: 'exited', phase, at: record.ended.at, code: record.ended.code, evidence: record } };
  const evidence = record.held ?? record; // killed while holding: held for the same reason
  const previous: PreviousEnd = { how: 'killed', phase, at: record.at, code: null, evidence };
  return evidence.app.phase === 'starting' || evidence.app.phase === 'failed' ? { hold: true, previous, reason: heldReason(evidence) } : { hold: false, previous };
}

/** "the previous container was killed while the app was starting; memory was 97 % of the limit at the last reading; …" */
export function heldReason(killed: ContainerRecord): string {
  return `the previous container was killed ${killedWhen(killed)}; ${memoryAtLastReading(killed.memory.readings.at(-1))}; nile sv up app starts it`;
}

/** "while the app was starting", "after the app was ready", "while it kept the app's failed start (…)" */
export function killedWhen(killed: ContainerRecord): string {
  const { phase } = killed.app;
  if (phase === 'failed') return `while it kept the app's failed start (${killed.failure ?? 'startup failed'})`;
  if (inService(phase)) return 'after the app was ready';
  return `while the app was ${phaseWords[phase]}`;
}

/** One line for `nile status`: how the previous container ended. */
export function previousLine(previous: PreviousEnd): string {
  if (previous.how === 'exited') return `previous container: nile exited with status ${previous.code} at ${previous.at} (app ${phaseWords[previous.phase]})`;
  return `previous container: killed ${killedWhen(previous.evidence)} (last record at ${previous.at}; ${memoryAtLastReading(previous.evidence.memory.readings.at(-1))})`;
}

export function memoryAtLastReading(last: MemoryReading | undefined): string {
  if (!last) return 'nile had no memory reading';
  if (last.limitBytes === null) return `memory was ${Math.round(last.usageBytes / 1024 / 1024)} MiB at the last reading (no limit)`;
  return `memory was ${Math.round((last.usageBytes / last.limitBytes) * 100)} % of the limit at the last reading`;
}

export const phaseWords: Record<Phase, string> = {
  down: 'down',
  starting: 'starting',
  ready: 'ready',
  notReady: 'not ready',
  failed: 'failed',
  restarting: 'restarting',
  stopping: 'stopping',
  stopped: 'stopped',
};
