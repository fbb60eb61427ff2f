// Real ZooKeeper servers for tests (Debian's package), on 127.0.0.1, plus a client to look at what they hold.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { call, codeOf, type Stat, type ZkAcl, type ZkClient, zk } from '../../src/registry/zookeeper-client.js';
import { freePort } from './ports.js';
import { sleep, waitFor } from './wait.js';

const JARS = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'];
const JVM_FLAGS = ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx128m', '-Dzookeeper.forceSync=no', '-Dorg.slf4j.simpleLogger.showDateTime=true'];
const TICK_MS = 200; // small, so sessions can be as short as 400 ms

/** Why ZooKeeper tests cannot run here, or undefined when they can. */
export function zookeeperMissing(): string | undefined {
  const missing = JARS.filter((jar) => !fs.existsSync(jar));
  return missing.length ? `Debian's zookeeper is not installed (${missing.join(', ')} missing)` : undefined;
}

interface Member {
  id: number;
  clientPort: number;
  peerPort: number;
  electionPort: number;
  dir: string;
  proc?: ChildProcess;
}

// Killed on any exit of the test process (a crash, a runner's timeout), so no JVM outlives a test.
const running = new Set<ChildProcess>();
function killAll(): void {
  for (const proc of running) if (proc.pid) tryKill(proc.pid, 'SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    // Nobody else handles it: die of it as we would have without this listener.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

/** A standalone server or an ensemble; member indexes start at 0. */
export class ZooKeeperServers {
  private constructor(
    private readonly members: Member[],
    private readonly home: string,
  ) {}

  static standalone(): Promise<ZooKeeperServers> {
    return ZooKeeperServers.create(1);
  }

  static ensemble(size = 3): Promise<ZooKeeperServers> {
    return ZooKeeperServers.create(size);
  }

  private static async create(size: number): Promise<ZooKeeperServers> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nile-zk-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ id: i + 1, clientPort: await freePort(), peerPort: await freePort(), electionPort: await freePort(), dir: path.join(home, `zk${i + 1}`) });
    }
    const servers = new ZooKeeperServers(members, home);
    members.forEach((member) => servers.configure(member));
    return servers;
  }

  /** Every member, as a client connect string. */
  get connect(): string {
    return this.members.map((member) => `127.0.0.1:${member.clientPort}`).join(',');
  }

  address(i: number): string {
    return `127.0.0.1:${this.members[i].clientPort}`;
  }

  port(i: number): number {
    return this.members[i].clientPort;
  }

  /** Start every member (or one) and wait until it serves. */
  async start(i?: number, timeoutMs = 30_000): Promise<void> {
    const picked = this.pick(i);
    picked.forEach((member) => this.launch(member));
    await Promise.all(picked.map((member) => this.waitReady(this.members.indexOf(member), timeoutMs)));
  }

  /** TERM, then KILL after 5 s. */
  async stop(i?: number): Promise<void> {
    await Promise.all(this.pick(i).map((member) => terminate(member, 5000)));
  }

  async kill(i: number): Promise<void> {
    await terminate(this.members[i], 0);
  }

  /** Stop and start again on the same ports; `wipe` loses every node and session, as a server whose disk was replaced. */
  async restart(i?: number, options: { wipe?: boolean } = {}): Promise<void> {
    await this.stop(i);
    if (options.wipe) this.pick(i).forEach((member) => this.configure(member, true));
    await this.start(i);
  }

  /** Index of the member that leads the ensemble (or serves alone). */
  async leader(timeoutMs = 10_000): Promise<number> {
    const leads = async (i: number) => this.members[i].proc !== undefined && ['leader', 'standalone'].includes(modeOf(await fourLetters(this.members[i].clientPort, 'srvr')) ?? '');
    const leader = async () => {
      for (let i = 0; i < this.members.length; i++) if (await leads(i)) return { i };
      return undefined;
    };
    return (await waitFor('a ZooKeeper member to lead', leader, timeoutMs)).i;
  }

  /** Wait until member i answers requests (it has joined a quorum, or serves alone). */
  async waitReady(i: number, timeoutMs = 30_000): Promise<void> {
    const member = this.members[i];
    const serves = async () => {
      if (!member.proc) throw new Error(`ZooKeeper ${member.id} exited; see ${this.logFile(member)}`);
      return modeOf(await fourLetters(member.clientPort, 'srvr')) !== undefined;
    };
    await waitFor(`ZooKeeper ${member.id} to serve`, serves, timeoutMs, { everyMs: 50, context: () => `see ${this.logFile(member)}` });
  }

  /** Stop every member and remove the data; for t.teardown. */
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.home, { recursive: true, force: true });
  }

  private pick(i?: number): Member[] {
    return i === undefined ? this.members : [this.members[i]];
  }

  private configure(member: Member, wipe = false): void {
    if (wipe) fs.rmSync(path.join(member.dir, 'data'), { recursive: true, force: true });
    fs.mkdirSync(path.join(member.dir, 'data'), { recursive: true });
    const lines = [
      `tickTime=${TICK_MS}`,
      'initLimit=20',
      'syncLimit=10',
      `dataDir=${path.join(member.dir, 'data')}`,
      `clientPort=${member.clientPort}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr,ruok,stat,cons',
      `minSessionTimeout=${2 * TICK_MS}`,
      'maxSessionTimeout=60000',
      'preAllocSize=1024',
      'maxClientCnxns=0',
    ];
    if (this.members.length > 1) {
      fs.writeFileSync(path.join(member.dir, 'data', 'myid'), `${member.id}\n`);
      for (const peer of this.members) lines.push(`server.${peer.id}=127.0.0.1:${peer.peerPort}:${peer.electionPort}`);
    }
    fs.writeFileSync(path.join(member.dir, 'zoo.cfg'), lines.join('\n') + '\n');
  }

  private launch(member: Member): void {
    if (member.proc) return;
    const log = fs.openSync(this.logFile(member), 'a');
    const args = [...JVM_FLAGS, '-cp', JARS.join(':'), 'org.apache.zookeeper.server.quorum.QuorumPeerMain', path.join(member.dir, 'zoo.cfg')];
    const proc = spawn('java', args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    member.proc = proc;
    running.add(proc);
    proc.on('exit', () => {
      running.delete(proc);
      if (member.proc === proc) member.proc = undefined;
    });
    proc.on('error', () => {
      running.delete(proc);
      if (member.proc === proc) member.proc = undefined;
    });
  }

  private logFile(member: Member): string {
    return path.join(member.dir, 'server.log');
  }
}

async function terminate(member: Member, graceMs: number): Promise<void> {
  const proc = member.proc;
  if (!proc?.pid) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  tryKill(proc.pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const timer = setTimeout(() => proc.pid && tryKill(proc.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** The answer to a four-letter command, or '' when the server does not answer. */
export function fourLetters(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(port, '127.0.0.1');
    const finish = (): void => {
      socket.destroy();
      resolve(text);
    };
    socket.setTimeout(timeoutMs, finish);
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', finish);
    socket.on('error', () => undefined);
  });
}

function modeOf(srvr: string): string | undefined {
  return /^Mode: (\w+)/m.exec(srvr)?.[1];
}

/** A plain client that looks at what the servers hold; every call is bounded. */
export class Observer {
  private wake: ((at: number) => void) | undefined;
  // One watcher function for every watch, so the library keeps one registration per path.
  private readonly watcher = (): void => this.wake?.(Date.now());

  private constructor(readonly raw: ZkClient) {}

  static async connect(connect: string, options: { sessionTimeoutMs?: number; digest?: string; sessionId?: Buffer; sessionPassword?: Buffer } = {}): Promise<Observer> {
    const raw = zk.createClient(connect, {
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      spinDelay: 100,
      ...(options.sessionId ? { sessionId: options.sessionId, sessionPassword: options.sessionPassword } : {}),
    });
    raw.on('error', () => undefined);
    if (options.digest) raw.addAuthInfo('digest', Buffer.from(options.digest));
    const connected = new Promise<void>((resolve) => raw.once('connected', () => resolve()));
    raw.connect();
    const ok = await Promise.race([connected.then(() => true), sleep(10_000).then(() => false)]);
    if (!ok) {
      raw.close();
      throw new Error(`cannot connect to ZooKeeper at ${connect}`);
    }
    return new Observer(raw);
  }

  exists(node: string): Promise<Stat | null> {
    return call<Stat | null>('exists', Date.now() + 5000, (done) => this.raw.exists(node, done));
  }

  async data(node: string): Promise<string> {
    const value = await call<Buffer>('getData', Date.now() + 5000, (done) => this.raw.getData(node, (error, data) => done(error, data)));
    return value ? value.toString() : '';
  }

  acl(node: string): Promise<ZkAcl[]> {
    return call<ZkAcl[]>('getACL', Date.now() + 5000, (done) => this.raw.getACL(node, (error, acls) => done(error, acls)));
  }

  /** Resolves with the error code of a refused call, or 0 when it went through. */
  async codeOf(work: (client: ZkClient, done: (error: Error | null) => void) => void): Promise<number> {
    try {
      await call<void>('call', Date.now() + 5000, (done) => work(this.raw, (error) => done(error as never, undefined)));
      return 0;
    } catch (err) {
      return codeOf(err) ?? -1;
    }
  }

  /**
   * Wait until `node` satisfies `check`; resolves with the time it was first seen so (ms epoch), or undefined after timeoutMs.
   * A watch answers at once; a short poll covers the moments this client itself is reconnecting.
   */
  async until(node: string, check: (stat: Stat | null) => boolean, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    let notifiedAt: number | undefined; // when the watch fired that led to this look
    while (Date.now() < deadline) {
      let firedAt: number | undefined;
      const changed = new Promise<void>((resolve) => (this.wake = (at) => void ((firedAt = at), resolve())));
      let stat: Stat | null | undefined;
      try {
        stat = await call<Stat | null>('exists', Math.min(deadline, Date.now() + 1000), (done) => this.raw.exists(node, this.watcher, done));
      } catch {
        stat = undefined;
      }
      // Seen when the notification came, if this look (made because of it) confirms it; else when looked.
      if (stat !== undefined && check(stat)) return notifiedAt ?? Date.now();
      await Promise.race([changed, sleep(Math.min(100, Math.max(0, deadline - Date.now())))]);
      notifiedAt = firedAt;
    }
    return undefined;
  }

  close(): void {
    try {
      this.raw.close();
    } catch {
      // A client that lost its server may throw on close; it is gone either way.
    }
  }
}

/**
 * End a session from outside, the classic way: a second client joins it with its id and password and closes it.
 * Both requests leave in one write, so the closing wins over the owner's own quick reconnect.
 */
export function expireSession(port: number, sessionId: Buffer, sessionPassword: Buffer): Promise<void> {
  const join = Buffer.alloc(4 + 4 + 8 + 4 + 8 + 4 + sessionPassword.length + 1);
  let at = join.writeInt32BE(join.length - 4, 0);
  at = join.writeInt32BE(0, at); // protocol version
  at = join.writeBigInt64BE(0n, at); // last zxid seen
  at = join.writeInt32BE(10_000, at); // session timeout
  at += sessionId.copy(join, at);
  at = join.writeInt32BE(sessionPassword.length, at);
  at += sessionPassword.copy(join, at);
  join.writeUInt8(0, at); // not read-only
  const close = Buffer.alloc(12);
  close.writeInt32BE(8, 0);
  close.writeInt32BE(1, 4); // xid
  close.writeInt32BE(-11, 8); // closeSession
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.concat([join, close])));
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A server that completes the ZooKeeper handshake, then answers every request with an error code no client knows. */
export async function startNonsenseServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    let greeted = false;
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        socket.write(greeted ? nonsenseReply(frame.readInt32BE(0)) : handshakeReply());
        greeted = true;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function handshakeReply(): Buffer {
  const reply = Buffer.alloc(4 + 4 + 4 + 8 + 4 + 16);
  let at = reply.writeInt32BE(reply.length - 4, 0);
  at = reply.writeInt32BE(0, at); // protocol version
  at = reply.writeInt32BE(3000, at); // session timeout
  at = reply.writeBigInt64BE(1n, at); // session id
  reply.writeInt32BE(16, at); // password: 16 zero bytes
  return reply;
}

function nonsenseReply(xid: number): Buffer {
  const reply = Buffer.alloc(4 + 4 + 8 + 4);
  let at = reply.writeInt32BE(reply.length - 4, 0);
  at = reply.writeInt32BE(xid, at);
  at = reply.writeBigInt64BE(0n, at); // zxid
  reply.writeInt32BE(-987_654, at); // an error code that does not exist
  return reply;
}

/** A TCP proxy whose connections can be frozen (open but silent both ways, as after a lost route) or held at the door. */
export class FreezableProxy {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private readonly waiting = new Set<net.Socket>();
  private holding = false;
  private readonly server: net.Server;
  port = 0;

  private constructor(private readonly targetPort: number) {
    this.server = net.createServer((downstream) => this.accept(downstream));
  }

  static async start(targetPort: number): Promise<FreezableProxy> {
    const proxy = new FreezableProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** Every connection open now stops carrying bytes, without closing; new connections work. */
  freeze(): number {
    for (const [downstream, upstream] of this.pairs) {
      downstream.unpipe(upstream);
      upstream.unpipe(downstream);
      downstream.pause();
      upstream.pause();
    }
    return this.pairs.size;
  }

  /** New connections are accepted but wait, silent, until release(). */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const downstream of this.waiting) this.bridge(downstream);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    for (const [downstream, upstream] of this.pairs) {
      downstream.destroy();
      upstream.destroy();
    }
    for (const downstream of this.waiting) downstream.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(downstream: net.Socket): void {
    downstream.on('error', () => undefined);
    if (!this.holding) return this.bridge(downstream);
    downstream.pause();
    this.waiting.add(downstream);
    downstream.on('close', () => this.waiting.delete(downstream));
  }

  private bridge(downstream: net.Socket): void {
    if (downstream.destroyed) return;
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [downstream, upstream];
    this.pairs.add(pair);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    downstream.resume();
    const end = (): void => {
      this.pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }
}
