import { Writable } from 'node:stream';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { request } from '../src/http/client.js';
import { ConsulApi } from '../src/registry/consul-api.js';
import { dispose, guard, type ZkClient } from '../src/registry/zookeeper-client.js';
import { zkLibrary } from './helpers/zookeeper-library.js';
import { anyServerServing } from '../src/registry/zookeeper-servers.js';
import { endlessHttpBody, hostileZooKeeper, type Peer, type ZooKeeperFault } from './helpers/hostile.js';
import { waitFor } from './helpers/wait.js';

// Each network client of the agent against a peer that answers without end or with nonsense: what it reads is
// bounded in bytes and time, and a broken ZooKeeper server looks to the session above like an unreachable one.

// What a hostile peer may push before the client hangs up: the client's bound (1 MiB) plus the kernel's socket buffers.
const mostSentBytes = 32 * 1024 * 1024;

async function peer(t: Test, start: Promise<Peer>): Promise<Peer> {
  const p = await start;
  t.teardown(() => p.close());
  return p;
}

t.test('the HTTP client stops reading an endless answer at its bound, with the status', async (t) => {
  const server = await peer(t, endlessHttpBody());
  const answer = await request({ url: `http://127.0.0.1:${server.port}/healthcheck`, timeoutMs: 10_000 });
  t.equal(answer.status, 200, 'the status is what the probe and the calls need');
  t.ok(answer.body.length <= 1 << 20, 'the body is cut at 1 MiB');
  t.ok(server.sent() < mostSentBytes, `the peer could send ${server.sent()} bytes, not more than ${mostSentBytes}`);
});

t.test('a Consul answer without end fails the call once it passes the bound', async (t) => {
  const server = await peer(t, endlessHttpBody());
  const api = new ConsulApi(`http://127.0.0.1:${server.port}`, 'the-token', 1500);
  t.teardown(() => api.close());
  await t.rejects(api.call('GET /v1/kv/upstreams/demo', (c) => c.kv.get('upstreams/demo')), { name: 'ConsulError' });
  t.ok(server.sent() < mostSentBytes, `the peer could send ${server.sent()} bytes, not more than ${mostSentBytes}`);
});

/** A guarded client of the ZooKeeper server on `port`, its log lines and the times it said it connected. */
function zooKeeperClient(t: Test, port: number, sessionTimeout = 10_000): { client: ZkClient; lines: string[]; connected: () => number } {
  const lines: string[] = [];
  const sink = new Writable({ write: (line, _encoding, done) => done(void lines.push(String(line))) });
  const client = zkLibrary.createClient(`127.0.0.1:${port}`, { sessionTimeout, spinDelay: 1000, retries: 0 });
  guard(client, pino({ level: 'debug' }, sink));
  let connected = 0;
  client.on('connected', () => connected++);
  client.connect();
  t.teardown(() => dispose(client, 1000));
  return { client, lines, connected: () => connected };
}

t.test('ZooKeeper: a frame longer than ZooKeeper allows closes the connection at once', async (t) => {
  const server = await peer(t, hostileZooKeeper('endless frame'));
  zooKeeperClient(t, server.port);
  await waitFor('the client to hang up and come again', () => server.accepted() >= 2, 15_000);
  t.ok(server.sent() < mostSentBytes, `the peer could send ${server.sent()} bytes, not more than ${mostSentBytes}`);
});

t.test('ZooKeeper: a broken handshake is never a connection, and the retries are paced and quiet', async (t) => {
  for (const fault of ['handshake that does not add up', 'garbage'] as ZooKeeperFault[]) {
    const server = await peer(t, hostileZooKeeper(fault, 7));
    const { lines, connected } = zooKeeperClient(t, server.port);
    await waitFor(`four attempts at the server that answers a ${fault}`, () => server.accepted() >= 4, 20_000);
    t.equal(connected(), 0, `${fault}: the session above never hears of a connection`);
    const warnings = lines.filter((line) => JSON.parse(line).level >= 40);
    t.equal(warnings.length, 1, `${fault}: one warning for the whole streak, not one an attempt`);
  }
});

t.test('ZooKeeper: a server that never answers the handshake is left after the connect timeout', async (t) => {
  const server = await peer(t, hostileZooKeeper('silence'));
  zooKeeperClient(t, server.port, 2000);
  await waitFor('the client to give up on the silent server and try again', () => server.accepted() >= 2, 15_000);
  t.pass('the handshake has a time bound');
});

t.test('ZooKeeper: asking a server whether it serves reads a short answer, not an endless one', async (t) => {
  const server = await peer(t, hostileZooKeeper('endless frame'));
  t.equal(await anyServerServing(`127.0.0.1:${server.port}`, 3000), false, 'not a serving server');
  t.ok(server.sent() < mostSentBytes, `the peer could send ${server.sent()} bytes, not more than ${mostSentBytes}`);
});
