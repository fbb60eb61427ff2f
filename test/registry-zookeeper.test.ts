import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { BackendStatus, Desired } from '../src/registry/backend.js';
import type { ZooKeeperBackend } from '../src/registry/zookeeper.js';
import type { Stat, ZkAcl, ZkClient } from '../src/registry/zookeeper-client.js';
import { zkLibrary as zk } from './helpers/zookeeper-library.js';
import { ZooKeeperServers, zookeeperMissing } from './helpers/zookeeper.js';
import { expireSession, FreezableProxy, startNonsenseServer } from './helpers/zookeeper-faults.js';
import { exists, instance, observe, present, register, registrar, SESSION_MS, type Registrar } from './helpers/zookeeper-registrar.js';
import { eventually } from './helpers/wait.js';

// nile's ZooKeeper backend behind its reconciler, without the agent, against a standalone server and the faults one
// has (and a server that answers nonsense). An ensemble's leader lost is registry-zookeeper-ensemble.

const down: Desired = { present: true, down: true };
const absent: Desired = { present: false };
const DATA_UP = '{"weight":1,"max_fails":2,"fail_timeout":10,"down":0,"backup":0}';
const DATA_DOWN = '{"weight":1,"max_fails":2,"fail_timeout":10,"down":1,"backup":0}';

/** The session the backend holds now (a look inside, for the tests that end it from outside). */
function sessionOf(backend: ZooKeeperBackend): { id: Buffer; password: Buffer } {
  const client = (backend as unknown as { session: { client?: ZkClient } }).session.client;
  if (!client) throw new Error('backend has no session');
  return { id: client.getSessionId(), password: client.getSessionPassword() };
}

const gone = (stat: Stat | null): boolean => stat === null;
const ownedBy = (owner: Buffer) => (stat: Stat | null) => stat !== null && stat.ephemeralOwner.equals(owner);
const notOwnedBy = (owner: Buffer) => (stat: Stat | null) => stat !== null && !stat.ephemeralOwner.equals(owner);

function plain(acls: ZkAcl[]): ZkAcl[] {
  return acls.map((acl) => ({ permission: acl.permission, id: { scheme: acl.id.scheme, id: acl.id.id } }));
}

/** Measured times go to the TAP output as comments. */
function report(line: string): void {
  t.comment(line);
}

/** The reconciler's status once an apply has failed (at most `timeoutMs` on), or as it is then. */
async function failedStatus(reg: Registrar, timeoutMs: number): Promise<BackendStatus[]> {
  await eventually(() => reg.reconciler.status().some((status) => status.lastError !== undefined), timeoutMs);
  return reg.reconciler.status();
}

t.test('a server answering nonsense costs an error and a reconnect, never the process', async (t) => {
  const nonsense = await startNonsenseServer();
  t.teardown(() => nonsense.close());
  const reg = registrar(t, `127.0.0.1:${nonsense.port}`);
  reg.reconciler.want(present);
  t.match(await failedStatus(reg, 2500), [{ state: 'unreachable', registered: false, lastError: /did not answer/ }], 'the apply failed within its budget');
  t.equal(await reg.reconciler.settled(0), false, 'not settled');
  t.match(reg.logText(), /ZooKeeper reply not understood; reconnecting/);
});

// Skipped, with the reason, where Debian's zookeeper is not installed.
const skip = zookeeperMissing() ?? false;

t.test('ZooKeeper standalone', { skip }, async (t) => {
  const servers = await ZooKeeperServers.standalone();
  t.teardown(() => servers.destroy());
  await servers.start();
  const connect = servers.connect;

  t.test('want(present) registers the ephemeral node with the upsync data; down and absent follow', async (t) => {
    const me = instance();
    const reg = registrar(t, connect, { instance: me });
    const observer = await observe(t, connect);
    t.ok(await reg.reconciler.settled(5000), 'absent at start');
    t.equal(reg.backend.path, `/nginx/upstreams/demo/10.0.0.7:${me.port}`);

    const registeredMs = await register(t, reg, observer);
    report(`want(present) → registered: ${registeredMs} ms`);
    for (const parent of ['/nginx', '/nginx/upstreams', '/nginx/upstreams/demo']) {
      const stat = await observer.exists(parent);
      t.ok(stat && stat.ephemeralOwner.equals(Buffer.alloc(8)), `${parent} is persistent`);
    }
    const stat = await observer.exists(reg.backend.path);
    t.ok(stat && !stat.ephemeralOwner.equals(Buffer.alloc(8)), 'the node is ephemeral');
    t.equal(await observer.data(reg.backend.path), DATA_UP);
    t.ok(await reg.reconciler.settled(2000));
    t.match(reg.reconciler.status(), [{ backend: 'zookeeper', state: 'registered', registered: true }]);

    reg.reconciler.want(down);
    t.ok(await eventually(async () => (await observer.data(reg.backend.path)) === DATA_DOWN, 2000), 'down → "down":1');
    t.ok(await reg.reconciler.settled(2000));
    t.match(reg.reconciler.status(), [{ state: 'down', registered: true }]);
    reg.reconciler.want(present);
    t.ok(await eventually(async () => (await observer.data(reg.backend.path)) === DATA_UP, 2000), 'up again → "down":0');

    const at = Date.now();
    reg.reconciler.want(absent);
    const goneAt = await observer.until(reg.backend.path, gone, 2000);
    t.ok(goneAt !== undefined, 'absent → the node is gone');
    report(`want(absent) → gone (watcher): ${goneAt === undefined ? 'never' : goneAt - at} ms`);
    t.ok(await reg.reconciler.settled(1000));
    t.match(reg.reconciler.status(), [{ state: 'absent', registered: false }]);
  });

  t.test('a node deleted by someone else comes back', async (t) => {
    const reg = registrar(t, connect);
    const observer = await observe(t, connect);
    await register(t, reg, observer);
    t.equal(await observer.codeOf((client, done) => client.remove(reg.backend.path, -1, done)), 0, 'deleted from outside');
    const at = Date.now();
    const back = await observer.until(reg.backend.path, exists, 3000);
    t.ok(back, `back after ${back === undefined ? 'never' : back - at} ms`);
    report(`deleted by someone else → back: ${back === undefined ? 'never' : back - at} ms`);
    t.equal(await observer.data(reg.backend.path), DATA_UP);
  });

  t.test('a node left by an earlier session is replaced', async (t) => {
    const earlier = await observe(t, connect);
    const me = instance();
    const node = `/nginx/upstreams/${me.upstream}/${me.address}:${me.port}`;
    await earlier.codeOf((client, done) => client.mkdirp(path.dirname(node), zk.ACL.OPEN_ACL_UNSAFE, zk.CreateMode.PERSISTENT, (error) => done(error)));
    const stale = Buffer.from('{"stale":true}');
    t.equal(await earlier.codeOf((client, done) => client.create(node, stale, zk.ACL.OPEN_ACL_UNSAFE, zk.CreateMode.EPHEMERAL, (error) => done(error))), 0, 'an earlier session holds the node');
    const reg = registrar(t, connect, { instance: me });
    reg.reconciler.want(present);
    t.equal(reg.backend.path, node);
    const observer = await observe(t, connect);
    const replaced = await observer.until(node, notOwnedBy(earlier.raw.getSessionId()), 5000);
    t.ok(replaced, 'taken over by this session');
    t.equal(await observer.data(node), DATA_UP);
    t.ok(await reg.reconciler.settled(2000));
    t.match(reg.logText(), /replacing a node held by another session/);
  });

  /** Registered through a proxy to the first server, which the test can freeze or hold back. */
  async function registeredBehindProxy(t: Test) {
    const proxy = await FreezableProxy.start(servers.port(0));
    t.teardown(() => proxy.close());
    const reg = registrar(t, `127.0.0.1:${proxy.port}`);
    const observer = await observe(t, connect);
    await register(t, reg, observer);
    t.ok(await reg.reconciler.settled(2000));
    return { proxy, reg, observer };
  }

  t.test('a session expired from outside is replaced by a new one, and the node comes back', async (t) => {
    // Through a proxy that can hold the owner's reconnect back, so the intruder surely ends the session first.
    const { proxy, reg, observer } = await registeredBehindProxy(t);
    const session = sessionOf(reg.backend);
    proxy.hold();
    await expireSession(servers.port(0), session.id, session.password);
    t.ok(await observer.until(reg.backend.path, gone, 2000), 'the session ended, and its node with it');
    const at = Date.now();
    proxy.release();
    const back = await observer.until(reg.backend.path, notOwnedBy(session.id), 5000);
    t.ok(back, `back under a new session ${back === undefined ? 'never' : back - at + ' ms'} after ZooKeeper could be reached again`);
    report(`forced session expiry → back: ${back === undefined ? 'never' : back - at} ms after the owner could reconnect`);
    t.match(reg.logText(), /session expired/);
    t.ok(await reg.reconciler.settled(2000));
  });

  t.test('a connection that stops answering is noticed and replaced before the session expires', async (t) => {
    const { proxy, reg, observer } = await registeredBehindProxy(t);
    const owner = (await observer.exists(reg.backend.path))!.ephemeralOwner;
    t.ok(proxy.freeze() >= 1, 'the live connection is frozen');
    // Past the session timeout and the server's next expiry tick: a session that went with the connection has ended by then.
    const lost = await observer.until(reg.backend.path, (stat) => !ownedBy(owner)(stat), SESSION_MS + 1000);
    t.equal(lost, undefined, 'the node never left: the same session went on over a new connection');
    t.match(reg.logText(), /stopped answering/);
  });

  t.test('ZooKeeper stopped and started again: the node is back once it answers', async (t) => {
    const reg = registrar(t, connect);
    const observer = await observe(t, connect);
    await register(t, reg, observer);
    t.ok(await reg.reconciler.settled(2000));
    await servers.stop();
    await servers.start();
    const ready = Date.now();
    const fresh = await observe(t, connect);
    const back = await fresh.until(reg.backend.path, exists, 5000);
    t.ok(back !== undefined, 'the node is back once ZooKeeper answers');
    report(`ZooKeeper restart (same data) → back: ${back === undefined ? 'never' : back - ready} ms after ready`);
    t.ok(await eventually(async () => (await fresh.exists(reg.backend.path))?.ephemeralOwner.equals(sessionOf(reg.backend).id) === true, 5000), 'held by the live session');
    t.ok(await eventually(async () => reg.backend.status().state === 'registered', 5000), 'reconnected');
    t.ok(await reg.reconciler.settled(3000));
  });

  t.test('ZooKeeper restarted with its data lost: a new session registers again', async (t) => {
    const reg = registrar(t, connect);
    const observer = await observe(t, connect);
    await register(t, reg, observer);
    t.ok(await reg.reconciler.settled(2000));
    const before = await observer.exists(reg.backend.path);
    t.ok(before, 'registered before the restart');
    observer.close();
    await servers.restart(0, { wipe: true });
    const ready = Date.now();
    const fresh = await observe(t, connect);
    const back = await fresh.until(reg.backend.path, exists, 4 * SESSION_MS);
    t.ok(back, `back ${back === undefined ? 'never' : back - ready + ' ms'} after ZooKeeper answered`);
    report(`ZooKeeper restart (data lost) → back: ${back === undefined ? 'never' : back - ready} ms after ready`);
    t.equal(await fresh.data(reg.backend.path), DATA_UP);
    // The agent may be back before the observer connects, so the loss shows in who owns the node: a new session.
    const after = await fresh.exists(reg.backend.path);
    t.ok(after && before && !after.ephemeralOwner.equals(before.ephemeralOwner), 'the node was made again, by a new session');
    t.ok(await reg.reconciler.settled(3000));
  });

  t.test('ZooKeeper down when nile starts: applies fail fast, the node appears once it is up', async (t) => {
    await servers.stop();
    const reg = registrar(t, connect);
    reg.reconciler.want(present);
    const [status] = await failedStatus(reg, 2500);
    t.match(status, { state: 'unreachable', registered: false, lastError: /no ZooKeeper server/ }, 'the failure is bounded and told');
    t.equal(await reg.reconciler.settled(0), false, 'not settled while ZooKeeper is down');
    await servers.start();
    const ready = Date.now();
    const observer = await observe(t, connect);
    const seen = await observer.until(reg.backend.path, exists, 5000);
    t.ok(seen !== undefined, 'registered once ZooKeeper answers');
    report(`ZooKeeper down at start → registered: ${seen === undefined ? 'never' : seen - ready} ms after ready`);
    t.ok(await reg.reconciler.settled(3000));
  });

  t.test('with a digest the node is owned by it and world-readable; the digest is never logged', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nile-digest-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const credentials = 'nile-app:s3cret-Pa55word';
    const digestFile = path.join(dir, 'digest');
    fs.writeFileSync(digestFile, credentials + '\n', { mode: 0o600 });
    const reg = registrar(t, connect, { instance: instance('secure'), digestFile });
    const observer = await observe(t, connect);
    await register(t, reg, observer);
    t.ok(await reg.reconciler.settled(2000));

    const hash = crypto.createHash('sha1').update(credentials).digest('base64');
    const expected = [
      { permission: 31, id: { scheme: 'digest', id: `nile-app:${hash}` } },
      { permission: 1, id: { scheme: 'world', id: 'anyone' } },
    ];
    const node = reg.backend.path;
    // ZooKeeper shows the digest's hash only to a client that may administer the node.
    const owner = await observe(t, connect, credentials);
    t.same(plain(await owner.acl(node)), expected, 'node: digest ALL, world READ');
    t.same(plain(await owner.acl(path.dirname(node))), expected, 'upstream: digest ALL, world READ');
    t.equal(await observer.data(node), DATA_UP, 'an unauthenticated client reads it');
    const NO_AUTH = -102;
    t.equal(await observer.codeOf((client, done) => client.setData(node, Buffer.from('{}'), -1, (error) => done(error))), NO_AUTH, 'but cannot set it');
    t.equal(await observer.codeOf((client, done) => client.remove(node, -1, done)), NO_AUTH, 'nor delete it');
    const sibling = `${path.dirname(node)}/10.9.9.9:1`;
    t.equal(await observer.codeOf((client, done) => client.create(sibling, Buffer.from('{}'), zk.ACL.OPEN_ACL_UNSAFE, zk.CreateMode.EPHEMERAL, (error) => done(error))), NO_AUTH, 'nor add a server');
    t.equal(await owner.codeOf((client, done) => client.setData(node, Buffer.from(DATA_UP), -1, (error) => done(error))), 0, 'the digest identity may');

    reg.reconciler.want(down);
    t.ok(await reg.reconciler.settled(2000));
    reg.reconciler.want(absent);
    t.ok(await reg.reconciler.settled(2000));
    t.equal(await observer.exists(node), null, 'and nile, authenticated, removes it');
    const logged = reg.logText();
    t.ok(logged.length > 0, 'something was logged');
    for (const secret of [credentials, 's3cret-Pa55word', hash]) t.notOk(logged.includes(secret), `log does not hold ${secret === hash ? 'the hashed digest' : 'the credentials'}`);
  });

  t.test('a digest file that cannot be read fails the apply without its content', async (t) => {
    const reg = registrar(t, connect, { digestFile: '/nonexistent/nile-digest' });
    reg.reconciler.want(present);
    t.match(await failedStatus(reg, 500), [{ state: 'unreachable', lastError: /cannot read ZooKeeper digestFile \/nonexistent\/nile-digest: ENOENT/ }]);
    t.equal(await reg.reconciler.settled(0), false);
  });
});
