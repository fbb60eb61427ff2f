import { existsSync } from 'node:fs';
import { Kubelet, type ContainerLine, type PodEvent, type PodSpec } from '../helpers/kubelet.js';
import { FIXTURE_JAR, fixtureCommand, type LogLine } from '../helpers/nile.js';
import { freePort, serveHttp } from '../helpers/ports.js';
import { describeServers, UpsyncReader, zooKeeper } from '../helpers/upsync.js';
import { ZooKeeperServers, zookeeperMissing } from '../helpers/zookeeper.js';
import { sleep } from '../helpers/wait.js';

// `make demo`: two pods of the test app under an emulated kubelet, as an operator would watch them.
// What the kubelet sees (probe results, Ready, the stop sequence) beside nile's own log, the app's
// output, the company gateway's online/offline interface, and the upstream list nginx upsync reads
// from a ZooKeeper on loopback, one line each. Needs root (PID namespaces) and `make build`.

const started = Date.now();
const pods: Kubelet[] = [];
const closers: Array<() => Promise<unknown>> = [];
const lastProbe = new Map<Kubelet, string>();

const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
function say(source: string, pod: string, text: string): void {
  process.stdout.write(`${clock()} ${source.padEnd(7)} | ${pod.padEnd(6)} ${text}\n`);
}

function act(title: string): void {
  process.stdout.write(`\n── ${title} ${'─'.repeat(Math.max(3, 76 - title.length))}\n`);
}

// nile's JSON line as one readable line: the message, then the fields that say what happened.
const shownFields = ['pid', 'code', 'exit', 'detail', 'signal', 'err', 'ms', 'heap'];
function nileText(log: LogLine): string {
  const fields = shownFields.filter((k) => log[k] !== undefined && log[k] !== null).map((k) => `${k}=${typeof log[k] === 'object' ? JSON.stringify(log[k]) : log[k]}`);
  return [log.msg, ...fields].join('  ');
}

function show(pod: Kubelet, entry: PodEvent | ContainerLine): void {
  if ('source' in entry) {
    if (entry.source === 'app') return say('app', pod.name, entry.text);
    if (entry.log && Number(entry.log.level) >= 30) say('nile', pod.name, nileText(entry.log));
    return;
  }
  if (entry.type === 'Probe') {
    // The kubelet probes every period; print a result when it says something new.
    const text = `${entry.ok ? 'probe ok' : 'probe failed'}: ${entry.output}`;
    const key = text.replace(/\d+(\.\d+)?(ms|s)\b/g, '');
    if (lastProbe.get(pod) === key) return;
    lastProbe.set(pod, key);
    return say('kubelet', pod.name, text);
  }
  if (entry.type === 'Ready') return say('kubelet', pod.name, entry.ready ? 'Ready=True' : 'Ready=False');
  say('kubelet', pod.name, entry.message);
}

function startPod(spec: PodSpec): Kubelet {
  const pod = new Kubelet(spec);
  pods.push(pod);
  pod.watch((entry) => show(pod, entry));
  return pod;
}

/** ZooKeeper on loopback, and what nginx upsync would list for demo-web, printed when it changes. */
async function registry(): Promise<string> {
  const missing = zookeeperMissing();
  if (missing) throw new Error(`${missing}: run make demo, which installs it`);
  const zk = await ZooKeeperServers.standalone();
  closers.push(() => zk.destroy());
  await zk.start();
  say('zk', '', `ZooKeeper on ${zk.connect}; nginx upsync reads /nginx/upstreams/demo-web`);
  const reader = new UpsyncReader(zooKeeper({ connect: zk.connect, upstream: 'demo-web', intervalMs: 100 }));
  let last = '';
  const timer = setInterval(() => {
    const now = describeServers(reader.heldAt(Date.now()));
    if (reader.samples.length && now !== last) say('nginx', '', `upstream demo-web { ${now} }`);
    if (reader.samples.length) last = now;
  }, 100);
  closers.push(async () => {
    clearInterval(timer);
    await reader.stop();
  });
  return zk.connect;
}

/** The company gateway's online/offline interface: refuses the first online call, to show the retry. */
async function gateway(): Promise<string> {
  let refused = false;
  return serveHttp({ teardown: (close) => void closers.push(async () => close()) }, (req, res) => {
    res.statusCode = req.url === '/online' && !refused ? 503 : 200;
    refused ||= req.url === '/online';
    res.end();
    say('gateway', '', `${req.method} ${req.url} → ${res.statusCode}`);
  });
}

async function scrapeMetrics(pod: Kubelet, port: number): Promise<void> {
  say('exec', pod.name, `$ curl ${pod.name}:${port}/metrics | grep ^nile_`);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const line of text.split('\n').filter((l) => l.startsWith('nile_') && !l.includes('_bucket'))) say('exec', pod.name, line);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo runs pods in their own PID namespaces: run it as root');
  if (!existsSync(FIXTURE_JAR)) throw new Error(`${FIXTURE_JAR} is missing: run make build first`);
  const connect = await registry();
  const gw = await gateway();

  act('1. web-1 starts: not ready while the JVM starts; online at the gateway and the RPC framework; registered, Ready');
  const port = await freePort();
  const metricsPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The first run crashes 4 s after its start; the restart (after the marker file exists) stays up.
  const java = (...extra: string[]) => fixtureCommand('--port', String(port), '--ready-after', '1000', '--print-signals', ...extra).join(' ');
  const web1 = startPod({
    door: 'front',
    name: 'web-1',
    nile: {
      project: 'demo-web',
      type: 'web',
      app: { command: ['sh', '-c', `if [ -e crashed-once ]; then exec ${java()}; fi; touch crashed-once; exec ${java('--exit-after', '4000', '--exit-code', '3')}`], stopTimeout: '5s' },
      probe: { http: { port }, interval: '500ms' },
      registry: { address: '127.0.0.1', port, zookeeper: { connect } },
      online: [
        { name: 'gateway', url: `${gw}/online`, timeout: '2s' },
        { name: 'rpc', url: `${url}/online`, timeout: '2s' },
      ],
      offline: [
        { name: 'gateway', url: `${gw}/offline`, timeout: '2s' },
        { name: 'rpc', url: `${url}/offline`, timeout: '2s' },
      ],
      prestop: { drain: { url: `${url}/drain`, timeout: '10s', interval: '250ms' } },
      metrics: { port: metricsPort, listen: '127.0.0.1' },
    },
    readinessProbe: { periodSeconds: 1, timeoutSeconds: 10, failureThreshold: 1 },
    terminationGracePeriodSeconds: 20,
  });
  await web1.started;
  await web1.waitReady(true, 30_000);

  act('2. web-1 crashes after its start: offline calls, out of nginx; nile restarts the JVM; online again, back in nginx');
  const crashed = await web1.nile.waitLog((l) => l.msg.startsWith('app crashed'), 'the crash', 15_000);
  await web1.waitReady(true, 30_000, crashed.time);
  await scrapeMetrics(web1, metricsPort);

  act('3. web-2 fails to start: PID 1 stays up, the scene is kept, never Ready');
  const port2 = await freePort();
  const web2 = startPod({
    door: 'front',
    name: 'web-2',
    nile: {
      project: 'demo-web',
      type: 'web',
      app: { command: fixtureCommand('--port', String(port2), '--ready-after', '5000', '--exit-after', '300'), startTimeout: '60s' },
      probe: { http: { port: port2 }, interval: '500ms' },
      prestop: { wait: '200ms' },
    },
    readinessProbe: { periodSeconds: 1, timeoutSeconds: 10 },
    terminationGracePeriodSeconds: 10,
  });
  await web2.started;
  await web2.waitEvent('the failure in the probe output', (e) => e.type === 'Probe' && /startup failed/.test(e.output ?? ''), 20_000);
  await sleep(3000);
  say('exec', 'web-2', '$ kubectl exec web-2 -- nile status');
  const status = await web2.execInPod(['nile', 'status'], 10_000);
  for (const line of status.stdout.trimEnd().split('\n')) say('exec', 'web-2', line);
  await web2.deletePod();

  act('4. web-1 is deleted: preStop makes the offline calls, takes it out of nginx, drains; then TERM, exit code');
  const exit = await web1.deletePod();
  act(`done in ${((Date.now() - started) / 1000).toFixed(1)}s: web-1 exited with ${exit.code}`);
}

async function cleanUp(): Promise<void> {
  await Promise.all(pods.map((pod) => pod.close()));
  await Promise.all(closers.map((close) => close().catch(() => {})));
}

process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)));
// A closed stdout (`make demo | head`) or any fault still stops every pod.
process.stdout.on('error', () => void cleanUp().then(() => process.exit(1)));
process.on('uncaughtException', (err) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  void cleanUp().then(() => process.exit(1));
});
main().then(
  () => cleanUp().then(() => process.exit(0)),
  (err) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : err}\n`);
    void cleanUp().then(() => process.exit(1));
  },
);
