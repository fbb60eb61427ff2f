import t from 'tap';
import { registrationWait, servicesOnlyVerdict, verdict, type Waiting } from '../src/agent/verdict.js';
import { initialState, type AppState } from '../src/app/machine.js';
import type { FailureReport } from '../src/app/report.js';
import type { Reconciler } from '../src/registry/reconciler.js';
import type { RegistrationState } from '../src/registry/registration.js';

// The agent answers on its control socket before it has spawned the app: a probe then (the real
// runtime's exec is quick enough to land there) hears that the app is starting, not that it is
// wanted down.
t.test('before the app is spawned the verdict says starting', async (t) => {
  const now = Date.now();
  t.same(verdict(initialState(now), null, false, now), { ready: false, reason: 'not ready: starting (app not spawned yet)' });
  t.same(verdict({ ...initialState(now), want: 'down' }, null, false, now), { ready: false, reason: 'not ready: app is down (want down)' }, 'taken down by the operator, it says so');
});

// Every phase of the app, and what a ready one still waits for, as [case, state, report, draining, waiting, verdict].
t.test('the verdict of each phase', async (t) => {
  const now = 1_700_000_100_000;
  const base = initialState(now - 5000);
  const probe = { ok: true, detail: 'http 200 /healthcheck in 3ms', at: now };
  const failing = { ok: false, detail: '/healthcheck connect ECONNREFUSED 127.0.0.1:8080', at: now };
  const report: FailureReport = { kind: 'exited', reason: 'startup failed: app exited with status 1 after 3.2s', at: new Date(now).toISOString(), startedAt: null, afterMs: 3200, exit: { code: 1, signal: null }, command: ['java'], lastOutput: [] };
  const found: FailureReport = { ...report, findings: [{ cause: 'port-in-use', summary: 'port 8080 is already in use', evidence: [] }] };
  const ready: AppState = { ...base, phase: 'ready', pid: 42, startedAt: now - 5000, probe };
  const cases: Array<[string, AppState, FailureReport | null, boolean, Waiting, boolean, string]> = [
    ['ready', ready, null, false, {}, true, 'ready (http 200 /healthcheck in 3ms)'],
    ['ready, going online', ready, null, false, { goingOnline: 'gateway: 503, retrying in 2s' }, false, 'not ready: going online (gateway: 503, retrying in 2s)'],
    ['ready, registering', ready, null, false, { registering: 'zookeeper' }, false, 'not ready: registering (zookeeper) (http 200 /healthcheck in 3ms)'],
    ['ready, going online comes before registering', ready, null, false, { goingOnline: 'gateway: calling', registering: 'zookeeper' }, false, 'not ready: going online (gateway: calling)'],
    ['ready, registration lost', ready, null, false, { registryOutage: 'zookeeper unreachable for 12s' }, true, 'ready (http 200 /healthcheck in 3ms); registration lost (zookeeper unreachable for 12s): Ready kept, retrying'],
    ['draining', ready, null, true, {}, false, 'not ready: draining'],
    ['draining while failed', { ...base, phase: 'failed' }, report, true, {}, false, 'not ready: draining'],
    ['starting', { ...base, phase: 'starting', pid: 42, startedAt: now - 1500, probe: failing }, null, false, {}, false, 'not ready: starting for 1.5s (/healthcheck connect ECONNREFUSED 127.0.0.1:8080)'],
    ['not ready', { ...ready, phase: 'notReady', probe: failing }, null, false, {}, false, 'not ready: health check failing (/healthcheck connect ECONNREFUSED 127.0.0.1:8080)'],
    ['failed', { ...base, phase: 'failed' }, report, false, {}, false, 'not ready: startup failed: app exited with status 1 after 3.2s (nile status has the report)'],
    ['failed, with a finding', { ...base, phase: 'failed' }, found, false, {}, false, 'not ready: startup failed: app exited with status 1 after 3.2s; port 8080 is already in use (nile status has the report)'],
    ['failed, healthy since', { ...base, phase: 'failed', pid: 42, probe }, report, false, {}, false, 'not ready: startup failed: app exited with status 1 after 3.2s; the app answers its probe now (http 200 /healthcheck in 3ms): nile sv up app resumes it (nile status has the report)'],
    ['failed, no report yet', { ...base, phase: 'failed' }, null, false, {}, false, 'not ready: startup failed (nile status has the report)'],
    ['restarting', { ...base, phase: 'restarting' }, report, false, {}, false, 'not ready: restarting after: startup failed: app exited with status 1 after 3.2s'],
    ['down before the first spawn', base, null, false, {}, false, 'not ready: starting (app not spawned yet)'],
    ['down after a crash', { ...base, phase: 'down', want: 'down' }, report, false, {}, false, 'not ready: app is down after: startup failed: app exited with status 1 after 3.2s'],
    ['down, wanted so', { ...base, want: 'down' }, null, false, {}, false, 'not ready: app is down (want down)'],
    ['stopping', { ...ready, phase: 'stopping' }, null, false, {}, false, 'not ready: stopping'],
    ['stopped', { ...base, phase: 'stopped' }, null, false, {}, false, 'not ready: stopped'],
  ];
  for (const [name, state, failure, draining, waiting, ready, reason] of cases) t.same(verdict(state, failure, draining, now, waiting), { ready, reason }, name);
  const phases = new Set(cases.map(([, state]) => state.phase));
  t.same([...phases].sort(), ['down', 'failed', 'notReady', 'ready', 'restarting', 'starting', 'stopped', 'stopping'], 'every phase is in the table');
});

t.test('what the registration, as it stands, keeps a ready app waiting for', async (t) => {
  const reconciler = (pending: string | null) => ({ pending: () => pending }) as unknown as Reconciler;
  const cases: Array<[string, RegistrationState, string | null]> = [
    ['none configured', { state: 'none' }, null],
    ['clients loading', { state: 'loading' }, 'loading the registry clients'],
    ['clients failed to load', { state: 'failed', error: "Cannot find module 'node-zookeeper-client'" }, "the registry clients failed to load: Cannot find module 'node-zookeeper-client'"],
    ['up, not yet confirmed', { state: 'ready', reconciler: reconciler('zookeeper: connect ECONNREFUSED') }, 'zookeeper: connect ECONNREFUSED'],
    ['up and confirmed', { state: 'ready', reconciler: reconciler(null) }, null],
  ];
  for (const [name, registration, waits] of cases) {
    t.equal(registrationWait(registration, 'ready'), waits, name);
    t.equal(registrationWait(registration, 'notReady'), null, `${name}: nothing to wait for while the app is not ready`);
  }
  t.same(servicesOnlyVerdict(false), { ready: true, reason: 'ready: no app configured (services only)' });
  t.same(servicesOnlyVerdict(true), { ready: false, reason: 'not ready: draining' });
});
