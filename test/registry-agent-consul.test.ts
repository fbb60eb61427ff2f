import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { consulCall } from './consul-double/client.js';
import { ConsulDouble, type ConsulDoubleOptions } from './consul-double/index.js';
import type { Kubelet } from './helpers/kubelet.js';
import {
  checkLeavesBeforeStop,
  consulHealth,
  consulKv,
  describeDeparture,
  served,
  watchUpstream,
  type Server,
  type UpsyncReader,
} from './helpers/upsync.js';
import { registryStatus, registryStatusUntil, startSwitchablePod, type SwitchablePod } from './helpers/switchable-pod.js';
import { waitFor } from './helpers/wait.js';

// Registration in Consul (the API test double) through the whole agent, read the way nginx upsync reads it:
// kv mode (upsync_type=consul) and service mode (upsync_type=consul_health).

const UPSTREAM = 'shop-web';
const TTL_MS = 3000; // nile renews every TTL/3

const measured = (what: string, ms: number) => t.comment(`measured: ${what}: ${ms} ms`);

async function startConsul(t: Test, options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const consul = await ConsulDouble.start({ minTtlMs: 0, ...options });
  t.teardown(() => consul.stop());
  return consul;
}

function tokenFile(t: Test, token: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-consul-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

function consulPod(t: Test, name: string, consul: Record<string, unknown>): Promise<SwitchablePod> {
  return startSwitchablePod(t, name, { upstream: UPSTREAM, weight: 3, maxFails: 4, failTimeout: 7, consul: { ttl: `${TTL_MS}ms`, ...consul } });
}

/** Everything nile wrote where a log collector would see it, and what `nile status` prints. */
async function everythingNileSaid(pod: Kubelet): Promise<string> {
  const status = await pod.execInPod(['nile', 'status'], 10_000);
  const statusJson = await pod.execInPod(['nile', 'status', '--json'], 10_000);
  return [...pod.lines.map((l) => l.text), ...pod.nile.logs.map((l) => JSON.stringify(l)), ...pod.nile.stderrText, status.stdout, status.stderr, statusJson.stdout].join('\n');
}

const backupJson = '{"weight":1,"max_fails":2,"fail_timeout":10,"down":0,"backup":1}';
const expected = (address: string, down: boolean): Server => ({ address, weight: 3, maxFails: 4, failTimeout: 7, down, backup: false });

/** Ready → served; not ready → held as down; ready → served again. */
async function followsReadiness(t: Test, reader: UpsyncReader, instance: SwitchablePod): Promise<void> {
  const { pod, address } = instance;
  const ready = await pod.nile.waitPhase('ready', 30_000);
  const registered = await reader.waitServed(address, 5000);
  measured(`${reader.name}: ready → registered`, registered.at - ready.time);
  t.notOk(
    reader.samples.some((s) => s.at < ready.time && served(s.servers).includes(address)),
    'never served before the app was ready',
  );
  t.same(registered.servers.find((s) => s.address === address), expected(address, false), 'nginx reads weight, max_fails and fail_timeout');

  const sickAt = Date.now();
  instance.sick(true);
  const notReady = await pod.nile.waitPhase('notReady', 5000, sickAt);
  const down = await reader.waitHeld(address, true, 5000, sickAt);
  measured(`${reader.name}: not ready → held as down`, down.at - notReady.time);
  t.match(await registryStatus(pod), [{ state: 'down', registered: true }], 'nile status says down');

  const wellAt = Date.now();
  instance.sick(false);
  const readyAgain = await pod.nile.waitPhase('ready', 5000, wellAt);
  const up = await reader.waitHeld(address, false, 5000, wellAt);
  measured(`${reader.name}: ready again → served`, up.at - readyAgain.time);
}

/** The double restarts and forgets everything; nile's heartbeat notices and registers again. */
async function comesBackAfterRestart(t: Test, reader: UpsyncReader, consul: ConsulDouble, instance: SwitchablePod, heldByConsul: () => Promise<boolean>): Promise<void> {
  const restartedAt = Date.now();
  await consul.restart();
  // Refused while it restarts.
  const heldAt = await waitFor('the instance held by Consul', async () => (await heldByConsul().catch(() => false)) && Date.now(), restartedAt + TTL_MS + 3000 - Date.now(), { everyMs: 50 }).catch(() => 0);
  measured(`Consul restarted without state → registered again`, heldAt - restartedAt);
  // That the heartbeat notices within the TTL is registry-consul's, on the double's clock.
  t.ok(heldAt, 'registered again by itself');
  // upsync's next blocking query may carry the forgotten Consul's higher index: it waits out its `wait` (5 s here).
  const back = await reader.waitServed(instance.address, reader.lagMs + 5000 + 2000, restartedAt);
  measured(`${reader.name}: Consul restarted without state → nginx serves it again`, back.at - restartedAt);
  t.ok(await heldByConsul(), 'the restarted Consul holds the registration');
  t.same(back.servers.find((s) => s.address === instance.address), expected(instance.address, false), 'with the same upsync data');
  t.match(await registryStatusUntil(instance.pod, (r) => r.state === 'registered', 2000), [{ state: 'registered', registered: true }], 'nile status: registered');
}

/**
 * upsync never deletes an upstream's last server: another one (here a backup server, as the README advises) is
 * held first, then the instance leaves.
 */
async function leaves(t: Test, reader: UpsyncReader, instance: SwitchablePod, addBackup: (address: string) => Promise<void>): Promise<void> {
  const backup = `127.0.0.1:${instance.port === 65535 ? 1 : instance.port + 1}`;
  await addBackup(backup);
  await reader.waitFor('the backup server held', (servers) => servers.some((s) => s.address === backup && s.backup), reader.lagMs + 5000);
  const exited = instance.pod.deletePod();
  const departure = await checkLeavesBeforeStop(t, reader, instance.pod, instance.address);
  if (departure) t.comment(`measured: ${reader.name}: prestop: ${describeDeparture(departure)}`);
  t.equal((await exited).code, 143, 'the app ended by TERM');
}

t.test('kv mode through the agent, with an ACL token', async (t) => {
  const nileToken = `nile-${randomUUID()}`;
  const readerToken = randomUUID();
  const consul = await startConsul(t, { tokens: { [nileToken]: ['key:write', 'session:write'], [readerToken]: ['key:read', 'session:read'] } });
  const reader = watchUpstream(t, consulKv({ url: consul.url, prefix: 'upstreams', upstream: UPSTREAM, token: readerToken }));
  const instance = await consulPod(t, 'consul-kv', { url: consul.url, mode: 'kv', prefix: 'upstreams', tokenFile: tokenFile(t, nileToken) });
  const key = `upstreams/${UPSTREAM}/${instance.address}`;

  await t.test('registered on ready, down while not ready, served again when ready', (t) => followsReadiness(t, reader, instance));

  await t.test(`the key ${key} is held by nile's TTL session that deletes it`, async (t) => {
    const entry = await consulCall(consul.url, 'GET', `/kv/${key}`, { token: readerToken });
    t.equal(entry.status, 200, 'the key exists');
    const [{ Value, Session }] = entry.json;
    t.equal(Buffer.from(Value, 'base64').toString(), '{"weight":3,"max_fails":4,"fail_timeout":7,"down":0,"backup":0}', 'the upsync JSON');
    const session = await consulCall(consul.url, 'GET', `/session/info/${Session}`, { token: readerToken });
    t.match(session.json, [{ TTL: '3s', Behavior: 'delete', LockDelay: 0 }], 'TTL session, Behavior delete, no lock delay');
    t.match(await registryStatus(instance.pod), [{ backend: 'consul-kv', state: 'registered', registered: true }], 'nile status shows it');
  });

  const keyHeld = async () => (await consulCall(consul.url, 'GET', `/kv/${key}`, { token: readerToken })).json?.[0]?.Session !== undefined;
  await t.test('Consul restarted without its state: the key comes back by itself', (t) => comesBackAfterRestart(t, reader, consul, instance, keyHeld));

  await t.test('the token never reaches a log line or the status', async (t) => {
    t.notOk((await everythingNileSaid(instance.pod)).includes(nileToken), 'the token is nowhere in what nile printed');
  });

  const backupKey = async (address: string) => void (await consulCall(consul.url, 'PUT', `/kv/upstreams/${UPSTREAM}/${address}`, { token: nileToken, body: backupJson }));
  await t.test("prestop: the key is gone within upsync's lag + 1 s of nile starting its prestop, before the app is signalled", (t) => leaves(t, reader, instance, backupKey));
  t.comment(`nginx timeline (${reader.name}):\n${reader.timeline().join('\n')}`);
});

t.test('service mode through the agent, as upsync_type=consul_health reads it', async (t) => {
  const consul = await startConsul(t);
  const reader = watchUpstream(t, consulHealth({ url: consul.url, service: UPSTREAM }));
  const instance = await consulPod(t, 'consul-service', { url: consul.url, mode: 'service' });

  await t.test('registered passing on ready, critical while not ready, passing again when ready', (t) => followsReadiness(t, reader, instance));

  await t.test('the service carries upsync tags and a TTL check', async (t) => {
    const services = await consulCall(consul.url, 'GET', '/agent/services');
    const id = `${UPSTREAM}-127.0.0.1-${instance.port}`;
    t.match(services.json[id], { Service: UPSTREAM, Address: '127.0.0.1', Port: instance.port, Tags: ['weight=3', 'max_fails=4', 'fail_timeout=7s'] }, `service ${id}`);
    const checks = await consulCall(consul.url, 'GET', '/agent/checks');
    t.match(checks.json[`service:${id}`], { Status: 'passing', Type: 'ttl', Definition: { TTL: '3s', DeregisterCriticalServiceAfter: '1m0s' } }, 'its TTL check');
    t.match(await registryStatus(instance.pod), [{ backend: 'consul-service', state: 'registered', registered: true }], 'nile status shows it');
  });

  const serviceHeld = async () => (await consulCall(consul.url, 'GET', '/agent/services')).json?.[`${UPSTREAM}-${instance.address.replace(':', '-')}`] !== undefined;
  await t.test('Consul restarted without its state: the service comes back by itself', (t) => comesBackAfterRestart(t, reader, consul, instance, serviceHeld));

  const backupService = async (address: string) => {
    const [host, port] = address.split(':');
    await consulCall(consul.url, 'PUT', '/agent/service/register', { body: { Name: UPSTREAM, ID: `${UPSTREAM}-backup`, Address: host, Port: Number(port), Tags: ['backup'] } });
  };
  await t.test("prestop: the service is deregistered within upsync's lag + 1 s of nile starting its prestop, before the app is signalled", (t) => leaves(t, reader, instance, backupService));
  t.comment(`nginx timeline (${reader.name}):\n${reader.timeline().join('\n')}`);
});

t.test('a wrong ACL token: the app runs but is not Ready, nile status says why it is not registered, the token is never printed', async (t) => {
  const rightToken = `right-${randomUUID()}`;
  const wrongToken = `wrong-${randomUUID()}`;
  const consul = await startConsul(t, { tokens: { [rightToken]: ['*'] } });
  const reader = watchUpstream(t, consulKv({ url: consul.url, prefix: 'upstreams', upstream: UPSTREAM, token: rightToken }));
  const { pod } = await consulPod(t, 'consul-wrong-token', { url: consul.url, mode: 'kv', tokenFile: tokenFile(t, wrongToken) });
  await pod.nile.waitPhase('ready', 30_000);
  // Once the registration was tried: before the app was ready, nile's only call was the DELETE of a stale key.
  const status = await registryStatusUntil(pod, (r) => r.lastError?.endsWith('PUT /v1/session/create') === true, 10_000);
  const probe = await pod.execInPod(['nile', 'probe'], 10_000);
  t.same([probe.code, /^not ready: registering \(consul-kv: consul: 403 ACL not found/.test(probe.stdout)], [1, true], `the app passes its probe, but unregistered the pod is not Ready: ${probe.stdout.trim()}`);
  t.notOk(pod.ready, 'the kubelet has not marked it Ready');
  t.match(status, [{ backend: 'consul-kv', state: 'refused', registered: false, lastError: /403.*ACL not found/ }], 'nile status --json: the backend state and the refusal');
  t.comment(`nile status: ${JSON.stringify(status)}`);
  const text = await pod.execInPod(['nile', 'status'], 10_000);
  t.match(text.stdout, /^registry consul-kv: refused \(last error: consul: 403 ACL not found on PUT \/v1\/session\/create\)$/m, 'nile status says it in one line');
  t.same(served(reader.heldAt(Date.now())), [], 'nothing registered');
  t.ok(
    pod.nile.logs.some((l) => l.msg === 'registry update failed; retrying' && /403/.test(String(l.error))),
    'the refusal is logged',
  );
  t.notOk((await everythingNileSaid(pod)).includes(wrongToken), 'the token is nowhere in what nile printed');
});
