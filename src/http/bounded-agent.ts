import type { Agent } from 'node:http';
import { http, loadHttps } from './node-http.js';
import type { Duplex } from 'node:stream';
import { maxBodyBytes } from './client.js';

/**
 * A keep-alive agent for a library that makes its own requests (the Consul client): each exchange on a
 * connection may read at most `maxBytes` and last at most `timeoutMs`; past either the connection is
 * destroyed and the request fails, as if the peer were unreachable.
 */
export function boundedAgent(protocol: string, timeoutMs: number, maxBytes = maxBodyBytes): Agent {
  const agent = protocol === 'https:' ? new (loadHttps().Agent)({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const exchanges = new WeakMap<Duplex, { bytes: number; timer?: NodeJS.Timeout }>();
  const begin = (socket: Duplex): void => {
    const exchange = exchanges.get(socket);
    if (!exchange) return;
    clearTimeout(exchange.timer);
    exchange.bytes = 0;
    exchange.timer = setTimeout(() => socket.destroy(new Error(`no whole answer within ${timeoutMs} ms`)), timeoutMs);
  };
  const end = (socket: Duplex): void => clearTimeout(exchanges.get(socket)?.timer);

  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (options, callback) => {
    const socket = createConnection(options, callback);
    if (!socket) return socket;
    exchanges.set(socket, { bytes: 0 });
    socket.on('data', (chunk: Buffer) => {
      const exchange = exchanges.get(socket);
      if (exchange && (exchange.bytes += chunk.length) > maxBytes) socket.destroy(new Error(`answer longer than ${maxBytes} bytes`));
    });
    socket.on('close', () => end(socket));
    begin(socket);
    return socket;
  };
  // A kept connection starts each exchange afresh and rests between them.
  const keepSocketAlive = agent.keepSocketAlive.bind(agent);
  agent.keepSocketAlive = (socket) => {
    end(socket);
    return keepSocketAlive(socket);
  };
  const reuseSocket = agent.reuseSocket.bind(agent);
  agent.reuseSocket = (socket, request) => {
    begin(socket);
    reuseSocket(socket, request);
  };
  return agent;
}
