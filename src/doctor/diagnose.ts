import type { Finding } from './finding.js';
import { findClasspathConflicts } from './classpath.js';
import { exitFinding } from './exit.js';
import { readLogTail } from './log-files.js';
import { oomKillFinding } from './oom.js';
import type { MemoryReading } from '../memory/reading.js';
import { scanForPatterns, type Source } from './patterns.js';
import { threadDumpFindings } from './threads.js';

export interface DiagnoseInput {
  exitCode?: number | null;
  signal?: string | null;
  outputLines: string[]; // the app's last output lines, oldest first
  logFiles?: string[];
  jar?: string; // what `java -jar` ran
  classpath?: string[]; // what `-cp` listed
  cgroupPath?: string; // the app's memory cgroup, if not nile's own
  oomBaseline?: number; // the cgroup's OOM kill count before the app started; without it any kill counts
  memoryReadings?: MemoryReading[]; // nile's last readings of the cgroup's usage, for how close it came
  threadDump?: string; // taken when the start timed out
}

/**
 * Everything nile can tell about why the app failed, the most likely root cause first: an OOM kill,
 * known fatal lines in the output and logs, classpath conflicts, the threads of a stuck start, and
 * how the app ended. Never throws: an analysis that fails becomes a 'doctor-error' finding.
 */
export async function diagnose(input: DiagnoseInput): Promise<Finding[]> {
  const errors: Finding[] = [];
  const oom = await attempt('the memory cgroup for an OOM kill', errors, () => oomKillFinding(input.oomBaseline ?? 0, input.cgroupPath, input.memoryReadings));

  const sources: Source[] = [{ lines: input.outputLines }];
  for (const file of input.logFiles ?? []) {
    const lines = await attempt(`the log file ${file}`, errors, () => readLogTail(file));
    if (lines) sources.push({ name: file, lines });
  }
  const scan = await attempt('the output', errors, async () => scanForPatterns(sources));

  const conflicts =
    input.jar || input.classpath?.length
      ? await attempt('the classpath', errors, () => findClasspathConflicts({ jar: input.jar, classpath: input.classpath, focus: scan?.classes }))
      : undefined;
  const threads = input.threadDump ? await attempt('the thread dump', errors, async () => threadDumpFindings(input.threadDump!)) : undefined;
  const exit = exitFinding(input.exitCode, input.signal);
  return [...(oom ? [oom] : []), ...(scan?.findings ?? []), ...(conflicts ?? []), ...(threads ?? []), ...(exit ? [exit] : []), ...errors];
}

// Runs one analysis; if it fails, the reason goes to `errors` as a finding and the result is undefined.
async function attempt<T>(what: string, errors: Finding[], analyse: () => Promise<T>): Promise<T | undefined> {
  try {
    return await analyse();
  } catch (err) {
    errors.push({ cause: 'doctor-error', summary: `could not check ${what}: ${err instanceof Error ? err.message : String(err)}`, evidence: [] });
    return undefined;
  }
}
