import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import { connectionCap } from '../toolbox/connection-cap.js';
import { maxRequestBytes, socketName, verbs, type Answers, type Verb } from './protocol.cjs';

/** One handler a verb, answering that verb's contract type. */
export type Handlers = { [V in Verb]: (arg: string) => Answers[V] | Promise<Answers[V]> };

// A client has this long to send its request line, and again to take the answer; a verb's own work (a prestop's drain) is not counted.
const idleTimeoutMs = 10_000;
// Connections at once; more are closed as soon as they are accepted (the fast commands hold one each for a few ms).
const maxConnections = 32;

/** The control socket: mode 0600, one request per connection, bounded in connections, bytes and time; nothing a client sends can hurt the agent. */
export function openControlSocket(runDir: string, handlers: Handlers, log: Log): Promise<net.Server> {
  const file = path.join(runDir, socketName);
  try {
    unlinkSync(file);
  } catch {
    // no socket left by an earlier run
  }
  const server = net.createServer((socket) => serve(socket, handlers, log));
  server.maxConnections = connectionCap(maxConnections);
  server.on('error', (err) => log.error({ err: errorText(err) }, 'control socket error'));
  return new Promise((resolve, reject) => {
    const oldMask = process.umask(0o177); // the socket is made 0600, never wider for a moment
    const failed = (err: Error) => {
      process.umask(oldMask);
      reject(err);
    };
    server.once('error', failed);
    server.listen(file, () => {
      process.umask(oldMask);
      chmodSync(file, 0o600);
      server.off('error', failed);
      resolve(server);
    });
  });
}

function serve(socket: net.Socket, handlers: Handlers, log: Log): void {
  let buffered = '';
  let requested = false;
  socket.setTimeout(idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => {});
  const answer = (body: unknown) => {
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    if (!socket.destroyed) socket.end(JSON.stringify(body) + '\n');
  };
  socket.on('data', (chunk) => {
    if (requested) return;
    buffered += chunk.toString('utf8');
    const end = buffered.indexOf('\n');
    if (end < 0 && buffered.length <= maxRequestBytes) return;
    // One request a connection: what follows its line is not read.
    requested = true;
    socket.pause();
    if (end < 0 || end > maxRequestBytes) return answer({ ok: false, error: `request longer than ${maxRequestBytes} bytes` });
    socket.setTimeout(0); // the request is in; a prestop may take as long as its drain
    void handle(buffered.slice(0, end).trim(), handlers, log).then(answer);
  });
}

async function handle(line: string, handlers: Handlers, log: Log): Promise<unknown> {
  const [verb, ...rest] = line.split(/\s+/);
  if (!(verbs as readonly string[]).includes(verb)) return { ok: false, error: `unknown request "${line.slice(0, 40)}"; known: ${verbs.join(', ')}` };
  try {
    return await handlers[verb as Verb](rest.join(' '));
  } catch (err) {
    log.error({ verb, err: errorText(err) }, 'control request failed');
    return { ok: false, error: errorText(err) };
  }
}
