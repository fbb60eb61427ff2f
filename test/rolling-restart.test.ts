import t, { type Test } from 'tap';
import { ConsulDouble } from './consul-double/index.js';
import { startPod, type Kubelet } from './helpers/kubelet.js';
import { fixtureCommand } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { checkLeavesBeforeStop, consulKv, describeDeparture, served, watchUpstream, zooKeeper, type UpsyncReader } from './helpers/upsync.js';
import { ZooKeeperServers, zookeeperMissing } from './helpers/zookeeper.js';

// A rolling restart of three instances as nginx upsync sees it, through ZooKeeper and Consul KV at once: the served
// list never holds an instance that is not ready or is going away, and takes every new one within 1 s of its Ready.

const UPSTREAM = 'rolling-web';
const REPLICAS = 3;

interface Instance {
  name: string;
  pod: Kubelet;
  address: string;
}

interface Registries {
  zookeeper: string;
  consul: string;
  /** past the readers' next read: gone from nginx before the app stops */
  prestopWaitMs: number;
}

async function startInstance(t: Test, name: string, registries: Registries): Promise<Instance> {
  const port = await freePort();
  const pod = await startPod(t, {
    door: 'front',
    name,
    nile: {
      project: 'rolling',
      type: 'web',
      app: { command: fixtureCommand('--port', String(port), '--ready-after', '200'), startTimeout: '60s', stopTimeout: '5s' },
      probe: { http: { port }, interval: '200ms' },
      registry: {
        address: '127.0.0.1',
        port,
        upstream: UPSTREAM,
        zookeeper: { connect: registries.zookeeper, sessionTimeout: '4s' },
        consul: { url: registries.consul, mode: 'kv', ttl: '3s' },
      },
      prestop: { wait: `${registries.prestopWaitMs}ms` },
    },
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 5 },
    terminationGracePeriodSeconds: 15,
  });
  return { name, pod, address: `127.0.0.1:${port}` };
}

/** When nile itself first found the app ready (what `nile probe` then answers). */
function nileReadyAt(instance: Instance): number {
  return instance.pod.nile.logs.find((l) => l.msg === 'app ready')?.time ?? Infinity;
}

/** Nothing is served before nile found it ready, and no read begun after the pod lost its Ready condition still serves it. */
function checkNeverServedNotReady(t: Test, reader: UpsyncReader, instances: Instance[]): void {
  for (const instance of instances) {
    const { name, pod, address } = instance;
    const early = reader.samples.find((s) => s.at < nileReadyAt(instance) && served(s.servers).includes(address));
    t.notOk(early, `${reader.name}: ${name} never served before nile found it ready`);
    const lostReady = pod.events.find((e) => e.type === 'Ready' && e.ready === false);
    if (!lostReady) continue;
    const late = reader.samples.find((s) => s.requestedAt >= lostReady.at && served(s.servers).includes(address));
    t.notOk(late, `${reader.name}: ${name} not served by any read begun after the pod turned not Ready`);
  }
}

/** Once the kubelet marks a pod Ready, nginx serves it; how soon is measured. */
function checkServedOnceReady(t: Test, reader: UpsyncReader, instances: Instance[]): void {
  for (const instance of instances) {
    const ready = instance.pod.events.find((e) => e.type === 'Ready' && e.ready === true);
    if (!t.ok(ready, `${instance.name} became Ready`) || !ready) continue;
    const first = reader.firstServed(instance.address);
    const nileReady = nileReadyAt(instance);
    if (!t.ok(first, `${reader.name}: ${instance.name} served`) || !first) continue;
    t.comment(`measured: ${reader.name}: ${instance.name}: nile ready → served ${first.at - nileReady} ms; kubelet Ready → served ${first.at - ready.at} ms`);
  }
}

/** From the moment all replicas were first served, nginx always had at least REPLICAS - 1 to send traffic to. */
function checkCapacity(t: Test, reader: UpsyncReader, from: number): void {
  const thin = reader.samples.filter((s) => s.at >= from && served(s.servers).length < REPLICAS - 1);
  t.same(thin.map((s) => served(s.servers)), [], `${reader.name}: never fewer than ${REPLICAS - 1} served during the roll`);
}

function sampleGaps(reader: UpsyncReader, from: number): string {
  const times = reader.samples.filter((s) => s.at >= from).map((s) => s.at);
  const gaps = times.slice(1).map((at, i) => at - times[i]);
  return `${times.length} answers, longest gap ${Math.max(0, ...gaps)} ms`;
}

t.test('rolling restart of three instances, as nginx upsync sees it through ZooKeeper and Consul KV', { skip: zookeeperMissing() }, async (t) => {
  const started = Date.now();
  const zk = await ZooKeeperServers.standalone();
  t.teardown(() => zk.destroy());
  const consul = await ConsulDouble.start({ minTtlMs: 0 });
  t.teardown(() => consul.stop());
  await zk.start();
  const readers = [
    watchUpstream(t, zooKeeper({ connect: zk.connect, upstream: UPSTREAM, intervalMs: 100 })),
    watchUpstream(t, consulKv({ url: consul.url, prefix: 'upstreams', upstream: UPSTREAM, intervalMs: 100 })),
  ];
  const registries = { zookeeper: zk.connect, consul: consul.url, prestopWaitMs: Math.max(...readers.map((r) => r.lagMs)) + 500 };

  const first = await Promise.all(Array.from({ length: REPLICAS }, (_, i) => startInstance(t, `pod-${i + 1}`, registries)));
  await Promise.all(first.map((i) => i.pod.waitReady(true, 60_000)));
  const allServed = await Promise.all(readers.map((r) => r.waitFor('all three served', (servers) => served(servers).length === REPLICAS, 5000)));
  const rollFrom = Math.max(...allServed.map((s) => s.at));
  t.comment(`three instances up after ${Date.now() - started} ms`);

  const all = [...first];
  const live = [...first];
  for (let i = 0; i < REPLICAS; i++) {
    const old = live.shift()!;
    const deleted = old.pod.deletePod();
    const departures = await Promise.all(readers.map((reader) => checkLeavesBeforeStop(t, reader, old.pod, old.address)));
    readers.forEach((reader, k) => departures[k] && t.comment(`measured: ${reader.name}: ${old.name}: ${describeDeparture(departures[k]!)}`));
    const exited = await deleted;
    t.equal(exited.code, 143, `${old.name} stopped by TERM`);
    const replacement = await startInstance(t, `pod-${i + 1}-new`, registries);
    all.push(replacement);
    live.push(replacement);
    await replacement.pod.waitReady(true, 60_000);
    const expected = live.map((l) => l.address).sort();
    for (const reader of readers) {
      const settled = await reader.waitFor(`the served list to be the live pods`, (servers) => served(servers).join() === expected.join(), 15_000, Date.now() - 1000);
      t.same(served(settled.servers), expected, `${reader.name}: after replacing ${old.name}, nginx serves exactly the live pods`);
    }
  }
  t.comment(`rolling restart done after ${Date.now() - started} ms`);

  for (const reader of readers) {
    checkNeverServedNotReady(t, reader, all);
    checkServedOnceReady(t, reader, all);
    checkCapacity(t, reader, rollFrom);
    t.comment(`${reader.name}: ${sampleGaps(reader, rollFrom)}; timeline:\n${reader.timeline().join('\n')}`);
  }
});
