import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { openControlSocket, type Handlers } from '../src/control/server.js';
import { httpServerBounds, serveBounded } from '../src/http/bounded-server.js';
import { request } from '../src/http/client.js';
import { createLog } from '../src/log.js';
import { flood } from './helpers/hostile.js';
import { sleep, waitFor } from './helpers/wait.js';

// The agent's listeners against floods of idle or trickling connections and requests that do not stop: each holds
// a bounded number of connections for a bounded time, and answers what it is asked once.

const log = createLog('silent');

function connections(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

async function controlSocket(t: Test, handlers: Partial<Handlers>): Promise<{ server: net.Server; file: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-control-'));
  const server = await openControlSocket(dir, handlers as Handlers, log);
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, file: path.join(dir, 'control.sock') };
}

t.test('the control socket answers a request once, whatever follows its line', async (t) => {
  let probes = 0;
  // A verb that takes a while, as a prestop does: the lines that follow arrive while it works.
  const { file } = await controlSocket(t, { probe: () => sleep(200).then(() => ({ ok: true as const, ready: true, reason: `ready ${++probes}` })) });
  const answer = await new Promise<string>((resolve) => {
    const socket = net.connect(file);
    const got: Buffer[] = [];
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      got.push(d);
      if (!d.includes('\n')) return;
      resolve(Buffer.concat(got).toString());
      socket.destroy();
    });
    socket.on('connect', () => {
      socket.write('probe\n');
      // Lines without end after the request, as a hostile client sends them.
      for (let i = 0; i < 200 && !socket.destroyed; i++) socket.write('probe\n'.repeat(1000));
    });
  });
  t.match(answer, /^\{"ok":true,"ready":true,"reason":"ready 1"\}\n$/, 'one answer, to the first line');
  t.equal(probes, 1, 'the handler ran once');
});

t.test('a flood of idle connections holds at most the cap of the control socket', async (t) => {
  const { server, file } = await controlSocket(t, { ping: () => ({ ok: true as const, pid: 1 }) });
  const idle: net.Socket[] = [];
  t.teardown(() => idle.forEach((s) => s.destroy()));
  let closedByServer = 0;
  for (let i = 0; i < 200; i++) {
    const socket = net.connect(file);
    socket.on('error', () => undefined);
    socket.on('close', () => closedByServer++);
    idle.push(socket);
  }
  await waitFor('the server to take or refuse every connection', async () => closedByServer + (await connections(server)) >= 200, 10_000);
  t.ok((await connections(server)) <= 32, `${await connections(server)} connections held, the cap is 32`);
});

async function boundedServer(t: Test): Promise<number> {
  const served = await serveBounded('test', '127.0.0.1', 0, { '/ready': (_req, res) => void res.end('ready\n') }, log);
  t.teardown(() => served.close());
  return served.port;
}

t.test('an HTTP endpoint holds at most its cap of a flood, and answers once the flood is gone', async (t) => {
  const port = await boundedServer(t);
  const crowd = await flood(port, 1000);
  t.teardown(() => crowd.close());
  await waitFor('the endpoint to close what is over its cap', () => crowd.open() <= httpServerBounds.maxConnections, 10_000);
  crowd.close();
  // The flood's last connections may still count when the first request comes: that one is refused, the next answered.
  const ready = () => request({ url: `http://127.0.0.1:${port}/ready`, timeoutMs: 2000 }).catch(() => undefined);
  const answer = await waitFor('an answer once the flood is gone', ready, 10_000);
  t.same(answer, { status: 200, body: 'ready\n' });
});

t.test('an HTTP endpoint drops a client that trickles its headers, and one that sends nothing', async (t) => {
  const port = await boundedServer(t);
  const trickling = await flood(port, 1, 'GET /ready HTTP/1.1\r\nX-Slow: ');
  const silent = await flood(port, 1);
  t.teardown(() => (trickling.close(), silent.close()));
  const bound = httpServerBounds.requestTimeoutMs + 2 * httpServerBounds.checkEveryMs + 2000;
  await waitFor('the endpoint to hang up on the slow clients', () => trickling.closed() === 1 && silent.closed() === 1, bound);
  t.pass('both dropped within the request timeout');
});

t.test('an HTTP endpoint answers 404 on any other path or method', async (t) => {
  const port = await boundedServer(t);
  for (const [method, url] of [['GET', '/'], ['GET', '/metrics'], ['POST', '/ready'], ['GET', '/ready/../etc']]) {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, { method });
    t.equal(res.status, 404, `${method} ${url}`);
    await res.text();
  }
});
