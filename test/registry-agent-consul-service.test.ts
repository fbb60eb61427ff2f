import t from 'tap';
import { consulCall } from './consul-double/client.js';
import { comesBackAfterRestart, consulPod, followsReadiness, leaves, readerWaitS, startConsul, UPSTREAM } from './helpers/consul-pod.js';
import { consulHealth, watchUpstream } from './helpers/upsync.js';
import { registryStatus } from './helpers/switchable-pod.js';

// Registration as a Consul service (the API test double) through the whole agent, read the way nginx upsync reads it
// (upsync_type=consul_health). kv mode is registry-agent-consul-kv.

t.test('service mode through the agent, as upsync_type=consul_health reads it', async (t) => {
  const consul = await startConsul(t);
  const reader = watchUpstream(t, consulHealth({ url: consul.url, service: UPSTREAM, waitS: readerWaitS }));
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
