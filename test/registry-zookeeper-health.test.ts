// The ZooKeeper session's health as pure functions, without a server or a process: what the watchdog does when;
// and the session's watchdog itself, on a manual clock.

import t from 'tap';
import { pino } from 'pino';
import { ZooKeeperSession } from '../src/registry/zookeeper-session.js';
import { ManualClock } from './helpers/clock.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';
import { acted, connected, describeHealth, disconnected, nextAction, nudgeGraceMs, opened, askEveryMs, outageAfterMs, probed, serversAnswered, type Health } from '../src/registry/zookeeper-health.js';

const T = 4000; // session timeout, ms

/** A session opened at 0 and connected at `at`, its last liveness probe at `at`. */
function up(at = 0): Health {
  const h = connected(opened(undefined, T, 0), T, at);
  return { ...h, lastProbe: at };
}

t.test('connected: a liveness probe every quarter session timeout, one at a time', async (t) => {
  const h = up(0);
  t.same(nextAction(h, T / 4 - 1), { kind: 'idle' }, 'too soon after the last probe');
  const probe = nextAction(h, T / 4);
  t.same(probe, { kind: 'probe', timeoutMs: T / 4 });
  const out = acted(h, probe, T / 4);
  t.equal(out.lastProbe, T / 4);
  t.same(nextAction(out, T), { kind: 'idle' }, 'none while one is out');
  const answered = probed(out, out.session, 'answered');
  t.same(nextAction(answered, T / 2 - 1), { kind: 'idle' });
  t.same(nextAction(answered, T / 2), { kind: 'probe', timeoutMs: T / 4 });
});

t.test('a short session timeout still gives the probe 100 ms', async (t) => {
  const h = connected(opened(undefined, 200, 0), 200, 0);
  t.same(nextAction(h, 1000), { kind: 'probe', timeoutMs: 100 });
});

t.test('a probe that times out drops the connection; one that fails otherwise does not', async (t) => {
  const out = acted(up(0), { kind: 'probe', timeoutMs: T / 4 }, T / 4);
  const stalled = probed(out, out.session, 'timeout');
  t.same(nextAction(stalled, T / 4 + 1), { kind: 'reconnect' });
  const dropped = acted(stalled, { kind: 'reconnect' }, T / 4 + 1);
  t.same(nextAction(dropped, T / 4 + 2), { kind: 'idle' }, 'once');
  t.same(nextAction(probed(out, out.session, 'failed'), T / 4 + 1), { kind: 'idle' });
  const meanwhile = disconnected(out, T / 4 + 1);
  t.notOk(probed(meanwhile, out.session, 'timeout').stalled, 'a timeout found already disconnected is left to the library');
});

t.test('disconnected: patient through a leader election, then asks the servers', async (t) => {
  const down = disconnected(up(0), 10_000);
  const waitFor = Math.max(outageAfterMs, T / 4);
  t.same(nextAction(down, 10_000 + waitFor - 1), { kind: 'idle' });
  const ask = nextAction(down, 10_000 + waitFor);
  t.same(ask, { kind: 'askServers', timeoutMs: 500 });
  const asking = acted(down, ask, 10_000 + waitFor);
  t.same(nextAction(asking, 10_000 + waitFor + 1), { kind: 'idle' }, 'one question at a time');
  const silent = serversAnswered(asking, asking.session, false);
  t.same(nextAction(silent, 10_000 + waitFor + 1), { kind: 'idle' }, 'no server serves: not asked again at once');
  t.same(nextAction(silent, 10_000 + waitFor + askEveryMs), { kind: 'askServers', timeoutMs: 500 }, 'but a second later');
  const late = { ...silent, jitter: 0.5 };
  t.same(nextAction(late, 10_000 + waitFor + askEveryMs), { kind: 'idle' }, "a session's jitter spreads the asking over 1–2 s");
  t.same(nextAction(late, 10_000 + waitFor + askEveryMs * 1.5), { kind: 'askServers', timeoutMs: 500 });
  const serving = serversAnswered(asking, asking.session, true);
  const nudge = nextAction(serving, 10_000 + waitFor + 1);
  t.same(nudge, { kind: 'reconnect' }, 'a server serves: the others are tried with the same session first (a rolling restart)');
  const nudged = acted(serving, nudge, 10_000 + waitFor + 1);
  t.same(nextAction(nudged, 10_000 + waitFor + nudgeGraceMs), { kind: 'idle' }, 'the library gets its turn through the servers');
  const again = acted(nudged, { kind: 'askServers', timeoutMs: 500 }, 10_000 + waitFor + nudgeGraceMs + 1);
  const stillServing = serversAnswered(again, again.session, true);
  t.same(nextAction(stillServing, 10_000 + waitFor + nudgeGraceMs + 2), { kind: 'newSession', why: 'a ZooKeeper server serves again but the session did not come back', firstReport: true }, 'still not back: refused, a new session');
});

t.test('disconnected past 4/3 of the session timeout: the servers dropped it, a new session', async (t) => {
  const down = disconnected(up(0), 10_000);
  const edge = 10_000 + (T * 4) / 3;
  t.not(nextAction(down, edge).kind, 'newSession');
  t.same(nextAction(down, edge + 1), { kind: 'newSession', why: 'no ZooKeeper server answered within the session timeout', firstReport: true });
  const jittered = { ...down, jitter: 0.8 };
  t.not(nextAction(jittered, edge + 1).kind, 'newSession', "a session's jitter puts its give-up later");
  t.equal(nextAction(jittered, edge + (0.8 * T) / 4 + 1).kind, 'newSession', 'by up to a quarter of the timeout');
  t.same(nextAction({ ...down, probing: 'servers' }, edge + 1), { kind: 'idle' }, 'not while a probe is out');
});

t.test('a server that serves again once we are back changes nothing', async (t) => {
  const down = disconnected(up(0), 10_000);
  const asking = acted(down, { kind: 'askServers', timeoutMs: 500 }, 12_000);
  const back = connected(asking, T, 12_100);
  const answered = serversAnswered(back, back.session, true);
  t.notOk(answered.serving);
  t.equal(answered.probing, undefined);
  t.same(nextAction({ ...answered, lastProbe: 12_100 }, 12_200), { kind: 'idle' });
});

t.test('one outage is reported once, across the sessions tried during it; a connect ends it', async (t) => {
  const down = disconnected(up(0), 10_000);
  const giveUp = nextAction(down, 20_000);
  t.equal(giveUp.kind === 'newSession' && giveUp.firstReport, true);
  const next = opened(acted(down, giveUp, 20_000), T, 20_000);
  t.equal(next.session, down.session + 1, 'a new session');
  t.equal(next.since, 20_000);
  t.notOk(next.connected);
  const again = nextAction(next, 30_000);
  t.equal(again.kind === 'newSession' && again.firstReport, false, 'the second give-up is quiet');
  const reconnected = connected(next, T, 31_000);
  const later = nextAction(disconnected(reconnected, 32_000), 40_000);
  t.equal(later.kind === 'newSession' && later.firstReport, true, 'a new outage is reported again');
});

t.test('the negotiated session timeout is the one that counts', async (t) => {
  const h = connected(opened(undefined, 10_000, 0), 4000, 0);
  t.equal(h.sessionTimeoutMs, 4000);
  t.equal(nextAction(disconnected(h, 0), (4000 * 4) / 3 + 1).kind, 'newSession');
});

t.test('an answer about an earlier session frees the probe and changes nothing else', async (t) => {
  const out = acted(up(0), { kind: 'probe', timeoutMs: T / 4 }, T / 4);
  const renewed = opened(out, T, T / 4 + 1);
  t.equal(renewed.probing, 'liveness', 'the old probe still counts as out');
  const late = probed(renewed, out.session, 'timeout');
  t.equal(late.probing, undefined);
  t.notOk(late.stalled);
  const asking = acted(disconnected(up(0), 0), { kind: 'askServers', timeoutMs: 500 }, 2000);
  const lateServers = serversAnswered(opened(asking, T, 2100), asking.session, true);
  t.notOk(lateServers.serving);
});

t.test('the record prints in one line', async (t) => {
  const h = acted(disconnected(up(0), 1000), { kind: 'askServers', timeoutMs: 500 }, 2500);
  const line = describeHealth(h, 2500);
  t.equal(line, 'session 1, disconnected 1500 ms, timeout 4000 ms, probing servers');
  t.notMatch(line, /\n/);
});

t.test("the session's watchdog keeps the clock it is given: a session no server takes is given up past 4/3 of its timeout", async (t) => {
  const clock = new ManualClock();
  const port = await freePort(); // nothing listens: every connect is refused
  const ended: (string | undefined)[] = [];
  const session = new ZooKeeperSession({ hosts: `127.0.0.1:${port}`, sessionTimeoutMs: T, log: pino({ level: 'silent' }), clock }, { changed: () => undefined, ended: (error) => ended.push(error), drift: () => undefined });
  t.teardown(() => session.close());
  session.current();
  await clock.pass((T * 4) / 3, 250);
  t.same(ended, [], 'kept until 4/3 of the timeout on its clock, however long the test took');
  await clock.pass(T / 4 + 250, 250);
  await waitFor('the session to be given up', () => ended.length > 0, 2000);
  t.same(ended, [undefined], 'given up once, within a quarter timeout more (its jitter) and a watchdog beat');
});
