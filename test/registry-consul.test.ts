// The Consul backends (mode kv and mode service) against the Consul test double: what nginx upsync reads, down,
// removal, heartbeats across the TTL, lost sessions and forgotten services coming back, a restarted Consul,
// and ACL tokens that never reach a log line or an error.

import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import type { Log } from '../src/log.js';
import type { Backend, Desired, Instance } from '../src/registry/backend.js';
import { createConsulKvBackend } from '../src/registry/consul-kv.js';
import { createConsulServiceBackend } from '../src/registry/consul-service.js';
import { Reconciler } from '../src/registry/reconciler.js';
import { registering } from '../src/agent/verdict.js';
import { consulCall } from './consul-double/client.js';
import { ConsulDouble, type ConsulDoubleOptions } from './consul-double/index.js';
import { eventually, waitFor } from './helpers/wait.js';
import { ManualClock } from './helpers/clock.js';
import type { Clock } from '../src/toolbox/clock.js';
import { within } from '../src/toolbox/sleep.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const TTL_MS = 1000;
const instance: Instance = { upstream: 'demo-web', address: '10.1.2.3', port: 8080, weight: 3, maxFails: 2, failTimeout: 10 };
const KEY = 'upstreams/demo-web/10.1.2.3:8080';
const SERVICE_ID = 'demo-web-10.1.2.3-8080';
const CHECK_ID = `service:${SERVICE_ID}`;
const ready: Desired = { present: true, down: false };

async function startDouble(t: Teardown, options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  // Consul's 10s floor for session TTLs is lifted so that 1s sessions keep these tests fast.
  const double = await ConsulDouble.start({ minTtlMs: 0, ...options });
  t.teardown(() => double.stop());
  return double;
}

/** A pino log whose lines the test can read. */
function capturedLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), text: () => lines.join('') };
}

/**
 * Where time is the subject (heartbeats across TTLs), one manual clock runs the double's TTLs, the backend's
 * heartbeats and the reconciler's backoff: the test moves it, and each heartbeat it fires ends before the next step.
 */
class HeartbeatTime {
  readonly clock = new ManualClock();
  private scheduled = 0;
  private fired = 0;
  /** The backend's clock: the shared one, counting the heartbeats it schedules and fires. */
  readonly backend: Clock = {
    now: () => this.clock.now(),
    after: (ms, fn) => {
      this.scheduled += 1;
      return this.clock.after(ms, () => {
        this.fired += 1;
        fn();
      });
    },
  };

  /** Moves time `ms` on, a quarter TTL at a time (a heartbeat comes every 1/4–1/3 TTL), or until `until` holds. */
  async pass(ms: number, until: () => boolean | Promise<boolean> = () => false): Promise<void> {
    for (let passed = 0; passed < ms && !(await until()); passed += TTL_MS / 4) {
      this.clock.advance(Math.min(TTL_MS / 4, ms - passed));
      // A heartbeat is over once it has scheduled the next.
      await waitFor('the heartbeat to end', () => this.scheduled > this.fired, 5000, { everyMs: 5 });
    }
  }
}

type Mode = 'kv' | 'service';

function backendFor(t: Teardown, mode: Mode, url: string, extra: { tokenFile?: string; log?: Log; clock?: Clock } = {}): Backend {
  const options = { url, ttlMs: TTL_MS, instance, log: extra.log ?? capturedLog().log, tokenFile: extra.tokenFile, clock: extra.clock };
  const backend = mode === 'kv' ? createConsulKvBackend({ ...options, prefix: 'upstreams' }) : createConsulServiceBackend(options);
  t.teardown(() => backend.close());
  return backend;
}

/** Re-applies on drift, as the reconciler will, and counts the drifts. */
function reconcileOnDrift(backend: Backend, desired: Desired): { drifts: number } {
  const seen = { drifts: 0 };
  backend.onDrift(() => {
    seen.drifts += 1;
    backend.apply(desired).catch(() => undefined);
  });
  return seen;
}

async function readKey(url: string, token?: string): Promise<{ value: Record<string, number>; session: string } | undefined> {
  const answer = await consulCall(url, 'GET', `/kv/${KEY}`, { token });
  if (answer.status === 404) return undefined;
  const [entry] = answer.json;
  return { value: JSON.parse(Buffer.from(entry.Value, 'base64').toString('utf8')), session: entry.Session };
}

async function passingInstances(url: string, token?: string): Promise<string[]> {
  const answer = await consulCall(url, 'GET', '/health/service/demo-web?passing', { token });
  return answer.json.map((e: { Service: { ID: string } }) => e.Service.ID);
}


t.test('kv: the upsync JSON under <prefix>/<upstream>/<ip>:<port>, held by a TTL session with Behavior delete', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'kv', double.url);
  await backend.apply(ready);

  const key = await readKey(double.url);
  t.same(key?.value, { weight: 3, max_fails: 2, fail_timeout: 10, down: 0, backup: 0 });
  const info = await consulCall(double.url, 'GET', `/session/info/${key?.session}`);
  t.match(info.json, [{ TTL: '1s', Behavior: 'delete', LockDelay: 0, NodeChecks: [] }]);
  t.match(backend.status(), { backend: 'consul-kv', state: 'registered', registered: true });
  t.equal(backend.name, 'consul-kv');
});

t.test('kv: down rewrites the value with down:1 under the same session', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'kv', double.url);
  await backend.apply(ready);
  const before = await readKey(double.url);
  await backend.apply({ present: true, down: true });
  const after = await readKey(double.url);
  t.equal(after?.value.down, 1);
  t.equal(after?.session, before?.session);
  t.match(backend.status(), { state: 'down', registered: true });
  await backend.apply(ready);
  t.equal((await readKey(double.url))?.value.down, 0, 'and back to 0 when ready again');
});

t.test('kv: heartbeats keep the session alive across more than twice the TTL', async (t) => {
  const time = new HeartbeatTime();
  const double = await startDouble(t, { clock: time.clock });
  const backend = backendFor(t, 'kv', double.url, { clock: time.backend });
  const { drifts } = reconcileOnDrift(backend, ready);
  await backend.apply(ready);
  const first = await readKey(double.url);
  await time.pass(2.6 * TTL_MS);
  const later = await readKey(double.url);
  t.equal(later?.session, first?.session, 'same session, never expired');
  t.equal(drifts, 0);
});

t.test('kv: removal deletes the key and destroys the session', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'kv', double.url);
  await backend.apply(ready);
  await backend.apply({ present: false });
  t.equal(await readKey(double.url), undefined);
  t.same((await consulCall(double.url, 'GET', '/session/list')).json, []);
  t.match(backend.status(), { state: 'absent', registered: false });
  await backend.apply({ present: false });
  t.pass('removing again is harmless');
});

t.test('kv: a session gone under nile (renew 404) comes back with a new one, and drift is signalled', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'kv', double.url);
  const seen = reconcileOnDrift(backend, ready);
  await backend.apply(ready);
  const first = await readKey(double.url);
  await consulCall(double.url, 'PUT', `/session/destroy/${first?.session}`);
  t.equal(await readKey(double.url), undefined, 'Behavior delete took the key with the session');

  t.ok(await eventually(async () => (await readKey(double.url))?.session !== undefined), 'the key is back');
  const back = await readKey(double.url);
  t.not(back?.session, first?.session, 'under a new session');
  t.equal(back?.value.down, 0);
  t.ok(seen.drifts >= 1, 'drift listeners were called');
});

t.test('kv: a key deleted behind nile comes back', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'kv', double.url);
  const seen = reconcileOnDrift(backend, ready);
  await backend.apply(ready);
  await consulCall(double.url, 'DELETE', `/kv/${KEY}`);
  t.ok(await eventually(async () => (await readKey(double.url)) !== undefined), 'the key is back');
  t.ok(seen.drifts >= 1);
});

t.test('kv: the key of this ip:port held by an earlier session is taken over', async (t) => {
  const double = await startDouble(t);
  const earlier = await consulCall(double.url, 'PUT', '/session/create', { body: { TTL: '10s', Behavior: 'delete', LockDelay: '0s', Checks: [] } });
  const stale = earlier.json.ID as string;
  const held = await consulCall(double.url, 'PUT', `/kv/${KEY}?acquire=${stale}`, { body: '{"weight":1,"max_fails":2,"fail_timeout":10,"down":1,"backup":0}' });
  t.same(held.json, true, 'an earlier run holds the key');

  const { log, text } = capturedLog();
  const backend = backendFor(t, 'kv', double.url, { log });
  await backend.apply(ready);
  const key = await readKey(double.url);
  t.ok(key?.session && key.session !== stale, 'now held by our session');
  t.equal(key?.value.down, 0);
  t.match(text(), /taking over the key from an earlier session/);
});

t.test('kv: a restarted Consul that lost everything gets the key again', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'kv', double.url);
  const seen = reconcileOnDrift(backend, ready);
  await backend.apply(ready);
  await double.restart(300);
  t.equal(await readKey(double.url), undefined, 'the restart lost the key');
  t.ok(await eventually(async () => (await readKey(double.url)) !== undefined), 'the key is back');
  t.ok(seen.drifts >= 1, 'the heartbeat noticed and signalled drift');
  t.ok(await eventually(async () => backend.status().state === 'registered', 2000), 'status is registered again');
});

t.test('service: Name, ID, Address, Port, upsync tags and a passing TTL check with DeregisterCriticalServiceAfter 1m', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'service', double.url);
  await backend.apply(ready);

  const services = (await consulCall(double.url, 'GET', '/agent/services')).json;
  t.match(services[SERVICE_ID], { ID: SERVICE_ID, Service: 'demo-web', Address: '10.1.2.3', Port: 8080 });
  t.same(services[SERVICE_ID].Tags, ['weight=3', 'max_fails=2', 'fail_timeout=10s']);
  const checks = (await consulCall(double.url, 'GET', '/agent/checks')).json;
  t.match(checks[CHECK_ID], { Status: 'passing', Definition: { TTL: '1s', DeregisterCriticalServiceAfter: '1m0s' } });
  t.same(await passingInstances(double.url), [SERVICE_ID]);
  t.match(backend.status(), { backend: 'consul-service', state: 'registered', registered: true });
});

t.test('service: down turns the check critical (out of ?passing), ready brings it back', async (t) => {
  const time = new HeartbeatTime();
  const double = await startDouble(t, { clock: time.clock });
  const backend = backendFor(t, 'service', double.url, { clock: time.backend });
  await backend.apply(ready);
  await backend.apply({ present: true, down: true });
  t.same(await passingInstances(double.url), []);
  t.match((await consulCall(double.url, 'GET', '/agent/checks')).json[CHECK_ID], { Status: 'critical' });
  t.match(backend.status(), { state: 'down' });
  await time.pass(1.5 * TTL_MS);
  t.same(await passingInstances(double.url), [], 'the heartbeat keeps it critical while down');
  await backend.apply(ready);
  t.same(await passingInstances(double.url), [SERVICE_ID]);
});

t.test('service: heartbeats keep the check passing across more than twice the TTL', async (t) => {
  const time = new HeartbeatTime();
  const double = await startDouble(t, { clock: time.clock });
  const backend = backendFor(t, 'service', double.url, { clock: time.backend });
  const seen = reconcileOnDrift(backend, ready);
  await backend.apply(ready);
  await time.pass(2.6 * TTL_MS);
  t.same(await passingInstances(double.url), [SERVICE_ID]);
  t.equal(seen.drifts, 0);
});

t.test('service: an agent that forgot the service gets it again, and drift is signalled', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'service', double.url);
  const seen = reconcileOnDrift(backend, ready);
  await backend.apply(ready);
  await consulCall(double.url, 'PUT', `/agent/service/deregister/${SERVICE_ID}`);
  t.same(await passingInstances(double.url), []);
  t.ok(await eventually(async () => (await passingInstances(double.url)).length === 1), 'registered and passing again');
  t.ok(seen.drifts >= 1);
});

for (const mode of ['kv', 'service'] as const) {
  t.test(`${mode}: the heartbeat only renews; a lost registration is told as drift and left to the reconciler`, async (t) => {
    const time = new HeartbeatTime();
    const double = await startDouble(t, { clock: time.clock });
    const backend = backendFor(t, mode, double.url, { clock: time.backend });
    let drifts = 0;
    backend.onDrift(() => (drifts += 1));
    await backend.apply(ready);
    if (mode === 'kv') await consulCall(double.url, 'DELETE', `/kv/${KEY}`);
    else await consulCall(double.url, 'PUT', `/agent/service/deregister/${SERVICE_ID}`);
    await time.pass(TTL_MS / 3, () => drifts >= 1);
    t.equal(drifts, 1, 'drift is signalled at the next heartbeat');
    t.match(backend.status(), { state: 'lost', registered: false });
    await time.pass(2 * TTL_MS);
    const held = mode === 'kv' ? (await readKey(double.url)) !== undefined : (await passingInstances(double.url)).length > 0;
    t.notOk(held, 'not registered again behind the reconciler');
    t.equal(drifts, 1, 'told once: the heartbeat stops until an apply holds it again');
    await backend.apply(ready);
    const back = mode === 'kv' ? (await readKey(double.url)) !== undefined : (await passingInstances(double.url)).length === 1;
    t.ok(back, 'the next apply registers it again');
  });
}

t.test('service: a restarted Consul that lost everything gets the service again', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'service', double.url);
  const seen = reconcileOnDrift(backend, ready);
  await backend.apply(ready);
  await double.restart(300);
  t.ok(await eventually(async () => (await passingInstances(double.url)).length === 1), 'registered and passing again');
  t.ok(seen.drifts >= 1);
});

t.test('service: removal deregisters the service and its check', async (t) => {
  const double = await startDouble(t);
  const backend = backendFor(t, 'service', double.url);
  await backend.apply(ready);
  await backend.apply({ present: false });
  t.same((await consulCall(double.url, 'GET', '/agent/services')).json, {});
  t.same((await consulCall(double.url, 'GET', '/agent/checks')).json, {});
  t.match(backend.status(), { state: 'absent', registered: false });
});

for (const mode of ['kv', 'service'] as const) {
  t.test(`${mode}: a missing token file is an error naming the file`, async (t) => {
    const double = await startDouble(t, { tokens: { 'the-right-one': ['*'] } });
    const dir = t.testdir({});
    const backend = backendFor(t, mode, double.url, { tokenFile: `${dir}/consul-token` });
    await t.rejects(backend.apply(ready), { message: `consul: cannot read the ACL token file ${dir}/consul-token (ENOENT)` });
    t.match(backend.status(), { state: 'error', registered: false, lastError: /consul-token/ });
  });

  t.test(`${mode}: an empty token file is an error, not an anonymous registration`, async (t) => {
    const double = await startDouble(t);
    const dir = t.testdir({ token: '\n' });
    const backend = backendFor(t, mode, double.url, { tokenFile: `${dir}/token` });
    await t.rejects(backend.apply(ready), { message: `consul: the ACL token file ${dir}/token is empty` });
  });

  t.test(`${mode}: a wrong token is a clear 403, and no token reaches a log line or an error`, async (t) => {
    const secret = 'a1b2c3d4-secret-token-value';
    const wrong = 'ffff0000-wrong-token-value';
    const double = await startDouble(t, { tokens: { [secret]: ['key:write', 'session:write', 'service:write'] } });
    const dir = t.testdir({ wrong: `${wrong}\n`, right: `  ${secret}\n` });
    const { log, text } = capturedLog();

    const refused = backendFor(t, mode, double.url, { tokenFile: `${dir}/wrong`, log });
    const firstCall = mode === 'kv' ? 'PUT /v1/session/create' : 'PUT /v1/agent/service/register';
    await t.rejects(refused.apply(ready), { message: `consul: 403 ACL not found on ${firstCall}` });

    const accepted = backendFor(t, mode, double.url, { tokenFile: `${dir}/right`, log });
    const seen = reconcileOnDrift(accepted, ready);
    await accepted.apply(ready);
    await double.restart(200); // heartbeat failures and a recovery, so that warnings get logged
    t.ok(await eventually(async () => seen.drifts >= 1 && accepted.status().state === 'registered'), 'back after the restart, with the token');
    await accepted.apply({ present: false });

    const logged = text();
    t.match(logged, /consul registration lost/, 'the log did record the trouble');
    t.notOk(logged.includes(secret), 'the right token is in no log line');
    t.notOk(logged.includes(wrong), 'nor the wrong one');
    t.notOk(JSON.stringify(refused.status()).includes(wrong), 'nor in the status');
  });
}

t.test('kv: a token without session rights surfaces Permission denied', async (t) => {
  const secret = 'only-keys-token';
  const double = await startDouble(t, { tokens: { [secret]: ['key:write'] } });
  const dir = t.testdir({ token: secret });
  const backend = backendFor(t, 'kv', double.url, { tokenFile: `${dir}/token` });
  const error = await backend.apply(ready).catch((err: Error) => err);
  t.match(error, { message: /^consul: 403 Permission denied: .*'session:write'.* on PUT \/v1\/session\/create$/ });
  t.notOk(String((error as Error).message).includes(secret));
});

t.test('an unreachable Consul is a rejected apply, not a crash', async (t) => {
  const double = await startDouble(t);
  const url = double.url;
  await double.stop();
  const backend = backendFor(t, 'kv', url);
  await t.rejects(backend.apply(ready), { message: /^consul: .*ECONNREFUSED.* on PUT \/v1\/session\/create$/ });
  t.match(backend.status(), { state: 'error' });
});

/** A reconciler over `backend`, holding the registration of a ready app; torn down with the test. */
async function registeredBy(t: Teardown, backend: Backend, clock?: Clock): Promise<Reconciler> {
  const reconciler = new Reconciler([backend], pino({ level: 'silent' }), { backoff: { baseMs: 50, capMs: 200 }, clock });
  t.teardown(() => reconciler.close());
  reconciler.want(ready);
  // Bounded in real time too: on a manual clock, the deadline of `settled` passes only when the test moves it.
  if (!(await within(reconciler.settled(5000), 5000, false))) throw new Error(`not registered: ${reconciler.pending(ready)}`);
  return reconciler;
}

// Failed before: the backend read its token file once, so the heartbeat kept sending the deleted token (403) and the
// registration died with its session.
for (const mode of ['kv', 'service'] as const) {
  t.test(`${mode}: a token rotated while running is read at its next use; the registration never lapses`, async (t) => {
    const [before, after] = ['token-before-rotation', 'token-after-rotation'];
    const rights = ['key:write', 'session:write', 'service:write'];
    const time = new HeartbeatTime();
    const double = await startDouble(t, { tokens: { [before]: rights }, clock: time.clock });
    const dir = t.testdir({ token: `${before}\n` });
    const { log, text } = capturedLog();
    const backend = backendFor(t, mode, double.url, { tokenFile: `${dir}/token`, log, clock: time.backend });
    await registeredBy(t, backend, time.clock);
    writeFileSync(`${dir}/token`, `${after}\n`);
    double.setTokens({ [after]: rights });
    await time.pass(3 * TTL_MS); // several heartbeats and more than a session's grace
    t.match(backend.status(), { state: 'registered', registered: true }, 'still registered');
    if (mode === 'kv') t.ok(await readKey(double.url, after), 'the key is held');
    else t.same(await passingInstances(double.url, after), [SERVICE_ID], 'the service passes');
    t.notMatch(text(), /\b403\b/, 'no call went out with the deleted token'); // a word: a log line's timestamp may hold the digits
  });
}

// Consul without a leader answers 500 "No cluster leader" to what needs one; its sessions do not expire meanwhile.
t.test('kv: no cluster leader for a while: the pod stays Ready, the status says unreachable, the same session holds the key again', async (t) => {
  const time = new HeartbeatTime();
  const double = await startDouble(t, { clock: time.clock });
  const backend = backendFor(t, 'kv', double.url, { clock: time.backend });
  const reconciler = await registeredBy(t, backend, time.clock);
  const held = await readKey(double.url);
  double.loseLeader();
  await time.pass(TTL_MS / 3, () => backend.status().state === 'unreachable');
  t.equal(backend.status().state, 'unreachable', 'the next heartbeat finds no leader');
  t.match(backend.status(), { registered: true, lastError: /500 rpc error making call: No cluster leader/ }, 'and says so');
  t.equal(registering(reconciler, 'ready'), null, 'Ready is kept');
  await time.pass(3 * TTL_MS); // longer than the session's TTL and grace
  double.electLeader();
  await time.pass(TTL_MS / 3, () => backend.status().state === 'registered');
  t.match(backend.status(), { state: 'registered' }, 'registered again at the next heartbeat once a leader is elected');
  t.same(await readKey(double.url), held, 'the same session holds the same value: nothing was lost');
  t.equal(registering(reconciler, 'ready'), null);
});

for (const mode of ['kv', 'service'] as const) {
  t.test(`${mode}: an agent restart loses the registration; while the agent is down the pod stays Ready; it comes back by itself`, async (t) => {
    const time = new HeartbeatTime();
    const double = await startDouble(t, { clock: time.clock });
    const backend = backendFor(t, mode, double.url, { clock: time.backend });
    const reconciler = await registeredBy(t, backend, time.clock);
    await double.goDown();
    await time.pass(TTL_MS / 3, () => backend.status().state === 'unreachable');
    t.equal(backend.status().state, 'unreachable', 'the next heartbeat finds the agent gone');
    // A kept-alive connection the agent closed, or the port closed: the agent went away.
    t.match(reconciler.status(), [{ state: 'unreachable', lastError: /ECONNREFUSED|socket hang up/ }], 'the status says why');
    t.equal(registering(reconciler, 'ready'), null, 'Ready is kept');
    await time.pass(4 * TTL_MS);
    await double.comeBack();
    const back = mode === 'kv' ? async () => (await readKey(double.url)) !== undefined : async () => (await passingInstances(double.url)).includes(SERVICE_ID);
    await time.pass(TTL_MS, back);
    t.ok(await back(), 'registered again at the next heartbeat once the agent answers');
    const settled = reconciler.settled(0);
    time.clock.advance(0);
    t.ok(await settled, 'and the reconciler holds it');
  });
}
