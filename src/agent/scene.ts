import type { FailureReport } from '../app/report.js';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Config } from '../config/schema.js';
import type { Finding } from '../control/protocol.cjs';
import type { MemoryReading } from '../cgroup/reading.js';
import { oomKillCount } from '../doctor/oom.js';
import type { ScriptRun } from '../app/jvm.js';
import type { PreviousEnd } from '../record/previous.js';
import { recordFile } from '../record/record.js';

export interface Scene {
  config: Config;
  report: FailureReport | null; // the last failure, when the app is not serving
  output: string[]; // the app's latest output lines
  oomBaseline?: number; // the cgroup's OOM kill count when the app was last started
  memoryReadings?: MemoryReading[]; // the memory watch's last readings while the app last ran
  startScript?: ScriptRun | null; // the running app's start script, when it runs java as a child
  previous?: PreviousEnd | null; // how the previous container of the pod ended
}

/** Runs the doctor over what is left of the app. Loaded on demand: zip reading is not for every start. */
export async function examineScene({ config, report, output, oomBaseline, memoryReadings, startScript, previous }: Scene): Promise<Finding[]> {
  const [{ diagnose }, { classpathOf }, { readThreadDump }] = await Promise.all([import('../doctor/diagnose.js'), import('../doctor/classpath/command.js'), import('../doctor/threads.js')]);
  const exit = report?.exit;
  const dump = report?.threadDumpFile ? await readThreadDump(report.threadDumpFile).catch(() => undefined) : undefined;
  const { command, env, workdir } = config.app;
  return diagnose({
    exitCode: exit?.code ?? null,
    signal: exit?.signal ? `SIG${exit.signal}` : null,
    outputLines: report ? [...report.lastOutput, ...output.filter((l) => !report.lastOutput.includes(l))] : output,
    logFiles: config.app.logFiles,
    appUser: config.app.user,
    jar: config.app.jar || undefined,
    classpath: classpathOf(command, { CLASSPATH: process.env.CLASSPATH, ...env }, workdir),
    oomBaseline,
    spawnError: report?.kind === 'spawn' ? report.error : undefined,
    memoryReadings,
    timedOut: report?.kind === 'timeout',
    probes: report?.probes,
    threadDump: dump,
    startScript: report?.startScript ?? startScript ?? undefined,
    jvmEnded: report?.jvmEnded,
    command,
    previous: previous ? { end: previous, recordFile: recordFile(config.runDir), warnAt: config.memory.warnAt, held: report?.kind === 'held' } : undefined,
  });
}

/**
 * The finding worth a place on the probe's one line: the first, unless it only repeats how the app
 * ended (the reason says that) or the app merely logged it.
 */
export function headlineFinding(findings: Finding[] | undefined): Finding | undefined {
  const first = findings?.[0];
  if (!first || first.level || ['exit-status', 'exit-signal', 'jvm-ended', 'start-script', 'doctor-error', 'spawn-error', 'container-killed', 'container-oom-killed'].includes(first.cause)) return undefined;
  return first;
}

/**
 * Keeps what the doctor needs about the app (the OOM kill count at each start) and puts the
 * doctor's findings into every failure report. `now()` examines the live scene for `nile doctor`.
 */
export function watchScene(config: Config, app: AppSupervisor, memory: () => MemoryReading[], previous: PreviousEnd | null = null): { now(): Promise<Finding[]> } {
  let oomBaseline: number | undefined;
  let memoryReadings: MemoryReading[] = []; // taken when the app ended: later ones show the memory it freed
  let running = false;
  app.onChange((state) => {
    // In the tick of the spawn: a JVM over its limit may be killed before anything asynchronous ends.
    if (state.phase === 'starting' && state.pid === null) oomBaseline = oomKillCount();
    if (running && state.pid === null) memoryReadings = [...memory()];
    running = state.pid !== null;
  });
  app.examineFailures((report) => examineScene({ config, report, output: app.tail.last(200), oomBaseline, memoryReadings, previous }));
  return {
    now: () => {
      if (running) app.jvms(); // the script and its JVM as they are now
      return examineScene({ config, report: app.state.phase === 'ready' ? null : app.report, output: app.tail.last(200), oomBaseline, memoryReadings: running ? memory() : memoryReadings, startScript: app.startScript, previous });
    },
  };
}
