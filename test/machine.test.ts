import t from 'tap';
import { exitStatus, initialState, shownWant, stateLine, transition, type AppState, type Effect, type Event, type Policy } from '../src/app/machine.js';
import { reasonOf } from '../src/app/report.js';

const t0 = 1_700_000_000_000;
const policy: Policy = { restart: 'always', startTimeout: 300_000, stopTimeout: 30_000, stopSignal: 'TERM', minRunBetweenStarts: 1000 };
const never: Policy = { ...policy, restart: 'never' };

/** Feeds the events in order; returns the last state and the effects of each step. */
function feed(state: AppState, events: Event[], p: Policy = policy): { state: AppState; steps: Effect[][]; all: Effect[] } {
  const steps: Effect[][] = [];
  for (const event of events) {
    const step = transition(state, event, p);
    state = step.state;
    steps.push(step.effects);
  }
  return { state, steps, all: steps.flat() };
}

const boot = (at = t0): Event => ({ type: 'boot', at });
const spawned = (pid: number, at: number): Event => ({ type: 'spawned', pid, at });
const probe = (ok: boolean, at: number): Event => ({ type: 'probe', ok, detail: ok ? 'http 200' : 'connection refused', at });
const exited = (at: number, code: number | null, signal: string | null = null): Event => ({ type: 'exited', exit: { code, signal }, at });
const timer = (which: 'start' | 'restart' | 'kill', at: number): Event => ({ type: 'timer', timer: which, at });
const control = (letter: string, at: number): Event => ({ type: 'control', letter, at });
const shutdown = (at: number, signal?: 'INT' | 'TERM'): Event => ({ type: 'shutdown', signal, at });

const spawns = (effects: Effect[]) => effects.filter((e) => e.type === 'spawn').length;
const signals = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'signal' ? [e.signal] : []));
const failures = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'failed' ? [e.failure] : []));
const timerSet = (effects: Effect[], which: string) => effects.find((e) => e.type === 'setTimer' && e.timer === which) as { ms: number } | undefined;
const cleared = (effects: Effect[], which: string) => effects.some((e) => e.type === 'clearTimer' && e.timer === which);
const exits = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'exit' ? [e.code] : []));

/** An app spawned as pid 100 at t0 + 10 and ready at t0 + 1000. */
function readyApp(p: Policy = policy): AppState {
  return feed(initialState(t0), [boot(), spawned(100, t0 + 10), probe(true, t0 + 1000)], p).state;
}

/** An app spawned as pid 100 at t0 + 10, not ready yet. */
function startingApp(): AppState {
  return feed(initialState(t0), [boot(), spawned(100, t0 + 10)]).state;
}

t.test('boot spawns and the app is starting; spawned arms the start timer', async (t) => {
  const first = transition(initialState(t0), boot(), policy);
  t.equal(first.state.phase, 'starting');
  t.equal(spawns(first.effects), 1);
  t.equal(first.state.pid, null, 'no pid before the spawn is reported');

  const second = transition(first.state, spawned(100, t0 + 10), policy);
  t.equal(second.state.pid, 100);
  t.equal(second.state.startedAt, t0 + 10);
  t.equal(second.state.phase, 'starting');
  t.same(timerSet(second.effects, 'start'), { type: 'setTimer', timer: 'start', ms: 300_000 });
  t.equal(spawns(second.effects), 0);
});

t.test('a passing probe makes it ready and clears the start timer; then ready ⇄ not ready', async (t) => {
  const notYet = transition(startingApp(), probe(false, t0 + 500), policy);
  t.equal(notYet.state.phase, 'starting', 'a failing probe while starting changes nothing');
  t.notOk(cleared(notYet.effects, 'start'));

  const ready = transition(notYet.state, probe(true, t0 + 1000), policy);
  t.equal(ready.state.phase, 'ready');
  t.ok(cleared(ready.effects, 'start'), 'start timer cleared');
  t.equal(ready.state.changedAt, t0 + 1000);

  const sick = transition(ready.state, probe(false, t0 + 3000), policy);
  t.equal(sick.state.phase, 'notReady');
  t.match(sick.state.probe, { ok: false, detail: 'connection refused', at: t0 + 3000 });
  const back = transition(sick.state, probe(true, t0 + 5000), policy);
  t.equal(back.state.phase, 'ready');
  t.same([...sick.effects, ...back.effects].filter((e) => e.type === 'spawn' || e.type === 'signal'), [], 'no process effects');
});

t.test('an exit while starting is a startup failure: failed, kept, never respawned', async (t) => {
  const died = transition(startingApp(), exited(t0 + 2000, 1), policy);
  t.equal(died.state.phase, 'failed');
  t.equal(died.state.pid, null);
  t.equal(spawns(died.effects), 0, 'no spawn');
  t.notOk(timerSet(died.effects, 'restart'), 'no restart timer');
  t.match(failures(died.effects), [{ kind: 'exited', at: t0 + 2000, startedAt: t0 + 10, exit: { code: 1, signal: null } }]);
  t.match(died.state.failure, { kind: 'exited' });

  const later = feed(died.state, [timer('start', t0 + 300_010), timer('restart', t0 + 3000), timer('kill', t0 + 4000), probe(true, t0 + 5000), probe(false, t0 + 6000)]);
  t.equal(spawns(later.all), 0, 'timers and probes never spawn it again');
  t.same(signals(later.all), [], 'nor signal anything');
  t.equal(later.state.phase, 'failed');
  t.match(later.state.failure, { kind: 'exited' }, 'the failure is kept');
});

t.test('not ready within startTimeout: thread dump, failed (timeout), the JVM left running', async (t) => {
  const late = transition(startingApp(), timer('start', t0 + 300_010), policy);
  t.equal(late.state.phase, 'failed');
  t.equal(late.state.pid, 100, 'pid kept: the JVM is left running');
  t.ok(late.effects.some((e) => e.type === 'threadDump'), 'thread dump taken');
  t.match(failures(late.effects), [{ kind: 'timeout', at: t0 + 300_010, startedAt: t0 + 10, exit: null }]);
  t.same(signals(late.effects), [], 'no signal that would stop it');
  t.equal(spawns(late.effects), 0);

  const after = feed(late.state, [probe(true, t0 + 301_000), timer('restart', t0 + 302_000)]);
  t.equal(after.state.phase, 'failed', 'a late passing probe does not undo the failure');
  t.equal(spawns(after.all), 0);

  const gone = transition(after.state, exited(t0 + 400_000, null, 'KILL'), policy);
  t.equal(gone.state.phase, 'failed', 'when the left-running JVM ends it is still a failure');
  t.equal(spawns(gone.effects), 0, 'and it is not restarted');
  t.match(gone.state.failure, { kind: 'timeout', ended: { at: t0 + 400_000, exit: { code: null, signal: 'KILL' } } }, 'how the kept JVM ended is kept with the failure');
  t.equal(gone.state.probe, null, 'no probe line of a JVM that is gone');
  t.match(gone.effects.filter((e) => e.type === 'keptAppEnded'), [{ failure: { kind: 'timeout', ended: { exit: { signal: 'KILL' } } } }], 'the report is told');
  t.same(exits(transition(gone.state, shutdown(t0 + 500_000), policy).effects), [137], 'a stop then exits with how it ended');
});

t.test('a crash after ready restarts at least minRunBetweenStarts after the last start', async (t) => {
  const app = feed(initialState(t0), [boot(), spawned(100, t0 + 10), probe(true, t0 + 200)]).state;
  const soon = transition(app, exited(t0 + 310, 1), policy);
  t.equal(soon.state.phase, 'restarting');
  t.equal(spawns(soon.effects), 0, 'no spawn before the timer');
  t.same(timerSet(soon.effects, 'restart'), { type: 'setTimer', timer: 'restart', ms: 700 }, 'crash 300 ms after start → 700 ms');
  t.match(failures(soon.effects), [{ kind: 'crashed', exit: { code: 1 } }], 'the crash is reported');
  t.equal(soon.state.restarts, 1);

  const lateCrash = transition(readyApp(), exited(t0 + 5010, 1), policy);
  t.same(timerSet(lateCrash.effects, 'restart'), { type: 'setTimer', timer: 'restart', ms: 0 }, 'crash 5 s after start → 0 ms');

  const again = transition(soon.state, timer('restart', t0 + 1010), policy);
  t.equal(spawns(again.effects), 1, 'the restart timer spawns');
  t.equal(again.state.phase, 'starting');
  t.equal(again.state.failure, null, 'a new start forgets the old failure');

  const back = feed(again.state, [spawned(101, t0 + 1020), probe(true, t0 + 1500)]);
  t.equal(back.state.phase, 'ready');
  t.equal(back.state.pid, 101);
});

t.test('restart: never: an app that ends after it was ready ends nile too, with its status (as tini)', async (t) => {
  const clean = transition(readyApp(never), exited(t0 + 5000, 0), never);
  t.equal(clean.state.phase, 'stopped');
  t.equal(clean.state.want, 'exit');
  t.same(exits(clean.effects), [0], 'exit 0: the app\'s own');
  t.match(failures(clean.effects), [{ kind: 'crashed', exit: { code: 0 }, endsNile: true }], 'said, and kept in the report');
  t.equal(spawns(clean.effects), 0);
  t.notOk(timerSet(clean.effects, 'restart'));
  t.same(exits(transition(readyApp(never), exited(t0 + 5000, 3), never).effects), [3], 'a crash: its status');
  const sick = feed(readyApp(never), [probe(false, t0 + 3000), exited(t0 + 5000, null, 'KILL')], never);
  t.same(exits(sick.all), [137], 'not ready when it died: 128 + KILL');
  const later = feed(clean.state, [timer('restart', t0 + 6000), control('u', t0 + 6500), probe(true, t0 + 7000)], never);
  t.equal(spawns(later.all), 0, 'nothing starts it again');

  const always = transition(readyApp(), exited(t0 + 5000, 0), policy);
  t.same(exits(always.effects), [], 'restart: always restarts it');
  t.equal(always.state.phase, 'restarting');
  t.match(failures(always.effects), [{ kind: 'crashed', exit: { code: 0 } }]);
  t.notOk(failures(always.effects)[0]?.endsNile);
  const asked = feed(readyApp(never), [control('d', t0 + 5000), exited(t0 + 5100, null, 'TERM')], never);
  t.equal(asked.state.phase, 'down', 'sv down under restart: never stays down, nile stays up');
  t.same(exits(asked.all), []);
  const startFailure = transition(startingApp(), exited(t0 + 2000, 0), never);
  t.equal(startFailure.state.phase, 'failed', 'a start failure keeps the scene');
  t.same(exits(startFailure.effects), []);
});

t.test('a restart that exits before ready is a startup failure', async (t) => {
  const run = feed(readyApp(), [exited(t0 + 5000, 1), timer('restart', t0 + 5000), spawned(101, t0 + 5010), exited(t0 + 5500, 1)]);
  t.equal(spawns(run.all), 1, 'one restart, no second');
  t.equal(run.state.phase, 'failed');
  t.match(failures(run.steps[3]), [{ kind: 'exited', startedAt: t0 + 5010 }]);
  t.equal(spawns(feed(run.state, [timer('restart', t0 + 7000)]).all), 0);
});

t.test('sv up after a startup failure starts it again; a timed-out JVM still running is probed again instead', async (t) => {
  const failed = transition(startingApp(), exited(t0 + 2000, 1), policy).state;
  const up = transition(failed, control('u', t0 + 60_000), policy);
  t.equal(spawns(up.effects), 1, '`u` on a failed app with no process spawns');
  t.equal(up.state.phase, 'starting');
  t.equal(up.state.failure, null);

  const timedOut = transition(startingApp(), timer('start', t0 + 300_010), policy).state;
  const upAgain = transition(timedOut, control('u', t0 + 301_000), policy);
  t.equal(spawns(upAgain.effects), 0, 'no second JVM beside the running one');
  t.equal(upAgain.state.pid, 100);
  t.equal(upAgain.state.phase, 'starting', 'resumed: probed as a start');
  t.equal(upAgain.state.failure, null);
  t.same(timerSet(upAgain.effects, 'start'), { type: 'setTimer', timer: 'start', ms: 300_000 }, 'with a new start timeout');
  t.equal(upAgain.state.want, 'up');
  const healthy = transition(upAgain.state, probe(true, t0 + 302_000), policy);
  t.equal(healthy.state.phase, 'ready', 'ready once healthy');
  t.equal(spawns(healthy.effects), 0);
  const gone = transition(timedOut, exited(t0 + 302_000, 137, null), policy).state;
  t.equal(spawns(transition(gone, control('u', t0 + 303_000), policy).effects), 1, 'a timed-out JVM that is gone starts again');
});

t.test('sv down: stop signal, CONT, kill timer; the exit is down, not a restart', async (t) => {
  const down = transition(readyApp(), control('d', t0 + 5000), policy);
  t.same(signals(down.effects), ['TERM', 'CONT']);
  t.same(timerSet(down.effects, 'kill'), { type: 'setTimer', timer: 'kill', ms: 30_000 });
  t.equal(down.state.phase, 'stopping');
  t.equal(down.state.want, 'down');

  const gone = transition(down.state, exited(t0 + 6000, null, 'TERM'), policy);
  t.equal(gone.state.phase, 'down');
  t.ok(cleared(gone.effects, 'kill'), 'kill timer cleared');
  t.equal(spawns(gone.effects), 0);
  t.notOk(timerSet(gone.effects, 'restart'));
  t.same(failures(gone.effects), [], 'an asked-for stop is not a failure');
  t.equal(spawns(feed(gone.state, [timer('restart', t0 + 8000)]).all), 0);

  const withInt = transition(readyApp({ ...policy, stopSignal: 'INT' }), control('d', t0 + 5000), { ...policy, stopSignal: 'INT' });
  t.same(signals(withInt.effects), ['INT', 'CONT'], 'the configured stop signal');
});

t.test('the kill timer sends KILL while the app still runs', async (t) => {
  const stopping = transition(readyApp(), control('d', t0 + 5000), policy).state;
  t.same(signals(transition(stopping, timer('kill', t0 + 35_000), policy).effects), ['KILL']);
  const gone = transition(stopping, exited(t0 + 6000, 0), policy).state;
  t.same(signals(transition(gone, timer('kill', t0 + 35_000), policy).effects), [], 'nothing to kill once it is gone');
});

t.test('sv restart (t, c, u) on a ready app: TERM, then a restart that is no failure', async (t) => {
  const asked = feed(readyApp(), [control('t', t0 + 5000), control('c', t0 + 5000), control('u', t0 + 5000)]);
  t.same(signals(asked.all), ['TERM', 'CONT']);
  t.equal(spawns(asked.all), 0, 'nothing spawned while the old one runs');
  const gone = transition(asked.state, exited(t0 + 5200, null, 'TERM'), policy);
  t.equal(gone.state.phase, 'restarting');
  t.same(failures(gone.effects), [], 'no failure report');
  t.equal(gone.state.failure, null);
  t.ok(timerSet(gone.effects, 'restart'));
  t.equal(spawns(transition(gone.state, timer('restart', t0 + 5200), policy).effects), 1);

  const never_ = feed(readyApp(never), [control('t', t0 + 5000), control('c', t0 + 5000), control('u', t0 + 5000), exited(t0 + 5200, null, 'TERM')], never);
  t.equal(never_.state.phase, 'restarting', 'asked for, so it restarts even with restart: never');
});

t.test('sv once runs the app without restarting it', async (t) => {
  const down = transition(readyApp(), control('d', t0 + 5000), policy).state;
  const stopped = transition(down, exited(t0 + 5100, 0), policy).state;
  t.equal(stopped.phase, 'down');

  const once = feed(stopped, [control('o', t0 + 10_000), spawned(200, t0 + 10_010), probe(true, t0 + 11_000)]);
  t.equal(spawns(once.all), 1, '`o` spawns');
  t.same(signals(once.all), [], 'and does not stop what it started');
  t.equal(once.state.pid, 200);
  t.equal(once.state.phase, 'ready');

  const ended = feed(once.state, [exited(t0 + 20_000, 1), timer('restart', t0 + 25_000)]);
  t.equal(ended.state.phase, 'down', 'not restarted after it ends');
  t.equal(spawns(ended.all), 0);
  t.notOk(timerSet(ended.all, 'restart'));

  const cancelled = feed(stopped, [control('o', t0 + 30_000), control('d', t0 + 30_001), spawned(300, t0 + 30_010)]);
  t.same(signals(cancelled.steps[2]), ['TERM', 'CONT'], '`d` before the spawn lands stops it once it appears');
  const downFirst = feed(initialState(t0), [boot(), control('d', t0 + 1), spawned(100, t0 + 10)]);
  t.same(signals(downFirst.steps[2]), ['TERM', 'CONT'], 'the same for `d` right after boot');
});

t.test('signal letters send their signal only while the app runs', async (t) => {
  const letters: Record<string, string> = { h: 'HUP', a: 'ALRM', i: 'INT', q: 'QUIT', '1': 'USR1', '2': 'USR2' };
  for (const [letter, signal] of Object.entries(letters)) {
    const step = transition(readyApp(), control(letter, t0 + 5000), policy);
    t.same(step.effects, [{ type: 'signal', signal }], `${letter} → ${signal}`);
    t.equal(step.state.phase, 'ready', `${letter} does not change the phase`);
  }
  const failed = transition(startingApp(), exited(t0 + 2000, 1), policy).state;
  for (const letter of Object.keys(letters)) t.same(transition(failed, control(letter, t0 + 5000), policy).effects, [], `${letter} with no app: nothing`);
  t.same(transition(readyApp(), control('z', t0 + 5000), policy).effects, [], 'an unknown letter: nothing');
});

t.test('shutdown with a running app: stop signal, kill timer, then exit with the app status', async (t) => {
  const stop = transition(readyApp(), shutdown(t0 + 5000), policy);
  t.same(signals(stop.effects), ['TERM', 'CONT']);
  t.same(timerSet(stop.effects, 'kill'), { type: 'setTimer', timer: 'kill', ms: 30_000 });
  t.same(exits(stop.effects), [], 'no exit while the app runs');
  t.equal(stop.state.phase, 'stopping');

  const ignored = feed(stop.state, [control('u', t0 + 5100), probe(true, t0 + 5200)]);
  t.equal(spawns(ignored.all), 0, 'sv up during shutdown does nothing');

  const gone = transition(ignored.state, exited(t0 + 6000, 0), policy);
  t.same(exits(gone.effects), [0]);
  t.equal(gone.state.phase, 'stopped');
  t.equal(spawns(gone.effects), 0);

  const killed = feed(readyApp(), [shutdown(t0 + 5000), timer('kill', t0 + 35_000), exited(t0 + 35_010, null, 'KILL')]);
  t.same(signals(killed.steps[1]), ['KILL']);
  t.same(exits(killed.all), [137], 'killed by KILL → 137');

  const interrupted = feed(readyApp(), [shutdown(t0 + 5000, 'INT'), exited(t0 + 5100, 130)]);
  t.same(signals(interrupted.steps[0]), ['INT', 'CONT'], 'the signal PID 1 got is passed on');
  t.same(exits(interrupted.all), [130]);

  const whileStarting = feed(startingApp(), [shutdown(t0 + 500), exited(t0 + 600, null, 'TERM')]);
  t.same(signals(whileStarting.steps[0]), ['TERM', 'CONT']);
  t.same(exits(whileStarting.all), [143]);
  t.same(failures(whileStarting.all), [], 'a stop while starting is no startup failure');
});

t.test('shutdown with no app exits at once with the last exit status', async (t) => {
  const nothingYet = transition(initialState(t0), shutdown(t0 + 1), policy);
  t.same(exits(nothingYet.effects), [0], '0 when it never ran');

  const crashedDown = feed(readyApp(), [control('d', t0 + 5000), exited(t0 + 5100, 3), shutdown(t0 + 6000)]);
  t.same(exits(crashedDown.steps[2]), [3]);

  const failedBySignal = feed(startingApp(), [exited(t0 + 2000, null, 'KILL'), shutdown(t0 + 6000)]);
  t.same(exits(failedBySignal.steps[1]), [137]);

  const restarting = feed(readyApp(), [exited(t0 + 5000, 1), shutdown(t0 + 5001)]);
  t.equal(restarting.state.phase, 'stopped');
  t.ok(cleared(restarting.steps[1], 'restart'), 'the pending restart is cancelled');
  t.same(exits(restarting.steps[1]), [1]);
  t.equal(spawns(feed(restarting.state, [timer('restart', t0 + 6000)]).all), 0);
});

t.test('a shutdown before the spawn is reported stops the app once it appears', async (t) => {
  const booting = transition(initialState(t0), boot(), policy).state;
  const down = transition(booting, shutdown(t0 + 1), policy);
  t.same(exits(down.effects), [], 'waits for the spawn in flight');
  const appeared = transition(down.state, spawned(100, t0 + 5), policy);
  t.same(signals(appeared.effects), ['TERM', 'CONT']);
  t.same(exits(transition(appeared.state, exited(t0 + 50, 0), policy).effects), [0]);
});

t.test('spawnFailed is a startup failure of kind spawn', async (t) => {
  const booting = transition(initialState(t0), boot(), policy).state;
  const failed = transition(booting, { type: 'spawnFailed', error: 'ENOENT: java', status: 127, at: t0 + 3 }, policy);
  t.equal(failed.state.phase, 'failed');
  t.match(failures(failed.effects), [{ kind: 'spawn', error: 'ENOENT: java', at: t0 + 3 }]);
  t.equal(spawns(failed.effects), 0);
  t.equal(spawns(feed(failed.state, [timer('restart', t0 + 2000), timer('start', t0 + 400_000)]).all), 0);
  t.same(exits(transition(failed.state, shutdown(t0 + 5000), policy).effects), [127], 'PID 1 exits as a shell would: 127 not found');
  const notExecutable = transition(booting, { type: 'spawnFailed', error: 'not executable', status: 126, at: t0 + 3 }, policy).state;
  t.same(exits(transition(notExecutable, shutdown(t0 + 5000), policy).effects), [126], '126 cannot execute');
  const crashedBefore = feed(readyApp(), [exited(t0 + 5000, 3), timer('restart', t0 + 6000)]).state;
  const thenUnrunnable = transition(crashedBefore, { type: 'spawnFailed', error: 'gone', status: 127, at: t0 + 6001 }, policy).state;
  t.same(exits(transition(thenUnrunnable, shutdown(t0 + 7000), policy).effects), [127], 'the start that never ran, not the exit before it');
});

t.test('exitStatus: the code, or 128 + the signal number', async (t) => {
  t.equal(exitStatus(null), 0);
  t.equal(exitStatus({ code: 0, signal: null }), 0);
  t.equal(exitStatus({ code: 3, signal: null }), 3);
  t.equal(exitStatus({ code: null, signal: 'KILL' }), 137);
  t.equal(exitStatus({ code: null, signal: 'TERM' }), 143);
  t.equal(exitStatus({ code: null, signal: 'INT' }), 130);
  t.equal(exitStatus({ code: null, signal: 'QUIT' }), 131);
});

t.test('exitStatus knows every signal a JVM dies of', async (t) => {
  t.equal(exitStatus({ code: null, signal: 'ABRT' }), 134, 'a JVM crash aborts');
  t.equal(exitStatus({ code: null, signal: 'SEGV' }), 139);
  t.equal(exitStatus({ code: null, signal: 'PIPE' }), 141);
});

t.test('the state prints in one line, as runsv prints its own; a shutdown is runsv\'s want exit, shown as down', async (t) => {
  t.equal(stateLine(initialState(t0)), 'down, want up, 0 restarts');
  t.equal(stateLine(readyApp()), 'ready (pid 100), want up, 0 restarts');
  const paused = transition(readyApp(), control('p', t0 + 2000), policy).state;
  t.equal(stateLine(paused), 'ready (pid 100), want up, paused, 0 restarts');
  const leaving = transition(readyApp(), shutdown(t0 + 5000), policy).state;
  t.equal(stateLine(leaving), 'stopping (pid 100), want exit, got TERM, stop asked, 0 restarts');
  t.equal(shownWant(leaving), 'down', 'sv and nile status see want down');
  const once = feed(initialState(t0), [control('d', t0), control('o', t0 + 10)]).state;
  t.equal(stateLine(once), 'starting, want down (once), 0 restarts');
});

t.test('hold at boot: failed without a spawn, with the reason; sv up starts it; SIGTERM exits 0', async (t) => {
  const hold: Event = { type: 'hold', reason: 'the previous container was killed while the app was starting', at: t0 };
  const held = transition(initialState(t0), hold, policy);
  t.equal(held.state.phase, 'failed');
  t.equal(spawns(held.effects), 0, 'nothing is spawned');
  t.same(failures(held.effects), [{ kind: 'held', at: t0, startedAt: null, exit: null, error: 'the previous container was killed while the app was starting' }]);
  t.equal(held.state.want, 'up', 'want up: it is held, not taken down');

  const up = transition(held.state, control('u', t0 + 5000), policy);
  t.equal(up.state.phase, 'starting', 'sv up starts it');
  t.equal(spawns(up.effects), 1);
  t.equal(up.state.failure, null);

  t.same(exits(transition(held.state, shutdown(t0 + 5000), policy).effects), [0], 'SIGTERM while held: exit 0');
  t.equal(transition(startingApp(), hold, policy).state.phase, 'starting', 'only at boot: a started app is not held');
  t.equal(feed(initialState(t0), [control('d', t0), hold]).state.phase, 'down', 'nor one wanted down');
});

t.test('the failure says what happened: an exit 0 is no crash; a kept JVM that ended says how', async (t) => {
  const base = { at: t0 + 5000, startedAt: t0 };
  t.equal(reasonOf({ ...base, kind: 'crashed', exit: { code: 0, signal: null } }, 300_000), 'app exited with status 0 after 5.0s running');
  t.equal(reasonOf({ ...base, kind: 'crashed', exit: { code: 3, signal: null }, endsNile: true }, 300_000), 'app crashed: exited with status 3 after 5.0s running (restart: never: nile exits with its status)');
  t.equal(reasonOf({ ...base, kind: 'timeout', exit: null }, 300_000), 'startup failed: not ready within 5m0s (thread dump taken, app left running)');
  const ended = { ...base, kind: 'timeout' as const, exit: null, ended: { exit: { code: null, signal: 'KILL' }, at: t0 + 302_000 } };
  t.equal(reasonOf(ended, 300_000), 'startup failed: not ready within 5m0s (thread dump taken); then the app was killed by signal KILL after 5m2s');
});
