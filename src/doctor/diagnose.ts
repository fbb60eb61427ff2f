import type { Finding } from '../control/protocol.cjs';
import { findClasspathConflicts } from './classpath.js';
import { exitFinding } from './exit.js';
import { readLogTail } from './log-files.js';
import { oomKillFinding } from './oom.js';
import { previousKillFinding, type CgroupNow } from './killed.js';
import { memoryCgroup } from '../cgroup/find.js';
import { readOomCounts } from '../cgroup/memory.js';
import type { PreviousEnd } from '../record/previous.js';
import type { MemoryReading } from '../cgroup/reading.js';
import { scanForPatterns, type Source } from './patterns.js';
import { startTimeoutFinding, type ProbeAnswer } from './probe.js';
import { threadDumpFindings } from './threads.js';
import { jvmEndedFinding, startScriptFinding } from './start-script.js';
import type { ScriptRun } from '../app/jvm.js';

export interface DiagnoseInput {
  exitCode?: number | null;
  signal?: string | null;
  outputLines: string[]; // the app's last output lines, oldest first
  logFiles?: string[];
  appUser?: string; // app.user: the log files are read only as far as that user could
  jar?: string; // what `java -jar` ran
  classpath?: string[]; // what `-cp` or CLASSPATH listed
  cgroupPath?: string; // the app's memory cgroup, if not nile's own
  oomBaseline?: number; // the cgroup's OOM kill count before the app started; without it any kill counts
  spawnError?: string; // the start never ran: why, in a sentence
  timedOut?: boolean; // the start timed out (the app was left running)
  probes?: ProbeAnswer[]; // the probe's last answers before it timed out
  memoryReadings?: MemoryReading[]; // nile's last readings of the cgroup's usage, for how close it came
  threadDump?: string; // taken when the start timed out
  startScript?: ScriptRun; // the app ran the JVM as its child
  jvmEnded?: number; // the JVM that ended under a start script which then exited 0
  command?: string[]; // what the app was started with
  previous?: { end: PreviousEnd; recordFile: string; warnAt: number; held: boolean }; // the previous container's end; held: the app was held back for it
}

/**
 * Everything nile can tell about why the app failed, ranked by how strongly it explains the failure:
 * 1. how the app ended: the previous container killed while it started (the app held back), an OOM kill, a spawn error, a JVM that could not start or crashed, the exception that ended main;
 * 2. for a start that timed out, what the probe saw and where main and the app's threads wait;
 * 3. fatal errors in the output and logs (not those logged at WARN or INFO);
 * 4. classpath conflicts over a class an error names;
 * 5. the exit status or signal;
 * 6. the other classpath conflicts, the likeliest to break an app first, then a start script that runs java as a child;
 * 7. errors the app logged at WARN or INFO and went on; the previous container's kill when the app started anyway (a note);
 * 8. analyses that could not be done.
 * Never throws: an analysis that fails becomes a 'doctor-error' finding.
 */
export async function diagnose(input: DiagnoseInput): Promise<Finding[]> {
  const errors: Finding[] = [];
  const killed = input.previous ? await attempt("the previous container's record", errors, async () => previousKillFinding(input.previous!.end, input.previous!.recordFile, input.previous!.warnAt, cgroupNow(input.cgroupPath))) : undefined;
  const oom = await attempt('the memory cgroup for an OOM kill', errors, () => oomKillFinding(input.oomBaseline ?? 0, input.cgroupPath, input.memoryReadings));
  const spawn: Finding[] = input.spawnError ? [{ cause: 'spawn-error', summary: `the app could not be started: ${input.spawnError}`, evidence: [input.spawnError] }] : [];

  const sources: Source[] = [{ lines: input.outputLines }];
  for (const file of input.logFiles ?? []) {
    const lines = await attempt(`the log file ${file}`, errors, () => readLogTail(file, undefined, input.appUser));
    if (lines) sources.push({ name: file, lines });
  }
  const scan = await attempt('the output', errors, async () => scanForPatterns(sources));
  const weighed = (weight: string) => scan?.findings.filter((_, i) => scan.weights[i] === weight) ?? [];

  const conflicts =
    input.jar || input.classpath?.length
      ? await attempt('the classpath', errors, () => findClasspathConflicts({ jar: input.jar, classpath: input.classpath, focus: scan?.classes }))
      : undefined;
  const named = conflicts?.filter((f) => f.focused) ?? [];
  const otherConflicts = conflicts?.filter((f) => !f.focused) ?? [];
  const threads = input.threadDump ? await attempt('the thread dump', errors, async () => threadDumpFindings(input.threadDump!)) : undefined;
  const stuck = input.timedOut ? [...(threads?.filter((f) => f.cause === 'deadlock') ?? []), startTimeoutFinding(input.probes, threads?.find((f) => f.cause === 'start-timeout'))] : (threads ?? []);
  const exit = input.jvmEnded !== undefined && !input.exitCode && !input.signal ? jvmEndedFinding(input.jvmEnded, input.startScript) : exitFinding(input.exitCode, input.signal);
  const script = input.startScript ? [startScriptFinding(input.startScript, input.command ?? [])] : [];
  // A kill the app was not held back for is history: shown, but no reason for the doctor to fail now.
  const [heldFor, killedBefore] = input.previous?.held ? [killed, undefined] : [undefined, killed && { ...killed, note: true as const }];
  return [
    ...(heldFor ? [heldFor] : []),
    ...(oom ? [oom] : []),
    ...spawn,
    ...weighed('ends'),
    ...stuck,
    ...weighed('error'),
    ...named.map(({ focused: _, ...f }) => f),
    ...(exit ? [exit] : []),
    ...otherConflicts.map(({ focused: _, ...f }) => f),
    ...script,
    ...weighed('logged'),
    ...(killedBefore ? [killedBefore] : []),
    ...errors,
  ];
}

// The OOM counts of the memory cgroup now, to set against those the previous container's record kept.
function cgroupNow(cgroupPath?: string): CgroupNow | undefined {
  const cgroup = memoryCgroup(cgroupPath);
  return cgroup && { dir: cgroup.dir, counts: readOomCounts(cgroup) };
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
