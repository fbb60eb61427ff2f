import path from 'node:path';
import t, { type Test } from 'tap';
import { fixtureCommand, Nile } from './helpers/nile.js';
import { freePort, serveHttp } from './helpers/ports.js';
import { served, watchUpstream, zooKeeper, type UpsyncReader } from './helpers/upsync.js';
import { zkLibrary } from './helpers/zookeeper-library.js';
import { ZooKeeperServers, zookeeperMissing } from './helpers/zookeeper.js';
import { Observer } from './helpers/zookeeper-observer.js';

// The online and offline calls through the whole agent, against a real ZooKeeper read as nginx upsync reads it:
// a gateway served here and the RPC framework's online/offline endpoints served by the Java fixture app.

const UPSTREAM = 'calls-web';
const TOKEN = 'gw-token-5f1c9e';

interface Hit {
  path: string;
  at: number; // when the answer was sent
  token?: string;
}

/** The company gateway's online/offline interface; `/online` answers the statuses queued in `online`, then 200. */
async function gateway(t: Test) {
  const gw = { url: '', hits: [] as Hit[], online: [] as number[] };
  gw.url = await serveHttp(t, (req, res) => {
    const status = req.url === '/online' ? (gw.online.shift() ?? 200) : 200;
    res.statusCode = status;
    res.end();
    gw.hits.push({ path: `${req.url} ${status}`, at: Date.now(), token: req.headers['x-token'] as string | undefined });
  });
  return gw;
}

type Gateway = Awaited<ReturnType<typeof gateway>>;

async function pod(t: Test, zk: ZooKeeperServers, gw: Gateway, extra: Record<string, unknown> = {}, appArgs: string[] = []) {
  const port = await freePort();
  const rpc = `http://127.0.0.1:${port}`;
  const nile = new Nile({
    config: {
      project: UPSTREAM,
      app: { command: fixtureCommand('--port', String(port), ...appArgs), startTimeout: '60s', stopTimeout: '5s' },
      probe: { http: { port }, interval: '200ms' },
      registry: { address: '127.0.0.1', port, zookeeper: { connect: zk.connect, sessionTimeout: '4s' } },
      online: [
        { name: 'gateway', url: `${gw.url}/online`, headerFiles: { 'X-Token': tokenFile(t) }, timeout: '2s' },
        { name: 'rpc', url: `${rpc}/online`, timeout: '2s' },
      ],
      offline: [
        { name: 'gateway', url: `${gw.url}/offline`, timeout: '2s' },
        { name: 'rpc', url: `${rpc}/offline`, timeout: '2s' },
      ],
      ...extra,
    },
  });
  t.teardown(() => nile.stop());
  return { nile, address: `127.0.0.1:${port}` };
}

function tokenFile(t: Test): string {
  return path.join(t.testdir({ token: `${TOKEN}\n` }), 'token');
}

const hits = (gw: Gateway, p: string) => gw.hits.filter((h) => h.path.startsWith(p));
/** When nginx stopped serving `address` after `after` (the first sample without it). */
async function goneAt(reader: UpsyncReader, address: string, after: number) {
  return (await reader.waitFor(`${address} gone`, (servers) => !served(servers).includes(address), 15_000, after)).at;
}

const zkSkip = zookeeperMissing();
const zk = zkSkip ? null : await ZooKeeperServers.standalone();
if (zk) {
  t.teardown(() => zk.destroy());
  await zk.start();
  await holdBackupServer(zk.connect);
}

// upsync never deletes an upstream's last server: a backup server is held first, as the README advises, so
// nginx's view shows each instance leave.
async function holdBackupServer(connect: string): Promise<void> {
  const observer = await Observer.connect(connect);
  try {
    const parent = `/nginx/upstreams/${UPSTREAM}`;
    const data = Buffer.from('{"weight":1,"max_fails":2,"fail_timeout":10,"down":0,"backup":1}');
    const open = zkLibrary.ACL.OPEN_ACL_UNSAFE;
    const code = await observer.codeOf((client, done) =>
      client.mkdirp(parent, open, zkLibrary.CreateMode.PERSISTENT, (error) => (error ? done(error) : client.create(`${parent}/127.0.0.1:1`, data, open, zkLibrary.CreateMode.PERSISTENT, (e) => done(e)))),
    );
    if (code !== 0) throw new Error(`cannot hold the backup server: ZooKeeper code ${code}`);
  } finally {
    observer.close();
  }
}

t.test('online on ready and after a crash-restart, before nginx sees the node; a failing call keeps it not ready and is retried', { skip: zkSkip }, async (t) => {
  const gw = await gateway(t);
  gw.online.push(503, 503, 503);
  const { nile, address } = await pod(t, zk!, gw);
  const reader = watchUpstream(t, zooKeeper({ connect: zk!.connect, upstream: UPSTREAM, intervalMs: 50 }));

  const ready = await nile.waitPhase('ready', 60_000);
  await nile.waitLog((l) => l.msg === 'online call gateway failed: 503', 'a failed online call', 10_000);
  const probe = await nile.exec(['probe']);
  t.equal(probe.code, 1, 'the probe says not ready while the gateway refuses');
  t.match(probe.stdout, /^not ready: going online \(gateway: 503, (retrying in [1-9]\d*s|calling again)\)\n$/, `with the reason: ${probe.stdout.trim()}`);
  const status = await nile.exec(['status', '--json']);
  t.match(JSON.parse(status.stdout).calls.find((c: { name: string }) => c.name === 'gateway'), { kind: 'online', ok: false, detail: '503' }, 'nile status shows the failed call');
  t.notOk(status.stdout.includes(TOKEN), 'and no token');

  const registered = await reader.waitServed(address, 30_000);
  const online = hits(gw, '/online 200')[0]!;
  t.equal(hits(gw, '/online 503').length, 3, 'the failing call was retried until it succeeded');
  t.ok(online.at >= ready.time, 'the online call came after the app was ready');
  t.ok(online.at < registered.at, `nginx sees the node only after the online call succeeded (${registered.at - online.at} ms later)`);
  t.notOk(reader.samples.some((s) => s.at < online.at && served(s.servers).includes(address)), 'and never before');
  t.ok(gw.hits.every((h) => h.token === TOKEN), 'the gateway got the token read from its file');
  t.ok(nile.stdout.includes('fixture online called POST'), 'the RPC framework was called online too');
  t.match((await nile.exec(['probe'])).stdout, /^ready/, 'ready once online and registered');
  t.notOk(JSON.stringify(nile.logs).includes(TOKEN), 'no log line holds the token');

  // The restart is back within a few hundred ms, faster than upsync polls: the removal is seen in ZooKeeper itself.
  const observer = await Observer.connect(zk!.connect);
  t.teardown(() => observer.close());
  const crashAt = Date.now();
  process.kill(nile.appHostPid()!, 'SIGKILL');
  const gone = await observer.until(`/nginx/upstreams/${UPSTREAM}/${address}`, (stat) => stat === null, 15_000);
  if (gone === undefined) throw new Error('the node was not removed after the crash');
  const offline = await nile.waitFor('the offline call', () => hits(gw, '/offline')[0]);
  t.ok(offline.at <= gone, `a crash: the gateway is called offline (${offline.at - crashAt} ms after the kill) no later than the node is gone (${gone - crashAt} ms)`);
  const offlineLog = await nile.waitLog((l) => l.msg.startsWith('offline calls:'), 'offline calls logged');
  t.match(offlineLog.msg, /gateway 200, rpc ECONNREFUSED/, 'the dead app\'s own offline endpoint does not answer');

  const again = await nile.waitPhase('ready', 60_000, crashAt);
  const back = await reader.waitServed(address, 30_000, again.time);
  const second = hits(gw, '/online 200')[1];
  t.ok(second, 'online again after the restart');
  t.ok(second!.at >= again.time && second!.at < back.at, 'after the restart is ready, before nginx sees the node again');
  t.equal(nile.stdout.filter((l) => l === 'fixture online called POST').length, 2, 'the RPC framework twice too');
  const calls = JSON.parse((await nile.exec(['status', '--json'])).stdout).calls as Array<{ kind: string; name: string; ok: boolean }>;
  t.same(calls.map((c) => `${c.kind} ${c.name} ${c.ok}`).sort(), ['offline gateway true', 'offline rpc false', 'online gateway true', 'online rpc true'], 'nile status has each call\'s last result');
});

for (const how of ['prestop', 'SIGTERM'] as const) {
  t.test(`${how}: the offline calls come before the node is removed and before the drain wait`, { skip: zkSkip }, async (t) => {
    const gw = await gateway(t);
    const { nile, address } = await pod(t, zk!, gw, { prestop: { drain: { url: `${gw.url}/drain`, timeout: '5s', interval: '100ms' } } });
    const reader = watchUpstream(t, zooKeeper({ connect: zk!.connect, upstream: UPSTREAM, intervalMs: 50 }));
    await reader.waitServed(address, 60_000);
    const started = Date.now();
    // Not nile.exec: the gateway is served by this process, which a synchronous exec would hold up.
    if (how === 'prestop') t.equal((await nile.exec(['prestop'], 60_000)).code, 0, 'nile prestop returns 0');
    else nile.signal('SIGTERM');
    const gone = await goneAt(reader, address, started);
    const offline = await nile.waitFor('offline call', () => hits(gw, '/offline')[0]);
    const drain = await nile.waitFor('drain call', () => hits(gw, '/drain')[0]);
    t.ok(offline.at < gone, `the gateway was called offline (${offline.at - started} ms) before nginx lost the node (${gone - started} ms)`);
    t.ok(offline.at < drain.at, 'and before the drain wait');
    const fixtureOffline = nile.stdout.indexOf('fixture offline called POST');
    t.ok(fixtureOffline >= 0, 'the RPC framework was called offline too');
    const deregistered = nile.logs.find((l) => l.msg === 'prestop: deregistered')!;
    const called = nile.logs.find((l) => l.msg === 'prestop: offline called')!;
    t.ok(called.time <= deregistered.time, 'nile made the offline calls, then deregistered');
    t.match(called.detail, 'gateway 200, rpc 200');
    if (how === 'SIGTERM') t.equal((await nile.exited).code, 143, 'then the app stopped');
  });
}

t.test('sv down: the offline calls, the RPC framework\'s included, come before the app is stopped and the node removed', { skip: zkSkip }, async (t) => {
  const gw = await gateway(t);
  const { nile, address } = await pod(t, zk!, gw, {}, ['--print-signals']);
  const reader = watchUpstream(t, zooKeeper({ connect: zk!.connect, upstream: UPSTREAM, intervalMs: 50 }));
  await reader.waitServed(address, 60_000);
  const started = Date.now();
  t.equal((await nile.exec(['sv', 'down', 'app'], 60_000)).code, 0, 'nile sv down app');
  const gone = await goneAt(reader, address, started);
  await nile.waitPhase('down', 15_000, started);
  const offline = hits(gw, '/offline')[0];
  t.ok(offline && offline.at < gone, `the gateway was called offline before nginx lost the node (${gone - started} ms)`);
  const rpc = nile.stdout.indexOf('fixture offline called POST');
  const term = nile.stdout.indexOf('signal TERM');
  t.ok(rpc >= 0 && term > rpc, 'the RPC framework was called offline before the app got TERM');
  t.match(nile.logs.find((l) => l.msg.startsWith('offline calls:'))?.msg, 'gateway 200, rpc 200');
});
