import http from 'node:http';
import os from 'node:os';
import type { Test } from 'tap';
import { sleep } from '../../src/toolbox/sleep.js';
import type { ExecResult } from './exec.js';
import { eachLine, Nile, type Door, type LogLine, type NileOptions } from './nile.js';
import { podProcessesOf, type PodProcess } from './proc.js';
import { settlesWithin } from './wait.js';

// What the kubelet and the container runtime do to a pod whose PID 1 is nile, as the tests need it:
// the exec readiness probe with its timeout and thresholds, the preStop hook counted against the
// grace period, TERM, then KILL. The rules follow the kubelet's prober worker and killContainer.

/** A readiness probe as in the pod spec; seconds may be fractions here to keep the tests fast. */
export interface ProbeSpec {
  exec: string[];
  httpGet?: { port: number; path: string }; // instead of exec: the kubelet's own GET to the pod's IP (127.0.0.1 here)
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface PodSpec {
  name?: string;
  door: Door; // the `nile` of the image: its ENTRYPOINT and the one on PATH for the probe and the hook
  nile: NileOptions['config']; // the container's nile.yaml
  env?: Record<string, string>; // the container's env: nile's and every exec'd command's
  readinessProbe?: Partial<ProbeSpec> | null; // null: no probe
  preStop?: string[] | null; // exec hook; null: none
  terminationGracePeriodSeconds?: number;
}

export type EventType =
  | 'Started'
  | 'Probe'
  | 'Ready'
  | 'Killing'
  | 'PreStopStarted'
  | 'PreStopFinished'
  | 'PreStopNotCompleted'
  | 'FailedPreStopHook'
  | 'TERM'
  | 'KILL'
  | 'Exited';

/** One thing the kubelet saw or did, with its time; `message` reads like `kubectl describe pod`. */
export interface PodEvent {
  at: number;
  type: EventType;
  message: string;
  ok?: boolean; // Probe: the probe passed
  ready?: boolean; // Ready: the pod's Ready condition after the change
  code?: number | null; // Probe, PreStopFinished: exit status; Exited: the container's exit code
  signal?: string | null; // PreStopFinished: the signal that ended the hook; Exited: the one that killed PID 1
  output?: string; // Probe, PreStopFinished: what the command printed (the first 10 KiB); httpGet: the kubelet's line
  body?: string; // Probe by httpGet: the answer's body (the first 10 KiB)
  status?: number; // Probe by httpGet: the answer's status
  bytes?: number; // Probe: how many bytes it printed in all
  timedOut?: boolean; // Probe: killed at timeoutSeconds
  ms?: number; // Probe, PreStopFinished: how long the command ran
  gracePeriod?: number; // Killing, TERM: seconds left before KILL
}

/** A line of the container's output as the runtime's log gets it: nile's JSON events, or the app's. */
export interface ContainerLine {
  at: number;
  source: 'nile' | 'app';
  text: string;
  log?: LogLine;
}

const defaultProbe: ProbeSpec = { exec: ['nile', 'probe'], initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };
// The kubelet never leaves a container less than this between TERM and KILL (killContainer).
export const minimumGracePeriodSeconds = 2;
// unshare (util-linux 2.38) re-raises the signal that killed its child, except SIGKILL: it prints
// this and exits 1. The runtime reports 137 there.
const unshareCannotReraise = 'unshare: sigprocmask unblock failed';
// The exec prober keeps at most this much of a probe's output.
export const maxProbeOutputBytes = 10 * 1024;

/** The kubelet of one pod whose only container runs nile as PID 1. */
export class Kubelet {
  readonly name: string;
  readonly nile: Nile;
  readonly events: PodEvent[] = [];
  readonly lines: ContainerLine[] = [];
  ready = false;
  private readonly probe: ProbeSpec | null;
  private readonly grace: number;
  private readonly execEnv: Record<string, string>;
  private readonly watchers: Array<(entry: PodEvent | ContainerLine) => void> = [];
  // Ends the prober's pauses when the pod is closed or its container exits.
  private readonly gone = new AbortController();
  private pid = 0;
  private closed = false;
  private probing = true;
  private exitedAt: number | null = null;
  private deleting: Promise<PodEvent> | null = null;
  private lastResult: boolean | null = null;
  private resultRun = 0;
  readonly started: Promise<void>;
  readonly exited: Promise<PodEvent>;

  constructor(readonly spec: PodSpec) {
    this.name = spec.name ?? 'pod';
    this.probe = spec.readinessProbe === null ? null : { ...defaultProbe, ...spec.readinessProbe };
    this.grace = spec.terminationGracePeriodSeconds ?? 30;
    this.nile = new Nile({ config: spec.nile, env: spec.env, door: spec.door }); // ENTRYPOINT ["nile"]
    // The image has its nile.yaml where nile looks by default; here it is the test's.
    this.execEnv = { ...spec.env, NILE_CONFIG: this.nile.configFile };
    eachLine(this.nile.proc.stdout!, (text) => this.addLine({ at: Date.now(), source: 'app', text }));
    let killedByKill = false;
    eachLine(this.nile.proc.stderr!, (text) => {
      if (text.startsWith(unshareCannotReraise)) return void (killedByKill = true);
      const log = parseLog(text);
      this.addLine(log ? { at: Date.now(), source: 'nile', text: log.msg, log } : { at: Date.now(), source: 'app', text });
    });
    const closed = new Promise((resolve) => this.nile.proc.on('close', resolve));
    this.exited = Promise.all([this.nile.exited, closed]).then(([{ code, signal, at }]) => {
      this.exitedAt = at;
      this.gone.abort();
      const killer = killedByKill && code === 1 ? 'SIGKILL' : signal;
      const exitCode = killer ? 128 + (os.constants.signals[killer as NodeJS.Signals] ?? 0) : (code ?? 0);
      return this.record({ type: 'Exited', code: exitCode, signal: killer, message: `container exited with code ${exitCode}${killer ? ` (PID 1 killed by ${killer})` : ''}` });
    });
    this.started = this.whenStarted();
  }

  /** Calls `watcher` with every event and container line so far, then with each new one (the demo prints them). */
  watch(watcher: (entry: PodEvent | ContainerLine) => void): void {
    for (const entry of [...this.events, ...this.lines].sort((a, b) => a.at - b.at)) watcher(entry);
    this.watchers.push(watcher);
  }

  /** nile's pid as the host sees it. */
  hostPid(): number {
    return this.pid;
  }

  isRunning(): boolean {
    return this.exitedAt === null;
  }

  private async whenStarted(): Promise<void> {
    this.pid = await this.nile.started.catch(() => Promise.reject(new Error(`container ${this.name} did not start`)));
    this.record({ type: 'Started', message: `Started container (nile is host pid ${this.pid})` });
    if (this.probe) void this.probeLoop(this.probe);
  }

  /**
   * Runs a command in the container as the runtime's exec does: in its PID and mount namespaces,
   * with the container's env. At the timeout the exec'd process itself is killed, as a timed-out
   * exec probe is; what it started is left to PID 1.
   */
  execInPod(command: string[], timeoutMs = Infinity, env: Record<string, string> = {}): Promise<ExecResult> {
    return this.nile.execInPod(command, timeoutMs, { ...this.execEnv, ...env });
  }

  // The prober worker: one probe per period (a slow probe delays the next), until the container is gone.
  private async probeLoop(spec: ProbeSpec): Promise<void> {
    await sleep(spec.initialDelaySeconds * 1000, this.gone.signal);
    while (this.probing && !this.closed && this.exitedAt === null) {
      const started = Date.now();
      await this.probeOnce(spec);
      await sleep(spec.periodSeconds * 1000 - (Date.now() - started), this.gone.signal);
    }
  }

  private async probeOnce(spec: ProbeSpec): Promise<void> {
    if (spec.httpGet) return this.probeHttpOnce(spec, spec.httpGet);
    const result = await this.execInPod(spec.exec, spec.timeoutSeconds * 1000);
    // Killed by no timeout of ours: the container is going away under the probe; no result then.
    if (result.signal && !result.timedOut) await settlesWithin(this.exited, 1000);
    if (this.closed || this.exitedAt !== null) return;
    const all = Buffer.from(result.stdout + result.stderr, 'utf8');
    const output = result.timedOut ? `command "${spec.exec.join(' ')}" timed out` : all.subarray(0, maxProbeOutputBytes).toString('utf8').trim();
    const ok = !result.timedOut && result.code === 0;
    this.record({
      type: 'Probe',
      ok,
      code: result.code,
      output,
      bytes: all.length,
      timedOut: result.timedOut,
      ms: result.ms,
      message: ok ? `Readiness probe succeeded: ${output}` : `Readiness probe failed: ${output}`,
    });
    this.applyResult(ok, spec);
  }

  // The kubelet's HTTP prober: a fresh connection each time, 200-399 is success, at most 10 KiB of the body kept.
  private async probeHttpOnce(spec: ProbeSpec, target: { port: number; path: string }): Promise<void> {
    const started = Date.now();
    const answer = await kubeletGet(`http://127.0.0.1:${target.port}${target.path}`, spec.timeoutSeconds * 1000);
    if (this.closed || this.exitedAt !== null) return;
    const ok = answer.status !== undefined && answer.status >= 200 && answer.status < 400;
    const output = answer.error ?? (ok ? answer.body.trim() : `HTTP probe failed with statuscode: ${answer.status}`);
    this.record({ type: 'Probe', ok, status: answer.status, body: answer.body, output, timedOut: answer.timedOut, ms: Date.now() - started, message: ok ? `Readiness probe succeeded: ${output}` : `Readiness probe failed: ${output}` });
    this.applyResult(ok, spec);
  }

  /** Stops the prober (the probe in flight finishes); resolves once no command runs in the pod. */
  async stopProbing(timeoutMs = 30_000): Promise<void> {
    this.probing = false;
    await this.waitFor('the commands in the pod to end', () => this.nile.execsRunning() === 0, timeoutMs);
  }

  // The Ready condition changes only after successThreshold (failureThreshold) results in a row.
  private applyResult(ok: boolean, spec: ProbeSpec): void {
    if (this.lastResult === ok) this.resultRun++;
    else {
      this.lastResult = ok;
      this.resultRun = 1;
    }
    if (this.resultRun < (ok ? spec.successThreshold : spec.failureThreshold)) return;
    if (this.ready === ok) return;
    this.ready = ok;
    this.record({ type: 'Ready', ready: ok, message: ok ? 'pod is Ready' : 'pod is not Ready' });
  }

  /**
   * Deletes the pod as the kubelet kills its container: the preStop hook runs with the whole grace
   * period as its limit; whole seconds it used are taken off; TERM to PID 1 with what is left, never
   * less than 2 s; KILL when that runs out. A hook still running at the end of the grace period is
   * abandoned, and ends with the container. Resolves with the Exited event.
   */
  deletePod(): Promise<PodEvent> {
    this.deleting ??= this.killContainer();
    return this.deleting;
  }

  private async killContainer(): Promise<PodEvent> {
    await this.started;
    let gracePeriod = this.grace;
    this.record({ type: 'Killing', gracePeriod, message: `Stopping container (grace period ${gracePeriod}s)` });
    if (this.spec.preStop !== null && gracePeriod > 0) gracePeriod -= await this.runPreStop(this.spec.preStop ?? ['nile', 'prestop'], gracePeriod);
    gracePeriod = Math.max(gracePeriod, minimumGracePeriodSeconds);
    if (this.exitedAt === null) {
      this.record({ type: 'TERM', gracePeriod, message: `TERM to PID 1, KILL in ${gracePeriod}s` });
      this.signalPid1('SIGTERM');
      if (!(await settlesWithin(this.exited, gracePeriod * 1000))) {
        this.record({ type: 'KILL', message: `grace period over: KILL to PID 1` });
        this.signalPid1('SIGKILL');
      }
    }
    return this.exited;
  }

  /** Runs the hook; returns the whole seconds it took, as the kubelet counts them. */
  private async runPreStop(command: string[], gracePeriod: number): Promise<number> {
    const started = Date.now();
    this.record({ type: 'PreStopStarted', message: `PreStop hook started: ${command.join(' ')}` });
    const hook = this.execInPod(command).then((result) => {
      const output = (result.stdout + result.stderr).trim();
      const end = result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
      this.record({ type: 'PreStopFinished', code: result.code, signal: result.signal, output, ms: result.ms, message: `PreStop hook ended (${end}) after ${result.ms}ms: ${output}` });
      if (result.code !== 0) this.record({ type: 'FailedPreStopHook', message: 'PreStopHook failed' });
    });
    if (!(await settlesWithin(hook, gracePeriod * 1000))) this.record({ type: 'PreStopNotCompleted', message: `PreStop hook not completed in grace period (${gracePeriod}s)` });
    return Math.floor((Date.now() - started) / 1000);
  }

  private signalPid1(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // PID 1 is already gone
    }
  }

  /** The container's processes as the host sees them: everything in nile's PID namespace. */
  podProcesses(): PodProcess[] {
    return podProcessesOf(this.pid);
  }

  zombies(): PodProcess[] {
    return this.podProcesses().filter((p) => p.state === 'Z');
  }

  eventsOf(type: EventType): PodEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** The first event from `after` on that matches; rejects after timeoutMs. */
  waitEvent(what: string, match: (event: PodEvent) => boolean, timeoutMs = 30_000, after = 0): Promise<PodEvent> {
    return this.waitFor(what, () => this.events.find((e) => e.at >= after && match(e)), timeoutMs);
  }

  waitReady(ready = true, timeoutMs = 30_000, after = 0): Promise<PodEvent> {
    return this.waitEvent(ready ? 'pod Ready' : 'pod not Ready', (e) => e.type === 'Ready' && e.ready === ready, timeoutMs, after);
  }

  waitLine(what: string, match: (line: ContainerLine) => boolean, timeoutMs = 30_000): Promise<ContainerLine> {
    return this.waitFor(what, () => this.lines.find(match), timeoutMs);
  }

  waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
    const recent = () => this.events.slice(-4).map((e) => `${e.type}: ${e.message}`);
    return this.nile.waitFor(`${what} in ${this.name}`, check, timeoutMs, () => `last events: ${recent().join(' | ')}`);
  }

  /** Stops probing, kills every command still running in the pod, then the pod itself. */
  async close(): Promise<void> {
    this.closed = true;
    this.gone.abort();
    this.nile.killExecs();
    await this.nile.stop();
    await this.nile.waitFor('the commands in the pod to end', () => this.nile.execsRunning() === 0, 5000).catch(() => undefined);
  }

  private record(event: Omit<PodEvent, 'at'>): PodEvent {
    const full = { at: Date.now(), ...event };
    this.events.push(full);
    this.notify(full);
    return full;
  }

  private addLine(line: ContainerLine): void {
    this.lines.push(line);
    this.notify(line);
  }

  private notify(entry: PodEvent | ContainerLine): void {
    for (const watcher of this.watchers) watcher(entry);
    this.nile.changed();
  }
}

/** A pod under test: started now, torn down with the test whatever happens. */
export async function startPod(t: Test, spec: PodSpec): Promise<Kubelet> {
  const pod = new Kubelet(spec);
  t.teardown(() => pod.close());
  await pod.started;
  return pod;
}

/** One GET as the kubelet's prober sends it (no keep-alive, its user agent), bounded by the probe's timeout. */
function kubeletGet(url: string, timeoutMs: number): Promise<{ status?: number; body: string; error?: string; timedOut?: boolean }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { 'user-agent': 'kube-probe/1.31', accept: '*/*', connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < maxProbeOutputBytes) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, body: Buffer.concat(chunks).subarray(0, maxProbeOutputBytes).toString('utf8') });
      });
      res.on('error', () => undefined);
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ body: '', error: `Get "${url}": context deadline exceeded`, timedOut: true });
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      resolve({ body: '', error: `Get "${url}": ${err.message}` });
    });
  });
}

/** nile's log lines whose message starts with `prefix`. */
export function nileLines(pod: Kubelet, prefix: string): LogLine[] {
  return pod.nile.logs.filter((l) => l.msg.startsWith(prefix));
}

/** A line of nile's stderr as its log event, or null for the app's. */
export function parseLog(text: string): LogLine | null {
  if (!text.startsWith('{')) return null;
  try {
    const value = JSON.parse(text);
    return typeof value?.msg === 'string' ? value : null;
  } catch {
    return null;
  }
}

