// What nile knows of its container, kept in runDir as it goes. On the pod's emptyDir the record
// outlives the container: a container killed whole (a cgroup v2 group OOM kill takes nile with the
// JVM) leaves it for the next one, which reads how the last one ended.
import path from 'node:path';
import type { Phase } from '../app/machine.js';
import type { MemoryReading } from '../cgroup/reading.js';
import { readRegularFile } from '../fd.js';
import { writeOwnFile } from '../run-dir.js';

/** One container's story as nile wrote it last; `ended` is null until nile exits by itself. */
export interface ContainerRecord {
  nile: { pid: number; startedAt: string };
  app: { phase: Phase; since: string; pid: number | null; startedAt: string | null };
  failure: string | null; // the failure report's reason while the app is failed or down after one
  memory: { cgroup: string | null; readings: MemoryReading[] }; // nile's last readings, oldest first
  output: string[]; // the app's last output lines, cut to an excerpt, secrets blanked
  held: ContainerRecord | null; // while this container holds the app back: the record of the one that was killed
  ended: { at: string; code: number } | null;
  at: string; // when written: the container's last sign of life if it was killed
}

export const recordFile = (runDir: string) => path.join(runDir, 'container-record.json');

// The excerpt of the output kept: the last lines, each cut short; a few KiB rewritten at each write.
export const keptLines = 20;
export const keptLineChars = 300;
const maxRecordBytes = 256 * 1024;

/** The last lines of output as the record keeps them. */
export function excerpt(lines: string[]): string[] {
  return lines.slice(-keptLines).map((l) => (l.length > keptLineChars ? `${l.slice(0, keptLineChars)}…` : l));
}

/** Written whole under a fresh name, then renamed: a kill at any instant leaves the last record or this one. */
export function writeRecord(runDir: string, record: ContainerRecord): void {
  writeOwnFile(recordFile(runDir), JSON.stringify(record) + '\n');
}

/**
 * The record the previous container left, null when there is none; `unreadable` says why one that is
 * there cannot be used (the next start then goes ahead, as without one).
 */
export function readRecord(runDir: string): { record: ContainerRecord | null; unreadable?: string } {
  let text: string;
  try {
    text = readBounded(recordFile(runDir));
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    return code === 'ENOENT' ? { record: null } : { record: null, unreadable: code === 'ENOTREG' ? message : (code ?? String(err)) };
  }
  try {
    const record = JSON.parse(text) as ContainerRecord;
    if (!isRecord(record)) return { record: null, unreadable: 'not a record nile wrote' };
    return { record };
  } catch (err) {
    return { record: null, unreadable: (err as Error).message };
  }
}

function isRecord(r: ContainerRecord): boolean {
  return (
    typeof r === 'object' && r !== null && typeof r.at === 'string' && typeof r.app?.phase === 'string' && Array.isArray(r.memory?.readings) &&
    Array.isArray(r.output) && (r.held === null || isRecord(r.held))
  );
}

// A regular file of nile's own, read without following a symlink and only up to a bound.
function readBounded(file: string): string {
  const { text, over } = readRegularFile(file, maxRecordBytes, { noFollow: true });
  if (over) throw Object.assign(new Error('refused'), { code: `over ${maxRecordBytes} bytes` });
  return text;
}
