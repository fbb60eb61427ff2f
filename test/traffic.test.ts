import t from 'tap';
import { desiredFor, initialTraffic, inService, next, trafficLine, type TrafficEffect, type TrafficEvent, type TrafficPolicy, type TrafficState } from '../src/traffic/machine.js';

// The traffic's story without processes: every event in every state, the invariants that must hold in each
// cell, then the choreography of each event where it matters, cell by cell.

const t0 = 1_700_000_000_000;
const both: TrafficPolicy = { onlineCalls: true, offlineCalls: true };

function feed(state: TrafficState, events: TrafficEvent[], policy = both): { state: TrafficState; effects: TrafficEffect[] } {
  const effects: TrafficEffect[] = [];
  for (const event of events) {
    const step = next(state, event, policy);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

const app = (phase: TrafficState['app'], at = t0): TrafficEvent => ({ type: 'app', phase, at });
const letter = (l: string, at = t0): TrafficEvent => ({ type: 'letter', letter: l, at });
const prestop: TrafficEvent = { type: 'drain', by: 'prestop', at: t0 + 50 };
const term: TrafficEvent = { type: 'drain', by: 'SIGTERM', at: t0 + 60 };
const offlineDone: TrafficEvent = { type: 'offlineDone' };
const online = (round = 1): TrafficEvent => ({ type: 'online', round });

const ready = [app('starting'), app('ready')];
const states: Record<string, TrafficState> = {
  down: initialTraffic('ready'),
  'registry loading': feed(initialTraffic('loading'), [...ready, online()]).state,
  'registry failed': feed(initialTraffic('loading'), [...ready, online(), { type: 'registry', state: 'failed' }]).state,
  starting: feed(initialTraffic('ready'), [app('starting')]).state,
  'going online': feed(initialTraffic('ready'), ready).state,
  online: feed(initialTraffic('ready'), [...ready, online()]).state,
  'not ready': feed(initialTraffic('ready'), [...ready, online(), app('notReady')]).state,
  'offline calls after a crash': feed(initialTraffic('ready'), [...ready, online(), app('restarting')]).state,
  'left after a crash': feed(initialTraffic('ready'), [...ready, online(), app('restarting'), offlineDone]).state,
  'prestop, offline calls': feed(initialTraffic('ready'), [...ready, online(), prestop]).state,
  'drained by prestop': feed(initialTraffic('ready'), [...ready, online(), prestop, offlineDone]).state,
  'prestop while going online': feed(initialTraffic('ready'), [...ready, prestop, offlineDone]).state,
  'sv down, offline calls': feed(initialTraffic('ready'), [...ready, online(), letter('d')]).state,
  stopping: feed(initialTraffic('ready'), [...ready, online(), term, offlineDone, app('stopping')]).state,
};

const events: Record<string, TrafficEvent> = {
  ready: app('ready', t0 + 100),
  'not ready': app('notReady', t0 + 100),
  crash: app('restarting', t0 + 100),
  'app stopping': app('stopping', t0 + 100),
  'online round 1 done': online(1),
  'an old round done': online(0),
  'offline calls done': offlineDone,
  prestop,
  TERM: term,
  'sv down': letter('d', t0 + 100),
  'sv up': letter('u', t0 + 100),
  'sv term': letter('t', t0 + 100),
  'registry ready': { type: 'registry', state: 'ready' },
  'registry failed': { type: 'registry', state: 'failed' },
};

const kinds = (effects: TrafficEffect[]) => effects.map((e) => (e.type === 'register' ? `register ${e.desired.present ? (e.desired.down ? 'down' : 'up') : 'absent'}` : e.type === 'letter' ? `letter ${e.letter}` : e.type));

t.test('every event in every state keeps the rules of the traffic', async (t) => {
  for (const [stateName, state] of Object.entries(states)) {
    for (const [eventName, event] of Object.entries(events)) {
      const frozen = structuredClone(state);
      const { state: after, effects } = next(state, event, both);
      const cell = `${stateName} + ${eventName}`;
      t.same(state, frozen, `${cell}: pure, the state given is left as it was`);
      const registers = effects.flatMap((e) => (e.type === 'register' ? [e.desired] : []));
      if (after.registry !== 'ready') t.same(registers, [], `${cell}: nothing told to a registration that is not up`);
      if (after.offline === 'calling') t.same(registers, [], `${cell}: the registration stays as it is while the offline calls are made`);
      if (after.draining || after.leaving) t.notOk(registers.some((d) => d.present), `${cell}: never registered while leaving or draining`);
      if (after.offline === 'calling' && inService(state.app)) t.notOk(effects.some((e) => e.type === 'letter' && (e.letter === 'd' || e.letter === 'x')), `${cell}: no stop letter to an app in service before the offline calls are made`);
      if (effects.some((e) => e.type === 'goOnline')) t.equal(after.app, 'ready', `${cell}: online calls only for a ready app`);
      t.ok(effects.filter((e) => e.type === 'callOffline').length <= 1 && (!effects.some((e) => e.type === 'callOffline') || state.offline === 'none'), `${cell}: the offline calls once per time in service`);
      if (state.stopping) t.ok(after.stopping, `${cell}: a stop is not undone`);
      if (after.registered.present && after.offline !== 'calling') t.ok(inService(after.app) && after.online === 'yes' && !after.leaving && !after.draining, `${cell}: registered only in service and online (or held while the offline calls are made)`);
      t.match(trafficLine(after), /^traffic: (in|out of) service/, `${cell}: printable`);
    }
  }
});

// The cells where something happens, as [state, event, effects, what the state then says].
const cells: Array<[string, string, string[], Partial<TrafficState>]> = [
  ['down', 'ready', ['goOnline'], { round: 1, online: 'going' }],
  ['starting', 'ready', ['goOnline'], { round: 1, online: 'going' }],
  ['going online', 'online round 1 done', ['register up'], { online: 'yes' }],
  ['going online', 'an old round done', [], { online: 'going' }],
  ['going online', 'crash', ['cancelOnline', 'callOffline'], { online: 'no', offline: 'calling', leaving: { since: t0 + 100, by: 'crash' } }],
  ['going online', 'prestop', ['cancelOnline', 'callOffline', 'drain'], { offline: 'calling', draining: { since: t0 + 50, by: 'prestop' } }],
  ['online', 'not ready', ['register down'], { app: 'notReady' }],
  ['online', 'crash', ['cancelOnline', 'callOffline'], { offline: 'calling', leaving: { since: t0 + 100, by: 'crash' } }],
  ['online', 'app stopping', ['cancelOnline', 'callOffline'], { leaving: { since: t0 + 100, by: 'stop' } }],
  ['online', 'prestop', ['cancelOnline', 'callOffline', 'drain'], { offline: 'calling', stopping: false }],
  ['online', 'TERM', ['cancelOnline', 'callOffline', 'drain'], { stopping: true, draining: { since: t0 + 60, by: 'SIGTERM' } }],
  ['online', 'sv down', ['cancelOnline', 'callOffline'], { held: ['d'], leaving: { since: t0 + 100, by: 'sv down' } }],
  ['online', 'sv up', ['letter u'], {}],
  ['online', 'sv term', ['letter t'], {}],
  ['online', 'registry ready', ['register up'], {}],
  ['not ready', 'ready', ['register up'], { app: 'ready' }],
  ['not ready', 'crash', ['cancelOnline', 'callOffline'], { offline: 'calling' }],
  ['offline calls after a crash', 'offline calls done', ['register absent'], { offline: 'done' }],
  ['offline calls after a crash', 'ready', ['goOnline'], { app: 'ready', offline: 'calling', round: 2, leaving: null }],
  ['offline calls after a crash', 'prestop', ['drain'], { draining: { since: t0 + 50, by: 'prestop' } }],
  ['left after a crash', 'ready', ['goOnline'], { round: 2, online: 'going', leaving: null, offline: 'none' }],
  ['prestop, offline calls', 'offline calls done', ['register absent'], { offline: 'done' }],
  ['prestop, offline calls', 'TERM', ['hurry'], { stopping: true }],
  ['prestop, offline calls', 'prestop', [], {}],
  ['drained by prestop', 'sv up', ['undrain', 'goOnline', 'letter u'], { draining: null, round: 2, online: 'going', leaving: null }],
  ['drained by prestop', 'TERM', ['hurry'], { stopping: true }],
  ['drained by prestop', 'sv down', ['letter d'], {}],
  ['prestop while going online', 'online round 1 done', [], { online: 'no' }],
  ['prestop while going online', 'sv up', ['undrain', 'goOnline', 'letter u'], { round: 2, online: 'going' }],
  ['sv down, offline calls', 'offline calls done', ['letter d', 'register absent'], { held: [], offline: 'done' }],
  ['sv down, offline calls', 'sv down', [], { held: ['d', 'd'] }],
  ['sv down, offline calls', 'app stopping', [], { offline: 'calling' }],
  ['stopping', 'sv up', ['letter u'], { stopping: true, draining: { since: t0 + 60, by: 'SIGTERM' } }],
  ['stopping', 'ready', ['goOnline'], { round: 2 }],
  ['registry loading', 'registry ready', ['register up'], { registry: 'ready', registered: { present: true, down: false } }],
  ['registry loading', 'registry failed', [], { registry: 'failed' }],
  ['registry failed', 'crash', ['cancelOnline', 'callOffline'], { registry: 'failed' }],
];

t.test('each event where it matters: its effects, in order, and what the state then says', async (t) => {
  for (const [stateName, eventName, effects, holds] of cells) {
    const { state, effects: got } = next(states[stateName]!, events[eventName]!, both);
    t.same(kinds(got), effects, `${stateName} + ${eventName}: ${effects.join(', ') || 'nothing'}`);
    t.match(state, holds, `${stateName} + ${eventName}: the state`);
  }
});

t.test('the choreography of a time in service: offline calls before deregistration, before the stop letter', async (t) => {
  const { effects } = feed(initialTraffic('ready'), [...ready, online(), letter('d'), offlineDone, app('stopping'), app('down')]);
  t.same(kinds(effects), ['goOnline', 'register up', 'cancelOnline', 'callOffline', 'letter d', 'register absent']);
});

t.test('without calls configured: online at once, the operator\'s letter passes at once', async (t) => {
  const none: TrafficPolicy = { onlineCalls: false, offlineCalls: false };
  const served = feed(initialTraffic('ready'), ready, none);
  t.same(kinds(served.effects), ['goOnline', 'register up']);
  const down = next(served.state, letter('d'), none);
  t.same(kinds(down.effects), ['cancelOnline', 'letter d', 'register absent']);
  // A prestop with no offline calls leaves this time in service open: `sv up` resumes it as it was.
  const drained = feed(served.state, [prestop], none);
  t.same(kinds(drained.effects), ['drain', 'register absent']);
  t.same(kinds(next(drained.state, letter('u'), none).effects), ['undrain', 'letter u', 'register up']);
});

t.test('back in service while the last offline calls are in flight: they hold the registration, then this time in service goes on', async (t) => {
  const back = feed(states['offline calls after a crash']!, [app('ready'), online(2)]);
  t.same(kinds(back.effects), ['goOnline'], 'online again, yet not registered while the calls are in flight');
  const done = next(back.state, offlineDone, both);
  t.same(kinds(done.effects), [], 'held all along: nothing to tell');
  t.same(done.state.registered, { present: true, down: false });
  t.equal(done.state.offline, 'none', 'the offline calls of this time in service are still to make');
  t.same(kinds(next(done.state, app('restarting'), both).effects), ['cancelOnline', 'callOffline'], 'a crash then makes them');
});

t.test('the registration is told only what changes', async (t) => {
  const { state } = feed(initialTraffic('ready'), [...ready, online()]);
  t.same(next(state, app('ready'), both).effects, [], 'a probe that changes nothing tells nothing');
  t.same(desiredFor({ ...state, offline: 'calling' }), 'unchanged');
});

t.test('the traffic line says where it stands', async (t) => {
  t.equal(trafficLine(states.online!), 'traffic: in service, online (round 1), registered up');
  t.equal(trafficLine(states['prestop, offline calls']!), `traffic: in service, online (round 1), registered up, leaving since ${new Date(t0 + 50).toISOString()} (prestop), offline calls in flight, draining (prestop)`);
  t.equal(trafficLine(states['registry failed']!), 'traffic: in service, online (round 1), registry clients failed to load: not registered');
  t.equal(trafficLine(states.down!), 'traffic: out of service, not registered');
});
