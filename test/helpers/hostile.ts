// Hostile peers on 127.0.0.1, each counting what it managed to send: an HTTP server whose answer never
// ends, a ZooKeeper server that answers with an endless frame or a handshake that does not add up, and
// clients that flood a server with idle or trickling connections.

import http from 'node:http';
import net from 'node:net';
import { settlesWithin } from './wait.js';

export interface Peer {
  port: number;
  /** Bytes the peer handed to the kernel (what the other side read, at most, plus the socket buffers). */
  sent(): number;
  /** Connections the peer accepted. */
  accepted(): number;
  close(): Promise<void>;
}

const filler = Buffer.alloc(64 * 1024, 'x');
const headerLines = Buffer.from('X-Filler: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'.repeat(1024));

/** Writes `chunk` for as long as the socket takes it, until it closes. */
function pour(socket: NodeJS.WritableStream & { destroyed: boolean }, count: (n: number) => void, chunk = filler): void {
  const more = (): void => {
    while (!socket.destroyed) {
      count(chunk.length);
      if (!socket.write(chunk)) return void socket.once('drain', more);
    }
  };
  more();
}

async function listening(server: net.Server, sockets: Set<net.Socket>, counters: { sent: number; accepted: number }): Promise<Peer> {
  server.on('connection', (socket: net.Socket) => {
    counters.accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent: () => counters.sent,
    accepted: () => counters.accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An HTTP server that answers every request 200 with a body that never ends. */
export function endlessHttpBody(contentType = 'application/json'): Promise<Peer> {
  const counters = { sent: 0, accepted: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': contentType });
    pour(res, (n) => (counters.sent += n));
  });
  return listening(server, new Set(), counters);
}

/** A seeded pseudo-random source in [0, 1): a failing run can be run again as it was. */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

export function pick<T>(random: () => number, from: readonly T[]): T {
  return from[Math.floor(random() * from.length)];
}

export const httpFaults = ['endless body', 'endless headers', 'garbage', 'trickle', 'hang up', 'answer'] as const;
export type HttpFault = (typeof httpFaults)[number];

/** A raw HTTP peer that answers each request with a fault picked at random: an endless body or headers, garbage, a byte every 100 ms, a hang-up, or a plain 200. */
export function chaoticHttp(seed: number): Promise<Peer> {
  const counters = { sent: 0, accepted: 0 };
  const random = seeded(seed);
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      const fault = pick(random, httpFaults);
      const count = (n: number): void => void (counters.sent += n);
      const head = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n';
      if (fault === 'hang up') return void socket.destroy();
      if (fault === 'answer') return void socket.end(`${head}content-length: 2\r\nconnection: close\r\n\r\n{}`);
      if (fault === 'endless body') return socket.write(`${head}\r\n`), pour(socket, count);
      if (fault === 'endless headers') return socket.write(head), pour(socket, count, headerLines);
      if (fault === 'garbage') return void socket.end(randomBytes(random, 64 + Math.floor(random() * 4096)));
      let at = 0;
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(head[at++ % head.length])), 100);
      timers.add(timer);
      socket.on('close', () => (clearInterval(timer), timers.delete(timer)));
    });
  });
  server.on('close', () => timers.forEach(clearInterval));
  return listening(server, new Set(), counters);
}

function randomBytes(random: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

export type ZooKeeperFault =
  | 'endless frame' // a length prefix of 2 GB, then bytes without end
  | 'handshake that does not add up' // a connect reply whose password runs past its frame, then the connection closes
  | 'garbage' // random bytes
  | 'silence'; // the connection is accepted, the connect request never answered

export const zooKeeperFaults: readonly ZooKeeperFault[] = ['endless frame', 'handshake that does not add up', 'garbage', 'silence'];

/** A server on the ZooKeeper port that answers the client's connect request with `fault` (or one picked at random each time). */
export function hostileZooKeeper(chosen: ZooKeeperFault | 'random', seed = 1): Promise<Peer> {
  const counters = { sent: 0, accepted: 0 };
  const sockets = new Set<net.Socket>();
  const random = seeded(seed);
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      const fault = chosen === 'random' ? pick(random, zooKeeperFaults) : chosen;
      if (fault === 'silence') return;
      if (fault === 'endless frame') {
        const prefix = Buffer.alloc(4);
        prefix.writeInt32BE(0x7fff_ffff);
        socket.write(prefix);
        return pour(socket, (n) => (counters.sent += n));
      }
      if (fault === 'garbage') {
        const bytes = randomBytes(random, 256 + Math.floor(random() * 4096));
        counters.sent += bytes.length;
        return void socket.end(bytes);
      }
      const reply = Buffer.alloc(4 + 36);
      let at = reply.writeInt32BE(36, 0);
      at = reply.writeInt32BE(0, at); // protocol version
      at = reply.writeInt32BE(3000, at); // session timeout
      at = reply.writeBigInt64BE(7n, at); // session id
      reply.writeInt32BE(1000, at); // a password of 1000 bytes, in a frame that holds 16
      counters.sent += reply.length;
      socket.end(reply);
    });
  });
  return listening(server, sockets, counters);
}

/** Opens up to `count` connections (to a TCP port on 127.0.0.1 or a Unix socket) that send nothing (or trickle `trickle`, a byte at a time); all closed by close(). */
export async function flood(to: number | string, count: number, trickle?: string): Promise<{ open(): number; closed(): number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = 0;
  const opening: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    opening.push(
      new Promise<void>((resolve) => {
        const socket = typeof to === 'number' ? net.connect(to, '127.0.0.1') : net.connect(to);
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          closed++;
          sockets.delete(socket);
          resolve();
        });
        socket.on('data', () => undefined);
        socket.on('connect', () => {
          resolve();
          if (!trickle) return;
          let at = 0;
          const timer = setInterval(() => {
            if (socket.destroyed) return void clearInterval(timer);
            socket.write(trickle[at++ % trickle.length]);
          }, 200);
          timers.add(timer);
        });
      }),
    );
  }
  // Past a server's backlog the kernel retries a connect for minutes: the crowd is what got in within this time.
  await settlesWithin(Promise.all(opening), 10_000);
  return {
    open: () => sockets.size,
    closed: () => closed,
    close: () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Connects (to a TCP port on 127.0.0.1 or a Unix socket), lets `send` write, and resolves with what came back before the close or `waitMs`. */
export function exchange(to: number | string, send: (socket: net.Socket) => void, waitMs = 2000): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = typeof to === 'number' ? net.connect(to, '127.0.0.1') : net.connect(to);
    const got: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('connect', () => send(socket));
    socket.on('data', (d) => got.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}
