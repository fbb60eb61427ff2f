// The app's lifecycle as a pure function: (state, event) → (state, effects). No processes, no clocks:
// times come in with the events, and the supervisor carries out the effects.
import { constants } from 'node:os';
import { isControlLetter, isSignalLetter, letterSignal, type ControlLetter, type Exit, type SignalName } from '../runit/letters.js';
import type { Want } from '../runit/status.js';

export type Phase = 'down' | 'starting' | 'ready' | 'notReady' | 'failed' | 'restarting' | 'stopping' | 'stopped';

/** Ready or not ready after it: the app may have traffic. The one place that says so. */
export const inService = (phase: Phase): boolean => phase === 'ready' || phase === 'notReady';
export type Timer = 'start' | 'restart' | 'kill';

/** Why the app is not serving: kept until the next start. */
export interface Failure {
  kind: 'exited' | 'timeout' | 'spawn' | 'crashed' | 'held';
  at: number;
  startedAt: number | null;
  exit: Exit | null;
  error?: string; // a spawn error, or why the start was held back, in a sentence
  status?: number; // a spawn error's status, as a shell gives it: 127 not found, 126 cannot execute
  jvmEnded?: number; // the JVM that ended under a start script which then exited 0: a crash all the same
  ended?: { exit: Exit; at: number }; // how a timed-out start left running ended afterwards
  endsNile?: boolean; // an app that ended after its start under `restart: never`: nile exits with its status
}

export interface AppState {
  phase: Phase;
  want: Want; // runsv's: `exit` once nile shuts down (shown as `down`)
  pid: number | null;
  startedAt: number | null; // last spawn
  changedAt: number; // last change of phase or pid, for uptimes
  once: boolean; // `sv once`: want down, yet run it once
  userStop: boolean; // the exit in progress was asked for (sv term/kill/restart/down), not a crash
  paused: boolean; // runsv's `paused`
  gotTerm: boolean; // runsv's `got TERM`, until the next start
  lastExit: Exit | null;
  failure: Failure | null;
  probe: { ok: boolean; detail: string; at: number } | null;
  restarts: number;
}

export interface Policy {
  restart: 'always' | 'never';
  startTimeout: number;
  stopTimeout: number;
  stopSignal: SignalName;
  minRunBetweenStarts: number; // runit's rule: no start sooner than this after the last one
}

export type Event =
  | { type: 'boot'; at: number }
  | { type: 'hold'; reason: string; at: number } // at boot, instead of starting: the operator's `sv up` starts it
  | { type: 'spawned'; pid: number; at: number }
  | { type: 'spawnFailed'; error: string; status: number; at: number }
  | { type: 'exited'; exit: Exit; at: number; jvmEnded?: number }
  | { type: 'probe'; ok: boolean; detail: string; at: number }
  | { type: 'timer'; timer: Timer; at: number }
  | { type: 'shutdown'; signal?: SignalName; at: number } // signal: what the app gets instead of stopSignal
  | { type: 'control'; letter: string; at: number };

export type Effect =
  | { type: 'spawn' }
  | { type: 'signal'; signal: SignalName }
  | { type: 'setTimer'; timer: Timer; ms: number }
  | { type: 'clearTimer'; timer: Timer }
  | { type: 'threadDump' }
  | { type: 'failed'; failure: Failure }
  | { type: 'keptAppEnded'; failure: Failure } // the app a failed start left running has ended since
  | { type: 'exit'; code: number };

export function initialState(at: number): AppState {
  return {
    phase: 'down', want: 'up', pid: null, startedAt: null, changedAt: at, once: false, userStop: false,
    paused: false, gotTerm: false, lastExit: null, failure: null, probe: null, restarts: 0,
  };
}

/** The want as `sv` and `nile status` show it: runsv writes `exit` as `d`. */
export const shownWant = (s: AppState): 'up' | 'down' => (s.want === 'up' ? 'up' : 'down');

/** The state in one line, as runsv's `stat` with what nile adds: `ready (pid 42), want up, paused, got TERM, 2 restarts`. */
export function stateLine(s: AppState): string {
  const flags = [s.pid !== null ? `${s.phase} (pid ${s.pid})` : s.phase, `want ${s.want}${s.once ? ' (once)' : ''}`];
  if (s.paused) flags.push('paused');
  if (s.gotTerm) flags.push('got TERM');
  if (s.userStop) flags.push('stop asked');
  flags.push(`${s.restarts} restarts`);
  return flags.join(', ');
}

/** The status PID 1 exits with: the app's code, 128+N when it died of signal N, a shell's 127 or 126 when its last start never ran. */
export function exitStatus(exit: Exit | null, failure: Failure | null = null): number {
  if (failure?.kind === 'spawn') return failure.status ?? 127;
  if (failure?.jvmEnded !== undefined && exit?.code === 0) return 1; // the script hid how its JVM ended, not a success
  if (!exit) return 0;
  if (exit.code !== null) return exit.code;
  return 128 + (constants.signals[`SIG${exit.signal}` as NodeJS.Signals] ?? 0);
}

export function transition(state: AppState, event: Event, policy: Policy): { state: AppState; effects: Effect[] } {
  const s: AppState = { ...state };
  const effects: Effect[] = [];
  const setPhase = (phase: Phase) => {
    if (s.phase !== phase) s.changedAt = event.at;
    s.phase = phase;
  };
  const start = () => {
    effects.push({ type: 'clearTimer', timer: 'restart' }, { type: 'spawn' });
    s.failure = null;
    s.probe = null;
    s.gotTerm = false;
    s.userStop = false;
    setPhase('starting');
  };
  const stop = (signal = policy.stopSignal) => {
    if (s.pid === null) return;
    s.userStop = true;
    s.gotTerm = signal === 'TERM';
    effects.push({ type: 'signal', signal }, { type: 'signal', signal: 'CONT' }, { type: 'setTimer', timer: 'kill', ms: policy.stopTimeout });
    s.paused = false;
    setPhase('stopping');
  };
  // `sv up` on a timed-out start left running: probe it again, as if it were still starting.
  const resume = () => {
    s.failure = null;
    s.probe = null;
    effects.push({ type: 'setTimer', timer: 'start', ms: policy.startTimeout });
    setPhase('starting');
  };
  const fail = (failure: Failure) => {
    s.failure = failure;
    effects.push({ type: 'clearTimer', timer: 'start' }, { type: 'failed', failure });
    setPhase('failed');
  };

  switch (event.type) {
    case 'boot':
      if (s.want === 'up' && s.pid === null) start();
      break;

    case 'hold':
      if (s.phase === 'down' && s.pid === null && s.want === 'up') fail({ kind: 'held', at: event.at, startedAt: null, exit: null, error: event.reason });
      break;

    case 'spawned':
      s.pid = event.pid;
      s.startedAt = event.at;
      s.changedAt = event.at;
      effects.push({ type: 'setTimer', timer: 'start', ms: policy.startTimeout });
      if (s.want === 'exit' || (s.want === 'down' && !s.once)) stop(); // `sv once` wants down, yet runs it
      break;

    case 'spawnFailed':
      s.startedAt = event.at;
      fail({ kind: 'spawn', at: event.at, startedAt: event.at, exit: null, error: event.error, status: event.status });
      if (s.want === 'exit') {
        setPhase('stopped');
        effects.push({ type: 'exit', code: event.status });
      }
      break;

    case 'exited': {
      s.pid = null;
      s.lastExit = event.exit;
      s.changedAt = event.at;
      s.paused = false;
      effects.push({ type: 'clearTimer', timer: 'kill' }, { type: 'clearTimer', timer: 'start' });
      if (s.want === 'exit') {
        setPhase('stopped');
        effects.push({ type: 'exit', code: exitStatus(event.exit) });
        break;
      }
      const asked = s.userStop;
      s.userStop = false;
      const jvmEnded = event.jvmEnded !== undefined ? { jvmEnded: event.jvmEnded } : {};
      if (s.phase === 'starting' && !asked) {
        fail({ kind: 'exited', at: event.at, startedAt: s.startedAt, exit: event.exit, ...jvmEnded });
        break;
      }
      if (s.phase === 'failed' && !asked) {
        // A timed-out start that was left running has now ended: the scene says it is gone, and how.
        s.probe = null;
        if (s.failure) {
          s.failure = { ...s.failure, ended: { exit: event.exit, at: event.at } };
          effects.push({ type: 'keptAppEnded', failure: s.failure });
        }
        break;
      }
      if (inService(s.phase) && !asked) {
        // With `restart: never` nile does as tini: the app's end is its own (out of traffic first, see run.ts).
        const endsNile = policy.restart === 'never' && s.want === 'up' && !s.once;
        s.failure = { kind: 'crashed', at: event.at, startedAt: s.startedAt, exit: event.exit, ...jvmEnded, ...(endsNile ? { endsNile } : {}) };
        effects.push({ type: 'failed', failure: s.failure });
        if (endsNile) {
          s.want = 'exit';
          setPhase('stopped');
          effects.push({ type: 'exit', code: exitStatus(event.exit, s.failure) });
          break;
        }
      }
      const again = s.want === 'up' && !s.once && (asked || policy.restart === 'always');
      if (again) {
        s.restarts++;
        setPhase('restarting');
        effects.push({ type: 'setTimer', timer: 'restart', ms: Math.max(0, (s.startedAt ?? 0) + policy.minRunBetweenStarts - event.at) });
      } else {
        setPhase('down');
      }
      break;
    }

    case 'probe':
      s.probe = { ok: event.ok, detail: event.detail, at: event.at };
      if (s.pid === null) break;
      if (s.phase === 'starting' && event.ok) {
        effects.push({ type: 'clearTimer', timer: 'start' });
        setPhase('ready');
      } else if (s.phase === 'ready' && !event.ok) setPhase('notReady');
      else if (s.phase === 'notReady' && event.ok) setPhase('ready');
      break;

    case 'timer':
      if (event.timer === 'start' && s.phase === 'starting') {
        effects.push({ type: 'threadDump' });
        fail({ kind: 'timeout', at: event.at, startedAt: s.startedAt, exit: null });
      } else if (event.timer === 'restart' && s.phase === 'restarting' && s.want === 'up') start();
      else if (event.timer === 'kill' && s.pid !== null) effects.push({ type: 'signal', signal: 'KILL' });
      break;

    case 'shutdown':
      s.want = 'exit';
      effects.push({ type: 'clearTimer', timer: 'restart' }, { type: 'clearTimer', timer: 'start' });
      if (s.pid !== null) stop(event.signal);
      else if (s.phase !== 'starting') {
        setPhase('stopped');
        effects.push({ type: 'exit', code: exitStatus(s.lastExit, s.failure) });
      }
      break;

    case 'control':
      if (s.want === 'exit' || !isControlLetter(event.letter)) break;
      control(s, event.letter, { start, resume, stop, effects, setPhase });
      break;
  }
  return { state: s, effects };
}

interface Actions {
  start(): void;
  resume(): void;
  stop(signal?: SignalName): void;
  setPhase(phase: Phase): void;
  effects: Effect[];
}

// The runsv control letters, as `sv` and `nile sv` send them.
function control(s: AppState, letter: ControlLetter, { start, resume, stop, effects, setPhase }: Actions): void {
  switch (letter) {
    case 'u':
      s.want = 'up';
      s.once = false;
      if (s.pid === null && s.phase !== 'starting') start();
      else if (s.pid !== null && s.phase === 'failed') resume(); // the operator looked and said go: no restart
      break;
    case 'o':
      s.want = 'down';
      s.once = true;
      if (s.pid === null && s.phase !== 'starting') start();
      break;
    case 'd':
    case 'x':
      s.want = 'down';
      s.once = false;
      effects.push({ type: 'clearTimer', timer: 'restart' });
      if (s.pid !== null) stop();
      else if (s.phase === 'restarting') setPhase('down');
      break;
    default: {
      if (!isSignalLetter(letter) || s.pid === null) break;
      const signal = letterSignal[letter];
      if (signal === 'TERM' || signal === 'KILL') s.userStop = true;
      if (signal === 'TERM') s.gotTerm = true;
      if (signal === 'STOP') s.paused = true;
      if (signal === 'CONT') s.paused = false;
      effects.push({ type: 'signal', signal });
    }
  }
}
