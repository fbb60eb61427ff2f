import type { ChildProcess } from 'node:child_process';
import { constants, accessSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Log } from '../log.js';
import { openLogPipe, type Pipe } from './log-pipe.js';
import { control, exited, finishArgs, initialSv, settle, started, termSent, toStatus, type Effect, type Pair, type ProcessSignal, type Step, type Sv } from './machine.js';
import type { RunState, Want } from './status.js';
import { controlScriptHandled, signalNumber, startProgram, type Stdio } from './spawn.js';
import type { ControlLetter, Exit } from './letters.js';
import { SuperviseDir } from './supervise.js';
import { sleep, within } from '../toolbox/sleep.js';

type Who = 'main' | 'log';

/** One line of status display. */
export interface ServiceInfo {
  name: string;
  pid: number;
  state: RunState;
  want: Want;
  since: number; // ms epoch
  paused: boolean;
  gotTerm: boolean;
}

export interface ServiceOptions {
  name?: string; // for logs and list(); default: the directory's name
  run?: string[]; // the command instead of ./run (nile's built-in services have no run file)
}

const killGraceMs = 3000;

/**
 * runsv for one service directory: ./run (restarted when it ends), ./finish after it, a log/
 * service reading run's stdout through a pipe that outlives both, and supervise/ for `sv`.
 * Events (control letters, exits) are handled one at a time, in order, as runsv's loop does.
 */
export class RunitService {
  readonly name: string;
  readonly done: Promise<void>;
  private pair: Pair;
  private readonly alive = new Set<ChildProcess>();
  private readonly queue: Array<() => Promise<void>> = [];
  private busy = false;
  private killing = false;
  private finished = false;
  private resolveDone!: () => void;

  private constructor(
    readonly dir: string,
    private readonly log: Log,
    private readonly run: string[],
    private readonly supervise: { main: SuperviseDir; log: SuperviseDir | null },
    private pipe: Pipe | null,
    pair: Pair,
    name: string,
  ) {
    this.pair = pair;
    this.name = name;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    supervise.main.onControl((letter) => this.enqueue(() => this.control('main', letter)));
    supervise.log?.onControl((letter) => this.enqueue(() => this.control('log', letter)));
    // An empty first event: settling after it starts what should run, as runsv's first loop turn.
    this.enqueue(async () => {});
  }

  /** Starts supervising `dir` (as `runsv dir`). Rejects when supervise/ cannot be set up. */
  static async start(dir: string, log: Log, options: ServiceOptions = {}): Promise<RunitService> {
    const now = Date.now();
    const hasLog = isDirectory(path.join(dir, 'log'));
    const pair: Pair = {
      main: initialSv(false, exists(path.join(dir, 'down')), now),
      log: hasLog ? initialSv(true, exists(path.join(dir, 'log', 'down')), now) : null,
    };
    const main = await SuperviseDir.open(dir, log, toStatus(pair.main));
    let logDir: SuperviseDir | null = null;
    let pipe: Pipe | null = null;
    try {
      if (pair.log) {
        logDir = await SuperviseDir.open(path.join(dir, 'log'), log, toStatus(pair.log));
        pipe = openLogPipe();
      }
    } catch (err) {
      await logDir?.close();
      await main.close();
      throw err;
    }
    return new RunitService(dir, log, options.run ?? ['./run'], { main, log: logDir }, pipe, pair, options.name ?? path.basename(dir));
  }

  /** The service and its log, as `sv status` would show them. */
  list(): ServiceInfo[] {
    const entries: Array<[string, Sv | null]> = [
      [this.name, this.pair.main],
      [`${this.name}/log`, this.pair.log],
    ];
    return entries.flatMap(([name, sv]) => (sv ? [{ name, ...toStatus(sv) }] : []));
  }

  /** Sends a control letter, as `sv` writing to supervise/control would. */
  send(letter: ControlLetter): void {
    this.enqueue(() => this.control('main', letter));
  }

  /** As runsv on SIGTERM: `x`, then the service's exit; KILL whatever still runs after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.send('x');
    if (await within(this.done.then(() => true), timeoutMs, false)) return;
    this.log.warn({ service: this.name, timeoutMs }, 'service did not stop in time; killing it');
    this.killing = true;
    for (const child of this.alive) child.kill('SIGKILL');
    if (await within(this.done.then(() => true), killGraceMs, false)) return;
    this.log.error({ service: this.name }, 'service still not down after KILL; letting it go');
    await this.retire();
  }

  private enqueue(job: () => Promise<void>): void {
    if (this.finished) return;
    this.queue.push(job);
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0 && !this.finished) {
      const job = this.queue.shift()!;
      try {
        await job();
        await this.settle();
      } catch (err) {
        this.log.error({ service: this.name, err: (err as Error).message }, 'supervising the service failed');
      }
    }
    this.busy = false;
  }

  private control(who: Who, letter: ControlLetter): Promise<void> {
    const sv = this.pair[who];
    return sv ? this.apply(who, control(sv, letter)) : Promise.resolve();
  }

  private async apply(who: Who, step: Step): Promise<void> {
    this.pair = { ...this.pair, [who]: step.sv };
    for (const effect of step.effects) await this.carryOut(who, effect);
  }

  private async carryOut(who: Who, effect: Effect): Promise<void> {
    switch (effect.kind) {
      case 'status':
        return this.publish(who);
      case 'signal':
        if (!effect.custom || !(await this.custom(who, effect.custom))) this.signal(who, effect.signal);
        return;
      case 'term':
        if (await this.custom(who, 't')) return;
        this.signal(who, 'SIGTERM');
        return this.apply(who, termSent(this.pair[who]!));
      case 'script':
        await this.custom(who, effect.letter);
        return;
      case 'start':
        return this.startProgram(who);
      case 'pause':
        await sleep(effect.ms);
        return;
    }
  }

  private async settle(): Promise<void> {
    const { pair, effects } = settle(this.pair);
    this.pair = pair;
    for (const effect of effects) {
      if (this.finished) return;
      if (effect.kind === 'start') await this.startProgram(effect.who);
      else if (effect.kind === 'status') this.publish(effect.who);
      else if (effect.kind === 'closeLogPipe') this.closePipe();
      else if (effect.kind === 'exit') await this.retire();
    }
  }

  // runsv's startservice(): control/u first when run (not finish) starts. Nothing starts once killing began.
  private async startProgram(who: Who): Promise<void> {
    if (this.killing) return;
    const finishing = this.pair[who]!.state === 'finish';
    if (who === 'main' && !finishing) await this.custom('main', 'u');
    const sv = this.pair[who]!;
    const argv = finishing ? ['./finish', ...finishArgs(sv.exit)] : who === 'main' ? this.run : ['./run'];
    const cwd = who === 'log' ? path.join(this.dir, 'log') : this.dir;
    const child = startProgram(argv, cwd, this.stdio(who), this.log);
    if (!child) {
      // As runsv's child that cannot exec: it "exits" 111, after any letters already waiting.
      await this.apply(who, started(sv, 0, Date.now()));
      this.enqueue(() => this.ended(who, 0, { code: 111, signal: null }));
      return;
    }
    const pid = child.pid!;
    this.alive.add(child);
    child.once('exit', (code, signal) => {
      this.alive.delete(child);
      this.enqueue(() => this.ended(who, pid, { code, signal: signalNumber(signal) }));
    });
    await this.apply(who, started(sv, pid, Date.now()));
  }

  private ended(who: Who, pid: number, exit: Exit<number>): Promise<void> {
    this.log.debug({ service: this.name, program: who, pid, ...exit }, 'service program ended');
    const hasFinish = who === 'main' && !this.killing && readable(path.join(this.dir, 'finish'));
    return this.apply(who, exited(this.pair[who]!, pid, exit, hasFinish, Date.now()));
  }

  private stdio(who: Who): Stdio {
    if (!this.pipe) return { stdin: 'ignore', stdout: 'inherit' };
    return who === 'log' ? { stdin: this.pipe.readFd, stdout: 'inherit' } : { stdin: 'ignore', stdout: this.pipe.writeFd };
  }

  // The log's control cannot be customized.
  private custom(who: Who, letter: string): Promise<boolean> {
    if (who === 'log') return Promise.resolve(false);
    const track = (child: ChildProcess) => {
      this.alive.add(child);
      child.once('exit', () => this.alive.delete(child));
    };
    return controlScriptHandled(this.dir, letter, this.pair.main.pid, this.stdio('main').stdout, this.log, track);
  }

  private signal(who: Who, signal: ProcessSignal): void {
    const pid = this.pair[who]!.pid;
    for (const child of this.alive) if (child.pid === pid) child.kill(signal);
  }

  private publish(who: Who): void {
    const sv = this.pair[who];
    if (sv) this.supervise[who]?.write(toStatus(sv));
  }

  private closePipe(): void {
    this.pipe?.close();
    this.pipe = null;
  }

  private async retire(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.closePipe();
    await Promise.all([this.supervise.main.close(), this.supervise.log?.close()]);
    this.resolveDone();
  }
}

function exists(file: string): boolean {
  return accessible(file, constants.F_OK);
}

function readable(file: string): boolean {
  return accessible(file, constants.R_OK);
}

function accessible(file: string, mode: number): boolean {
  try {
    accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}
