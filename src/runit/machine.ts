// runsv's decisions as pure functions: one small record per supervised program (the service and
// its log), an event in, the new record and the effects out. service.ts carries the effects out.
import { isSignalLetter, letterSignal, type ControlLetter, type Exit, type SignalName } from './letters.js';
import type { RunState, SuperviseStatus, Want } from './status.js';

/** runsv's struct svdir, the part that is state. */
export interface Sv {
  pid: number; // 0 when nothing runs
  state: RunState;
  want: Want;
  term: boolean; // TERM sent, no exit seen yet (runsv's C_TERM)
  paused: boolean; // runsv's C_PAUSE
  islog: boolean;
  since: number; // ms epoch: the last start of run, or when it last went down
  exit: Exit<number> | null; // how the last child ended: ./finish's arguments after run
}

/** A signal as process.kill takes it (`SIGTERM`), for runsv's children. */
export type ProcessSignal = `SIG${SignalName}`;

export type Effect =
  | { kind: 'status' } // publish the record in supervise/
  | { kind: 'signal'; signal: ProcessSignal; custom?: ControlLetter } // unless control/<custom> exits 0
  | { kind: 'term' } // unless control/t exits 0: TERM, then termSent()
  | { kind: 'script'; letter: 'd' | 'x' } // control/<letter>; its exit status is ignored
  | { kind: 'start' } // ./run, or ./finish when the state is finish
  | { kind: 'pause'; ms: number }; // runsv's sleep(1): no start sooner than 1 s after the last

export interface Step {
  sv: Sv;
  effects: Effect[];
}

const restartGapMs = 1000;

export function initialSv(islog: boolean, normallyDown: boolean, now: number): Sv {
  return { pid: 0, state: 'down', want: normallyDown ? 'down' : 'up', term: false, paused: false, islog, since: now, exit: null };
}

export function toStatus(sv: Sv): SuperviseStatus {
  return { pid: sv.pid, state: sv.state, want: sv.want, paused: sv.paused, gotTerm: sv.term, since: sv.since };
}

/** runsv's ctrl(): one letter from supervise/control. */
export function control(sv: Sv, letter: ControlLetter): Step {
  const running = sv.state === 'run';
  const status: Effect = { kind: 'status' };
  switch (letter) {
    case 'd':
    case 'x': {
      if (letter === 'x' && sv.islog) return { sv, effects: [] };
      const next = { ...sv, want: letter === 'd' ? ('down' as const) : ('exit' as const) };
      return { sv: next, effects: [status, ...(running ? stopService(next) : [])] };
    }
    case 'u':
    case 'o': {
      const next = { ...sv, want: letter === 'u' ? ('up' as const) : ('down' as const) };
      // A process killed by `k` but not yet reaped is left to end first; settle() then starts the new one.
      const idle = next.state === 'down' && !next.pid;
      return { sv: next, effects: [status, ...(idle ? [{ kind: 'start' } as const] : [])] };
    }
    case 't':
      return { sv, effects: running ? stopService(sv) : [] };
    case 'k':
      // runsv marks it down at once (without publishing) and lets the exit be handled as any other.
      return { sv: { ...sv, state: 'down' }, effects: running ? [{ kind: 'signal', signal: 'SIGKILL', custom: 'k' }] : [] };
    case 'p':
      return { sv: { ...sv, paused: true }, effects: [...(running ? [{ kind: 'signal', signal: 'SIGSTOP', custom: 'p' } as const] : []), status] };
    case 'c':
      return { sv: { ...sv, paused: false }, effects: [...(running ? [{ kind: 'signal', signal: 'SIGCONT', custom: 'c' } as const] : []), status] };
    default:
      // h a i q 1 2: the letter's signal, unless control/<letter> handles it.
      return { sv, effects: running && isSignalLetter(letter) ? [{ kind: 'signal', signal: `SIG${letterSignal[letter]}`, custom: letter }] : [] };
  }
}

/** runsv's stopservice(): TERM (unless control/t handles it), then CONT and control/d or control/x. */
function stopService(sv: Sv): Effect[] {
  const effects: Effect[] = sv.pid ? [{ kind: 'term' }] : [];
  if (sv.want === 'up') return effects;
  return [...effects, { kind: 'signal', signal: 'SIGCONT' }, { kind: 'script', letter: sv.want === 'down' ? 'd' : 'x' }];
}

/** The TERM of stopservice() went out. */
export function termSent(sv: Sv): Step {
  return { sv: { ...sv, term: true }, effects: [{ kind: 'status' }] };
}

/** startservice() forked `pid`: run starts a new uptime, finish keeps the one of the run it follows. */
export function started(sv: Sv, pid: number, now: number): Step {
  const run = sv.state !== 'finish';
  return {
    sv: { ...sv, pid, state: run ? 'run' : 'finish', since: run ? now : sv.since, term: false, paused: false },
    effects: [{ kind: 'status' }],
  };
}

/** A child ended. `hasFinish`: a readable ./finish exists (the log never has one). */
export function exited(sv: Sv, pid: number, exit: Exit<number>, hasFinish: boolean, now: number): Step {
  if (pid !== sv.pid) return { sv, effects: [] };
  const ended = { ...sv, pid: 0, term: false, exit };
  if (!sv.islog && sv.state !== 'finish' && hasFinish) {
    return { sv: { ...ended, state: 'finish' }, effects: [{ kind: 'status' }] };
  }
  const tooSoon = now < sv.since + restartGapMs;
  return {
    sv: { ...ended, state: 'down', since: now },
    effects: [{ kind: 'status' }, ...(tooSoon ? [{ kind: 'pause', ms: restartGapMs } as const] : [])],
  };
}

/** ./finish's two arguments: the exit code (-1 when killed), and the low byte of the wait status. */
export function finishArgs(exit: Exit<number> | null): [string, string] {
  if (!exit) return ['0', '0'];
  if (exit.signal !== null) return ['-1', String(exit.signal)];
  return [String(exit.code ?? 0), '0'];
}

/** The service with its optional log, as one runsv supervises them. */
export interface Pair {
  main: Sv;
  log: Sv | null;
}

export type PairEffect = { kind: 'start'; who: 'main' | 'log' } | { kind: 'status'; who: 'log' } | { kind: 'closeLogPipe' } | { kind: 'exit' };

/**
 * What runsv does between events: once told to exit and the service is down, let the log drain
 * (by closing its pipe) and leave; otherwise start the log and the service when they should run.
 */
export function settle(pair: Pair): { pair: Pair; effects: PairEffect[] } {
  const { main, log } = pair;
  if (main.want === 'exit' && main.state === 'down') {
    if (!log || !log.pid) return { pair, effects: [{ kind: 'exit' }] };
    if (log.want === 'exit') return { pair, effects: [] };
    return { pair: { main, log: { ...log, want: 'exit' } }, effects: [{ kind: 'status', who: 'log' }, { kind: 'closeLogPipe' }] };
  }
  const effects: PairEffect[] = [];
  if (log && !log.pid && log.want === 'up') effects.push({ kind: 'start', who: 'log' });
  if (!main.pid && (main.want === 'up' || main.state === 'finish')) effects.push({ kind: 'start', who: 'main' });
  return { pair, effects };
}
