// Faults a ZooKeeper client meets, made on purpose: its session ended from outside, a server that
// answers nonsense, a connection that goes silent or is held at the door.

import net from 'node:net';

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

/** A TCP proxy whose connections can be frozen (open but silent both ways, as after a lost route) or held at the door; it notes when each connection came and each request frame (length-prefixed, client to server) passed. */
export class FreezableProxy {
  readonly connectsAt: number[] = [];
  readonly requestsAt: number[] = [];
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
    this.connectsAt.push(Date.now());
    downstream.on('error', () => undefined);
    let pending = 0; // bytes of the current frame still to come
    let header = Buffer.alloc(0);
    downstream.on('data', (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (pending > 0) {
          const take = Math.min(pending, chunk.length - at);
          pending -= take;
          at += take;
          continue;
        }
        const need = 4 - header.length;
        header = Buffer.concat([header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (header.length < 4) return;
        pending = header.readInt32BE(0);
        header = Buffer.alloc(0);
        this.requestsAt.push(Date.now());
      }
    });
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
