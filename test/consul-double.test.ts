// The Consul test double against the behaviour Consul documents for sessions, KV locks, blocking queries,
// agent services with TTL checks, health, ACLs and restarts.

import t from 'tap';
import { consulCall } from './consul-double/client.js';
import { ConsulDouble, type ConsulDoubleOptions } from './consul-double/index.js';
import { ManualClock } from './helpers/clock.js';
import { waitFor } from './helpers/wait.js';

async function startDouble(t: { teardown(fn: () => unknown): void }, options: ConsulDoubleOptions = { minTtlMs: 0 }): Promise<ConsulDouble> {
  const double = await ConsulDouble.start(options);
  t.teardown(() => double.stop());
  return double;
}

async function createSession(url: string, body: object): Promise<string> {
  const created = await consulCall(url, 'PUT', '/session/create', { body });
  if (created.status !== 200) throw new Error(`session create: ${created.status} ${created.text}`);
  return created.json.ID as string;
}

const key = (k: string) => encodeURIComponent(k);

t.test('session create, info, list, renew and destroy', async (t) => {
  const double = await startDouble(t);
  const id = await createSession(double.url, { Name: 'nile', TTL: '1s', Behavior: 'delete', LockDelay: '0s', Checks: [] });
  t.match(id, /^[0-9a-f-]{36}$/);

  const info = await consulCall(double.url, 'GET', `/session/info/${id}`);
  t.equal(info.status, 200);
  t.ok(info.index && info.index > 0, 'X-Consul-Index set');
  t.match(info.json, [{ ID: id, Name: 'nile', TTL: '1s', Behavior: 'delete', LockDelay: 0, NodeChecks: [] }]);

  const defaults = await createSession(double.url, {});
  const list = await consulCall(double.url, 'GET', '/session/list');
  t.same(list.json.map((s: { ID: string }) => s.ID).sort(), [id, defaults].sort());
  t.match(list.json.find((s: { ID: string }) => s.ID === defaults), { Behavior: 'release', LockDelay: 15e9, NodeChecks: ['serfHealth'] });

  const renewed = await consulCall(double.url, 'PUT', `/session/renew/${id}`);
  t.equal(renewed.status, 200);
  t.match(renewed.json, [{ ID: id }]);

  t.same((await consulCall(double.url, 'PUT', `/session/destroy/${id}`)).json, true);
  t.same((await consulCall(double.url, 'PUT', `/session/destroy/${id}`)).json, true, 'destroy is idempotent');
  t.same((await consulCall(double.url, 'GET', `/session/info/${id}`)).json, [], 'info of a gone session is []');
  const gone = await consulCall(double.url, 'PUT', `/session/renew/${id}`);
  t.equal(gone.status, 404);
  t.equal(gone.text, `Session id '${id}' not found`);
});

t.test('session TTL under the minimum is refused, as Consul refuses under 10s', async (t) => {
  const double = await startDouble(t, {});
  const refused = await consulCall(double.url, 'PUT', '/session/create', { body: { TTL: '5s' } });
  t.equal(refused.status, 500);
  t.match(refused.text, /Invalid Session TTL '5000000000', must be between \[10s=24h0m0s\]/);
  t.equal((await consulCall(double.url, 'PUT', '/session/create', { body: { TTL: '10s' } })).status, 200);
});

// Time is the subject of the TTL, lock-delay and reaper tests: the double runs on a manual clock they move.

t.test('a TTL session lives until twice its TTL without renewal, and as long as it is renewed', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, clock });
  const idle = await createSession(double.url, { TTL: '400ms', Checks: [] });
  const renewed = await createSession(double.url, { TTL: '400ms', Checks: [] });
  const renewingFor = async (ms: number) => {
    for (let passed = 0; passed < ms; passed += 100) {
      clock.advance(100);
      t.equal((await consulCall(double.url, 'PUT', `/session/renew/${renewed}`)).status, 200);
    }
  };

  await renewingFor(700);
  clock.advance(99);
  t.equal((await consulCall(double.url, 'GET', `/session/info/${idle}`)).json.length, 1, "alive past its TTL, a lower bound: Consul's leader times it at 2×TTL");
  clock.advance(1);
  t.same((await consulCall(double.url, 'GET', `/session/info/${idle}`)).json, [], 'gone at 2×TTL');
  t.equal((await consulCall(double.url, 'PUT', `/session/renew/${idle}`)).status, 404);
  t.equal((await consulCall(double.url, 'GET', `/session/info/${renewed}`)).json.length, 1, 'the renewed one lives on');
});

t.test('invalidation with Behavior release unlocks the key and lock-delay holds it back', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, clock });
  const holder = await createSession(double.url, { TTL: '10s', Behavior: 'release', LockDelay: '400ms', Checks: [] });
  const other = await createSession(double.url, { TTL: '10s', Checks: [] });
  t.same((await consulCall(double.url, 'PUT', `/kv/lock?acquire=${holder}`, { body: 'v1' })).json, true);

  await consulCall(double.url, 'PUT', `/session/destroy/${holder}`);
  const released = await consulCall(double.url, 'GET', '/kv/lock');
  t.equal(released.status, 200, 'the key stays');
  t.notOk(released.json[0].Session, 'but is no longer locked');
  t.equal(Buffer.from(released.json[0].Value, 'base64').toString(), 'v1');

  t.same((await consulCall(double.url, 'PUT', `/kv/lock?acquire=${other}`, { body: 'v2' })).json, false, 'refused within the lock-delay');
  clock.advance(399);
  t.same((await consulCall(double.url, 'PUT', `/kv/lock?acquire=${other}`, { body: 'v2' })).json, false, 'refused to its end');
  clock.advance(1);
  t.same((await consulCall(double.url, 'PUT', `/kv/lock?acquire=${other}`, { body: 'v2' })).json, true, 'granted after it');
});

t.test('expiry with Behavior delete deletes the held key', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, clock });
  const holder = await createSession(double.url, { TTL: '150ms', Behavior: 'delete', LockDelay: '0s', Checks: [] });
  t.same((await consulCall(double.url, 'PUT', `/kv/${key('up/web/10.0.0.1:8080')}?acquire=${holder}`, { body: '{}' })).json, true);
  clock.advance(300);
  t.equal((await consulCall(double.url, 'GET', `/kv/${key('up/web/10.0.0.1:8080')}`)).status, 404);
});

t.test('acquire, release, plain writes and check-and-set', async (t) => {
  const double = await startDouble(t);
  const a = await createSession(double.url, { TTL: '10s', Checks: [] });
  const b = await createSession(double.url, { TTL: '10s', Checks: [] });
  const get = async () => (await consulCall(double.url, 'GET', '/kv/k')).json[0];

  t.same((await consulCall(double.url, 'PUT', `/kv/k?acquire=${a}`, { body: 'one' })).json, true, 'a key need not exist to be acquired');
  t.match(await get(), { Session: a, LockIndex: 1 });
  t.same((await consulCall(double.url, 'PUT', `/kv/k?acquire=${b}`, { body: 'x' })).json, false, 'held by another session');
  t.same((await consulCall(double.url, 'PUT', `/kv/k?acquire=${a}`, { body: 'two' })).json, true, 'the holder updates');
  t.match(await get(), { Session: a, LockIndex: 1 }, 'without a new LockIndex');
  t.equal(Buffer.from((await get()).Value, 'base64').toString(), 'two');

  t.same((await consulCall(double.url, 'PUT', '/kv/k', { body: 'plain' })).json, true, 'a plain write passes a lock');
  t.match(await get(), { Session: a }, 'and keeps it');
  t.same((await consulCall(double.url, 'PUT', `/kv/k?release=${b}`, { body: 'x' })).json, false, 'only the holder releases');
  t.same((await consulCall(double.url, 'PUT', `/kv/k?release=${a}`, { body: 'free' })).json, true);
  t.notOk((await get()).Session);

  const invalid = await consulCall(double.url, 'PUT', '/kv/k?acquire=00000000-1111-2222-3333-444444444444', { body: 'x' });
  t.equal(invalid.status, 500);
  t.match(invalid.text, /invalid session/);

  t.same((await consulCall(double.url, 'PUT', '/kv/k?cas=0', { body: 'x' })).json, false, 'cas=0 only creates');
  const modify = (await get()).ModifyIndex as number;
  t.same((await consulCall(double.url, 'PUT', `/kv/k?cas=${modify + 100}`, { body: 'x' })).json, false);
  t.same((await consulCall(double.url, 'PUT', `/kv/k?cas=${modify}&flags=42`, { body: 'cas' })).json, true);
  t.match(await get(), { Flags: 42 });
});

t.test('reads: 404, recurse, keys with separator, recursive delete', async (t) => {
  const double = await startDouble(t);
  const missing = await consulCall(double.url, 'GET', '/kv/nothing');
  t.equal(missing.status, 404);
  t.ok(missing.index && missing.index > 0, 'a 404 carries X-Consul-Index too');

  for (const k of ['up/web/a:1', 'up/web/b:2', 'up/api/c:3']) await consulCall(double.url, 'PUT', `/kv/${key(k)}`, { body: 'v' });
  const all = await consulCall(double.url, 'GET', '/kv/up/web/?recurse');
  t.same(all.json.map((e: { Key: string }) => e.Key), ['up/web/a:1', 'up/web/b:2']);
  t.same((await consulCall(double.url, 'GET', '/kv/up/?keys&separator=/')).json, ['up/api/', 'up/web/']);
  t.same((await consulCall(double.url, 'DELETE', '/kv/up/web/?recurse')).json, true);
  t.same((await consulCall(double.url, 'GET', '/kv/up/?keys')).json, ['up/api/c:3']);
});

t.test('a blocking query returns on a change, or when its wait runs out, always with X-Consul-Index', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, clock });
  /** A blocking read, once the double holds it (its wait is a timer on the clock). */
  const held = async (path: string) => {
    const waits = clock.pending;
    let answered = false;
    const answer = consulCall(double.url, 'GET', path).finally(() => (answered = true));
    const holding = () => clock.pending > waits;
    await waitFor(`the double to hold ${path}`, holding);
    return { answer, answered: () => answered, holding };
  };
  await consulCall(double.url, 'PUT', '/kv/watched', { body: 'before' });
  const first = await consulCall(double.url, 'GET', '/kv/watched');
  const index = first.index as number;

  const timingOut = await held(`/kv/watched?index=${index}&wait=300ms`);
  clock.advance(299);
  t.ok(timingOut.holding(), 'still held a moment before its wait runs out');
  clock.advance(1);
  t.notOk(timingOut.holding(), 'let go when it runs out');
  t.equal((await timingOut.answer).index, index, 'same index on a timeout');

  const blocked = await held(`/kv/watched?index=${index}&wait=5s`);
  await consulCall(double.url, 'PUT', '/kv/watched', { body: 'after' });
  const changed = await blocked.answer;
  t.pass('returned on the change, the clock standing still');
  t.ok((changed.index as number) > index, 'with a higher index');
  t.equal(Buffer.from(changed.json[0].Value, 'base64').toString(), 'after');

  const unrelated = await held(`/kv/watched?index=${changed.index}&wait=300ms`);
  await consulCall(double.url, 'PUT', '/kv/elsewhere', { body: 'x' });
  await consulCall(double.url, 'GET', '/kv/elsewhere');
  t.notOk(unrelated.answered(), 'a write to another key does not end it');
  clock.advance(300);
  t.equal((await unrelated.answer).index, changed.index, 'its wait does');
});

t.test('service with a TTL check: critical first, pass, expiry to critical, health ?passing', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, clock });
  const registered = await consulCall(double.url, 'PUT', '/agent/service/register', {
    body: { Name: 'web', ID: 'web-10.0.0.1-8080', Address: '10.0.0.1', Port: 8080, Tags: ['weight=1'], Check: { TTL: '300ms', DeregisterCriticalServiceAfter: '1m' } },
  });
  t.equal(registered.status, 200);
  const checkId = 'service:web-10.0.0.1-8080';
  t.match((await consulCall(double.url, 'GET', '/agent/checks')).json, { [checkId]: { Status: 'critical', ServiceID: 'web-10.0.0.1-8080', ServiceName: 'web' } });
  t.match((await consulCall(double.url, 'GET', '/agent/services')).json, { 'web-10.0.0.1-8080': { Service: 'web', Address: '10.0.0.1', Port: 8080, Tags: ['weight=1'] } });
  t.same((await consulCall(double.url, 'GET', '/health/service/web?passing')).json, [], 'not passing before the first pass');

  const health = await consulCall(double.url, 'GET', '/health/service/web');
  const blocked = consulCall(double.url, 'GET', `/health/service/web?passing&index=${health.index}&wait=5s`);
  t.equal((await consulCall(double.url, 'PUT', `/agent/check/pass/${checkId}?note=ready`)).status, 200);
  const woken = await blocked;
  t.match(woken.json, [{ Service: { ID: 'web-10.0.0.1-8080' }, Checks: [{ CheckID: 'serfHealth' }, { CheckID: checkId, Status: 'passing', Output: 'ready' }] }]);

  const catalog = await consulCall(double.url, 'GET', '/catalog/service/web');
  t.match(catalog.json, [{ ServiceID: 'web-10.0.0.1-8080', ServiceName: 'web', ServiceAddress: '10.0.0.1', ServicePort: 8080, ServiceTags: ['weight=1'] }]);

  clock.advance(299);
  t.match((await consulCall(double.url, 'GET', '/agent/checks')).json[checkId], { Status: 'passing' }, 'passing until its TTL runs out');
  clock.advance(1);
  t.match((await consulCall(double.url, 'GET', '/agent/checks')).json[checkId], { Status: 'critical', Output: /^TTL expired/ });
  t.same((await consulCall(double.url, 'GET', '/health/service/web?passing')).json, [], 'out of ?passing once the TTL ran out');

  const update = await consulCall(double.url, 'PUT', `/agent/check/update/${checkId}`, { body: { Status: 'warning', Output: 'slow' } });
  t.equal(update.status, 200);
  t.same((await consulCall(double.url, 'GET', '/health/service/web?passing')).json, [], 'warning is not passing');

  const unknown = await consulCall(double.url, 'PUT', '/agent/check/pass/service:nope');
  t.equal(unknown.status, 404);
  t.match(unknown.text, /Unknown check ID "service:nope"/);

  await consulCall(double.url, 'PUT', '/agent/service/deregister/web-10.0.0.1-8080');
  t.same((await consulCall(double.url, 'GET', '/catalog/service/web')).json, []);
  t.same((await consulCall(double.url, 'GET', '/agent/checks')).json, {}, 'its check went with it');
});

t.test('a service critical past DeregisterCriticalServiceAfter is reaped', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, reapIntervalMs: 50, minDeregisterMs: 0, clock });
  await consulCall(double.url, 'PUT', '/agent/service/register', {
    body: { Name: 'api', ID: 'api-1', Port: 9000, Check: { TTL: '100ms', Status: 'passing', DeregisterCriticalServiceAfter: '200ms' } },
  });
  t.equal((await consulCall(double.url, 'GET', '/health/service/api?passing')).json.length, 1);
  clock.advance(250);
  t.ok((await consulCall(double.url, 'GET', '/agent/services')).json['api-1'], 'critical from 100 ms, not yet reaped at 250 ms');
  clock.advance(50);
  t.same((await consulCall(double.url, 'GET', '/agent/services')).json, {});
});

t.test('the Consul minimum of 1m for DeregisterCriticalServiceAfter holds by default', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, reapIntervalMs: 50, clock });
  await consulCall(double.url, 'PUT', '/agent/service/register', { body: { Name: 'api', Check: { TTL: '50ms', DeregisterCriticalServiceAfter: '100ms' } } });
  clock.advance(59_000);
  t.ok((await consulCall(double.url, 'GET', '/agent/services')).json.api, 'still registered');
});

t.test('generated check IDs, and a session bound to a check dies when the check goes critical', async (t) => {
  const double = await startDouble(t);
  await consulCall(double.url, 'PUT', '/agent/service/register', { body: { Name: 'db', Checks: [{ TTL: '10s', Status: 'passing' }, { TTL: '10s', Status: 'passing' }] } });
  await consulCall(double.url, 'PUT', '/agent/service/register', { body: { Name: 'cache', Checks: [{ TTL: '10s' }] } });
  t.same(Object.keys((await consulCall(double.url, 'GET', '/agent/checks')).json).sort(), ['service:cache', 'service:db:1', 'service:db:2']);

  const missing = await consulCall(double.url, 'PUT', '/session/create', { body: { Checks: ['nope'] } });
  t.equal(missing.status, 500);
  t.equal(missing.text, "Missing check 'nope' registration");
  const bound = await createSession(double.url, { Checks: ['serfHealth', 'service:db:1'] });
  await consulCall(double.url, 'PUT', '/agent/check/warn/service:db:1');
  t.equal((await consulCall(double.url, 'GET', `/session/info/${bound}`)).json.length, 1, 'warning keeps it');
  await consulCall(double.url, 'PUT', '/agent/check/fail/service:db:1');
  t.same((await consulCall(double.url, 'GET', `/session/info/${bound}`)).json, [], 'critical ends it');
});

t.test('ACL: unknown token, missing rights, anonymous, bearer', async (t) => {
  const double = await startDouble(t, { minTtlMs: 0, tokens: { 'kv-writer': ['key:write', 'session:write'], root: ['*'] } });
  const unknown = await consulCall(double.url, 'PUT', '/session/create', { body: {}, token: 'no-such-token' });
  t.equal(unknown.status, 403);
  t.equal(unknown.text, 'ACL not found');

  const anonymous = await consulCall(double.url, 'PUT', '/kv/x', { body: 'v' });
  t.equal(anonymous.status, 403);
  t.match(anonymous.text, /^Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'key:write' on "x"/);

  t.equal((await consulCall(double.url, 'PUT', '/kv/x', { body: 'v', token: 'kv-writer' })).status, 200);
  t.equal((await consulCall(double.url, 'GET', '/kv/x', { token: 'kv-writer' })).status, 200, 'write implies read');
  const denied = await consulCall(double.url, 'PUT', '/agent/service/register', { body: { Name: 'web' }, token: 'kv-writer' });
  t.equal(denied.status, 403);
  t.match(denied.text, /^Permission denied: .*lacks permission 'service:write' on "web"/);
  t.equal((await consulCall(double.url, 'PUT', '/agent/service/register', { body: { Name: 'web' }, bearer: 'root' })).status, 200, 'Authorization: Bearer');
});

t.test('restart loses every session, key and service, and keeps the port', async (t) => {
  const double = await startDouble(t);
  const port = double.port;
  const session = await createSession(double.url, { TTL: '10s', Checks: [] });
  await consulCall(double.url, 'PUT', `/kv/k?acquire=${session}`, { body: 'v' });
  await consulCall(double.url, 'PUT', '/agent/service/register', { body: { Name: 'web', Check: { TTL: '10s' } } });
  const pending = consulCall(double.url, 'GET', `/kv/k?index=${(await consulCall(double.url, 'GET', '/kv/k')).index}&wait=10s`).catch((err: Error) => err);

  await double.restart(100);
  t.equal(double.port, port);
  t.type(await pending, Error, 'a held query is cut off by the restart');
  t.equal((await consulCall(double.url, 'GET', '/kv/k')).status, 404);
  t.equal((await consulCall(double.url, 'PUT', `/session/renew/${session}`)).status, 404);
  t.same((await consulCall(double.url, 'GET', '/agent/services')).json, {});
});

t.test('unknown paths and methods', async (t) => {
  const double = await startDouble(t);
  t.equal((await consulCall(double.url, 'GET', '/nope')).status, 404);
  t.equal((await consulCall(double.url, 'GET', '/session/create')).status, 405);
});

t.test('without a cluster leader: KV, sessions and health answer 500 "No cluster leader", the agent answers, no session expires; a new leader restarts the TTLs', async (t) => {
  const clock = new ManualClock();
  const double = await startDouble(t, { minTtlMs: 0, clock });
  const id = await createSession(double.url, { TTL: '1s', Behavior: 'delete', LockDelay: '0s', Checks: [] });
  t.same((await consulCall(double.url, 'PUT', `/kv/${key('a/b')}?acquire=${id}`, { body: 'x' })).json, true);
  t.equal((await consulCall(double.url, 'PUT', '/agent/service/register', { body: { Name: 'web', ID: 'web-1', Check: { TTL: '1s' } } })).status, 200);
  double.loseLeader();
  for (const [method, path] of [['PUT', `/session/renew/${id}`], ['GET', `/kv/${key('a/b')}`], ['PUT', '/session/create'], ['GET', '/health/service/web']] as const) {
    const answer = await consulCall(double.url, method, path);
    t.same([answer.status, answer.text], [500, 'rpc error making call: No cluster leader'], `${method} ${path}`);
  }
  t.equal((await consulCall(double.url, 'PUT', '/agent/check/pass/service:web-1')).status, 200, "the agent's own endpoints answer");
  t.equal((await consulCall(double.url, 'GET', `/kv/${key('a/b')}?stale`)).status, 200, 'a stale read is served');
  clock.advance(2500); // past the session's TTL and grace
  double.electLeader();
  clock.advance(1999);
  t.equal((await consulCall(double.url, 'GET', `/kv/${key('a/b')}`)).status, 200, 'the session outlived the leaderless time: its key is there');
  t.equal((await consulCall(double.url, 'PUT', `/session/renew/${id}`)).status, 200, 'and it renews');
});

t.test('tokens rotated while running: the new one is taken, the old one is "ACL not found"', async (t) => {
  const double = await startDouble(t, { minTtlMs: 0, tokens: { old: ['key:write'] } });
  t.equal((await consulCall(double.url, 'PUT', `/kv/${key('k')}`, { body: 'v', token: 'old' })).status, 200);
  double.setTokens({ new: ['key:write'] });
  const refused = await consulCall(double.url, 'PUT', `/kv/${key('k')}`, { body: 'v', token: 'old' });
  t.same([refused.status, refused.text], [403, 'ACL not found']);
  t.equal((await consulCall(double.url, 'PUT', `/kv/${key('k')}`, { body: 'v', token: 'new' })).status, 200);
});
