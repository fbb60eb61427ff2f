import path from 'node:path';
import t from 'tap';
import { rssMiB } from './bench/proc.js';
import { chaoticHttp, exchange, flood, hostileZooKeeper, pick, seeded, type Peer } from './helpers/hostile.js';
import { startPod, type Kubelet } from './helpers/kubelet.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

// The agent among hostile peers, from a seed: its health check, its online and offline calls and Consul answer
// with endless bodies and headers, garbage, trickles and hang-ups; its ZooKeeper with endless frames, broken
// handshakes and silence; and clients throw garbage, long lines, half requests, slow requests and floods at its
// control socket, metrics port and readiness port. PID 1 stays up, its RSS stays under the bound, and every
// answer it gives is clean.

const seed = Number(process.env.NILE_FUZZ_SEED ?? 18);
const rounds = 60;
const mostRssMiB = 200;

type Target = 'control' | 'metrics' | 'ready';
const attacks = ['garbage', 'long line', 'half request', 'slow request', 'flood', 'valid'] as const;

/** What an endpoint may answer anything at all: nothing, or a clean answer of its protocol. */
function clean(target: Target, answer: Buffer): boolean {
  if (answer.length === 0) return true;
  const text = answer.toString('utf8');
  if (target !== 'control') return /^HTTP\/1\.1 \d{3} [^\r\n]*\r\n/.test(text);
  try {
    return text.endsWith('\n') && !text.slice(0, -1).includes('\n') && typeof JSON.parse(text).ok === 'boolean';
  } catch {
    return false;
  }
}

t.test(`PID 1 among hostile peers and clients (seed ${seed}, ${rounds} rounds)`, async (t) => {
  const http: Peer = await chaoticHttp(seed);
  const zk: Peer = await hostileZooKeeper('random', seed);
  t.teardown(() => Promise.all([http.close(), zk.close()]));
  const [metricsPort, readyPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${http.port}`;
  const pod: Kubelet = await startPod(t, {
    door: 'front',
    name: 'fuzz',
    nile: {
      project: 'fuzz',
      type: 'web',
      app: { command: ['sleep', '600'], stopTimeout: '2s' },
      probe: { http: { port: http.port, timeout: '1s' }, interval: '300ms', serve: { port: readyPort, listen: '127.0.0.1' } },
      registry: { address: '127.0.0.1', port: 8080, zookeeper: { connect: `127.0.0.1:${zk.port}`, sessionTimeout: '4s' }, consul: { url, ttl: '3s' } },
      online: [{ name: 'gateway', url: `${url}/online`, timeout: '1s' }],
      offline: [{ name: 'gateway', url: `${url}/offline`, timeout: '1s' }],
      prestop: { wait: '100ms' },
      metrics: { port: metricsPort, listen: '127.0.0.1' },
    },
    readinessProbe: null,
  });
  await pod.nile.waitLog((l) => l.msg === 'readiness served at /ready', 'the readiness endpoint', 30_000);
  await pod.nile.waitLog((l) => l.msg === 'metrics served at /metrics', 'the metrics endpoint', 30_000);
  const pid = pod.hostPid();
  const socket = path.join(pod.nile.runDir, 'control.sock');
  const address = { control: socket, metrics: metricsPort, ready: readyPort };
  const valid = { control: 'probe\n', metrics: 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', ready: 'GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' };
  const random = seeded(seed);
  let most = rssMiB(pid);
  const unclean: string[] = [];

  for (let round = 0; round < rounds; round++) {
    const target = pick(random, ['control', 'metrics', 'ready'] as Target[]);
    const attack = pick(random, attacks);
    const to = address[target];
    const answers: Buffer[] = [];
    if (attack === 'flood') {
      const crowd = await flood(to, 500);
      crowd.close();
    } else if (attack === 'garbage') {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 8192) }, () => Math.floor(random() * 256)));
      answers.push(await exchange(to, (s) => s.write(bytes), 1000));
    } else if (attack === 'long line') {
      answers.push(await exchange(to, (s) => s.write(Buffer.alloc(1 << 20, target === 'control' ? 'p' : 'G')), 1000));
    } else if (attack === 'half request') {
      answers.push(await exchange(to, (s) => s.end(valid[target].slice(0, 1 + Math.floor(random() * (valid[target].length - 1)))), 1000));
    } else if (attack === 'slow request') {
      const slow = await flood(to, 5, valid[target]);
      slow.close();
    } else {
      answers.push(await exchange(to, (s) => s.write(valid[target]), 3000));
    }
    for (const answer of answers) if (!clean(target, answer)) unclean.push(`${target} ${attack}: ${JSON.stringify(answer.subarray(0, 120).toString('utf8'))}`);
    // After each round a plain request to the same endpoint is answered, cleanly (once any flood has drained).
    const after = await waitFor(`${target} to answer after ${attack} (round ${round})`, async () => {
      const answer = await exchange(to, (s) => s.write(valid[target]), 3000);
      return answer.length > 0 && answer;
    }, 20_000);
    if (!clean(target, after)) unclean.push(`${target} after ${attack}: ${JSON.stringify(after.subarray(0, 120).toString('utf8'))}`);
    t.equal(pod.isRunning(), true, `round ${round}: ${attack} at ${target}; PID 1 is up`);
    most = Math.max(most, rssMiB(pid));
  }
  t.same(unclean, [], 'every answer was a clean answer of its protocol, or none');
  t.ok(most < mostRssMiB, `the agent's RSS stayed under ${mostRssMiB} MiB (at most ${most.toFixed(1)} MiB)`);
  t.ok(zk.accepted() > 1 && http.accepted() > 1, `the clients met their hostile peers (ZooKeeper ${zk.accepted()} connections, HTTP ${http.accepted()})`);
  const lines = pod.nile.logs.length;
  t.ok(lines < 3000, `the log stayed quiet: ${lines} lines`);
  t.comment(`seed ${seed}: RSS at most ${most.toFixed(1)} MiB; peers sent ${http.sent()} (HTTP) and ${zk.sent()} (ZooKeeper) bytes; ${lines} log lines`);
});
