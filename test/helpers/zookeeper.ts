// Real ZooKeeper servers for tests (Debian's package), on 127.0.0.1: a standalone one or an ensemble,
// started, stopped, restarted (wiped if asked), and asked with four-letter words.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const JARS = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'];
const JVM_FLAGS = ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx128m', '-Dzookeeper.forceSync=no', '-Dorg.slf4j.simpleLogger.showDateTime=true'];
const TICK_MS = 200; // small, so sessions can be as short as 400 ms
// The classes a server loads, recorded by `make build` (writeClassArchive): each start maps them instead of loading
// them one by one, ~150 ms of CPU less. A start without it, or with one this JVM cannot use, loads them as before.
const CLASS_ARCHIVE = path.join(ROOT, 'build', 'zookeeper.jsa');

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
    private readonly jvmFlags: string[],
  ) {}

  static standalone(jvmFlags: string[] = []): Promise<ZooKeeperServers> {
    return ZooKeeperServers.create(1, jvmFlags);
  }

  static ensemble(size = 3): Promise<ZooKeeperServers> {
    return ZooKeeperServers.create(size, []);
  }

  private static async create(size: number, jvmFlags: string[]): Promise<ZooKeeperServers> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nile-zk-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ id: i + 1, clientPort: await freePort(), peerPort: await freePort(), electionPort: await freePort(), dir: path.join(home, `zk${i + 1}`) });
    }
    const servers = new ZooKeeperServers(members, home, jvmFlags);
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

  /** Index of the member holding a client connection of `session` (hex, as the client reports it), if any. */
  async memberHolding(session: string): Promise<number | undefined> {
    const wanted = BigInt(`0x${session}`);
    for (let i = 0; i < this.members.length; i++) {
      if (!this.members[i].proc) continue;
      const sids = [...(await fourLetters(this.members[i].clientPort, 'cons')).matchAll(/sid=0x([0-9a-f]+)/g)].map((m) => BigInt(`0x${m[1]}`));
      if (sids.includes(wanted)) return i;
    }
    return undefined;
  }

  /** Kill every member and remove the data; for t.teardown (the data goes, so a clean shutdown would only cost its 0.3 s). */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((member) => terminate(member, 0)));
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
    const archive = fs.existsSync(CLASS_ARCHIVE) ? [`-XX:SharedArchiveFile=${CLASS_ARCHIVE}`] : [];
    const args = [...JVM_FLAGS, ...archive, ...this.jvmFlags, '-cp', JARS.join(':'), 'org.apache.zookeeper.server.quorum.QuorumPeerMain', path.join(member.dir, 'zoo.cfg')];
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

/** Records the classes a standalone server loads, for `make build`: the JVM writes them as it exits. */
export async function writeClassArchive(): Promise<void> {
  fs.rmSync(CLASS_ARCHIVE, { force: true });
  const partial = `${CLASS_ARCHIVE}.partial`;
  const servers = await ZooKeeperServers.standalone([`-XX:ArchiveClassesAtExit=${partial}`]);
  try {
    await servers.start();
    await servers.stop();
  } finally {
    await servers.destroy();
  }
  fs.renameSync(partial, CLASS_ARCHIVE);
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
