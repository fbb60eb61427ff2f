// node-zookeeper-client, typed for what nile uses, with deadlines on every call and guards so none of its faults reach PID 1.

import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { Log } from '../log.js';
import { messageOf } from '../errors.js';

export interface Stat {
  ephemeralOwner: Buffer;
  version: number;
}

export interface ZkException extends Error {
  getCode(): number;
}

export interface ZkId {
  scheme: string;
  id: string;
}

export interface ZkAcl {
  permission: number;
  id: ZkId;
}

export interface ZkEvent {
  getName(): string;
  getPath(): string;
}

type Done<T> = (error: ZkException | null, value: T) => void;
type Watcher = (event: ZkEvent) => void;

export interface ZkClientOptions {
  sessionTimeout: number;
  spinDelay?: number;
  retries?: number;
  sessionId?: Buffer;
  sessionPassword?: Buffer;
}

export interface ZkClient {
  connect(): void;
  close(): void;
  on(event: 'connected' | 'disconnected' | 'expired' | 'authenticationFailed', listener: () => void): this;
  on(event: 'error', listener: (error: unknown) => void): this;
  once(event: 'connected' | 'disconnected' | 'expired', listener: () => void): this;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  getSessionTimeout(): number;
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer, acls: ZkAcl[], mode: number, done: Done<string>): void;
  remove(path: string, version: number, done: (error: ZkException | null) => void): void;
  exists(path: string, done: Done<Stat | null>): void;
  exists(path: string, watcher: Watcher, done: Done<Stat | null>): void;
  getData(path: string, done: (error: ZkException | null, data: Buffer, stat: Stat) => void): void;
  setData(path: string, data: Buffer, version: number, done: Done<Stat>): void;
  getACL(path: string, done: (error: ZkException | null, acls: ZkAcl[], stat: Stat) => void): void;
  mkdirp(path: string, acls: ZkAcl[], mode: number, done: Done<string>): void;
}

interface Library {
  createClient(connect: string, options: ZkClientOptions): ZkClient;
  ACL: { new (permission: number, id: unknown): ZkAcl; OPEN_ACL_UNSAFE: ZkAcl[] };
  Id: new (scheme: string, id: string) => ZkId;
  Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };
  CreateMode: { PERSISTENT: number; EPHEMERAL: number };
  Exception: { NO_NODE: number; NODE_EXISTS: number; BAD_VERSION: number; NO_AUTH: number; CONNECTION_LOSS: number };
}

// The parts of the library's connection manager that the guards below reach into.
interface Internals {
  socket?: net.Socket;
  pendingBuffer?: Buffer | null;
  onSocketData?: (buffer: Buffer) => void;
  onSocketConnected?: () => void;
  connect?: () => void;
  state?: number;
  servers?: unknown[];
  serverAttempts?: number;
  connectTimeout?: number;
}

// The connection manager's state while it waits for the handshake's answer.
const connecting = 1;

/** ZooKeeper's own bound on a packet (the client's jute.maxbuffer default, 0xfffff): a longer frame is a broken server. */
const maxFrameBytes = 0xfffff;

export const zk: Library = createRequire(import.meta.url)('node-zookeeper-client');

export class TimeoutError extends Error {}

/** Run one library call; rejects on its error, on a synchronous throw, or when it has not answered by the deadline. */
export function call<T>(what: string, deadline: number, start: (done: (error: ZkException | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const ms = Math.max(0, deadline - Date.now());
    const timer = setTimeout(() => reject(new TimeoutError(`ZooKeeper did not answer ${what} within ${ms} ms`)), ms);
    const done = (error: ZkException | null, value?: T): void => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value as T);
    };
    try {
      start(done);
    } catch (err) {
      clearTimeout(timer);
      reject(err);
    }
  });
}

export function codeOf(err: unknown): number | undefined {
  const getCode = (err as Partial<ZkException> | null)?.getCode;
  return typeof getCode === 'function' ? getCode.call(err) : undefined;
}

/**
 * Keep a client's faults inside it, and make a broken server look like an unreachable one: a frame longer than
 * maxFrameBytes, a handshake answer that does not add up or does not come within the connect timeout, or a reply
 * the library cannot parse drops the connection before the library acts on it; the next attempt then waits the
 * library's spin delay, as after a round of servers that refused, and one warning tells of the whole streak.
 */
export function guard(client: ZkClient, log: Log): void {
  client.on('error', (err) => log.warn({ error: messageOf(err) }, 'ZooKeeper client error'));
  const internals = internalsOf(client);
  const { onSocketData, onSocketConnected } = internals ?? {};
  if (!internals || typeof onSocketData !== 'function' || typeof onSocketConnected !== 'function') return;
  let handshake: NodeJS.Timeout | undefined;
  let broken = 0; // broken answers since the last good handshake
  const drop = (manager: Internals, why: string): void => {
    clearTimeout(handshake);
    if (broken++ === 0) log.warn({ error: why }, 'ZooKeeper reply not understood; reconnecting as to an unreachable server');
    else log.debug({ error: why, times: broken }, 'ZooKeeper server still broken');
    manager.pendingBuffer = null;
    manager.serverAttempts = manager.servers?.length ?? 0;
    manager.socket?.destroy();
  };
  internals.onSocketConnected = function boundedHandshake(this: Internals) {
    clearTimeout(handshake);
    const socket = this.socket;
    const ms = this.connectTimeout ?? 10_000;
    handshake = setTimeout(() => {
      if (this.socket === socket && this.state === connecting) drop(this, `no answer to the handshake within ${ms} ms`);
    }, ms).unref();
    onSocketConnected.call(this);
  };
  internals.onSocketData = function guardedSocketData(this: Internals, buffer: Buffer) {
    const wasConnecting = this.state === connecting;
    const problem = frameProblem(this.pendingBuffer ?? null, buffer, wasConnecting);
    if (problem) return drop(this, problem);
    try {
      onSocketData.call(this, buffer);
    } catch (err) {
      return drop(this, `a reply it cannot parse (${messageOf(err)})`);
    }
    if (wasConnecting && this.state !== connecting) {
      clearTimeout(handshake);
      broken = 0;
    }
  };
}

/** What is wrong with the first frame of pending + buffer, if anything can be told yet. */
function frameProblem(pending: Buffer | null, buffer: Buffer, handshake: boolean): string | undefined {
  const have = (pending?.length ?? 0) + buffer.length;
  if (have < 4) return undefined;
  const head = pending && pending.length >= 4 ? pending : Buffer.concat([pending ?? Buffer.alloc(0), buffer.subarray(0, 4)]);
  const size = head.readInt32BE(0);
  if (size < 0 || size >= maxFrameBytes) return `a frame of ${size} bytes (ZooKeeper's bound: ${maxFrameBytes})`;
  if (!handshake || have < 4 + size) return undefined;
  // The handshake's answer: protocol version, timeout, session id, then a password (length and bytes) and an optional read-only flag.
  const frame = Buffer.concat([pending ?? Buffer.alloc(0), buffer]).subarray(4, 4 + size);
  const password = size >= 20 ? frame.readInt32BE(16) : -1;
  const rest = size - 20 - password;
  return password >= 0 && (rest === 0 || rest === 1) ? undefined : `a handshake answer that does not add up (${size} bytes)`;
}

/** Close the current TCP connection; the client reconnects with the same session. */
export function dropConnection(client: ZkClient): void {
  internalsOf(client)?.socket?.destroy();
}

/** End a client for good: close its session, and make sure no socket of it lingers or comes back. */
export function dispose(client: ZkClient, graceMs: number): Promise<void> {
  const internals = internalsOf(client);
  // The library reconnects from any state it does not expect, even after close().
  if (internals) internals.connect = () => undefined;
  try {
    client.close();
  } catch {
    // Closing a client that never connected may throw; the socket is destroyed below either way.
  }
  return new Promise((resolve) => {
    const socket = internals?.socket;
    const finish = (): void => {
      clearTimeout(timer);
      socket?.destroy();
      resolve();
    };
    const timer = setTimeout(finish, graceMs);
    if (!socket || socket.destroyed) finish();
    else socket.once('close', finish);
  });
}

/** `h1:p,h2:p/chroot` → hosts and chroot; nile creates the chroot itself, so it is kept out of the library. */
export function splitConnect(connect: string): { hosts: string; chroot: string } {
  const slash = connect.indexOf('/');
  const hosts = (slash === -1 ? connect : connect.slice(0, slash))
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '')
    .join(',');
  return { hosts, chroot: slash === -1 ? '' : joinPath(connect.slice(slash)) };
}

export function joinPath(...parts: string[]): string {
  const names = parts.flatMap((part) => part.split('/')).filter((name) => name !== '');
  return names.length === 0 ? '' : '/' + names.join('/');
}

/** The ACLs nile creates nodes with. */
export interface Acls {
  shared: ZkAcl[]; // the levels above the upstream
  own: ZkAcl[]; // the upstream and the instance's node
}

/** With a digest identity (`user:password`) its nodes are its own and the levels above shared; without, all open. */
export function aclsFor(credentials: string | undefined): Acls {
  return credentials ? { shared: sharedAcl(), own: digestAcl(credentials) } : { shared: zk.ACL.OPEN_ACL_UNSAFE, own: zk.ACL.OPEN_ACL_UNSAFE };
}

/** `user:password` → the ACL entries: that digest identity may do anything, everyone may read (nginx does not authenticate). */
function digestAcl(credentials: string): ZkAcl[] {
  const user = credentials.slice(0, credentials.indexOf(':'));
  const hash = crypto.createHash('sha1').update(credentials).digest('base64');
  return [new zk.ACL(zk.Permission.ALL, new zk.Id('digest', `${user}:${hash}`)), new zk.ACL(zk.Permission.READ, new zk.Id('world', 'anyone'))];
}

/** ACL for the levels above an upstream, shared by every project: anyone may read them and add an upstream. */
function sharedAcl(): ZkAcl[] {
  return [new zk.ACL(zk.Permission.READ | zk.Permission.CREATE, new zk.Id('world', 'anyone'))];
}

function internalsOf(client: ZkClient): Internals | undefined {
  const internals = (client as unknown as { connectionManager?: Internals }).connectionManager;
  return typeof internals === 'object' && internals !== null ? internals : undefined;
}
