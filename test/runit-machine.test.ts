import t from 'tap';
import { initialState, transition } from '../src/app/machine.js';
import { letterSignal } from '../src/runit/letters.js';
import { control, exited, finishArgs, initialSv, settle, started, termSent, type Sv } from '../src/runit/machine.js';

const t0 = 1_700_000_000_000;

function running(over: Partial<Sv> = {}): Sv {
  return { ...initialSv(false, false, t0), pid: 42, state: 'run', since: t0, ...over };
}

t.test('a service without a down file wants up and is started by settle', async (t) => {
  const sv = initialSv(false, false, t0);
  t.match(sv, { pid: 0, state: 'down', want: 'up', since: t0 });
  t.same(settle({ main: sv, log: null }).effects, [{ kind: 'start', who: 'main' }]);
  t.same(settle({ main: initialSv(false, true, t0), log: null }).effects, [], 'a down file keeps it down');
});

t.test('the log starts before the service, each when it is wanted', async (t) => {
  const pair = { main: initialSv(false, false, t0), log: initialSv(true, false, t0) };
  t.same(settle(pair).effects, [
    { kind: 'start', who: 'log' },
    { kind: 'start', who: 'main' },
  ]);
  t.same(settle({ ...pair, log: initialSv(true, true, t0) }).effects, [{ kind: 'start', who: 'main' }]);
});

t.test('started: run gets a new uptime, finish keeps the run one', async (t) => {
  const run = started(initialSv(false, false, t0), 7, t0 + 5000);
  t.match(run.sv, { pid: 7, state: 'run', since: t0 + 5000, term: false, paused: false });
  t.same(run.effects, [{ kind: 'status' }]);
  const finish = started(running({ pid: 0, state: 'finish' }), 8, t0 + 9000);
  t.match(finish.sv, { pid: 8, state: 'finish', since: t0 });
});

t.test('d: want down, TERM (unless control/t), then CONT and control/d', async (t) => {
  const step = control(running(), 'd');
  t.equal(step.sv.want, 'down');
  t.same(step.effects, [{ kind: 'status' }, { kind: 'term' }, { kind: 'signal', signal: 'SIGCONT' }, { kind: 'script', letter: 'd' }]);
  t.same(control(running({ pid: 0, state: 'down' }), 'd').effects, [{ kind: 'status' }], 'nothing to stop when down');
  t.same(termSent(step.sv).sv.term, true);
});

t.test('x: want exit; ignored by the log', async (t) => {
  const step = control(running(), 'x');
  t.equal(step.sv.want, 'exit');
  t.same(step.effects.at(-1), { kind: 'script', letter: 'x' });
  const log = { ...running(), islog: true };
  t.same(control(log, 'x'), { sv: log, effects: [] });
});

t.test('u and o start a down service; o wants it down afterwards', async (t) => {
  const down = initialSv(false, true, t0);
  t.same(control(down, 'u').effects, [{ kind: 'status' }, { kind: 'start' }]);
  const once = control(down, 'o');
  t.equal(once.sv.want, 'down');
  t.same(once.effects, [{ kind: 'status' }, { kind: 'start' }]);
  t.same(control(running({ want: 'down' }), 'u').effects, [{ kind: 'status' }], 'a running service is left running');
  t.same(control({ ...down, pid: 9 }, 'u').effects, [{ kind: 'status' }], 'a killed process not yet reaped ends first');
});

t.test('t and the signal letters act only while running, each overridable by its script', async (t) => {
  t.same(control(running(), 't').effects, [{ kind: 'term' }]);
  t.same(control(running({ state: 'finish' }), 't').effects, []);
  t.same(control(running(), 'h').effects, [{ kind: 'signal', signal: 'SIGHUP', custom: 'h' }]);
  t.same(control(running(), '2').effects, [{ kind: 'signal', signal: 'SIGUSR2', custom: '2' }]);
  t.same(control(running({ pid: 0, state: 'down' }), 'q').effects, []);
});

t.test('k: KILL, and runsv marks it down at once without publishing', async (t) => {
  const step = control(running(), 'k');
  t.equal(step.sv.state, 'down');
  t.equal(step.sv.pid, 42);
  t.same(step.effects, [{ kind: 'signal', signal: 'SIGKILL', custom: 'k' }]);
});

t.test('p and c: STOP and CONT, with the paused flag published', async (t) => {
  const paused = control(running(), 'p');
  t.equal(paused.sv.paused, true);
  t.same(paused.effects, [{ kind: 'signal', signal: 'SIGSTOP', custom: 'p' }, { kind: 'status' }]);
  const resumed = control(paused.sv, 'c');
  t.equal(resumed.sv.paused, false);
  t.same(resumed.effects, [{ kind: 'signal', signal: 'SIGCONT', custom: 'c' }, { kind: 'status' }]);
});

t.test('an exit goes to finish when there is one, then down', async (t) => {
  const killed = { code: null, signal: 15 };
  const toFinish = exited(running({ term: true }), 42, killed, true, t0 + 5000);
  t.match(toFinish.sv, { pid: 0, state: 'finish', term: false, exit: killed, since: t0 });
  t.same(toFinish.effects, [{ kind: 'status' }]);
  t.same(settle({ main: toFinish.sv, log: null }).effects, [{ kind: 'start', who: 'main' }], 'finish is started even when want is down');
  t.same(finishArgs(toFinish.sv.exit), ['-1', '15']);
  const finishing = started(toFinish.sv, 43, t0 + 5001).sv;
  const down = exited(finishing, 43, { code: 0, signal: null }, true, t0 + 5100);
  t.match(down.sv, { pid: 0, state: 'down', since: t0 + 5100 });
  t.same(down.effects, [{ kind: 'status' }], 'more than 1 s after the start: no pause');
});

t.test('an exit sooner than 1 s after the start pauses 1 s before anything else', async (t) => {
  const step = exited(running(), 42, { code: 3, signal: null }, false, t0 + 300);
  t.match(step.sv, { state: 'down', since: t0 + 300 });
  t.same(step.effects, [{ kind: 'status' }, { kind: 'pause', ms: 1000 }]);
  t.same(finishArgs(step.sv.exit), ['3', '0']);
});

t.test('the exit of another pid changes nothing', async (t) => {
  const sv = running();
  t.same(exited(sv, 99, { code: 0, signal: null }, true, t0 + 5000), { sv, effects: [] });
});

t.test('the log has no finish', async (t) => {
  const log = { ...running(), islog: true };
  t.equal(exited(log, 42, { code: 1, signal: null }, true, t0 + 5000).sv.state, 'down');
});

t.test('exit: down and no log leaves at once; with a log, the log drains first', async (t) => {
  const leaving = running({ pid: 0, state: 'down', want: 'exit' });
  t.same(settle({ main: leaving, log: null }).effects, [{ kind: 'exit' }]);
  const log = { ...running({ pid: 50 }), islog: true };
  const first = settle({ main: leaving, log });
  t.equal(first.pair.log!.want, 'exit');
  t.same(first.effects, [{ kind: 'status', who: 'log' }, { kind: 'closeLogPipe' }]);
  t.same(settle(first.pair).effects, [], 'waits for the log to end');
  t.same(settle({ main: leaving, log: { ...first.pair.log!, pid: 0, state: 'down' } }).effects, [{ kind: 'exit' }]);
  t.same(settle({ main: running({ want: 'exit' }), log: null }).effects, [], 'still running: no exit yet');
});

t.test('one vocabulary: every signal letter sends the same signal to a runit service and to the app', async (t) => {
  const policy = { restart: 'always', startTimeout: 300_000, stopTimeout: 30_000, stopSignal: 'TERM', minRunBetweenStarts: 1000 } as const;
  const app = [{ type: 'boot', at: t0 } as const, { type: 'spawned', pid: 100, at: t0 + 10 } as const].reduce((s, e) => transition(s, e, policy).state, initialState(t0));
  for (const letter of Object.keys(letterSignal) as Array<keyof typeof letterSignal>) {
    const service = control(running(), letter).effects.flatMap((e) => (e.kind === 'signal' ? [e.signal] : e.kind === 'term' ? ['SIGTERM'] : []));
    const own = transition(app, { type: 'control', letter, at: t0 + 5000 }, policy).effects.flatMap((e) => (e.type === 'signal' ? [`SIG${e.signal}`] : []));
    t.equal(service[0], `SIG${letterSignal[letter]}`, `${letter}: the service gets SIG${letterSignal[letter]}`);
    t.equal(own[0], service[0], `${letter}: and so does the app`);
  }
});
