import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { execIn, killExec, type ExecResult } from './exec.js';
import { childrenOf, isZombie, readComm } from './proc.js';
import { NILE_BIN, NILE_NATIVE, ROOT } from './paths.js';
import { Changes, settlesWithin, waitFor } from './wait.js';

export const FIXTURE_JAR = path.join(ROOT, 'build', 'fixture', 'app.jar');
// Small, quick JVMs for the fixture.
export const JAVA = ['java', '-Xshare:auto', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx64m'];
export const fixtureCommand = (...args: string[]) => [...JAVA, '-jar', FIXTURE_JAR, ...args];

/**
 * Which `nile` a test means, for the container's entrypoint and every `nile` command run in it:
 * the native front door, as the image has it, or `node bin/nile.js`.
 */
export type Door = 'front' | 'node';

export interface NileOptions {
  config: Record<string, unknown>; // nile.yaml, as an object; runDir and app.workdir are filled in
  env?: Record<string, string>;
  args?: string[]; // extra argv after `nile run`
  pid1?: boolean; // in a new PID namespace (default true), else a plain child (nile becomes a subreaper)
  cgroup?: string; // a cgroup v1 directory to start in, before anything is forked, like a pod's cgroup
  door?: Door; // 'node' unless said
  frontDoor?: boolean; // the same as door: 'front'
  user?: { uid: number; gid: number; groups?: number[] }; // nile and its execs as this user (runAsUser, runAsGroup, fsGroup)
  dropStdout?: boolean; // the app's output goes to /dev/null, not into this.stdout (a flood of it)
}

type Maybe<T> = T | undefined | false | null;

export interface LogLine {
  msg: string;
  time: number;
  [key: string]: unknown;
}

/** One nile under test: as PID 1 in its own PID and mount namespaces, like a container runtime starts it. */
export class Nile {
  readonly dir: string;
  readonly runDir: string;
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stdout: string[] = [];
  readonly stderrText: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: string | null; at: number }>;
  /** nile's host pid, once unshare has forked it. */
  readonly started: Promise<number>;
  readonly door: Door;
  private readonly changes = new Changes();
  private readonly execs = new Set<ChildProcess>();
  private readonly podPath: string; // PATH in the pod: the door's `nile` first

  constructor(readonly options: NileOptions) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'nile-test-'));
    this.runDir = path.join(this.dir, 'run');
    const config = structuredClone(options.config) as Record<string, any>;
    config.runDir ??= this.runDir;
    config.services ??= path.join(this.dir, 'service'); // not the machine's /etc/service
    config.app ??= {};
    config.app.workdir ??= this.dir;
    writeFileSync(this.configFile, stringify(config));
    if (options.user) chmodSync(this.dir, 0o755); // the config is read as that user
    this.door = options.door ?? (options.frontDoor ? 'front' : 'node');
    this.podPath = `${nileOnPath(this.dir, this.door)}:${process.env.PATH ?? '/usr/bin:/bin'}`;
    const argv = [...this.asUser(), ...this.nileCommand(), 'run', '--config', this.configFile, ...(options.args ?? [])];
    const env = { ...cleanEnv(), NILE_LOG_LEVEL: 'debug', ...options.env };
    let command = options.pid1 === false ? argv : ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', ...argv];
    // The shell joins the cgroup, then becomes the command: its pid is the command's, and every child starts inside.
    if (options.cgroup) command = ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.cgroup, ...command];
    this.proc = spawn(command[0], command.slice(1), { env, stdio: ['ignore', options.dropStdout ? 'ignore' : 'pipe', 'pipe'] });
    if (this.proc.stdout) eachLine(this.proc.stdout, (line) => {
      this.stdout.push(line);
      this.changes.notify();
    });
    eachLine(this.proc.stderr!, (line) => {
      try {
        this.logs.push(JSON.parse(line));
      } catch {
        this.stderrText.push(line);
      }
      this.changes.notify();
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    this.exited.then(() => this.changes.notify());
    this.started = this.waitFor('nile to start', () => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error('nile exited before it started');
      return options.pid1 === false ? this.proc.pid : childrenOf(this.proc.pid!).length === 1 && this.hostPid();
    }, 10_000);
    this.started.catch(() => undefined); // a test of a nile that exits at once need not wait for it
  }

  /** The argv of `nile` through this test's door. */
  nileCommand(): string[] {
    return this.door === 'front' ? [NILE_NATIVE] : [process.execPath, NILE_BIN];
  }

  get configFile(): string {
    return path.join(this.dir, 'nile.yaml');
  }

  /** nile's pid as the host sees it (the child of unshare when in a namespace). */
  hostPid(): number {
    if (this.options.pid1 === false) return this.proc.pid!;
    const kids = childrenOf(this.proc.pid!);
    if (kids.length !== 1) throw new Error(`unshare has ${kids.length} children`);
    return kids[0];
  }

  /**
   * The agent's pid as the host sees it: through the front door, Node runs as the child of the
   * front door, which stays as init (native/nile.c); otherwise nile's own pid.
   */
  agentHostPid(): number {
    const pid = this.hostPid();
    if (this.door === 'node') return pid;
    const node = realpathSync(process.execPath);
    const agent = childrenOf(pid).find((kid) => exeOf(kid) === node);
    if (agent === undefined) throw new Error('the front door runs no agent');
    return agent;
  }

  /**
   * Resolves with the first value `check` returns that is not undefined/false, looking again at each
   * line nile prints and each `changed()`; rejects after timeoutMs with the recent logs and `context`.
   */
  waitFor<T>(what: string, check: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 30_000, context?: () => string): Promise<T> {
    return waitFor(what, check, timeoutMs, {
      changes: this.changes,
      context: () => {
        const exited = this.proc.exitCode !== null ? `nile exited with ${this.proc.exitCode}; ` : '';
        const more = context ? `; ${context()}` : '';
        return `${exited}last logs: ${this.logs.slice(-5).map((l) => l.msg).join(' | ')}; stderr: ${this.stderrText.slice(-5).join(' | ')}${more}`;
      },
    });
  }

  /** Something a waiter watches besides nile's output changed (a pod's event): every wait looks again. */
  changed(): void {
    this.changes.notify();
  }

  waitLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine> {
    return this.waitFor(what, () => this.logs.find(predicate), timeoutMs);
  }

  /** The failure report in runDir once it names the thread dump of a timed-out start. */
  waitThreadDump(timeoutMs = 10_000): Promise<{ kind: string; threadDumpFile: string; [key: string]: unknown }> {
    return this.waitFor('thread dump in the report', () => {
      try {
        const report = JSON.parse(readFileSync(path.join(this.runDir, 'last-failure.json'), 'utf8'));
        return report.threadDumpFile ? report : false;
      } catch {
        return false;
      }
    }, timeoutMs);
  }

  /**
   * Runs `nile probe` until one starts `ms` after `since` (nile's log time): nile was up through that
   * period and answers after it. A restart comes at most runit's second after its start, so one
   * `since` a start and 1000 ms proves none is coming.
   */
  probeAfter(since: number, ms: number, timeoutMs = 30_000): Promise<ExecResult> {
    return this.waitFor(`a probe answer ${ms} ms after ${since}`, async () => {
      const probe = await this.exec(['probe']);
      return probe.startedAt >= since + ms && probe;
    }, timeoutMs);
  }

  /** Once the agent answers on its control socket: it logs `nile started` after it listens, maybe after a quick app's ready. */
  waitAnswering(timeoutMs?: number): Promise<LogLine> {
    return this.waitLog((l) => l.msg === 'nile started', 'nile started', timeoutMs);
  }

  waitPhase(phase: string, timeoutMs?: number, after = 0): Promise<LogLine> {
    return this.waitLog((l) => l.msg === `app ${phase}` && l.time >= after, `app ${phase}`, timeoutMs);
  }

  /** Runs a nile command through the test's door inside the container, like an exec probe. */
  exec(args: string[], timeoutMs = 15_000, env: Record<string, string> = {}): Promise<ExecResult> {
    return this.execInPod([...this.nileCommand(), ...args], timeoutMs, env);
  }

  /**
   * Runs a command in the container as the runtime's exec does: in its PID and mount namespaces (a
   * plain child without them), as `options.user`, with `nile` on PATH through the test's door.
   */
  execInPod(command: string[], timeoutMs = Infinity, env: Record<string, string> = {}): Promise<ExecResult> {
    let pid1: number | null;
    try {
      pid1 = this.options.pid1 === false ? null : this.hostPid();
    } catch (err) {
      // No container process (not yet forked, or gone): the runtime refuses the exec, as runc does.
      const startedAt = Date.now();
      return Promise.resolve({ code: 1, signal: null, stdout: '', stderr: `cannot exec: the container is not running (${(err as Error).message})`, startedAt, ms: 0, timedOut: false });
    }
    return execIn(pid1, [...this.asUser(), ...command], { env: { ...cleanEnv(), PATH: this.podPath, NILE_RUNDIR: this.runDir, ...env }, timeoutMs, running: this.execs });
  }

  /** How many exec'd commands still run. */
  execsRunning(): number {
    return this.execs.size;
  }

  /** Kills what every exec still running started, as the runtime does when the container goes. */
  killExecs(): void {
    for (const proc of this.execs) killExec(proc);
  }

  /**
   * The prefix that runs a command as `options.user`, as the runtime runs a pod's processes.
   */
  asUser(): string[] {
    const user = this.options.user;
    if (!user) return [];
    return ['setpriv', '--reuid', String(user.uid), '--regid', String(user.gid), ...(user.groups?.length ? ['--groups', user.groups.join(',')] : ['--clear-groups']), '--'];
  }

  signal(sig: NodeJS.Signals): void {
    process.kill(this.hostPid(), sig);
  }

  appPid(): number | null {
    const line = [...this.logs].reverse().find((l) => l.msg === 'app started');
    return line ? (line.pid as number) : null;
  }

  /** The app's pid as the host sees it (inside a namespace its pid differs). */
  appHostPid(): number | null {
    const kids = childrenOf(this.agentHostPid()).filter((pid) => !isZombie(pid));
    return kids.find((pid) => readComm(pid) === 'java') ?? kids[0] ?? null;
  }

  /** Stops nile and everything under it, whatever state it is in; safe to call twice. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        this.signal('SIGKILL');
      } catch {
        this.proc.kill('SIGKILL');
      }
      this.proc.kill('SIGKILL');
      await settlesWithin(this.exited, 5000);
    }
    for (const proc of this.execs) proc.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// The image puts the native front door on PATH as `nile`; through the node door, a shim runs bin/nile.js.
function nileOnPath(dir: string, door: Door): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  if (door === 'front') {
    if (!existsSync(NILE_NATIVE)) throw new Error(`the front door is not built (${NILE_NATIVE}): make build`);
    symlinkSync(NILE_NATIVE, path.join(bin, 'nile'));
    return bin;
  }
  writeFileSync(path.join(bin, 'nile'), `#!/bin/sh\nexec '${process.execPath}' '${NILE_BIN}' "$@"\n`);
  chmodSync(path.join(bin, 'nile'), 0o755);
  return bin;
}

function exeOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('NILE_') && !k.startsWith('TAP') && k !== 'NODE_OPTIONS') env[k] = v;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Calls onLine with each line of a stream as it arrives (the last one even without a newline). */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop()!;
    for (const p of parts) onLine(p);
  });
  stream.on('end', () => rest && onLine(rest));
}
