import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { consulCall } from './consul-double/client.js';
import type { Kubelet } from './helpers/kubelet.js';
import { backupJson, comesBackAfterRestart, consulPod, followsReadiness, leaves, readerWaitS, startConsul, UPSTREAM } from './helpers/consul-pod.js';
import { consulKv, served, watchUpstream } from './helpers/upsync.js';
import { registryStatus, registryStatusUntil } from './helpers/switchable-pod.js';

// Registration in Consul KV (the API test double) through the whole agent, read the way nginx upsync reads it
// (upsync_type=consul), with an ACL token: the right one, and a wrong one. Service mode is registry-agent-consul-service.

function tokenFile(t: Test, token: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-consul-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

/** Everything nile wrote where a log collector would see it, and what `nile status` prints. */
async function everythingNileSaid(pod: Kubelet): Promise<string> {
  const status = await pod.execInPod(['nile', 'status'], 10_000);
  const statusJson = await pod.execInPod(['nile', 'status', '--json'], 10_000);
  return [...pod.lines.map((l) => l.text), ...pod.nile.logs.map((l) => JSON.stringify(l)), ...pod.nile.stderrText, status.stdout, status.stderr, statusJson.stdout].join('\n');
}

t.test('kv mode through the agent, with an ACL token', async (t) => {
  const nileToken = `nile-${randomUUID()}`;
  const readerToken = randomUUID();
  const consul = await startConsul(t, { tokens: { [nileToken]: ['key:write', 'session:write'], [readerToken]: ['key:read', 'session:read'] } });
  const reader = watchUpstream(t, consulKv({ url: consul.url, prefix: 'upstreams', upstream: UPSTREAM, token: readerToken, waitS: readerWaitS }));
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

t.test('a wrong ACL token: the app runs but is not Ready, nile status says why it is not registered, the token is never printed', async (t) => {
  const rightToken = `right-${randomUUID()}`;
  const wrongToken = `wrong-${randomUUID()}`;
  const consul = await startConsul(t, { tokens: { [rightToken]: ['*'] } });
  const reader = watchUpstream(t, consulKv({ url: consul.url, prefix: 'upstreams', upstream: UPSTREAM, token: rightToken, waitS: readerWaitS }));
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
