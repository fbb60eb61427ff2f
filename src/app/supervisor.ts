import type { ChildProcess } from 'node:child_process';
import type { Config } from '../config/schema.js';
import type { Log } from '../log.js';
import type { Prober } from '../probe/prober.js';
import { errorText } from '../errors.js';
import { redactorFor, type Redactor } from '../redact.js';
import { initialState, stateLine, transition, type AppState, type Effect, type Event, type Policy, type Timer } from './machine.js';
import { OutputTail } from './output.js';
import { buildReport, dumpTaken, keptAppEnded, reasonOf, threadDumpFile, writeReport, type FailureReport, type ProbeAnswer } from './report.js';
import { alive, appRun, groupOf, send, stopLeftovers, untilGone, type AppRun } from './leftovers.js';
import { isJvm, programName, scriptRunOf, type ScriptRun } from './jvm.js';
import { onExit, spawnApp, spawnError } from './spawn.js';
import { prepareHeapDumpDir } from './heap-dump.js';
import { keepThreadDump } from './thread-dump.js';
import type { Exit, SignalName } from '../runit/letters.js';
import { Emitter } from '../toolbox/emitter.js';

const keptProbes = 5;
const afterKillMs = 5000; // KILL comes at stopTimeout; the kernel's cleanup of a large JVM is given this long

// Signals that ask the JVM for something (a thread dump, a reload) go to the JVM behind a start script,
// whose shell would die of them; the others stop, pause or resume the app's whole process group.
const askTheJvm = new Set<SignalName>(['QUIT', 'HUP', 'USR1', 'USR2', 'ALRM']);

type Examine = (report: FailureReport) => Promise<FailureReport['findings']>;

/** Carries out the lifecycle machine's effects with a real process, timers and the prober. */
export class AppSupervisor {
  state: AppState;
  report: FailureReport | null = null;
  readonly tail = new OutputTail();
  readonly exited: Promise<number>;
  private resolveExit!: (code: number) => void;
  private readonly timers = new Map<Timer, NodeJS.Timeout>();
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private probes: ProbeAnswer[] = []; // the last answers since the app was spawned, for the report
  private readonly changes: Emitter<AppState>;
  private readonly policy: Policy;
  private dumping: Promise<void> = Promise.resolve();
  private lastRun: AppRun | null = null;
  /** The start script of this run and the JVMs seen under it, when the app runs java as a child. */
  startScript: ScriptRun | null = null;
  private dumpNote = dumpTaken;
  // The report is kept as every output shows it: secrets blanked.
  private readonly redact: Redactor;
  private examine: Examine | null = null;
  private examining: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: Config,
    private readonly log: Log,
    private readonly prober: Prober,
  ) {
    this.state = initialState(Date.now());
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.changes = new Emitter((err) => log.error({ err: errorText(err) }, 'state listener failed'));
    const { app } = config;
    this.redact = redactorFor(config);
    this.policy = { restart: app.restart, startTimeout: app.startTimeout, stopTimeout: app.stopTimeout, stopSignal: app.stopSignal, minRunBetweenStarts: 1000 };
  }

  onChange(listener: (state: AppState) => void): void {
    this.changes.listen(listener);
  }

  /** The doctor: looks at the scene after each failure; its findings go into the report. */
  examineFailures(examine: Examine): void {
    this.examine = examine;
  }

  boot(): void {
    this.dispatch({ type: 'boot', at: Date.now() });
  }

  /** Instead of boot: the app is not started (`sv up` starts it); the output kept from its last run is its last output here. */
  holdBack(reason: string, keptOutput: string[]): void {
    if (keptOutput.length) this.tail.push(Buffer.from(keptOutput.join('\n') + '\n'));
    this.dispatch({ type: 'hold', reason, at: Date.now() });
  }

  shutdown(signal?: SignalName): void {
    this.dispatch({ type: 'shutdown', signal, at: Date.now() });
  }

  control(letter: string): void {
    this.dispatch({ type: 'control', letter, at: Date.now() });
  }

  /** Forwards a signal PID 1 received; nothing happens when the app is not running. */
  forward(signal: SignalName): void {
    if (this.state.pid !== null) this.kill(signal);
  }

  dispatch(event: Event): void {
    const before = this.state;
    const { state, effects } = transition(before, event, this.policy);
    this.state = state;
    if (state.phase !== before.phase) this.log.info({ phase: state.phase, was: before.phase, pid: state.pid }, `app ${state.phase}`);
    const line = stateLine(state);
    if (line !== stateLine(before)) this.log.debug({ event: event.type }, `app: ${line}`);
    for (const effect of effects) this.apply(effect);
    this.scheduleProbe();
    this.changes.emit(this.state);
  }

  private apply(effect: Effect): void {
    switch (effect.type) {
      case 'spawn':
        return void this.afterLeftovers().then(() => this.spawn());
      case 'signal':
        return this.kill(effect.signal);
      case 'setTimer':
        this.clearTimer(effect.timer);
        this.timers.set(effect.timer, setTimeout(() => this.dispatch({ type: 'timer', timer: effect.timer, at: Date.now() }), effect.ms));
        return;
      case 'clearTimer':
        return this.clearTimer(effect.timer);
      case 'threadDump':
        this.dumping = this.threadDump();
        return;
      case 'failed': {
        const report = buildReport(effect.failure, this.config.app.startTimeout, this.config.app.command, this.tail.last(50), this.probes, this.dumpNote);
        this.report = this.redact.value(this.startScript ? { ...report, startScript: this.startScript } : report);
        this.saveReport();
        this.log.error({ kind: effect.failure.kind, exit: effect.failure.exit }, this.report.reason);
        this.examining = this.examineReport(this.report);
        return;
      }
      case 'keptAppEnded':
        if (!this.report) return;
        this.report = keptAppEnded(this.report, effect.failure, this.config.app.startTimeout, this.dumpNote);
        this.saveReport();
        this.log.warn({ kind: effect.failure.kind, exit: effect.failure.ended?.exit }, this.report.reason);
        this.examining = this.examineReport(this.report); // how it ended is evidence too (an OOM kill, a signal)
        return;
      case 'exit':
        this.stopProbing();
        // The report of an app that ended nile (restart: never) is kept whole, findings included.
        return void Promise.all([this.afterLeftovers(), this.examining]).then(() => this.resolveExit(effect.code));
    }
  }

  private spawn(): void {
    prepareHeapDumpDir(this.config, this.log);
    const output = this.tail.streams();
    let child: ChildProcess;
    try {
      child = spawnApp(this.config.app, output.stdio);
    } catch (err) {
      void output.attach(null);
      return this.spawnFailed(err);
    }
    const drained = output.attach(child);
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (err) => this.spawnFailed(err));
      return;
    }
    const run = appRun(pid);
    this.lastRun = run;
    this.startScript = null;
    child.on('error', (err) => this.log.warn({ pid, err: errorText(err) }, 'app process error'));
    this.log.info({ pid, command: this.config.app.command }, 'app started');
    this.probes = [];
    queueMicrotask(() => this.dispatch({ type: 'spawned', pid, at: Date.now() }));
    onExit(child, drained, (exit) => void this.ended(run, exit));
  }

  /**
   * The app's process has exited. On a stop, what the stop signal reached (a start script's JVM running
   * its shutdown hooks) is waited for before the app counts as stopped; a JVM that ended under a
   * script that then exits 0 makes the exit a crash.
   */
  private async ended(run: AppRun, exit: Exit): Promise<void> {
    const stopping = this.state.userStop || this.state.phase === 'stopping';
    if (stopping) await this.treeGone(run);
    const script = this.startScript;
    const jvmEnded = !stopping && exit.code === 0 && script && !script.jvms.some(alive) ? script.jvms.at(-1) : undefined;
    this.dispatch({ type: 'exited', exit, at: Date.now(), ...(jvmEnded !== undefined ? { jvmEnded } : {}) });
  }

  // The app's process group and the JVMs seen under it; KILL comes with the stop's own timer.
  private async treeGone(run: AppRun): Promise<void> {
    const left = () => [...new Set([...groupOf(run), ...(this.startScript?.jvms.filter(alive) ?? [])])];
    const pids = left();
    if (pids.length > 0) this.log.info({ pids }, 'app exited; waiting for the processes its stop signal reached');
    await untilGone(left, Date.now() + this.config.app.stopTimeout + afterKillMs);
  }

  /** The JVMs behind the app when it is a start script (none when the app is the JVM itself); remembered for the run. */
  jvms(): number[] {
    const pid = this.state.pid;
    const found = pid === null ? null : scriptRunOf(pid);
    if (found) this.startScript = { ...found, jvms: [...new Set([...(this.startScript?.jvms ?? []), ...found.jvms])] };
    return found?.jvms ?? [];
  }

  /** What the last run of the app left behind is stopped first (nothing before the first start). */
  private async afterLeftovers(): Promise<void> {
    if (this.lastRun === null) return;
    try {
      await stopLeftovers(this.lastRun, this.config.app.stopSignal, this.config.app.stopTimeout, this.log);
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'cannot stop what the app left behind');
    }
  }

  private spawnFailed(err: unknown): void {
    const { message, status } = spawnError(this.config.app, err);
    queueMicrotask(() => this.dispatch({ type: 'spawnFailed', error: message, status, at: Date.now() }));
  }

  private kill(signal: SignalName): void {
    const pid = this.state.pid;
    if (pid === null) return;
    const jvms = this.jvms();
    if (askTheJvm.has(signal)) return send(jvms.length > 0 ? jvms : [pid], signal, this.log);
    // A JVM seen under the script is signalled too when it has left the group (or the shell is gone).
    const group = -pid;
    send([group, ...(this.startScript?.jvms.filter(alive) ?? [])], signal, this.log);
  }

  private clearTimer(timer: Timer): void {
    clearTimeout(this.timers.get(timer));
    this.timers.delete(timer);
  }

  // SIGQUIT makes the JVM print every thread's stack to stdout: it goes to its own file, which the
  // report names (a dump of thousands of threads is megabytes, more than the output tail keeps).
  private async threadDump(): Promise<void> {
    const pid = this.state.pid;
    if (pid === null) return;
    const jvms = isJvm(pid) ? [pid] : this.jvms();
    if (jvms.length === 0) {
      this.dumpNote = `no thread dump: no JVM found behind the app (pid ${pid}, ${programName(pid) || 'gone'})`;
      return void this.log.warn({ pid }, this.dumpNote);
    }
    this.dumpNote = dumpTaken;
    const file = threadDumpFile(this.config.runDir);
    let kept;
    try {
      kept = await keepThreadDump(this.tail, file, this.redact, () => send(jvms, 'QUIT', this.log));
    } catch (err) {
      return void this.log.error({ file, err: errorText(err) }, 'cannot keep the thread dump');
    }
    if (kept.output === 0) return this.noDump(`no thread dump: the JVM (pid ${jvms.join(', ')}) printed nothing on SIGQUIT`);
    if (!kept.dump) return this.noDump(`no thread dump: the JVM (pid ${jvms.join(', ')}) printed none on SIGQUIT (${kept.output} bytes of other output)`);
    if (this.report) {
      this.report.threadDumpFile = file;
      this.saveReport();
    }
  }

  // The reason must not claim a dump that was not captured.
  private noDump(note: string): void {
    this.dumpNote = note;
    this.log.warn({ file: threadDumpFile(this.config.runDir) }, note);
    const failure = this.state.failure;
    if (!this.report || failure?.kind !== 'timeout') return;
    this.report.reason = this.redact.text(reasonOf(failure, this.config.app.startTimeout, note));
    this.saveReport();
  }

  // After the thread dump (if one is being taken), so the doctor sees it too.
  private async examineReport(report: FailureReport): Promise<void> {
    if (!this.examine) return;
    try {
      await this.dumping;
      report.findings = this.redact.value(await this.examine(report));
      if (report === this.report) this.saveReport();
      const first = report.findings?.[0];
      if (first) this.log.warn({ cause: first.cause, evidence: first.evidence.slice(0, 3) }, `doctor: ${first.summary}`);
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'doctor failed on the failure report');
    }
  }

  saveReport(): void {
    if (!this.report) return;
    try {
      writeReport(this.config.runDir, this.report);
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'cannot write the failure report');
    }
  }

  // Probes run while there is a process: to notice readiness, and to keep watching it after.
  private scheduleProbe(): void {
    if (this.state.pid === null || this.state.phase === 'stopping' || this.state.phase === 'stopped') return this.stopProbing();
    if (this.probeTimer) return;
    this.probeTimer = setInterval(() => void this.runProbe(), this.config.probe.interval);
  }

  private stopProbing(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  async runProbe(): Promise<void> {
    if (this.probing || this.state.pid === null) return;
    this.probing = true;
    this.jvms(); // a JVM that ends under its script between two probes has been seen
    let result;
    try {
      result = await this.prober();
    } catch (err) {
      result = { ok: false, detail: `probe error: ${errorText(err)}` };
    } finally {
      this.probing = false;
    }
    if (this.state.pid === null) return;
    const at = Date.now();
    this.probes = [...this.probes.slice(1 - keptProbes), { at: new Date(at).toISOString(), ok: result.ok, detail: result.detail }];
    this.dispatch({ type: 'probe', ok: result.ok, detail: result.detail, at });
  }
}
