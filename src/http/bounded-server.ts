import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from './node-http.js';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import { connectionCap } from '../toolbox/connection-cap.js';

/** What one HTTP endpoint of the agent (metrics, readiness) lets a client hold. */
export const httpServerBounds = {
  maxConnections: 64, // at once; more are closed as soon as they are accepted
  headersTimeoutMs: 5000, // from the connection (or the last answer) to the end of the request's headers
  requestTimeoutMs: 10_000, // the whole request
  keepAliveTimeoutMs: 5000, // an idle kept connection
  idleTimeoutMs: 10_000, // no byte either way
  maxHeaderBytes: 8192,
  checkEveryMs: 1000, // how often the timeouts above are looked at
};

/** A handler for one path; it answers with `res` and may be async. */
export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface BoundedServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * An HTTP endpoint of the agent on listen:port, bounded in connections, bytes and time (httpServerBounds):
 * GET (or HEAD) on one of `routes` is answered by its handler, anything else 404 and the connection closed.
 */
export async function serveBounded(what: string, listen: string, port: number, routes: Record<string, Route>, log: Log): Promise<BoundedServer> {
  const b = httpServerBounds;
  const server = http.createServer({ maxHeaderSize: b.maxHeaderBytes, requestTimeout: b.requestTimeoutMs, headersTimeout: b.headersTimeoutMs, keepAliveTimeout: b.keepAliveTimeoutMs, connectionsCheckingInterval: b.checkEveryMs }, (req, res) => {
    const route = routes[req.url?.split('?')[0] ?? ''];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !route) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      return res.end(`only GET ${Object.keys(routes).join(', ')} here\n`);
    }
    Promise.resolve(route(req, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${errorText(err)}\n`);
    });
  });
  server.maxConnections = connectionCap(b.maxConnections);
  server.setTimeout(b.idleTimeoutMs); // with no 'timeout' listener, an idle socket is destroyed
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err: errorText(err) }, `${what} server error`));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
