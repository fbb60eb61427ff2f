import parse from 'parse-prometheus-text-format';
import t from 'tap';
import { fixtureCommand, Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { ZooKeeperServers, zookeeperMissing } from './helpers/zookeeper.js';
import { waitFor } from './helpers/wait.js';

// The Prometheus endpoint through the whole agent, read with a text-format parser as Prometheus reads it: every
// nile_ metric moves as the app starts, becomes ready, crashes and restarts, is drained and taken down.

type Scrape = Map<string, number>; // series as Prometheus stores them: `name{label="v",…}` → value
const types = new Map<string, string>();

async function scrape(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!/^text\/plain; version=0\.0\.4/.test(res.headers.get('content-type') ?? '')) throw new Error(`not the text format: ${res.headers.get('content-type')}`);
  const text = await res.text();
  for (const family of parse(text)) types.set(family.name, family.type);
  // The parser folds a histogram's labelled series into one; without the comment lines it reads each series
  // (…_bucket, …_sum, …_count) on its own, as Prometheus stores them.
  const values: Scrape = new Map();
  for (const family of parse(text.replace(/^#.*\n/gm, ''))) {
    for (const sample of family.metrics) {
      const labels = Object.entries(sample.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(',');
      values.set(labels ? `${family.name}{${labels}}` : family.name, Number(sample.value));
    }
  }
  return values;
}

const zkSkip = zookeeperMissing();
// Long enough for failing probes to be scraped while the JVM starts, even on a busy machine.
const readyAfterMs = 3000;

t.test('every metric changes as the app starts, crashes, restarts and is drained', { skip: zkSkip }, async (t) => {
  const zk = await ZooKeeperServers.standalone();
  t.teardown(() => zk.destroy());
  await zk.start();
  const port = await freePort();
  const metricsPort = await freePort();
  const nile = new Nile({
    door: 'node',
    config: {
      project: 'metrics-web',
      app: { command: fixtureCommand('--port', String(port), '--ready-after', String(readyAfterMs)), startTimeout: '60s', stopTimeout: '5s' },
      probe: { http: { port }, interval: '200ms' },
      registry: { address: '127.0.0.1', port, zookeeper: { connect: zk.connect } },
      online: [{ name: 'rpc', url: `http://127.0.0.1:${port}/online`, timeout: '2s' }],
      offline: [{ name: 'rpc', url: `http://127.0.0.1:${port}/offline`, timeout: '2s' }],
      prestop: { wait: '100ms' },
      metrics: { port: metricsPort, listen: '127.0.0.1' },
    },
  });
  t.teardown(() => nile.stop());
  const probes = (m: Scrape, result: string) => m.get(`nile_probe_duration_seconds_count{kind="http",result="${result}"}`) ?? 0;
  const calls = (m: Scrape, kind: string, result = 'ok') => m.get(`nile_calls_total{kind="${kind}",name="rpc",result="${result}"}`) ?? 0;

  await nile.waitLog((l) => l.msg === 'metrics served at /metrics', 'the metrics endpoint');
  await nile.waitFor('a failing probe', () => nile.logs.some((l) => l.msg === 'app starting') && nile.stdout.some((l) => l.startsWith('fixture starting')));
  const starting = await waitScrape(metricsPort, (m) => probes(m, 'failed') > 0);
  t.match(Object.fromEntries(starting), { nile_app_up: 1, nile_app_ready: 0, nile_app_restarts_total: 0, nile_app_start_seconds: 0, nile_last_failure_timestamp_seconds: 0, 'nile_registration_up{backend="zookeeper"}': 0 }, 'starting: up, not ready, not registered');
  t.ok(probes(starting, 'failed') > 0, 'the failing probes are counted');
  t.ok(starting.get('nile_container_memory_usage_bytes')! > 0, 'the container memory usage is read');
  t.ok(starting.has('nile_container_memory_limit_bytes') && starting.has('nile_container_memory_warning'), 'and its limit and warning');
  t.ok(starting.get('process_resident_memory_bytes')! > 0 && starting.has('process_cpu_user_seconds_total'), "the agent's own process metrics");

  await nile.waitFor('registered', () => nile.logs.some((l) => l.msg === 'online: every online call succeeded'));
  const ready = await waitScrape(metricsPort, (m) => m.get('nile_registration_up{backend="zookeeper"}') === 1);
  t.equal(ready.get('nile_app_ready'), 1, 'ready: nile_app_ready 1');
  t.ok(ready.get('nile_app_start_seconds')! >= readyAfterMs / 1000, `nile_app_start_seconds is the start to ready (${ready.get('nile_app_start_seconds')})`);
  t.ok(probes(ready, 'ok') > 0, 'passing probes counted by kind and result');
  t.equal(calls(ready, 'online'), 1, 'the online call is counted');

  const crashAt = Date.now();
  process.kill(nile.appHostPid()!, 'SIGKILL');
  await nile.waitPhase('restarting', 10_000, crashAt);
  const crashed = await waitScrape(metricsPort, (m) => m.get('nile_app_restarts_total') === 1 && m.get('nile_registration_up{backend="zookeeper"}') === 0);
  t.equal(crashed.get('nile_app_ready'), 0, 'after the crash: not ready');
  t.equal(crashed.get('nile_registration_up{backend="zookeeper"}'), 0, 'and not registered');
  const failedAt = crashed.get('nile_last_failure_timestamp_seconds')! * 1000;
  t.ok(failedAt >= crashAt && failedAt <= Date.now(), 'nile_last_failure_timestamp_seconds is the crash: after the kill, before the scrape that shows it');
  t.equal(calls(crashed, 'offline', 'failed'), 1, "the offline call is counted (failed: the app's own endpoint died with it)");

  const back = await waitScrape(metricsPort, (m) => m.get('nile_registration_up{backend="zookeeper"}') === 1 && m.get('nile_app_ready') === 1, 30_000);
  const starts = nile.logs.filter((l) => l.msg === 'app started').map((l) => l.pid);
  t.equal(back.get('nile_app_restarts_total'), 1, 'restarted: one restart counted');
  t.ok(starts.length === 2 && starts[0] !== starts[1], `restarted: a new JVM (pids ${starts.join(', ')})`);
  t.ok(back.get('nile_app_start_seconds')! >= readyAfterMs / 1000, `nile_app_start_seconds is the new start to ready (${back.get('nile_app_start_seconds')})`);
  t.equal(calls(back, 'online'), 2, 'a second online call');
  t.ok(probes(back, 'ok') > probes(ready, 'ok'), 'more passing probes');

  t.equal((await nile.exec(['prestop'], 60_000)).code, 0, 'nile prestop');
  const drained = await scrape(metricsPort);
  t.match(Object.fromEntries(drained), { nile_app_up: 1, nile_app_ready: 0, 'nile_registration_up{backend="zookeeper"}': 0 }, 'drained: running, not ready, not registered');

  t.equal((await nile.exec(['sv', 'down', 'app'], 60_000)).code, 0, 'nile sv down app');
  const down = await waitScrape(metricsPort, (m) => m.get('nile_app_up') === 0);
  t.equal(down.get('nile_app_restarts_total'), 1, 'taken down: nile_app_up 0, no restart counted');
  t.match(Object.fromEntries(types), {
    nile_app_up: 'GAUGE', nile_app_ready: 'GAUGE', nile_app_restarts_total: 'COUNTER', nile_app_start_seconds: 'GAUGE', nile_probe_duration_seconds: 'HISTOGRAM',
    nile_registration_up: 'GAUGE', nile_calls_total: 'COUNTER', nile_container_memory_usage_bytes: 'GAUGE', nile_container_memory_limit_bytes: 'GAUGE',
    nile_last_failure_timestamp_seconds: 'GAUGE',
  }, 'each metric has its type');
});

async function waitScrape(port: number, check: (m: Scrape) => boolean, timeoutMs = 15_000): Promise<Scrape> {
  let m!: Scrape;
  await waitFor('a scrape', async () => check((m = await scrape(port))), timeoutMs, { everyMs: 200 }).catch(() => undefined);
  return m;
}
